use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, is_unique_violation, like_pattern, lower};
use crate::db::DbConnection;
use crate::domain::{EmailAddress, OrganizationId, PersonName, Role, UserId};
use crate::schema::users;

/// A person of an organization. The password hash is deliberately not part of it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    #[diesel(deserialize_as = i64)]
    pub id: UserId,
    #[diesel(deserialize_as = i64)]
    pub organization_id: OrganizationId,
    pub email: String,
    pub name: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<String> for Role {
    /// The table's CHECK constraint allows only known roles; anything else reads as the least
    /// privileged one.
    fn from(value: String) -> Self {
        Role::parse(&value).unwrap_or(Role::Member)
    }
}

pub struct NewUser<'a> {
    pub organization_id: OrganizationId,
    pub email: &'a EmailAddress,
    pub name: &'a PersonName,
    pub role: Role,
    pub password_hash: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a person with this email address already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl User {
    pub fn find(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<User>> {
        users::table
            .find(id.0)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_in_organization(
        conn: &mut DbConnection,
        organization: OrganizationId,
        id: UserId,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::id.eq(id.0))
            .filter(users::organization_id.eq(organization.0))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// The organization's user with exactly this address (addresses are stored lower-case).
    pub fn by_email_in_organization(
        conn: &mut DbConnection,
        organization: OrganizationId,
        email: &str,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email.trim().to_lowercase()))
            .filter(users::organization_id.eq(organization.0))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Up to `limit` of the organization's users whose whole name is `name`, case aside.
    pub fn named_in_organization(
        conn: &mut DbConnection,
        organization: OrganizationId,
        name: &str,
        limit: i64,
    ) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::organization_id.eq(organization.0))
            .filter(lower(users::name).eq(lower(name.trim())))
            .order(users::id.asc())
            .limit(limit)
            .select(User::as_select())
            .load(conn)
    }

    /// The user and their password hash, for signing in.
    pub fn with_password_hash(
        conn: &mut DbConnection,
        email: &EmailAddress,
    ) -> QueryResult<Option<(User, String)>> {
        users::table
            .filter(users::email.eq(email.as_str()))
            .select((User::as_select(), users::password_hash))
            .first(conn)
            .optional()
    }

    pub fn password_hash(conn: &mut DbConnection, id: UserId) -> QueryResult<String> {
        users::table
            .find(id.0)
            .select(users::password_hash)
            .first(conn)
    }

    pub fn email_exists(conn: &mut DbConnection, email: &EmailAddress) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            users::table.filter(users::email.eq(email.as_str())),
        ))
        .get_result(conn)
    }

    pub fn insert(
        conn: &mut DbConnection,
        new: NewUser<'_>,
        now: NaiveDateTime,
    ) -> Result<User, UserError> {
        diesel::insert_into(users::table)
            .values((
                users::organization_id.eq(new.organization_id.0),
                users::email.eq(new.email.as_str()),
                users::name.eq(new.name.as_str()),
                users::role.eq(new.role.as_str()),
                users::password_hash.eq(new.password_hash),
                users::disabled.eq(false),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .returning(users::id)
            .get_result::<i64>(conn)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    UserError::EmailTaken
                } else {
                    UserError::Database(e)
                }
            })
            .and_then(|id| {
                users::table
                    .find(id)
                    .select(User::as_select())
                    .first(conn)
                    .map_err(UserError::Database)
            })
    }

    /// People of one organization, by name, optionally filtered by a part of name or email.
    pub fn search(
        conn: &mut DbConnection,
        organization: OrganizationId,
        term: &str,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<User>> {
        let pattern = like_pattern(term.trim());
        let filtered = || {
            users::table
                .filter(users::organization_id.eq(organization.0))
                .filter(
                    lower(users::name)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(users::email.like(pattern.clone()).escape('\\')),
                )
        };
        let total: i64 = filtered().count().get_result(conn)?;
        let items = filtered()
            .order((lower(users::name).asc(), users::id.asc()))
            .limit(per_page)
            .offset(Page::<User>::offset(page, per_page))
            .select(User::as_select())
            .load(conn)?;
        Ok(Page::new(items, total, page, per_page))
    }

    pub fn update_profile(
        conn: &mut DbConnection,
        id: UserId,
        name: &PersonName,
        role: Role,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id.0))
            .set((
                users::name.eq(name.as_str()),
                users::role.eq(role.as_str()),
                users::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn set_disabled(
        conn: &mut DbConnection,
        id: UserId,
        disabled: bool,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id.0))
            .set((users::disabled.eq(disabled), users::updated_at.eq(now)))
            .execute(conn)
    }

    pub fn set_password_hash(
        conn: &mut DbConnection,
        id: UserId,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id.0))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)
    }

    /// Owners who can still sign in: an organization must always keep one.
    pub fn count_active_owners(
        conn: &mut DbConnection,
        organization: OrganizationId,
    ) -> QueryResult<i64> {
        users::table
            .filter(users::organization_id.eq(organization.0))
            .filter(users::role.eq(Role::Owner.as_str()))
            .filter(users::disabled.eq(false))
            .count()
            .get_result(conn)
    }
}
