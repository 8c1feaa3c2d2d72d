//! Check-out, check-in, expiry and password resets.
//!
//! Every state change is a conditional write inside a transaction (which on SQLite holds the
//! write lock from its start, see [`crate::db::transaction`]; on PostgreSQL the write locks the
//! row): two people can never both hold an exclusive account, and an account whose reset has not succeeded is never
//! handed out. A reset stores the new password encrypted as *pending* before the real system
//! is touched, retries with that same password, and makes it current only once the system has
//! accepted it and a test login with it worked.

mod reset;
pub mod view;

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use reset::{MAX_RESET_ATTEMPTS, ResetOutcome, perform_reset, retry_reset, set_real_password};

use crate::db::DbConnection;
use crate::domain::{AccountId, CheckoutType, Connector, UserId};
use crate::models::checkout::EndReason;
use crate::models::{
    Account, AccountState, AuditEvent, Checkout, NewAuditEvent, Notification, Target, User,
};
use crate::schema::accounts;
use crate::vault::{Vault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum LendingError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Why a check-out was not granted, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotShared,
    NotAllowed,
    Locked {
        holder: String,
        until: NaiveDateTime,
    },
    AlreadyHeld,
    Resetting,
    OutOfSync,
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::NotShared => "Only shared accounts are checked out.".into(),
            Refusal::NotAllowed => "You are not among the people allowed to use this app's shared accounts. Ask an admin to add you.".into(),
            Refusal::Locked { holder, until } => format!(
                "{holder} has checked this account out exclusively until {} UTC. Nobody else can check it out, reveal, edit, reset or delete it until then.",
                until.format("%Y-%m-%d %H:%M")
            ),
            Refusal::AlreadyHeld => "You already hold this account.".into(),
            Refusal::Resetting => "Its password is being reset after the last check-out. It will be available in a moment.".into(),
            Refusal::OutOfSync => "Its password reset failed, so it is out of sync and unavailable until an admin fixes it.".into(),
        }
    }
}

/// The transaction's own error: either a refusal (rolled back) or a failure.
enum Tx {
    Refused,
    Failed(LendingError),
}

impl From<diesel::result::Error> for Tx {
    fn from(e: diesel::result::Error) -> Self {
        Tx::Failed(e.into())
    }
}

impl From<VaultError> for Tx {
    fn from(e: VaultError) -> Self {
        Tx::Failed(e.into())
    }
}

