use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{AuditEvent, NewAuditEvent, NewUser, User, UserError, is_unique_violation};
use crate::db::DbConnection;
use crate::domain::{EmailAddress, OrganizationId, OrganizationName, PersonName, Role};
use crate::schema::{installation, organizations, setup_tokens};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    #[diesel(deserialize_as = i64)]
    pub id: OrganizationId,
    pub name: String,
    pub created_at: NaiveDateTime,
    /// Owners may end someone else's exclusive check-out (off by default).
    pub allow_force_checkin: bool,
    /// How many people it has, kept by the database's triggers on `users`.
    pub people: i64,
}

impl Organization {
    pub fn find(conn: &mut DbConnection, id: OrganizationId) -> QueryResult<Organization> {
        organizations::table
            .find(id.0)
            .select(Organization::as_select())
            .first(conn)
    }

    pub fn set_allow_force_checkin(
        conn: &mut DbConnection,
        id: OrganizationId,
        allowed: bool,
    ) -> QueryResult<usize> {
        diesel::update(organizations::table.find(id.0))
            .set(organizations::allow_force_checkin.eq(allowed))
            .execute(conn)
    }

    pub fn insert(
        conn: &mut DbConnection,
        name: &OrganizationName,
        now: NaiveDateTime,
    ) -> QueryResult<Organization> {
        diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq(name.as_str()),
                organizations::created_at.eq(now),
            ))
            .returning(organizations::id)
            .get_result::<i64>(conn)
            .and_then(|id| Organization::find(conn, OrganizationId(id)))
    }
}

/// The single row saying that this installation has been set up.
pub struct Installation;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("Keyholder is already set up: sign in instead")]
    AlreadySetUp,
    #[error("this setup link is not valid (it may be old); restart Keyholder for a new one")]
    InvalidToken,
    #[error("a person with this email address already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

pub struct NewInstallation<'a> {
    pub organization: &'a OrganizationName,
    pub owner_name: &'a PersonName,
    pub owner_email: &'a EmailAddress,
    pub owner_password_hash: &'a str,
}

impl Installation {
    pub fn is_set_up(conn: &mut DbConnection) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            installation::table.select(installation::id),
        ))
        .get_result(conn)
    }

    /// Creates the organization and its owner in one transaction. `token_hash` is the setup
    /// link's token (the command line passes `None`). The primary key of `installation` makes a
    /// second setup fail even when two race.
    pub fn create(
        conn: &mut DbConnection,
        new: NewInstallation<'_>,
        token_hash: Option<&str>,
        token_not_before: NaiveDateTime,
        now: NaiveDateTime,
        client_addr: Option<&str>,
    ) -> Result<(Organization, User), SetupError> {
        crate::db::transaction(conn, |conn| {
            if Installation::is_set_up(conn)? {
                return Err(SetupError::AlreadySetUp);
            }
            if let Some(hash) = token_hash
                && !SetupToken::is_valid(conn, hash, token_not_before)?
            {
                return Err(SetupError::InvalidToken);
            }
            let organization = Organization::insert(conn, new.organization, now)?;
            diesel::insert_into(installation::table)
                .values((
                    installation::id.eq(1_i64),
                    installation::organization_id.eq(organization.id.0),
                    installation::set_up_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        SetupError::AlreadySetUp
                    } else {
                        SetupError::Database(e)
                    }
                })?;
            let owner = User::insert(
                conn,
                NewUser {
                    organization_id: organization.id,
                    email: new.owner_email,
                    name: new.owner_name,
                    role: Role::Owner,
                    password_hash: new.owner_password_hash,
                },
                now,
            )
            .map_err(|e| match e {
                UserError::EmailTaken => SetupError::EmailTaken,
                UserError::Database(e) => SetupError::Database(e),
            })?;
            diesel::delete(setup_tokens::table).execute(conn)?;
            AuditEvent::record(
                conn,
                NewAuditEvent {
                    organization_id: organization.id,
                    actor: Some(owner.id),
                    action: "organization.setup",
                    object_type: "organization",
                    object_id: Some(organization.id.0),
                    detail: format!(
                        "Set up organization \"{}\" with owner {}",
                        organization.name, owner.email
                    ),
                    client_addr,
                    target_id: None,
                },
                now,
            )?;
            Ok((organization, owner))
        })
    }
}

/// One-time links printed at start-up while nobody has set Keyholder up.
pub struct SetupToken;

impl SetupToken {
    pub fn insert(conn: &mut DbConnection, hash: &str, now: NaiveDateTime) -> QueryResult<()> {
        diesel::insert_into(setup_tokens::table)
            .values((
                setup_tokens::token_hash.eq(hash),
                setup_tokens::created_at.eq(now),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Valid: known and created after `not_before`.
    pub fn is_valid(
        conn: &mut DbConnection,
        hash: &str,
        not_before: NaiveDateTime,
    ) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            setup_tokens::table
                .filter(setup_tokens::token_hash.eq(hash))
                .filter(setup_tokens::created_at.ge(not_before)),
        ))
        .get_result(conn)
    }
}
