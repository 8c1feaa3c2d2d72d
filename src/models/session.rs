//! Rows of the server-side session store. Keys are stored hashed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::sql::UnreadNotifications;
use crate::db::{DbConnection, gated};
use crate::domain::UserId;
use crate::models::{Organization, User};
use crate::schema::{organizations, sessions, users};

/// The person signed in with a session, their organization, and their unread notifications.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub organization: Organization,
    pub unread: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: Option<i64>,
    pub state: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl SessionRow {
    pub fn find(conn: &mut DbConnection, id_hash: &str) -> QueryResult<Option<SessionRow>> {
        sessions::table
            .find(id_hash)
            .select(SessionRow::as_select())
            .first(conn)
            .optional()
    }

    /// The session and, in the same statement, whoever is signed in with it: the person, their
    /// organization and their unread notifications. Every signed-in page needs all three, so
    /// they ride on the one trip to the database the session costs anyway.
    pub fn find_with_viewer(
        conn: &mut DbConnection,
        id_hash: &str,
    ) -> QueryResult<Option<(SessionRow, Option<SignedIn>)>> {
        let row = sessions::table
            .left_join(users::table.on(users::id.nullable().eq(sessions::user_id)))
            .left_join(
                organizations::table.on(organizations::id
                    .nullable()
                    .eq(users::organization_id.nullable())),
            )
            .filter(sessions::id.eq(id_hash))
            .select((
                SessionRow::as_select(),
                Option::<User>::as_select(),
                Option::<Organization>::as_select(),
                UnreadNotifications,
            ))
            .first::<(SessionRow, Option<User>, Option<Organization>, i64)>(conn)
            .optional()?;
        Ok(row.map(|(session, user, organization, unread)| {
            let signed_in = user.zip(organization).map(|(user, organization)| SignedIn {
                user,
                organization,
                unread,
            });
            (session, signed_in)
        }))
    }

    pub fn insert(
        conn: &mut DbConnection,
        id_hash: &str,
        user_id: Option<i64>,
        state: &str,
        created_at: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> QueryResult<usize> {
        gated(conn, |conn| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(id_hash),
                    sessions::user_id.eq(user_id),
                    sessions::state.eq(state),
                    sessions::created_at.eq(created_at),
                    sessions::expires_at.eq(expires_at),
                ))
                .execute(conn)
        })
    }

    /// Replaces the state of a live session; 0 rows means it was revoked or expired meanwhile.
    /// The idle deadline stays as loading the session left it (moved at most a minute ago):
    /// rewriting it, an indexed column, would keep PostgreSQL from updating the row in place
    /// (a HOT update, which writes no index entry).
    pub fn update_state(
        conn: &mut DbConnection,
        id_hash: &str,
        user_id: Option<i64>,
        state: &str,
    ) -> QueryResult<usize> {
        gated(conn, |conn| {
            diesel::update(sessions::table.find(id_hash))
                .set((sessions::user_id.eq(user_id), sessions::state.eq(state)))
                .execute(conn)
        })
    }

    /// Pushes the idle deadline to `expires_at`, but writes only when the stored deadline is
    /// older than `unless_after`, so a busy session does not cost a write per request.
    pub fn extend(
        conn: &mut DbConnection,
        id_hash: &str,
        expires_at: NaiveDateTime,
        unless_after: NaiveDateTime,
    ) -> QueryResult<usize> {
        gated(conn, |conn| {
            diesel::update(
                sessions::table
                    .filter(sessions::id.eq(id_hash))
                    .filter(sessions::expires_at.lt(unless_after)),
            )
            .set(sessions::expires_at.eq(expires_at))
            .execute(conn)
        })
    }

    pub fn delete(conn: &mut DbConnection, id_hash: &str) -> QueryResult<usize> {
        gated(conn, |conn| {
            diesel::delete(sessions::table.find(id_hash)).execute(conn)
        })
    }

    /// Ends every session of a person, except optionally the one in use.
    pub fn delete_for_user(
        conn: &mut DbConnection,
        user: UserId,
        except_id_hash: Option<&str>,
    ) -> QueryResult<usize> {
        let query = sessions::table.filter(sessions::user_id.eq(user.0));
        gated(conn, |conn| match except_id_hash {
            Some(keep) => diesel::delete(query.filter(sessions::id.ne(keep))).execute(conn),
            None => diesel::delete(query).execute(conn),
        })
    }

    /// Removes sessions past their idle deadline or created before `created_before`.
    pub fn delete_expired(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        created_before: NaiveDateTime,
    ) -> QueryResult<usize> {
        gated(conn, |conn| {
            diesel::delete(
                sessions::table.filter(
                    sessions::expires_at
                        .le(now)
                        .or(sessions::created_at.lt(created_before)),
                ),
            )
            .execute(conn)
        })
    }
}
