//! The periodic sweep: whatever fell due and no job covered (the server was down, a job was
//! lost), it handles now. Also reminders before check-outs end, and housekeeping.

use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::lending::{Ended, ResetOutcome, end_checkout, perform_reset};
use crate::models::checkout::EndReason;
use crate::models::session::SessionRow;
use crate::models::{Account, Checkout, Notification};
use crate::state::AppState;
use crate::vault::Vault;

const BATCH: i64 = 1000;

/// How long a finished job stays in the queue (to look into what ran and how it ended) before
/// the sweep deletes it. What a job did is in the database and the audit log, not here.
pub const FINISHED_JOBS_KEPT: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Finished jobs deleted per sweep at most: a queue that was never pruned is worked off in
/// short transactions, a sweep at a time.
const PRUNE_BATCH: i64 = 5000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub resets_done: usize,
    pub resets_failed: usize,
    pub reminders: usize,
    pub requests_expired: usize,
}

/// One pass over everything due at `now`, in batches until nothing is left.
pub fn sweep_once(
    conn: &mut DbConnection,
    vault: &Vault,
    now: NaiveDateTime,
    reminder_before: chrono::Duration,
) -> anyhow::Result<SweepReport> {
    let mut report = SweepReport::default();
    loop {
        let overdue = Checkout::overdue(conn, now, BATCH)?;
        if overdue.is_empty() {
            break;
        }
        for id in overdue {
            if let Ended::Ended { .. } =
                end_checkout(conn, vault, id, EndReason::Expired, None, now, None)?
            {
                report.expired += 1;
            }
        }
    }
    loop {
        let due = Account::due_resets(conn, now, BATCH)?;
        if due.is_empty() {
            break;
        }
        let mut progressed = false;
        for account in due {
            match perform_reset(conn, vault, account, now)? {
                ResetOutcome::Done => {
                    report.resets_done += 1;
                    progressed = true;
                }
                ResetOutcome::Retry(_) | ResetOutcome::OutOfSync => {
                    report.resets_failed += 1;
                    progressed = true;
                }
                ResetOutcome::NothingToDo | ResetOutcome::NotDue(_) => {}
            }
        }
        if !progressed {
            break;
        }
    }
    report.requests_expired += crate::consent::expire_requests(conn, now, BATCH)?;
    for checkout in Checkout::due_for_reminder(conn, now + reminder_before, BATCH)? {
        if Checkout::mark_reminded(conn, checkout.id)? == 1 {
            let account = Account::find(conn, checkout.account_id)?;
            let name = account.map(|a| a.username).unwrap_or_default();
            Notification::send(
                conn,
                checkout.organization_id,
                checkout.user_id,
                &format!(
                    "Your check-out of {name} ends at {} UTC. Check it in when you are done.",
                    checkout.expires_at.format("%H:%M")
                ),
                &format!("/apps/{}", checkout.target_id),
                now,
            )?;
            report.reminders += 1;
        }
    }
    Ok(report)
}

pub async fn run(state: Arc<AppState>) -> anyhow::Result<()> {
    let Ok(_running) = state.sweep_running.try_lock() else {
        // The previous sweep is still at work (a burst of expiries): this tick has nothing to add.
        return Ok(());
    };
    let vault = state.vault.clone();
    let clock = state.clock.clone();
    let reminder = chrono::Duration::from_std(state.config.reminder_before)
        .unwrap_or(chrono::Duration::minutes(5));
    let absolute = chrono::Duration::from_std(state.config.session_absolute_timeout)
        .unwrap_or(chrono::Duration::hours(12));
    let (report, emails) = state
        .db
        .run(move |conn| {
            let now = clock.now_naive();
            let report = sweep_once(conn, &vault, now, reminder)?;
            SessionRow::delete_expired(conn, now, now - absolute)?;
            let emails = super::send_email::due(conn, now)?;
            if let Err(error) = crate::db::restart_long_wal(conn) {
                tracing::warn!(error = %error, "restarting SQLite's write-ahead log");
            }
            Ok::<_, anyhow::Error>((report, emails))
        })
        .await?;
    state.login_throttle.forget_idle_keys();
    match state
        .jobs
        .prune_finished(FINISHED_JOBS_KEPT, PRUNE_BATCH)
        .await
    {
        Ok(0) => {}
        Ok(pruned) => tracing::debug!(pruned, "finished jobs deleted from the queue"),
        Err(error) => tracing::warn!(error = %error, "deleting finished jobs from the queue"),
    }
    // Each in its own task: a mail server that hangs must not hold up expiries and resets.
    // The claim inside `send_now` keeps a message from being sent twice.
    for id in emails {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(error) = super::send_email::send_now(&state, id).await {
                tracing::warn!(email_id = id, error = %error, "sending a due email");
            }
        });
    }
    if report != SweepReport::default() {
        tracing::info!(?report, "sweep");
    }
    Ok(())
}
