use actix_web::{HttpResponse, web};

use super::change_refused;
use super::edit::load_person;
use crate::domain::Role;
use crate::errors::AppError;
use crate::models::session::SessionRow;
use crate::models::{AuditEvent, NewAuditEvent, User};
use crate::state::SharedState;
use crate::web::{AdminViewer, Flash, RawForm, see_other};

pub async fn disable(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    set_disabled(viewer, state, path.into_inner(), true).await
}

pub async fn enable(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    set_disabled(viewer, state, path.into_inner(), false).await
}

async fn set_disabled(
    viewer: AdminViewer,
    state: SharedState,
    id: i64,
    disabled: bool,
) -> Result<HttpResponse, AppError> {
    let person = load_person(&state, &viewer, id).await?;
    if let Some(reason) = change_refused(&viewer.user, &person) {
        return Err(AppError::forbidden(reason));
    }
    let now = state.clock.now_naive();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let (person_id, person_role, person_name) = (person.id, person.role, person.name.clone());
    let outcome = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                if disabled
                    && person_role == Role::Owner
                    && User::count_active_owners(conn, organization)? <= 1
                {
                    return Ok(Err("The organization must keep at least one active owner."));
                }
                User::set_disabled(conn, person_id, disabled, now)?;
                if disabled {
                    // Signed out everywhere, at once.
                    SessionRow::delete_for_user(conn, person_id, None)?;
                }
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: if disabled {
                            "user.disable"
                        } else {
                            "user.enable"
                        },
                        object_type: "user",
                        object_id: Some(person_id.0),
                        detail: format!(
                            "{} {}",
                            if disabled { "Disabled" } else { "Enabled" },
                            person_name
                        ),
                        client_addr: Some(&client),
                        target_id: None,
                    },
                    now,
                )?;
                Ok::<_, diesel::result::Error>(Ok(()))
            })
            .map_err(AppError::from)
        })
        .await?;
    if let Err(reason) = outcome {
        return Err(AppError::forbidden(reason));
    }
    Flash::push(
        &viewer.session,
        Flash::success(if disabled {
            format!("{} is disabled and was signed out everywhere.", person.name)
        } else {
            format!("{} can sign in again.", person.name)
        }),
    );
    Ok(see_other(&format!("/users/{}", person.id)))
}
