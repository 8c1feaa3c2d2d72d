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

use crate::clock::SharedClock;
use crate::db::Database;
use crate::models::session::SessionRow;
use crate::security::tokens::{hash_token, random_token};

/// Where the signed-in person's id lives in the session state.
pub const USER_ID_KEY: &str = "user_id";

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
        // Loading a session is using it: its idle deadline moves here, in the same trip to the
        // database, and only once it has moved by EXTEND_GRANULARITY (a write per request
        // would serialise every page on SQLite's single writer).
        let idle =
            chrono::Duration::from_std(self.idle_timeout).unwrap_or(chrono::Duration::minutes(30));
        let granularity =
            chrono::Duration::from_std(EXTEND_GRANULARITY).unwrap_or(chrono::Duration::zero());
        let row = self
            .db
            .run(move |conn| {
                let row = SessionRow::find(conn, &id)?;
                match row {
                    Some(row) if row.expires_at > now && row.created_at >= oldest => {
                        if row.expires_at < now + idle - granularity {
                            SessionRow::extend(conn, &id, now + idle, now + idle - granularity)?;
                        }
                        Ok(Some(row))
                    }
                    Some(_) => {
                        SessionRow::delete(conn, &id)?;
                        Ok(None)
                    }
                    None => Ok(None),
                }
            })
            .await
            .map_err(|e: anyhow::Error| LoadError::Other(e))?;
        match row {
            None => Ok(None),
            Some(row) => serde_json::from_str(&row.state)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(&self, state: State, ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
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
        state: State,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let body =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let id = hash_token(session_key.as_ref());
        let user_id = user_id_of(&state);
        let expires_at = self.deadline(ttl);
        let updated = self
            .db
            .run(move |conn| {
                Ok(SessionRow::update_state(
                    conn, &id, user_id, &body, expires_at,
                )?)
            })
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
