//! Sign in and out.

mod get;
mod post;

pub use get::get;
pub use post::post;

use askama::Template;
use askama_web::WebTemplate;

use crate::web::{FieldErrors, Layout};

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub next: String,
    pub errors: FieldErrors,
    pub error: Option<String>,
    pub signed_out: bool,
    /// No organization exists yet: nobody can sign in, the setup link comes first.
    pub not_set_up: bool,
}