/// Checks `account` out to `user` for the target's duration. `client` is for the audit trail.
pub fn check_out(
    conn: &mut DbConnection,
    user: &User,
    account: &Account,
    target: &Target,
    now: NaiveDateTime,
    client: Option<&str>,
) -> Result<Result<Checkout, Refusal>, LendingError> {
    if !account.is_shared() {
        return Ok(Err(Refusal::NotShared));
    }
    if !Target::is_allowed(conn, target.id, user.id)? {
        return Ok(Err(Refusal::NotAllowed));
    }
    let mode = target.checkout_type;
    let expires_at = now + chrono::Duration::minutes(i64::from(target.exclusive_minutes));
    let result = crate::db::transaction(conn, |conn| {
        let id = match Checkout::insert(
            conn,
            crate::models::checkout::NewCheckout {
                organization: account.organization_id,
                account: account.id,
                target: target.id,
                user: user.id,
                mode,
                started_at: now,
                expires_at,
            },
        ) {
            Ok(Some(id)) => id,
            Ok(None) => return Err(Tx::Refused),
            Err(e) => return Err(e.into()),
        };
        let claim = diesel::update(
            accounts::table
                .filter(accounts::id.eq(account.id.0))
                .filter(accounts::state.eq(AccountState::Available.as_str()))
                .filter(accounts::exclusive_checkout_id.is_null()),
        );
        let claimed = match mode {
            CheckoutType::Exclusive => claim
                .set(accounts::exclusive_checkout_id.eq(Some(id)))
                .execute(conn)?,
            CheckoutType::Regular => claim
                .set(accounts::updated_at.eq(accounts::updated_at))
                .execute(conn)?,
        };
        if claimed != 1 {
            return Err(Tx::Refused);
        }
        // `now` was read before this transaction had its lock, so a request that waited for
        // the previous holder's check-in can carry an earlier time than that check-in: on
        // record, an exclusive check-out starts no earlier than the last one ended.
        let mut expires_at = expires_at;
        if mode == CheckoutType::Exclusive
            && let Some(ended) = Checkout::last_end_on(conn, account.id)?
            && ended > now
        {
            expires_at = ended + (expires_at - now);
            Checkout::move_start(conn, id, ended, expires_at)?;
        }
        AuditEvent::record(
            conn,
            NewAuditEvent {
                organization_id: account.organization_id,
                actor: Some(user.id),
                action: "checkout.start",
                object_type: "account",
                object_id: Some(account.id.0),
                detail: format!(
                    "Checked out \"{}\" on \"{}\" ({}) until {} UTC",
                    account.username,
                    target.name,
                    mode.label(),
                    expires_at.format("%Y-%m-%d %H:%M:%S")
                ),
                client_addr: client,
                target_id: Some(target.id.0),
            },
            now,
        )?;
        Checkout::find(conn, id)?.ok_or(Tx::Failed(diesel::result::Error::NotFound.into()))
    });
    match result {
        Ok(checkout) => Ok(Ok(checkout)),
        Err(Tx::Failed(e)) => Err(e),
        Err(Tx::Refused) => Ok(Err(explain_refusal(conn, user.id, account.id)?)),
    }
}

/// Reads why a check-out could not be granted (after the refused transaction rolled back).
fn explain_refusal(
    conn: &mut DbConnection,
    user: UserId,
    account: AccountId,
) -> Result<Refusal, LendingError> {
    if Checkout::active_of_user_on(conn, user, account)?.is_some() {
        return Ok(Refusal::AlreadyHeld);
    }
    let active = Checkout::active_for_accounts(conn, &[account.0], user)?;
    if let Some(holder) = active
        .iter()
        .find(|a| a.checkout.mode == CheckoutType::Exclusive)
    {
        return Ok(Refusal::Locked {
            holder: holder.holder_name.clone(),
            until: holder.checkout.expires_at,
        });
    }
    let state: String = accounts::table
        .find(account.0)
        .select(accounts::state)
        .first(conn)?;
    Ok(match AccountState::from(state) {
        AccountState::OutOfSync => Refusal::OutOfSync,
        _ => Refusal::Resetting,
    })
}

/// What ending a check-out did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Someone (another worker, the holder) had already ended it.
    AlreadyEnded,
    /// Ended. `kept` is `None` when the password is reset, else why it stays; `reset_done`
    /// when that reset is already done (a Vault-only app's, in the same transaction), else it
    /// was started and a worker finishes it.
    Ended {
        account: AccountId,
        kept: Option<KeptBecause>,
        reset_done: bool,
    },
}

impl Ended {
    /// The account whose reset this started and left to finish, if it did.
    pub fn reset_started(&self) -> Option<AccountId> {
        match self {
            Ended::Ended {
                account,
                kept: None,
                reset_done: false,
            } => Some(*account),
            _ => None,
        }
    }

    /// Whether the password was already reset when the check-out ended.
    pub fn reset_done(&self) -> bool {
        matches!(
            self,
            Ended::Ended {
                reset_done: true,
                ..
            }
        )
    }
}

/// Why ending a check-out left the password unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptBecause {
    /// AutoReset is disabled for the account.
    AutoResetDisabled,
    /// This many others still hold regular check-outs; the reset follows the last one.
    OthersHold(i64),
    /// The account is already being reset, or is out of sync.
    NotAvailable,
    /// The account no longer exists.
    AccountGone,
}

