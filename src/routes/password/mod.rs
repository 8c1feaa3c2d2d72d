//! Everyone changes their own password here.

mod get;
mod post;

pub use get::get;
pub use post::post;

use askama::Template;
use askama_web::WebTemplate;

use crate::web::{FieldErrors, Layout};

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub errors: FieldErrors,
}
