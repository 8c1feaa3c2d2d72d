//! The dashboard notification inbox.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::{Page, page_with_total};
use crate::db::DbConnection;
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

    /// A page of the inbox, unread first, newest first.
    pub fn inbox(
        conn: &mut DbConnection,
        user: UserId,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<Notification>> {
        let page_of = || {
            notifications::table
                .filter(notifications::user_id.eq(user.0))
                .order((
                    notifications::read_at.is_not_null(),
                    notifications::id.desc(),
                ))
                .limit(per_page)
                .offset(Page::<Notification>::offset(page, per_page))
        };
        let (items, total) = page_with_total(
            conn,
            page,
            |conn| {
                page_of()
                    .select((Notification::as_select(), count_star().over()))
                    .load(conn)
            },
            |conn| page_of().select(Notification::as_select()).load(conn),
            |conn| {
                notifications::table
                    .filter(notifications::user_id.eq(user.0))
                    .count()
                    .get_result(conn)
            },
        )?;
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
