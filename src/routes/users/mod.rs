//! Users: admins add people, change their roles, disable and enable them.

mod edit;
mod list;
mod new;
mod status;

pub use edit::{edit_get, edit_post};
pub use list::list;
pub use new::{new_get, new_post};
pub use status::{disable, enable};

use crate::domain::Role;
use crate::models::User;

/// The roles `actor` may hand out: only owners make owners.
pub fn assignable_roles(actor: &User) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|role| *role != Role::Owner || actor.role == Role::Owner)
        .collect()
}

/// Why `actor` may not change `person`, if they may not.
pub fn change_refused(actor: &User, person: &User) -> Option<&'static str> {
    if actor.id == person.id {
        Some(
            "This is your own account. Another owner or admin changes your role or disables you; you change your password under Change password.",
        )
    } else if person.role == Role::Owner && actor.role != Role::Owner {
        Some("Only an owner can change or disable another owner.")
    } else {
        None
    }
}

/// The form's values, for filling it in again.
#[derive(Default)]
pub struct UserForm {
    pub name: String,
    pub email: String,
    pub role: String,
}
