//! Ends an exclusive or regular check-out at its end time, and starts the reset.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::reset_password::ResetPassword;
use super::{Job, reset_password};
use crate::lending::{Ended, end_checkout};
use crate::models::Checkout;
use crate::models::checkout::EndReason;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireCheckout {
    pub checkout_id: i64,
}

impl ExpireCheckout {
    pub async fn run(self, state: Arc<AppState>) -> anyhow::Result<()> {
        let id = self.checkout_id;
        tracing::debug!(checkout = id, "expiry job");
        let vault = state.vault.clone();
        let clock = state.clock.clone();
        let ended = state
            .db
            .run(move |conn| {
                let now = clock.now_naive();
                match Checkout::find(conn, id)? {
                    // Not yet due in the application's time, or already ended: nothing to do
                    // (the sweep ends it when it is due).
                    Some(c) if c.ended_at.is_none() && c.expires_at <= now => Ok(end_checkout(
                        conn,
                        &vault,
                        id,
                        EndReason::Expired,
                        None,
                        now,
                        None,
                    )?),
                    _ => Ok::<_, anyhow::Error>(Ended::AlreadyEnded),
                }
            })
            .await?;
        if let Some(account) = ended.reset_started() {
            reset_password::reset_now(
                &state,
                ResetPassword {
                    account_id: account.0,
                },
            )
            .await?;
        }
        Ok(())
    }
}

impl From<ExpireCheckout> for Job {
    fn from(job: ExpireCheckout) -> Self {
        Job::ExpireCheckout(job)
    }
}
