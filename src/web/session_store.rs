//! Keyholder's server-side session store for actix-session: sessions live in the database, so
//! they can be revoked (sign-out, disabled user, password change) and are shared by every
//! instance on one PostgreSQL database.
//!
//! The idle timeout is the row's `expires_at`, pushed forward as the person works; the absolute
//! timeout is counted from `created_at`, which a renewal at sign-in resets. Both are checked
//! here, on the server, with the application's clock.

use std::collections::HashMap;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::db::Database;
use crate::domain::{OrganizationId, Role, UserId};
use crate::models::session::{SessionRow, SignedIn};
use crate::models::{Organization, User};
use crate::security::tokens::{hash_token, random_token};

/// Where the signed-in person's id lives in the session state.
pub const USER_ID_KEY: &str = "user_id";

/// Where `load` leaves the signed-in person and their unread count, read with the session, for
/// the [`Viewer`](crate::web::Viewer) extractor. Never stored: `save` and `update` drop it.
pub const VIEWER_KEY: &str = "__viewer";

/// The signed-in person as `load` read them (an enabled account), with their organization and
/// unread count.
#[derive(Serialize, Deserialize)]
pub struct LoadedViewer {
    id: i64,
    organization_id: i64,
    email: String,
    name: String,
    role: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    organization_name: String,
    organization_created_at: NaiveDateTime,
    allow_force_checkin: bool,
    people: i64,
    unread: i64,
}

impl LoadedViewer {
    fn new(signed_in: SignedIn) -> Self {
        let SignedIn {
            user,
            organization,
            unread,
        } = signed_in;
        Self {
            id: user.id.0,
            organization_id: user.organization_id.0,
            email: user.email,
            name: user.name,
            role: user.role.as_str().to_string(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            organization_name: organization.name,
            organization_created_at: organization.created_at,
            allow_force_checkin: organization.allow_force_checkin,
            people: organization.people,
            unread,
        }
    }

    pub fn user_id(&self) -> i64 {
        self.id
    }

    pub fn into_signed_in(self) -> SignedIn {
        SignedIn {
            user: User {
                id: UserId(self.id),
                organization_id: OrganizationId(self.organization_id),
                email: self.email,
                name: self.name,
                role: Role::from(self.role),
                disabled: false,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            organization: Organization {
                id: OrganizationId(self.organization_id),
                name: self.organization_name,
                created_at: self.organization_created_at,
                allow_force_checkin: self.allow_force_checkin,
                people: self.people,
            },
            unread: self.unread,
        }
    }
}

/// The idle deadline is written again only once it has moved this much, to spare the
/// database a write per request.
const EXTEND_GRANULARITY: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct DatabaseSessionStore {
    db: Database,
    clock: SharedClock,
    idle_timeout: Duration,
    absolute_timeout: Duration,
}

type State = HashMap<String, String>;

impl DatabaseSessionStore {
    pub fn new(
        db: Database,
        clock: SharedClock,
        idle_timeout: Duration,
        absolute_timeout: Duration,
    ) -> Self {
        Self {
            db,
            clock,
            idle_timeout,
            absolute_timeout,
        }
    }

    fn deadline(&self, ttl: &CookieDuration) -> NaiveDateTime {
        let now = self.clock.now_naive();
        now + chrono::Duration::seconds(ttl.whole_seconds().max(1))
    }

    fn oldest_allowed_creation(&self) -> NaiveDateTime {
        self.clock.now_naive()
            - chrono::Duration::from_std(self.absolute_timeout)
                .unwrap_or(chrono::Duration::hours(12))
    }
}

fn user_id_of(state: &State) -> Option<i64> {
    state
        .get(USER_ID_KEY)
        .and_then(|raw| serde_json::from_str::<i64>(raw).ok())
}

impl SessionStore for DatabaseSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let id = hash_token(session_key.as_ref());
        let now = self.clock.now_naive();
        let oldest = self.oldest_allowed_creation();
        // Loading a session is using it: its idle deadline moves here, but only once it has
        // moved by EXTEND_GRANULARITY (a write per request would serialise every page on
        // SQLite's single writer), so nearly every load is a read alone.
        let idle =
            chrono::Duration::from_std(self.idle_timeout).unwrap_or(chrono::Duration::minutes(30));
        let granularity =
            chrono::Duration::from_std(EXTEND_GRANULARITY).unwrap_or(chrono::Duration::zero());
        // The signed-in person, their organization and unread count come in the same statement
        // as the session: every signed-in page needs them. One statement, so no transaction
        // around it.
        let key = id.clone();
        let found = self
            .db
            .read_statement(move |conn| Ok(SessionRow::find_with_viewer(conn, &key)?))
            .await
            .map_err(|e: anyhow::Error| LoadError::Other(e))?;
        let row = match found {
            Some((row, signed_in)) if row.expires_at > now && row.created_at >= oldest => {
                if row.expires_at < now + idle - granularity {
                    self.db
                        .run(move |conn| {
                            let until = now + idle;
                            Ok(SessionRow::extend(conn, &id, until, until - granularity)?)
                        })
                        .await
                        .map_err(|e: anyhow::Error| LoadError::Other(e))?;
                }
                let viewer = signed_in
                    .filter(|s| !s.user.disabled)
                    .map(LoadedViewer::new);
                Some((row, viewer))
            }
            Some(_) => {
                self.db
                    .run(move |conn| Ok(SessionRow::delete(conn, &id)?))
                    .await
                    .map_err(|e: anyhow::Error| LoadError::Other(e))?;
                None
            }
            None => None,
        };
        let Some((row, viewer)) = row else {
            return Ok(None);
        };
        let mut state: State = serde_json::from_str(&row.state)
            .map_err(|e: serde_json::Error| LoadError::Deserialization(e.into()))?;
        state.remove(VIEWER_KEY);
        if let Some(viewer) = viewer
            && user_id_of(&state) == Some(viewer.id)
        {
            let json =
                serde_json::to_string(&viewer).map_err(|e| LoadError::Deserialization(e.into()))?;
            state.insert(VIEWER_KEY.to_string(), json);
        }
        Ok(Some(state))
    }

