//! Builds the application: configuration in, a bound listener and a running server out.
//! Tests build it on port 0 and talk to it over HTTP.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::db::Database;
use crate::errors::AppError;
use crate::jobs::{self, JobQueue};
use crate::models::data_key::DataKeyRow;
use crate::models::{Installation, SetupToken};
use crate::security::{csrf, headers, tokens};
use crate::state::AppState;
use crate::vault::{MasterKey, MasterKeyOrigin, Vault};
use crate::web::session_store::DatabaseSessionStore;
use crate::{routes, static_files};

/// Linux's autogroup scheduling: the cores are shared between sessions (a server started from
/// its own session, each PostgreSQL cluster) before the threads of each, so a thread's nice
/// value only ranks it among its own process's threads. The kernel applies it only to tasks
/// in the root CPU control group; elsewhere (a systemd service with CPU accounting, a
/// container) the groups' weights share the cores instead, which the warning does not cover.
fn sessions_share_the_cores_first() -> bool {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    read("/proc/sys/kernel/sched_autogroup_enabled").is_some_and(|value| value.trim() == "1")
        && read("/proc/self/cgroup").is_some_and(|cgroups| {
            in_root_cpu_group(
                &cgroups,
                read("/sys/fs/cgroup/cgroup.subtree_control").as_deref(),
            )
        })
}

/// Whether `/proc/self/cgroup` puts this process in the root CPU control group: cgroup v1's
/// `cpu` hierarchy at `/`, or cgroup v2 at `/` or without the `cpu` controller enabled below
/// the root (`root_subtree_control`).
fn in_root_cpu_group(cgroups: &str, root_subtree_control: Option<&str>) -> bool {
    let mut unified = None;
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if controllers.split(',').any(|controller| controller == "cpu") {
            return path == "/";
        }
        if controllers.is_empty() {
            unified = Some(path);
        }
    }
    unified.is_some_and(|path| {
        path == "/"
            || !root_subtree_control
                .is_some_and(|enabled| enabled.split_whitespace().any(|c| c == "cpu"))
    })
}

pub struct Application {
    port: u16,
    server: Server,
    state: Arc<AppState>,
    setup_link: Option<String>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(mut config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        let url = config.database.clone();
        let (pool_size, cache_mb) = (config.database_pool_size, config.sqlite_cache_mb);
        let db = tokio::task::spawn_blocking(move || {
            Database::open_with_cache(&url, pool_size, cache_mb)
        })
        .await
        .context("opening the database")??;
        tracing::info!(database = %config.database.display(), "database ready");
        if db
            .run(|conn| Ok::<_, anyhow::Error>(crate::db::autovacuum_is_off(conn)?))
            .await
            .unwrap_or(false)
        {
            tracing::warn!(
                "PostgreSQL's autovacuum is off on this server: the tables Keyholder updates all \
                 day (sessions, accounts, check-outs, jobs) will grow without bound; turn it on \
                 (autovacuum = on) or run VACUUM on a schedule"
            );
        }

        if config.database.is_local_postgres() && sessions_share_the_cores_first() {
            tracing::warn!(
                "PostgreSQL runs on this machine and the kernel shares the cores between \
                 sessions before threads (kernel.sched_autogroup_enabled = 1): password hashing's \
                 low priority then does not yield to PostgreSQL, and sign-ins slow every page \
                 under load; set kernel.sched_autogroup_enabled = 0, run both in one container or \
                 one systemd slice, or give PostgreSQL a machine of its own (docs/DEPLOYMENT.md)"
            );
        }

        let (master_key, vault) = open_vault(&db, &config, &clock).await?;

        let listener = TcpListener::bind(config.listen)
            .with_context(|| format!("cannot listen on {} (KEYHOLDER_LISTEN)", config.listen))?;
        let port = listener.local_addr()?.port();
        if config.listen.port() == 0 && config.public_url.port() == Some(0) {
            // Port 0 asks the system for a free port; links must name the one it gave.
            let _ = config.public_url.set_port(Some(port));
        }

        let setup_link = prepare_setup_link(&db, &config, &clock).await?;

        let cookie_key = Key::from(master_key.derive("session-cookie").as_ref());
        let store = DatabaseSessionStore::new(
            db.clone(),
            clock.clone(),
            config.session_idle_timeout,
            config.session_absolute_timeout,
        );
        let https = config.is_https();
        let idle = actix_web::cookie::time::Duration::seconds(
            i64::try_from(config.session_idle_timeout.as_secs()).unwrap_or(1800),
        );
        let workers = config.workers;
        let jobs = JobQueue::open(&config).await?;
        let mailer = crate::mail::Mailer::from_config(&config)?;
        tracing::info!("{}", mailer.describe(&config));
        let state = AppState::new(config, db, clock, vault, jobs, mailer);
        let data = web::Data::from(state.clone());

        let server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(store.clone(), cookie_key.clone())
                .cookie_name(if https {
                    "__Host-keyholder".to_string()
                } else {
                    "keyholder".to_string()
                })
                .cookie_secure(https)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_path("/".to_string())
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(
                    BrowserSession::default()
                        .state_ttl(idle)
                        .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
                )
                .build();
            App::new()
                .app_data(data.clone())
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .app_data(web::QueryConfig::default().error_handler(|_, _| {
                    AppError::BadRequest(
                        "The address has a parameter Keyholder cannot read.".into(),
                    )
                    .into()
                }))
                .wrap(headers::default_headers(https))
                .wrap(from_fn(log_request))
                // Static files need no session: they are served before it is loaded.
                .configure(static_files::configure)
                .service(
                    web::scope("")
                        .wrap(from_fn(csrf::guard))
                        .wrap(sessions)
                        .configure(routes::configure),
                )
                .default_service(web::to(not_found))
        })
        .workers(workers)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();

        Ok(Self {
            port,
            server,
            state,
            setup_link,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The one-time setup link, while nobody has set Keyholder up.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    /// Stops the server (tests use it to simulate a restart).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT/SIGTERM, with the job workers and the sweep beside it; then stops
    /// the workers too (running jobs finish or are handed back).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let workers = jobs::start(self.state.clone())?;
        let result = self.server.await;
        workers.stop().await;
        result.context("the web server failed")
    }
}

