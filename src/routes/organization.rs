//! Organization settings, for owners.

use actix_web::HttpResponse;
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::Role;
use crate::errors::AppError;
use crate::models::{AuditEvent, NewAuditEvent, Organization};
use crate::state::SharedState;
use crate::web::{Flash, Layout, RawForm, Viewer, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "organization.html")]
pub struct OrganizationPage {
    layout: Layout,
    organization: Organization,
}

fn owner_only(viewer: &Viewer) -> Result<(), AppError> {
    if viewer.user.role == Role::Owner {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Only owners change the organization's settings.",
        ))
    }
}

pub async fn get(viewer: Viewer) -> Result<OrganizationPage, AppError> {
    owner_only(&viewer)?;
    Ok(OrganizationPage {
        layout: viewer.layout(""),
        organization: viewer.organization.clone(),
    })
}

pub async fn post(
    viewer: Viewer,
    state: SharedState,
    form: RawForm,
) -> Result<HttpResponse, AppError> {
    owner_only(&viewer)?;
    let allow = form.checked("allow_force_checkin");
    let (id, actor, now) = (
        viewer.user.organization_id,
        viewer.user.id,
        state.clock.now_naive(),
    );
    let client = viewer.client.as_str().to_string();
    state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                Organization::set_allow_force_checkin(conn, id, allow)?;
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: id,
                        actor: Some(actor),
                        action: "organization.update",
                        object_type: "organization",
                        object_id: Some(id.0),
                        detail: format!(
                            "Allow force check-in turned {}",
                            if allow { "on" } else { "off" }
                        ),
                        client_addr: Some(&client),
                        target_id: None,
                    },
                    now,
                )
            })?;
            Ok::<_, AppError>(())
        })
        .await?;
    Flash::push(
        &viewer.session,
        Flash::success("Organization settings saved."),
    );
    Ok(see_other("/organization"))
}
