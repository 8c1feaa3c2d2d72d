//! The audit trail: who did what to which object, when and from where. Written in the same
//! transaction as the action it records, and never given a secret.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Page;
use crate::db::DbConnection;
use crate::domain::{OrganizationId, UserId};
use crate::schema::{audit_events, targets, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub organization_id: i64,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<i64>,
    pub detail: String,
    pub client_addr: Option<String>,
    pub created_at: NaiveDateTime,
    pub target_id: Option<i64>,
}

pub struct NewAuditEvent<'a> {
    pub organization_id: OrganizationId,
    pub actor: Option<UserId>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<i64>,
    pub detail: String,
    pub client_addr: Option<&'a str>,
    /// The app the event concerns, for the audit filter.
    pub target_id: Option<i64>,
}

impl AuditEvent {
    pub fn record(
        conn: &mut DbConnection,
        event: NewAuditEvent<'_>,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::organization_id.eq(event.organization_id.0),
                audit_events::actor_user_id.eq(event.actor.map(|u| u.0)),
                audit_events::action.eq(event.action),
                audit_events::object_type.eq(event.object_type),
                audit_events::object_id.eq(event.object_id),
                audit_events::detail.eq(&event.detail),
                audit_events::client_addr.eq(event.client_addr),
                audit_events::created_at.eq(now),
                audit_events::target_id.eq(event.target_id),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// The organization's events, newest first, filtered; with actor and app names. `from`
    /// says where the page starts: a page number, or beside an event the previous page showed
    /// (the links between pages), so that a page is read from the index where the last one
    /// stopped instead of counting past every event before it, and events written meanwhile
    /// neither repeat rows on the next page nor hide any.
    ///
    /// The log only grows, so neither statement may read all of it to show a page: the events
    /// are ordered by time as the indexes keep them (`(organization_id, created_at)`, or the
    /// actor's, the app's or the action's), so the page is the first rows of an index walked
    /// backwards, and the count reads `audit_events` alone, without the names, and stops at
    /// `COUNT_CAP` (the page then says "more than"), so it costs the same in a log's tenth year
    /// as in its first month.
    pub fn search(
        conn: &mut DbConnection,
        organization: OrganizationId,
        filter: &AuditFilter,
        from: Cursor,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<AuditRow>> {
        macro_rules! filtered {
            ($query:expr) => {{
                let mut query = $query
                    .filter(audit_events::organization_id.eq(organization.0))
                    .into_boxed();
                if let Some(actor) = filter.actor {
                    query = query.filter(audit_events::actor_user_id.eq(actor.0));
                }
                if let Some(action) = &filter.action {
                    query = query.filter(audit_events::action.eq(action.clone()));
                }
                if let Some(target) = filter.target {
                    query = query.filter(audit_events::target_id.eq(target));
                }
                if let Some(from) = filter.from {
                    query = query.filter(audit_events::created_at.ge(from));
                }
                if let Some(until) = filter.until {
                    query = query.filter(audit_events::created_at.lt(until));
                }
                query
            }};
        }
        // Counted up to COUNT_CAP events and no further: the log only grows, and counting all
        // of a year's events would cost more than the page itself.
        let counted: i64 = crate::db::sql::count_up_to(
            filtered!(audit_events::table)
                .select(audit_events::id)
                .limit(COUNT_CAP + 1),
        )
        .get_result(conn)?;
        // The event a link starts from, if it is this organization's: its time and id.
        let beside = match from {
            Cursor::Page => None,
            Cursor::Before(id) | Cursor::After(id) => audit_events::table
                .filter(audit_events::id.eq(id))
                .filter(audit_events::organization_id.eq(organization.0))
                .select(audit_events::created_at)
                .first::<NaiveDateTime>(conn)
                .optional()?
                .map(|at| (at, id)),
        };
        let named = filtered!(
            audit_events::table
                .left_join(users::table.on(users::id.nullable().eq(audit_events::actor_user_id)))
                .left_join(targets::table.on(targets::id.nullable().eq(audit_events::target_id)))
        )
        .select((
            AuditEvent::as_select(),
            users::name.nullable(),
            targets::name.nullable(),
        ))
        .limit(per_page + 1);
        let newest_first = (audit_events::created_at.desc(), audit_events::id.desc());
        // `created_at <= t` (or `>=`) bounds the index walk; the id orders events of one moment.
        type Row = (AuditEvent, Option<String>, Option<String>);
        let (mut rows, newer): (Vec<Row>, bool) = match (from, beside) {
            (Cursor::Before(_), Some((at, id))) => (
                named
                    .filter(
                        audit_events::created_at
                            .le(at)
                            .and(audit_events::created_at.lt(at).or(audit_events::id.lt(id))),
                    )
                    .order(newest_first)
                    .load(conn)?,
                false,
            ),
            (Cursor::After(_), Some((at, id))) => {
                let mut rows: Vec<_> = named
                    .filter(
                        audit_events::created_at
                            .ge(at)
                            .and(audit_events::created_at.gt(at).or(audit_events::id.gt(id))),
                    )
                    .order((audit_events::created_at.asc(), audit_events::id.asc()))
                    .load(conn)?;
                rows.truncate(per_page.max(0) as usize);
                rows.reverse();
                (rows, true)
            }
            _ => (
                named
                    .order(newest_first)
                    .offset(Page::<AuditRow>::offset(page, per_page))
                    .load(conn)?,
                false,
            ),
        };
        // Fewer newer events than a page: they are the first page, read as such.
        if newer && (rows.len() as i64) < per_page {
            return Self::search(conn, organization, filter, Cursor::Page, 1, per_page);
        }
        let older_follow = newer || rows.len() as i64 > per_page;
        rows.truncate(per_page.max(0) as usize);
        let mut found = Page::counted_up_to(
            rows.into_iter()
                .map(|(event, actor_name, target_name)| AuditRow {
                    event,
                    actor_name,
                    target_name,
                })
                .collect(),
            counted,
            COUNT_CAP,
            page,
            per_page,
        );
        found.next = older_follow;
        Ok(found)
    }

    pub fn latest(
        conn: &mut DbConnection,
        organization: OrganizationId,
        limit: i64,
    ) -> QueryResult<Vec<AuditEvent>> {
        audit_events::table
            .filter(audit_events::organization_id.eq(organization.0))
            .order(audit_events::id.desc())
            .limit(limit)
            .select(AuditEvent::as_select())
            .load(conn)
    }
}

/// Where a page of the audit log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// At its page number (as typed, bookmarked, or the first page).
    Page,
    /// Just after this event: the events before it in time (a Next link).
    Before(i64),
    /// Just before it: the page of events after it in time (a Previous link).
    After(i64),
}

/// Filters of the Audit page; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub action: Option<String>,
    pub target: Option<i64>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

pub struct AuditRow {
    pub event: AuditEvent,
    pub actor_name: Option<String>,
    pub target_name: Option<String>,
}

/// Every action Keyholder records, with how the Audit page names it.
/// The audit log's matches are counted up to here: past it, a page says "more than 10 000".
pub const COUNT_CAP: i64 = 10_000;

pub const ACTIONS: &[(&str, &str)] = &[
    ("organization.setup", "Organization set up"),
    ("user.login", "Signed in"),
    ("user.login_failed", "Sign-in failed"),
    ("user.create", "User added"),
    ("user.update", "User changed"),
    ("user.disable", "User disabled"),
    ("user.enable", "User enabled"),
    ("user.password_changed", "Own password changed"),
    ("target.create", "App created"),
    ("target.update", "App changed"),
    ("target.delete", "App deleted"),
    ("target.allow_user", "Person allowed on app"),
    ("target.disallow_user", "Person removed from app"),
    ("account.create", "Account created"),
    ("account.update", "Account edited"),
    ("account.delete", "Account deleted"),
    ("account.reveal", "Password revealed"),
    ("account.reset", "Password reset"),
    ("account.out_of_sync", "Reset failed: out of sync"),
    ("account.retry_reset", "Reset retried"),
    ("account.set_real_password", "Real password entered"),
    ("checkout.start", "Checked out"),
    ("checkout.checkin", "Checked in"),
    ("checkout.expire", "Check-out expired"),
    ("checkout.force", "Check-in forced"),
    ("organization.update", "Organization settings changed"),
    ("target.policy_add", "Admin added to policy"),
    ("target.policy_remove", "Admin removed from policy"),
    ("access.request", "Credentials requested"),
    ("access.grant", "Access granted"),
    ("access.deny", "Access denied"),
    ("access.expire", "Access request expired"),
];

pub fn action_label(action: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(key, _)| *key == action)
        .map(|(_, label)| *label)
        .unwrap_or(action)
}