/// Loads the master key (creating it only for a database without secrets) and opens the vault
/// with it, which proves it is the right key.
async fn open_vault(
    db: &Database,
    config: &Config,
    clock: &SharedClock,
) -> anyhow::Result<(MasterKey, Arc<Vault>)> {
    let has_keys = db
        .run(|conn| Ok::<_, anyhow::Error>(!DataKeyRow::all(conn)?.is_empty()))
        .await?;
    let (master_key, origin) = MasterKey::load(&config.master_key, !has_keys)?;
    if origin == MasterKeyOrigin::CreatedFile
        && let crate::config::MasterKeySource::File { path, .. } = &config.master_key
    {
        tracing::warn!(
            path = %path.display(),
            "created a new master key file; back it up: without it the vault cannot be opened"
        );
    }
    let now = clock.now_naive();
    let wrapping = master_key.clone();
    let vault = db
        .run(move |conn| Ok::<_, anyhow::Error>(Vault::open(conn, &wrapping, now)?))
        .await?;
    Ok((master_key, Arc::new(vault)))
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Creates and announces the setup link when the installation has no organization yet.
async fn prepare_setup_link(
    db: &Database,
    config: &Config,
    clock: &SharedClock,
) -> anyhow::Result<Option<String>> {
    let now = clock.now_naive();
    let token = tokens::random_token(32);
    let hash = tokens::hash_token(&token);
    let created = db
        .run(move |conn| {
            if Installation::is_set_up(conn)? {
                return Ok::<_, anyhow::Error>(false);
            }
            SetupToken::insert(conn, &hash, now)?;
            Ok(true)
        })
        .await?;
    if !created {
        return Ok(None);
    }
    let link = config.link(&format!("/setup?token={token}"));
    // Printed rather than logged: it is for the person at the console, once.
    println!(
        "\nKeyholder is not set up yet. Open this link within 24 hours to create your organization \
         and its owner:\n\n    {link}\n\nOr run: keyholder setup --org NAME --email EMAIL --name NAME\n"
    );
    Ok(Some(link))
}

/// One line per request: method, route pattern (never the raw path, which may carry a token),
/// status and latency.
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(no route)".into());
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(%method, route, status, latency_ms, "request");
    } else {
        tracing::info!(%method, route, status, latency_ms, "request");
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::in_root_cpu_group;

    #[test]
    fn autogroup_applies_only_in_the_root_cpu_group() {
        // cgroup v1, as a login shell or a plain `nohup` leaves a server.
        let v1_root = "9:name=systemd:/\n4:memory:/process_api/fb41\n2:cpuacct:/\n1:cpu:/\n0::/\n";
        assert!(in_root_cpu_group(v1_root, None));
        let v1_service = "3:cpu,cpuacct:/system.slice/keyholder.service\n0::/\n";
        assert!(!in_root_cpu_group(v1_service, None));
        // cgroup v2: a service's own group counts only where the CPU controller is enabled.
        let v2_service = "0::/system.slice/keyholder.service\n";
        assert!(in_root_cpu_group(v2_service, Some("memory pids")));
        assert!(!in_root_cpu_group(
            v2_service,
            Some("cpuset cpu io memory pids")
        ));
        assert!(in_root_cpu_group("0::/\n", Some("cpu memory")));
        // Nothing readable: no warning.
        assert!(!in_root_cpu_group("", None));
    }
}