    async fn save(&self, mut state: State, ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        state.remove(VIEWER_KEY);
        let body = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = random_token(32);
        let id = hash_token(&key);
        let user_id = user_id_of(&state);
        let now = self.clock.now_naive();
        let expires_at = self.deadline(ttl);
        self.db
            .run(move |conn| {
                SessionRow::insert(conn, &id, user_id, &body, now, expires_at)?;
                Ok(())
            })
            .await
            .map_err(|e: anyhow::Error| SaveError::Other(e))?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        mut state: State,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        state.remove(VIEWER_KEY);
        let body =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let id = hash_token(session_key.as_ref());
        let user_id = user_id_of(&state);
        // The idle deadline was moved by `load`, in this same request.
        let updated = self
            .db
            .run(move |conn| Ok(SessionRow::update_state(conn, &id, user_id, &body)?))
            .await
            .map_err(|e: anyhow::Error| UpdateError::Other(e))?;
        if updated == 1 {
            return Ok(session_key);
        }
        // The session was revoked or expired while this request ran. Never bring it back to
        // life with its sign-in: start a fresh, anonymous one.
        let mut fresh = state;
        fresh.remove(USER_ID_KEY);
        self.save(fresh, ttl).await.map_err(|e| match e {
            SaveError::Serialization(e) => UpdateError::Serialization(e),
            SaveError::Other(e) => UpdateError::Other(e),
        })
    }

    /// Nothing to do: `load` already moved the idle deadline of the session it handed out.
    async fn update_ttl(
        &self,
        _session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let id = hash_token(session_key.as_ref());
        self.db
            .run(move |conn| Ok(SessionRow::delete(conn, &id)?))
            .await
            .map(|_| ())
    }
}

/// The session id as stored, for "end every other session of this person".
pub fn stored_id_of_cookie(cookie_value: &str) -> String {
    hash_token(cookie_value)
}
