//! Validated domain values. Each is built only through `parse`, whose error is the sentence
//! shown beside the form field.

mod email;
mod ids;
mod names;
mod password;
pub mod password_policy;
mod role;
mod target;

pub use email::EmailAddress;
pub use ids::{AccountId, OrganizationId, TargetId, UserId};
pub use names::{OrganizationName, PersonName};
pub use password::NewPassword;
pub use password_policy::PasswordPolicy;
pub use role::Role;
pub use target::{
    AccountNotes, AccountUsername, CheckoutType, Connector, ExclusiveMinutes, TargetAddress,
    TargetDescription, TargetName,
};

/// Rejects control characters other than tab/newline and the replacement character that stands
/// for bytes that were not UTF-8.
pub(crate) fn check_printable(value: &str, label: &str) -> Result<(), String> {
    if value.contains('\u{FFFD}') {
        return Err(format!(
            "{label} contains characters that could not be read (the text was not valid UTF-8)."
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(format!("{label} must not contain control characters."));
    }
    Ok(())
}
