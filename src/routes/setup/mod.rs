//! First run: create the organization and its owner through the one-time link printed at
//! start-up. Once done, the link is dead.

mod get;
mod post;

pub use get::get;
pub use post::{SetupInput, post};

use askama::Template;
use askama_web::WebTemplate;

use crate::web::{FieldErrors, Layout};

#[derive(Default)]
pub struct SetupForm {
    pub organization: String,
    pub name: String,
    pub email: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub layout: Layout,
    pub token: String,
    pub form: SetupForm,
    pub errors: FieldErrors,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_done.html")]
pub struct SetupClosedPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: &'static str,
}

/// Setup links older than this no longer work; restarting prints a new one.
pub const SETUP_LINK_LIFETIME: chrono::Duration = chrono::Duration::hours(24);