/// Ends a check-out (check-in, expiry or forced). Idempotent. Lifts the exclusive lock and, when
/// AutoReset is enabled (and, for regular check-outs, this was the last holder), starts the
/// reset in the same transaction, so the account is never available with a known password;
/// otherwise it says why the password stays.
pub fn end_checkout(
    conn: &mut DbConnection,
    vault: &Vault,
    checkout_id: i64,
    reason: EndReason,
    by: Option<&User>,
    now: NaiveDateTime,
    client: Option<&str>,
) -> Result<Ended, LendingError> {
    crate::db::transaction(conn, |conn| {
        if Checkout::end(conn, checkout_id, reason, by.map(|u| u.id), now)? == 0 {
            return Ok(Ended::AlreadyEnded);
        }
        let checkout = Checkout::find(conn, checkout_id)?.ok_or(diesel::result::Error::NotFound)?;
        let account: Option<Account> = accounts::table
            .find(checkout.account_id.0)
            .select(Account::as_select())
            .first(conn)
            .optional()?;
        let Some(account) = account else {
            return Ok(Ended::Ended {
                account: checkout.account_id,
                kept: Some(KeptBecause::AccountGone),
                reset_done: false,
            });
        };
        if checkout.mode == CheckoutType::Exclusive {
            diesel::update(
                accounts::table
                    .filter(accounts::id.eq(account.id.0))
                    .filter(accounts::exclusive_checkout_id.eq(checkout.id)),
            )
            .set(accounts::exclusive_checkout_id.eq(None::<i64>))
            .execute(conn)?;
        }
        let others = Checkout::count_active_on(conn, account.id)?;
        let target = Target::find(conn, account.target_id)?;
        let kept = if !account.auto_reset {
            Some(KeptBecause::AutoResetDisabled)
        } else if others > 0 {
            Some(KeptBecause::OthersHold(others))
        } else if account.state != AccountState::Available {
            Some(KeptBecause::NotAvailable)
        } else {
            None
        };
        let reset = kept.is_none();
        // A Vault-only app has no system to reach: its reset is done here, in this transaction
        // (below, after the end's own audit event, so that the trail reads in order).
        let vault_only = target
            .as_ref()
            .filter(|t| reset && t.connector == Connector::VaultOnly);
        let reset_done = vault_only.is_some();
        if reset && !reset_done {
            reset::begin_reset(conn, vault, &account, target.as_ref(), now)?;
        }
        let target_name = target
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or("(deleted app)");
        let (action, verb) = match reason {
            EndReason::CheckedIn => ("checkout.checkin", "Checked in"),
            EndReason::Expired => ("checkout.expire", "Check-out expired for"),
            EndReason::Forced => ("checkout.force", "Forced the check-in of"),
        };
        AuditEvent::record(
            conn,
            NewAuditEvent {
                organization_id: account.organization_id,
                actor: by.map(|u| u.id),
                action,
                object_type: "account",
                object_id: Some(account.id.0),
                detail: format!(
                    "{verb} \"{}\" on \"{target_name}\"; {}",
                    account.username,
                    if reset_done {
                        "password reset"
                    } else if reset {
                        "password reset started"
                    } else if !account.auto_reset {
                        "AutoReset disabled: password unchanged"
                    } else if others > 0 {
                        "others still hold it: reset when the last one ends"
                    } else {
                        "no reset"
                    }
                ),
                client_addr: client,
                target_id: Some(account.target_id.0),
            },
            now,
        )?;
        if let Some(target) = vault_only {
            reset::reset_vault_only_now(conn, vault, &account, target, now)?;
        }
        if reason == EndReason::Forced {
            Notification::send(
                conn,
                account.organization_id,
                checkout.user_id,
                &format!(
                    "{} ended your exclusive check-out of {} on {}.",
                    by.map(|u| u.name.as_str()).unwrap_or("An owner"),
                    account.username,
                    target_name
                ),
                &format!("/apps/{}", account.target_id),
                now,
            )?;
        }
        Ok::<_, LendingError>(Ended::Ended {
            account: account.id,
            kept,
            reset_done,
        })
    })
}
