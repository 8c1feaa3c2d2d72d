//! Sends one queued email. Idempotent: a message already sent (or taken by another worker) is
//! left alone, so a retried or duplicated job never sends twice. A failed delivery is retried
//! with growing delays until it goes through; the sweep picks up any retry the queue lost.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::Job;
use crate::errors::AppError;
use crate::mail::{Composed, MailError, compose};
use crate::models::outbound_email::OutboundEmail;
use crate::state::AppState;

/// How long a worker holds a message while it sends it.
const CLAIM: Duration = Duration::minutes(2);
/// After this long unsent, a message is given up (and the log says so).
const GIVE_UP_AFTER: Duration = Duration::days(3);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEmail {
    pub email_id: i64,
}

impl From<SendEmail> for Job {
    fn from(job: SendEmail) -> Self {
        Job::SendEmail(job)
    }
}

impl SendEmail {
    pub async fn run(self, state: Arc<AppState>) -> anyhow::Result<()> {
        send_now(&state, self.email_id).await
    }
}

/// The delay before attempt `attempts + 1`: 15 s, 30 s, 1 min, … up to 30 minutes.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(0, 7) as u32;
    Duration::seconds((15_i64 << exponent).min(30 * 60))
}

enum Prepared {
    Nothing,
    Send(Box<crate::mail::Outgoing>, OutboundEmail),
}

/// Sends email `id` now if it is due and nobody else is sending it.
pub async fn send_now(state: &Arc<AppState>, id: i64) -> anyhow::Result<()> {
    let now = state.clock.now_naive();
    let config = state.config.clone();
    let mailer = state.mailer.clone();
    let prepared = state
        .db
        .run(move |conn| {
            if !OutboundEmail::claim(conn, id, now, now + CLAIM)? {
                return Ok::<_, AppError>(Prepared::Nothing);
            }
            let Some(email) = OutboundEmail::find(conn, id)? else {
                return Ok(Prepared::Nothing);
            };
            if now - email.created_at > GIVE_UP_AFTER {
                tracing::error!(
                    email_id = id,
                    attempts = email.attempts,
                    last_error = email.last_error.as_deref().unwrap_or(""),
                    "giving up on an email that could not be delivered for three days"
                );
                OutboundEmail::mark_dropped(conn, id, "could not be delivered for three days")?;
                return Ok(Prepared::Nothing);
            }
            match compose(conn, &config, &mailer, &email, now)? {
                Composed::Send(outgoing) => Ok(Prepared::Send(outgoing, email)),
                Composed::Drop(reason) => {
                    tracing::info!(email_id = id, reason, "email not sent");
                    OutboundEmail::mark_dropped(conn, id, reason)?;
                    Ok(Prepared::Nothing)
                }
            }
        })
        .await?;
    let Prepared::Send(outgoing, email) = prepared else {
        return Ok(());
    };
    match state.mailer.send(id, &outgoing).await {
        Ok(whereto) => {
            let sent_at = state.clock.now_naive();
            state
                .db
                .run(move |conn| Ok::<_, AppError>(OutboundEmail::mark_sent(conn, id, sent_at)?))
                .await?;
            tracing::info!(email_id = id, kind = %email.kind, "email {whereto}");
        }
        Err(MailError::Invalid(reason)) => {
            tracing::warn!(email_id = id, reason = %reason, "email cannot be sent");
            state
                .db
                .run(move |conn| {
                    Ok::<_, AppError>(OutboundEmail::mark_dropped(
                        conn,
                        id,
                        "the message could not be built",
                    )?)
                })
                .await?;
        }
        Err(MailError::Delivery(reason)) => {
            let next: NaiveDateTime = state.clock.now_naive() + backoff(email.attempts);
            tracing::warn!(
                email_id = id,
                attempt = email.attempts + 1,
                error = %reason,
                retry_at = %next,
                "email delivery failed; it will be retried"
            );
            let error = reason.clone();
            state
                .db
                .run(move |conn| {
                    Ok::<_, AppError>(OutboundEmail::mark_failed(conn, id, &error, next)?)
                })
                .await?;
            state
                .jobs
                .schedule(state, Job::SendEmail(SendEmail { email_id: id }), next)
                .await;
        }
    }
    Ok(())
}

/// Queues jobs for freshly queued emails (after the transaction that queued them committed).
pub async fn enqueue(state: &AppState, email_ids: &[i64]) {
    let now = state.clock.now_naive();
    for id in email_ids {
        state
            .jobs
            .schedule(state, Job::SendEmail(SendEmail { email_id: *id }), now)
            .await;
    }
}

pub(super) type Due = Vec<i64>;

/// Emails whose time has come that no worker holds, for the sweep.
pub(super) fn due(
    conn: &mut crate::db::DbConnection,
    now: NaiveDateTime,
) -> diesel::QueryResult<Due> {
    OutboundEmail::due(conn, now, 200)
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0).num_seconds(), 15);
        assert_eq!(backoff(1).num_seconds(), 30);
        assert_eq!(backoff(2).num_seconds(), 60);
        assert_eq!(backoff(6).num_seconds(), 960);
        assert_eq!(backoff(7).num_seconds(), 1800);
        assert_eq!(backoff(50).num_seconds(), 1800);
    }
}
