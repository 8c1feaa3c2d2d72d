//! Changes an account's password on the real system to its pending password.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Job;
use crate::domain::AccountId;
use crate::lending::{ResetOutcome, perform_reset};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetPassword {
    pub account_id: i64,
}

impl ResetPassword {
    pub async fn run(self, state: Arc<AppState>) -> anyhow::Result<()> {
        reset_now(&state, self).await
    }
}

/// Attempts the reset now; after a failure, queues the next attempt for its time.
pub async fn reset_now(state: &Arc<AppState>, job: ResetPassword) -> anyhow::Result<()> {
    let vault = state.vault.clone();
    let clock = state.clock.clone();
    let account = AccountId(job.account_id);
    let outcome = state
        .db
        .run(move |conn| {
            Ok::<_, anyhow::Error>(perform_reset(conn, &vault, account, clock.now_naive())?)
        })
        .await?;
    match outcome {
        ResetOutcome::Retry(at) | ResetOutcome::NotDue(at) => {
            state
                .jobs
                .schedule(state, Job::ResetPassword(job), at)
                .await;
        }
        ResetOutcome::Done | ResetOutcome::NothingToDo | ResetOutcome::OutOfSync => {}
    }
    Ok(())
}

impl From<ResetPassword> for Job {
    fn from(job: ResetPassword) -> Self {
        Job::ResetPassword(job)
    }
}
