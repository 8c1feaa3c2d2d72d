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

/// What a reveal needs to know besides the person and the account.
pub struct RevealContext {
    /// The person is among the target's allowed people.
    pub allowed_on_target: bool,
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
        return if context.allowed_on_target {
            Ok(())
        } else {
            Err(
                "Only the people allowed to use this app's shared accounts can see this password. An admin can add you on the app's Accounts tab.",
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
