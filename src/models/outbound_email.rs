//! Mail to send, queued in the same transaction as the event it tells about, and sent by the
//! `SendEmail` job. A row is rendered only when it is sent, so a link's token never rests in the
//! database in clear.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::UserId;
use crate::schema::outbound_emails;

/// What a message says; the job renders it from the rows it points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    /// To a credential's owner: an admin asks for access (carries the approval link).
    AccessRequested,
    /// To the requesting admin: the owner granted (or the credential became Managed).
    AccessGranted,
    /// To the requesting admin: the owner denied.
    AccessDenied,
    /// To an admin in the app's policy: the owner withdrew admin access.
    AccessWithdrawn,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::AccessRequested => "access_requested",
            EmailKind::AccessGranted => "access_granted",
            EmailKind::AccessDenied => "access_denied",
            EmailKind::AccessWithdrawn => "access_withdrawn",
        }
    }

    pub fn parse(value: &str) -> Option<EmailKind> {
        [
            EmailKind::AccessRequested,
            EmailKind::AccessGranted,
            EmailKind::AccessDenied,
            EmailKind::AccessWithdrawn,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbound_emails)]
pub struct OutboundEmail {
    pub id: i64,
    pub organization_id: i64,
    pub kind: String,
    pub recipient_user_id: i64,
    pub request_id: Option<i64>,
    pub account_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub claimed_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub dropped_reason: Option<String>,
}

pub struct NewEmail {
    pub organization_id: i64,
    pub kind: EmailKind,
    pub recipient: UserId,
    pub request_id: Option<i64>,
    pub account_id: Option<i64>,
}

impl OutboundEmail {
    /// Queues a message; returns its id (for the job that sends it).
    pub fn queue(conn: &mut DbConnection, new: &NewEmail, now: NaiveDateTime) -> QueryResult<i64> {
        diesel::insert_into(outbound_emails::table)
            .values((
                outbound_emails::organization_id.eq(new.organization_id),
                outbound_emails::kind.eq(new.kind.as_str()),
                outbound_emails::recipient_user_id.eq(new.recipient.0),
                outbound_emails::request_id.eq(new.request_id),
                outbound_emails::account_id.eq(new.account_id),
                outbound_emails::created_at.eq(now),
                outbound_emails::next_attempt_at.eq(now),
                outbound_emails::attempts.eq(0),
            ))
            .returning(outbound_emails::id)
            .get_result(conn)
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<OutboundEmail>> {
        outbound_emails::table
            .find(id)
            .select(OutboundEmail::as_select())
            .first(conn)
            .optional()
    }

    /// Takes the message for sending until `until`, if it is unsent, due and nobody else holds
    /// it. Exactly one worker (of any instance) wins.
    pub fn claim(
        conn: &mut DbConnection,
        id: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<bool> {
        diesel::update(
            outbound_emails::table
                .filter(outbound_emails::id.eq(id))
                .filter(outbound_emails::sent_at.is_null())
                .filter(outbound_emails::dropped_reason.is_null())
                .filter(outbound_emails::next_attempt_at.le(now))
                .filter(
                    outbound_emails::claimed_until
                        .is_null()
                        .or(outbound_emails::claimed_until.le(now)),
                ),
        )
        .set(outbound_emails::claimed_until.eq(until))
        .execute(conn)
        .map(|n| n == 1)
    }

    pub fn mark_sent(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(outbound_emails::table.find(id))
            .set((
                outbound_emails::sent_at.eq(now),
                outbound_emails::attempts.eq(outbound_emails::attempts + 1),
                outbound_emails::claimed_until.eq(None::<NaiveDateTime>),
                outbound_emails::last_error.eq(None::<String>),
            ))
            .execute(conn)
    }

    /// Records a failed attempt and when to try again.
    pub fn mark_failed(
        conn: &mut DbConnection,
        id: i64,
        error: &str,
        next_attempt_at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(outbound_emails::table.find(id))
            .set((
                outbound_emails::attempts.eq(outbound_emails::attempts + 1),
                outbound_emails::last_error.eq(error),
                outbound_emails::next_attempt_at.eq(next_attempt_at),
                outbound_emails::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
    }

    /// The message will not be sent (what it was about is gone or already settled).
    pub fn mark_dropped(conn: &mut DbConnection, id: i64, reason: &str) -> QueryResult<usize> {
        diesel::update(outbound_emails::table.find(id))
            .set((
                outbound_emails::dropped_reason.eq(reason),
                outbound_emails::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
    }

    /// Unsent messages whose time has come and that nobody holds, oldest first.
    pub fn due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
        outbound_emails::table
            .filter(outbound_emails::sent_at.is_null())
            .filter(outbound_emails::dropped_reason.is_null())
            .filter(outbound_emails::next_attempt_at.le(now))
            .filter(
                outbound_emails::claimed_until
                    .is_null()
                    .or(outbound_emails::claimed_until.le(now)),
            )
            .order(outbound_emails::id.asc())
            .limit(limit)
            .select(outbound_emails::id)
            .load(conn)
    }
}
