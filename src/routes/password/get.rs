use super::PasswordPage;
use crate::web::{FieldErrors, Viewer};

pub async fn get(viewer: Viewer) -> PasswordPage {
    PasswordPage {
        layout: viewer.layout(""),
        errors: FieldErrors::new(),
    }
}
