//! Create account, Add my credential, Edit account, Reveal, delete.

mod delete;
mod edit;
mod new;
mod reveal;

pub use delete::{delete_get, delete_post};
pub use edit::{edit_get, edit_post};
pub use new::{new_get, new_post};
pub use reveal::{RevealPage, reveal};

use zeroize::Zeroizing;

use crate::domain::{
    AccountId, AccountNotes, AccountUsername, OrganizationId, PasswordPolicy, UserId,
};
use crate::errors::AppError;
use crate::models::{Account, AccountInput};
use crate::state::SharedState;
use crate::web::{FieldErrors, RawForm};

/// The longest password Keyholder stores for an account.
pub const MAX_ACCOUNT_PASSWORD: usize = 1024;

/// The account form as typed (never the password), for filling it in again.
pub struct AccountForm {
    pub username: String,
    pub password_mode: String,
    pub notes: String,
    pub auto_reset: bool,
    pub admin_access: bool,
}

impl AccountForm {
    pub fn new_defaults(personal: bool) -> Self {
        Self {
            username: String::new(),
            // People type their own login; shared accounts get a generated password by default.
            password_mode: if personal { "type" } else { "generate" }.into(),
            notes: String::new(),
            auto_reset: true,
            admin_access: true,
        }
    }

    pub fn from_account(account: &Account) -> Self {
        Self {
            username: account.username.clone(),
            password_mode: "keep".into(),
            notes: account.notes.clone(),
            auto_reset: account.auto_reset,
            admin_access: account.admin_access,
        }
    }

    pub fn from_form(form: &RawForm) -> Self {
        Self {
            username: form.get("username").into(),
            password_mode: form.get("password_mode").into(),
            notes: form.get("notes").into(),
            auto_reset: form.checked("auto_reset"),
            admin_access: form.checked("admin_access"),
        }
    }

    /// Validates; `allow_keep` on Edit account, where the password may stay as it is.
    /// Returns the input and the new password, if any.
    pub fn parse(
        &self,
        form: &RawForm,
        owner: Option<UserId>,
        policy: &PasswordPolicy,
        allow_keep: bool,
    ) -> Result<(AccountInput, Option<Zeroizing<String>>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let username = errors.take("username", AccountUsername::parse(&self.username));
        let notes = errors.take("notes", AccountNotes::parse(&self.notes));
        let password: Option<Option<Zeroizing<String>>> = match self.password_mode.as_str() {
            "keep" if allow_keep => Some(None),
            "generate" => match policy.generate() {
                Ok(generated) => Some(Some(generated)),
                Err(_) => {
                    errors.add(
                        "password_mode",
                        "The app's password policy cannot be met, so no password can be generated. Fix the policy on the app's Settings tab, or type a password.",
                    );
                    None
                }
            },
            "type" => {
                let typed = Zeroizing::new(form.get("password").to_string());
                if typed.is_empty() {
                    errors.add("password", "Type the password, or choose to generate one.");
                    None
                } else if typed.contains('\u{FFFD}') {
                    errors.add(
                        "password",
                        "The password contains characters that could not be read (not valid UTF-8).",
                    );
                    None
                } else if typed.chars().count() > MAX_ACCOUNT_PASSWORD {
                    errors.add(
                        "password",
                        format!("A password has at most {MAX_ACCOUNT_PASSWORD} characters."),
                    );
                    None
                } else if form.get("password_confirm") != typed.as_str() {
                    errors.add("password_confirm", "The two passwords are not the same.");
                    None
                } else {
                    Some(Some(typed))
                }
            }
            _ => {
                errors.add("password_mode", "Choose how to set the password.");
                None
            }
        };
        match (username, notes, password) {
            (Some(username), Some(notes), Some(password)) if errors.is_empty() => Ok((
                AccountInput {
                    username,
                    notes,
                    auto_reset: self.auto_reset,
                    owner,
                    admin_access: self.admin_access,
                },
                password,
            )),
            _ => Err(errors),
        }
    }
}

/// The account behind `/accounts/{id}`, if it belongs to the viewer's organization (else 404).
pub async fn load_account(
    state: &SharedState,
    organization: OrganizationId,
    id: i64,
) -> Result<Account, AppError> {
    state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(Account::find_in_organization(
                conn,
                organization,
                AccountId(id),
            )?)
        })
        .await?
        .ok_or(AppError::NotFound)
}

/// Refuses changes while someone else holds the account exclusively or a reset runs; deleting
/// also waits until nobody holds it at all.
pub async fn ensure_changeable(
    state: &SharedState,
    user: &crate::models::User,
    account: &Account,
    deleting: bool,
) -> Result<(), AppError> {
    let id = account.id;
    let viewer = user.id;
    let active = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(crate::models::Checkout::active_for_accounts(
                conn,
                &[id.0],
                viewer,
            )?)
        })
        .await?;
    let exclusive = active
        .iter()
        .find(|a| a.checkout.mode == crate::domain::CheckoutType::Exclusive);
    if let Some(reason) = crate::access::locked_reason(user, account, exclusive) {
        return Err(AppError::Conflict(reason));
    }
    if deleting && !active.is_empty() {
        return Err(AppError::Conflict(format!(
            "{} is checked out by {}. It can be deleted once it is checked in.",
            account.username,
            crate::lending::view::holder_names(&active, user.id)
        )));
    }
    Ok(())
}

/// What a person is about to do to an account.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Edit,
    Delete,
}

/// The account behind `/accounts/{id}` and its app, if `viewer` may change it now: shared
/// accounts are the admins', a personal credential its owner's, and nobody changes an account
/// someone else holds exclusively (deleting also waits until nobody holds it).
pub async fn load_changeable(
    viewer: &crate::web::Viewer,
    state: &SharedState,
    id: i64,
    change: Change,
) -> Result<(Account, crate::models::Target), AppError> {
    let account = load_account(state, viewer.user.organization_id, id).await?;
    if !crate::access::can_edit_account(&viewer.user, &account) {
        let verb = if change == Change::Edit {
            "edit"
        } else {
            "delete"
        };
        return Err(AppError::forbidden(if account.is_shared() {
            format!("Only owners and admins {verb} shared accounts.")
        } else {
            format!("Only the person who stored a personal credential can {verb} it.")
        }));
    }
    ensure_changeable(state, &viewer.user, &account, change == Change::Delete).await?;
    let target =
        crate::routes::apps::load_target(state, viewer.user.organization_id, account.target_id.0)
            .await?;
    Ok((account, target))
}
