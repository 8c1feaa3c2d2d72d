//! What every handler can reach.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::Database;
use crate::jobs::JobQueue;
use crate::mail::Mailer;
use crate::security::throttle::LoginThrottle;
use crate::vault::Vault;

pub struct AppState {
    pub config: Config,
    pub db: Database,
    pub clock: SharedClock,
    pub login_throttle: LoginThrottle,
    pub vault: Arc<Vault>,
    pub jobs: JobQueue,
    pub mailer: Mailer,
    /// Held while a sweep runs: a tick that finds it taken skips, so sweeps never pile up.
    pub sweep_running: tokio::sync::Mutex<()>,
}

pub type SharedState = actix_web::web::Data<AppState>;

impl AppState {
    pub fn new(
        config: Config,
        db: Database,
        clock: SharedClock,
        vault: Arc<Vault>,
        jobs: JobQueue,
        mailer: Mailer,
    ) -> Arc<Self> {
        let login_throttle = LoginThrottle::new(
            config.login_attempts_per_account,
            config.login_attempts_per_address,
        );
        Arc::new(Self {
            config,
            db,
            clock,
            login_throttle,
            vault,
            jobs,
            mailer,
            sweep_running: tokio::sync::Mutex::new(()),
        })
    }
}
