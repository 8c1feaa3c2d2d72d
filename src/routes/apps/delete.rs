use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::load_target;
use crate::errors::AppError;
use crate::models::{Account, AuditEvent, Checkout, NewAuditEvent, Target};
use crate::state::SharedState;
use crate::web::{AdminViewer, Flash, Layout, RawForm, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "apps/delete.html")]
pub struct DeleteAppPage {
    layout: Layout,
    target: Target,
    accounts: usize,
}

pub async fn delete_get(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<DeleteAppPage, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    ensure_nothing_checked_out(&state, &target).await?;
    let id = target.id;
    let accounts = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(crate::models::Account::credentials_of(conn, id, "", 1, 1)?.total)
        })
        .await? as usize;
    Ok(DeleteAppPage {
        layout: viewer.layout("apps"),
        target,
        accounts,
    })
}

/// Deleting an app waits until none of its accounts is checked out.
async fn ensure_nothing_checked_out(state: &SharedState, target: &Target) -> Result<(), AppError> {
    let id = target.id;
    let active = state
        .db
        .run(move |conn| Ok::<_, AppError>(Checkout::count_active_on_target(conn, id)?))
        .await?;
    if active > 0 {
        return Err(AppError::Conflict(format!(
            "{} has {active} account check-out(s) in progress. It can be deleted once they are checked in or have ended.",
            target.name
        )));
    }
    Ok(())
}

pub async fn delete_post(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    ensure_nothing_checked_out(&state, &target).await?;
    let now = state.clock.now_naive();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let (id, name) = (target.id, target.name.clone());
    state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let accounts = Account::credentials_of(conn, id, "", 1, 1)?.total;
                Target::delete(conn, id)?;
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: "target.delete",
                        object_type: "target",
                        object_id: Some(id.0),
                        detail: format!("Deleted app \"{name}\" and its {accounts} credential(s)"),
                        client_addr: Some(&client),
                        target_id: Some(id.0),
                    },
                    now,
                )
            })?;
            Ok::<_, AppError>(())
        })
        .await?;
    Flash::push(
        &viewer.session,
        Flash::success(format!("{} and its credentials were deleted.", target.name)),
    );
    Ok(see_other("/apps"))
}
