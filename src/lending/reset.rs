//! Password resets that never lose a password.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::LendingError;
use crate::connectors::{ConnectorError, connector_for};
use crate::domain::{AccountId, PasswordPolicy};
use crate::models::account::{pending_slot, secret_slot};
use crate::models::{Account, AccountState, AuditEvent, NewAuditEvent, Notification, Target, User};
use crate::schema::accounts;
use crate::vault::Vault;

/// After this many failed attempts in a row the account is marked out of sync.
pub const MAX_RESET_ATTEMPTS: i32 = 5;

/// How long a worker holds a reset it has claimed. Longer than an attempt takes (a connector
/// connects twice with a 5 s timeout); if the worker dies, another takes the reset over after
/// this.
pub const RESET_CLAIM: chrono::Duration = chrono::Duration::seconds(30);

/// The wait before attempt `n + 1` after `n` failures: 5 s, 10 s, 20 s, 40 s… at most 5 minutes.
fn backoff(failures: i32) -> chrono::Duration {
    let seconds = 5_i64.saturating_mul(1_i64 << failures.clamp(1, 16).saturating_sub(1));
    chrono::Duration::seconds(seconds.min(300))
}

/// A new password from the app's policy (the default policy if the app is gone, or if its
/// policy cannot produce one).
fn new_password(target: Option<&Target>) -> Result<zeroize::Zeroizing<String>, LendingError> {
    target
        .map(Target::policy)
        .unwrap_or_default()
        .generate()
        .or_else(|_| PasswordPolicy::default().generate())
        .map_err(|_| LendingError::Database(diesel::result::Error::RollbackTransaction))
}

