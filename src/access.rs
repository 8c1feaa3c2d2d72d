//! Who may do what to targets and accounts. Every handler asks here; the rules live in one
//! place.

use crate::models::{Account, User};

/// Owners and admins manage apps, their shared accounts and the people allowed to use them.
pub fn can_manage_apps(user: &User) -> bool {
    user.role.is_admin()
}

/// Shared accounts are edited by admins; a personal credential only by its owner.
pub fn can_edit_account(user: &User, account: &Account) -> bool {
    if account.is_shared() {
        can_manage_apps(user)
    } else {
        account.is_owned_by(user.id)
    }
}

/// Why an account cannot be edited, reset or deleted right now (exclusive lock, reset under
/// way), naming the holder and the end time. `holder` is the exclusive holder, if any.
pub fn locked_reason(
    user: &User,
    account: &Account,
    holder: Option<&crate::models::ActiveCheckout>,
) -> Option<String> {
    if let Some(holder) = holder
        && holder.checkout.user_id != user.id
    {
        return Some(format!(
            "{} has checked this account out exclusively until {} UTC. Nobody else can check it out, reveal, edit, reset or delete it until then.",
            holder.holder_name,
            holder.checkout.expires_at.format("%Y-%m-%d %H:%M")
        ));
    }
    if account.state == crate::models::AccountState::Resetting {
        return Some(
            "Its password is being reset on the real system. Try again in a moment.".into(),
        );
    }
    None
}

/// What a reveal needs to know besides the person and the account.
pub struct RevealContext {
    /// The person holds an active check-out of this (shared) account.
    pub holds_checkout: bool,
    /// The target's Credentials & Policies policy names the person.
    pub named_in_policy: bool,
}

/// Whether `user` may see the password, or the sentence saying why not.
pub fn may_reveal(
    user: &User,
    account: &Account,
    context: &RevealContext,
) -> Result<(), &'static str> {
    if account.is_shared() {
        return if context.holds_checkout {
            Ok(())
        } else {
            Err(
                "A shared account's password is shown to the person who has checked it out. Check it out first (you must be among the people allowed to use this app).",
            )
        };
    }
    if account.is_owned_by(user.id) {
        return Ok(());
    }
    if !account.is_managed() {
        return Err(
            "This credential is Unmanaged: its owner has not allowed admin access to the password.",
        );
    }
    if user.role.is_admin() && context.named_in_policy {
        return Ok(());
    }
    Err(
        "Only admins named in this app's policy (on the Credentials & Policies tab) can see Managed passwords.",
    )
}
