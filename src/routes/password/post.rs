use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse};

use super::PasswordPage;
use crate::domain::NewPassword;
use crate::errors::AppError;
use crate::models::session::SessionRow;
use crate::models::{AuditEvent, NewAuditEvent, User};
use crate::security::password::{hash_password, verify_password};
use crate::state::SharedState;
use crate::web::{FieldErrors, Flash, RawForm, Viewer, see_other};

pub async fn post(
    viewer: Viewer,
    state: SharedState,
    form: RawForm,
) -> Result<Either<HttpResponse, (PasswordPage, StatusCode)>, AppError> {
    let current = form.get("current_password").to_string();
    let mut errors = FieldErrors::new();
    let new_password = errors.take("new_password", NewPassword::parse(form.get("new_password")));
    if let Some(new) = &new_password
        && new.expose() != form.get("new_password_confirm")
    {
        errors.add(
            "new_password_confirm",
            "The two new passwords are not the same.",
        );
    }
    if current.is_empty() {
        errors.add("current_password", "Enter your current password.");
    }
    if errors.is_empty() {
        let id = viewer.user.id;
        let stored = state
            .db
            .run(move |conn| Ok::<_, AppError>(User::password_hash(conn, id)?))
            .await?;
        if !verify_password(current, Some(stored)).await? {
            errors.add("current_password", "This is not your current password.");
        }
    }
    let (Some(new_password), true) = (new_password, errors.is_empty()) else {
        return Ok(Either::Right((
            PasswordPage {
                layout: viewer.layout(""),
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )));
    };

    let hash = hash_password(new_password.expose().to_string()).await?;
    let now = state.clock.now_naive();
    let (id, org) = (viewer.user.id, viewer.user.organization_id);
    let client = viewer.client.as_str().to_string();
    state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                User::set_password_hash(conn, id, &hash, now)?;
                // Every session of this person ends; the current one continues under a new id.
                SessionRow::delete_for_user(conn, id, None)?;
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: org,
                        actor: Some(id),
                        action: "user.password_changed",
                        object_type: "user",
                        object_id: Some(id.0),
                        detail: "Changed own password; other sessions signed out".into(),
                        client_addr: Some(&client),
                        target_id: None,
                    },
                    now,
                )
            })?;
            Ok::<_, AppError>(())
        })
        .await?;
    viewer.session.renew();
    Flash::push(
        &viewer.session,
        Flash::success("Your password has been changed. Other sessions were signed out."),
    );
    Ok(Either::Left(see_other("/")))
}
