use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::errors::AppError;
use crate::models::{Account, AuditEvent, NewAuditEvent, Target};
use crate::state::SharedState;
use crate::web::{Flash, Layout, RawForm, Viewer, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "accounts/delete.html")]
pub struct DeleteAccountPage {
    layout: Layout,
    target: Target,
    account: Account,
}

pub async fn delete_get(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<DeleteAccountPage, AppError> {
    let (account, target) =
        super::load_changeable(&viewer, &state, path.into_inner(), super::Change::Delete).await?;
    Ok(DeleteAccountPage {
        layout: viewer.layout("apps"),
        target,
        account,
    })
}

pub async fn delete_post(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (account, target) =
        super::load_changeable(&viewer, &state, path.into_inner(), super::Change::Delete).await?;
    let now = state.clock.now_naive();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let (id, username, target_id, target_name) = (
        account.id,
        account.username.clone(),
        account.target_id,
        target.name.clone(),
    );
    state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                Account::delete(conn, id)?;
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: "account.delete",
                        object_type: "account",
                        object_id: Some(id.0),
                        detail: format!("Deleted account \"{username}\" on \"{target_name}\""),
                        client_addr: Some(&client),
                        target_id: Some(target_id.0),
                    },
                    now,
                )
            })?;
            Ok::<_, AppError>(())
        })
        .await?;
    Flash::push(
        &viewer.session,
        Flash::success(format!("The account {} was deleted.", account.username)),
    );
    Ok(see_other(&if account.is_shared() {
        format!("/apps/{}/accounts", target.id)
    } else {
        format!("/apps/{}", target.id)
    }))
}