/// Generates the next password, stores it encrypted as pending, and marks the account
/// resetting. Runs inside the caller's transaction.
pub(super) fn begin_reset(
    conn: &mut DbConnection,
    vault: &Vault,
    account: &Account,
    target: Option<&Target>,
    now: NaiveDateTime,
) -> Result<(), LendingError> {
    let password = new_password(target)?;
    let sealed = vault.encrypt(conn, &password, pending_slot(account.id))?;
    diesel::update(accounts::table.find(account.id.0))
        .set((
            accounts::state.eq(AccountState::Resetting.as_str()),
            accounts::pending_secret.eq(Some(sealed)),
            accounts::reset_attempts.eq(0),
            accounts::reset_error.eq(None::<String>),
            accounts::next_reset_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

use crate::db::DbConnection;

/// Within the transaction that ends an account's last check-out: resets the password of an
/// account of a Vault-only app at once. There is no system to change or to test a login on, so
/// the new password is made current straight away — the same final write and audit event as
/// [`perform_reset`], without a pending password, a claim and a second transaction.
pub(super) fn reset_vault_only_now(
    conn: &mut DbConnection,
    vault: &Vault,
    account: &Account,
    target: &Target,
    now: NaiveDateTime,
) -> Result<(), LendingError> {
    let password = new_password(Some(target))?;
    let sealed = vault.encrypt(conn, &password, secret_slot(account.id))?;
    diesel::update(accounts::table.find(account.id.0))
        .set(MadeCurrent::new(sealed, now))
        .execute(conn)?;
    record_reset(conn, account, &target.name, target.connector.as_str(), now)?;
    Ok(())
}

/// The audit event of a reset that is done: the new password is current.
fn record_reset(
    conn: &mut DbConnection,
    account: &Account,
    target_name: &str,
    connector_name: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    AuditEvent::record(
        conn,
        NewAuditEvent {
            organization_id: account.organization_id,
            actor: None,
            action: "account.reset",
            object_type: "account",
            object_id: Some(account.id.0),
            detail: format!(
                "Reset the password of \"{}\" on \"{target_name}\" ({connector_name} connector, verified)",
                account.username
            ),
            client_addr: None,
            target_id: Some(account.target_id.0),
        },
        now,
    )
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetOutcome {
    /// Nothing to do: not resetting (already done by another worker), claimed by another
    /// worker, or deleted.
    NothingToDo,
    /// Not due yet (waiting after a failure, or claimed by a worker until then).
    NotDue(NaiveDateTime),
    Done,
    /// Failed; retried at the given time.
    Retry(NaiveDateTime),
    /// Failed for the last time: the account is out of sync.
    OutOfSync,
}

/// The one write that makes a sealed password current and the account Available again, with no
/// reset pending: after a verified reset, and when an admin enters the real password.
#[derive(AsChangeset)]
#[diesel(table_name = accounts, treat_none_as_null = true)]
struct MadeCurrent {
    secret: Vec<u8>,
    pending_secret: Option<Vec<u8>>,
    state: &'static str,
    reset_attempts: i32,
    reset_error: Option<String>,
    next_reset_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

impl MadeCurrent {
    fn new(sealed: Vec<u8>, now: NaiveDateTime) -> Self {
        Self {
            secret: sealed,
            pending_secret: None,
            state: AccountState::Available.as_str(),
            reset_attempts: 0,
            reset_error: None,
            next_reset_at: None,
            updated_at: now,
        }
    }
}

/// Changes the password on the real system to the pending one, verifies it, then makes it
/// current. Before touching the system the caller claims the reset (a conditional write that
/// moves `next_reset_at` [`RESET_CLAIM`] ahead), so the job workers and sweeps of every instance
/// sharing the database run each attempt once; a claim left by a worker that died lapses and
/// another worker takes over. Still safe to run twice (a lapsed claim, a crash): the system is
/// always asked to take the same pending password, and only one of the final conditional writes
/// wins.
pub fn perform_reset(
    conn: &mut DbConnection,
    vault: &Vault,
    account_id: AccountId,
    now: NaiveDateTime,
) -> Result<ResetOutcome, LendingError> {
    let Some(account) = Account::find(conn, account_id)? else {
        return Ok(ResetOutcome::NothingToDo);
    };
    if account.state != AccountState::Resetting {
        return Ok(ResetOutcome::NothingToDo);
    }
    if let Some(due) = account.next_reset_at
        && due > now
    {
        return Ok(ResetOutcome::NotDue(due));
    }
    let Some(pending_blob) = account.pending_secret.clone() else {
        return Ok(ResetOutcome::NothingToDo);
    };
    let claimed = diesel::update(
        accounts::table
            .filter(accounts::id.eq(account.id.0))
            .filter(accounts::state.eq(AccountState::Resetting.as_str()))
            .filter(accounts::pending_secret.eq(&pending_blob))
            .filter(
                accounts::next_reset_at
                    .is_null()
                    .or(accounts::next_reset_at.le(now)),
            ),
    )
    .set(accounts::next_reset_at.eq(Some(now + RESET_CLAIM)))
    .execute(conn)?;
    if claimed == 0 {
        // Another worker claimed it (or finished it) since it was read: it is theirs.
        return Ok(ResetOutcome::NothingToDo);
    }
    let pending = vault.decrypt(conn, &pending_blob, pending_slot(account.id))?;
    let target = Target::find(conn, account.target_id)?;
    let outcome = match &target {
        None => Err(ConnectorError::Misconfigured("the app was deleted".into())),
        Some(target) => {
            let admin_password = target.connector_password(conn, vault)?;
            let connector = connector_for(
                target.connector,
                &target.connector_settings(),
                admin_password,
            );
            connector
                .change_password(&account.username, &pending)
                .and_then(|()| connector.verify(&account.username, &pending))
        }
    };
    let connector_name = target
        .as_ref()
        .map(|t| t.connector.as_str())
        .unwrap_or("none");
    let target_name = target.as_ref().map(|t| t.name.clone()).unwrap_or_default();

    match outcome {
        Ok(()) => {
            // Sealed before the transaction, so the write lock is held only for the writes.
            let sealed = vault.encrypt(conn, &pending, secret_slot(account.id))?;
            crate::db::transaction(conn, |conn| {
                let updated = diesel::update(
                    accounts::table
                        .filter(accounts::id.eq(account.id.0))
                        .filter(accounts::state.eq(AccountState::Resetting.as_str()))
                        .filter(accounts::pending_secret.eq(&pending_blob)),
                )
                .set(MadeCurrent::new(sealed, now))
                .execute(conn)?;
                if updated == 0 {
                    return Ok(ResetOutcome::NothingToDo);
                }
                record_reset(conn, &account, &target_name, connector_name, now)?;
                Ok(ResetOutcome::Done)
            })
        }
        Err(error) => {
            let failures = account.reset_attempts + 1;
            let message = error.to_string();
            tracing::warn!(account = account.id.0, failures, error = %message, "password reset failed");
            crate::db::transaction(conn, |conn| {
                let give_up = failures >= MAX_RESET_ATTEMPTS;
                let next = now + backoff(failures);
                let updated = diesel::update(
                    accounts::table
                        .filter(accounts::id.eq(account.id.0))
                        .filter(accounts::state.eq(AccountState::Resetting.as_str()))
                        .filter(accounts::pending_secret.eq(&pending_blob)),
                )
                .set((
                    accounts::reset_attempts.eq(failures),
                    accounts::reset_error.eq(Some(&message)),
                    accounts::state.eq(if give_up {
                        AccountState::OutOfSync.as_str()
                    } else {
                        AccountState::Resetting.as_str()
                    }),
                    accounts::next_reset_at.eq(if give_up { None } else { Some(next) }),
                ))
                .execute(conn)?;
                if updated == 0 {
                    return Ok(ResetOutcome::NothingToDo);
                }
                if !give_up {
                    return Ok(ResetOutcome::Retry(next));
                }
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: account.organization_id,
                        actor: None,
                        action: "account.out_of_sync",
                        object_type: "account",
                        object_id: Some(account.id.0),
                        detail: format!(
                            "Password reset of \"{}\" on \"{target_name}\" failed {failures} times: {message}",
                            account.username
                        ),
                        client_addr: None,
                        target_id: Some(account.target_id.0),
                    },
                    now,
                )?;
                Notification::send_to_admins(
                    conn,
                    account.organization_id,
                    &format!(
                        "The password of {} on {target_name} could not be reset ({message}). The account is out of sync: retry the reset or enter the real password.",
                        account.username
                    ),
                    &format!("/apps/{}/accounts", account.target_id),
                    now,
                )?;
                Ok(ResetOutcome::OutOfSync)
            })
        }
    }
}

/// An admin asks for another round of attempts on an out-of-sync account, with the same
/// pending password (the system may already have it).
pub fn retry_reset(
    conn: &mut DbConnection,
    admin: &User,
    account: &Account,
    now: NaiveDateTime,
    client: Option<&str>,
) -> Result<bool, LendingError> {
    crate::db::transaction(conn, |conn| {
        let updated = diesel::update(
            accounts::table
                .filter(accounts::id.eq(account.id.0))
                .filter(accounts::state.eq(AccountState::OutOfSync.as_str()))
                .filter(accounts::pending_secret.is_not_null()),
        )
        .set((
            accounts::state.eq(AccountState::Resetting.as_str()),
            accounts::reset_attempts.eq(0),
            accounts::next_reset_at.eq(Some(now)),
        ))
        .execute(conn)?;
        if updated == 1 {
            AuditEvent::record(
                conn,
                NewAuditEvent {
                    organization_id: account.organization_id,
                    actor: Some(admin.id),
                    action: "account.retry_reset",
                    object_type: "account",
                    object_id: Some(account.id.0),
                    detail: format!("Retried the password reset of \"{}\"", account.username),
                    client_addr: client,
                    target_id: Some(account.target_id.0),
                },
                now,
            )?;
        }
        Ok(updated == 1)
    })
}

/// An admin enters the password the real system actually has; the account is available again.
pub fn set_real_password(
    conn: &mut DbConnection,
    vault: &Vault,
    admin: &User,
    account: &Account,
    password: &str,
    now: NaiveDateTime,
    client: Option<&str>,
) -> Result<bool, LendingError> {
    // Sealed first, so the write lock is held only for the writes.
    let sealed = vault.encrypt(conn, password, secret_slot(account.id))?;
    crate::db::transaction(conn, |conn| {
        let updated = diesel::update(
            accounts::table
                .filter(accounts::id.eq(account.id.0))
                .filter(accounts::state.eq(AccountState::OutOfSync.as_str())),
        )
        .set(MadeCurrent::new(sealed, now))
        .execute(conn)?;
        if updated == 1 {
            AuditEvent::record(
                conn,
                NewAuditEvent {
                    organization_id: account.organization_id,
                    actor: Some(admin.id),
                    action: "account.set_real_password",
                    object_type: "account",
                    object_id: Some(account.id.0),
                    detail: format!(
                        "Entered the real password of out-of-sync account \"{}\"",
                        account.username
                    ),
                    client_addr: client,
                    target_id: Some(account.target_id.0),
                },
                now,
            )?;
        }
        Ok(updated == 1)
    })
}
