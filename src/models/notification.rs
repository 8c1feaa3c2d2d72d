//! The dashboard notification inbox.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Page;
use crate::db::DbConnection;
use crate::db::sql::rows_counted;
use crate::domain::{OrganizationId, Role, UserId};
use crate::schema::{notifications, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    pub organization_id: i64,
    pub user_id: i64,
    pub message: String,
    pub link: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

impl Notification {
    pub fn send(
        conn: &mut DbConnection,
        organization: OrganizationId,
        user: UserId,
        message: &str,
        link: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(notifications::table)
            .values((
                notifications::organization_id.eq(organization.0),
                notifications::user_id.eq(user.0),
                notifications::message.eq(message),
                notifications::link.eq(link),
                notifications::created_at.eq(now),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Tells every enabled owner and admin of the organization.
    pub fn send_to_admins(
        conn: &mut DbConnection,
        organization: OrganizationId,
        message: &str,
        link: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        use diesel::sql_types::{Text, Timestamp};
        // One statement however many admins there are: INSERT … SELECT from `users`.
        diesel::insert_into(notifications::table)
            .values(
                users::table
                    .filter(users::organization_id.eq(organization.0))
                    .filter(users::disabled.eq(false))
                    .filter(users::role.eq_any([Role::Owner.as_str(), Role::Admin.as_str()]))
                    .select((
                        users::organization_id,
                        users::id,
                        message.into_sql::<Text>(),
                        link.into_sql::<Text>(),
                        now.into_sql::<Timestamp>(),
                    )),
            )
            .into_columns((
                notifications::organization_id,
                notifications::user_id,
                notifications::message,
                notifications::link,
                notifications::created_at,
            ))
            .execute(conn)
    }

    pub fn unread_count(conn: &mut DbConnection, user: UserId) -> QueryResult<i64> {
        notifications::table
            .filter(notifications::user_id.eq(user.0))
            .filter(notifications::read_at.is_null())
            .count()
            .get_result(conn)
    }

    /// A page of the inbox, unread first, newest first, and how many notifications the person
    /// has. One statement, on both engines: the page is read in the order of the
    /// `notifications_inbox` index and stops at its last row, and the count beside it is read
    /// from the same index. Notifications are never deleted, so the list only grows; a page of it
    /// reads its ten rows however many years of them there are.
    pub fn inbox(
        conn: &mut DbConnection,
        user: UserId,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<Notification>> {
        let of_user = || notifications::table.filter(notifications::user_id.eq(user.0));
        let found: Vec<(Notification, i64)> = of_user()
            .order((
                notifications::read_at.is_not_null(),
                notifications::id.desc(),
            ))
            .limit(per_page)
            .offset(Page::<Notification>::offset(page, per_page))
            .select((
                Notification::as_select(),
                rows_counted(of_user().select(notifications::id)),
            ))
            .load(conn)?;
        let total = match found.first() {
            Some((_, total)) => *total,
            // Past the last page no row carries the count.
            None if page > 1 => of_user().count().get_result(conn)?,
            None => 0,
        };
        let items = found.into_iter().map(|(row, _)| row).collect();
        Ok(Page::new(items, total, page, per_page))
    }

    /// Marks one notification read and returns its link (only the recipient's own).
    pub fn open(
        conn: &mut DbConnection,
        user: UserId,
        id: i64,
        now: NaiveDateTime,
    ) -> QueryResult<Option<String>> {
        let link: Option<String> = notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::user_id.eq(user.0))
            .select(notifications::link)
            .first(conn)
            .optional()?;
        if link.is_some() {
            diesel::update(
                notifications::table
                    .filter(notifications::id.eq(id))
                    .filter(notifications::read_at.is_null()),
            )
            .set(notifications::read_at.eq(now))
            .execute(conn)?;
        }
        Ok(link)
    }

    /// Marks the recipient's unread notifications pointing at `link` read (what they were
    /// about has been dealt with).
    pub fn mark_read_by_link(
        conn: &mut DbConnection,
        user: UserId,
        link: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            notifications::table
                .filter(notifications::user_id.eq(user.0))
                .filter(notifications::link.eq(link))
                .filter(notifications::read_at.is_null()),
        )
        .set(notifications::read_at.eq(now))
        .execute(conn)
    }

    pub fn mark_all_read(
        conn: &mut DbConnection,
        user: UserId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            notifications::table
                .filter(notifications::user_id.eq(user.0))
                .filter(notifications::read_at.is_null()),
        )
        .set(notifications::read_at.eq(now))
        .execute(conn)
    }
}
