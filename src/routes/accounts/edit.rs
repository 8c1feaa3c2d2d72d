use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::AccountForm;
use crate::errors::AppError;
use crate::models::{Account, AccountError, AuditEvent, NewAuditEvent, Target};
use crate::state::SharedState;
use crate::web::{FieldErrors, Flash, Layout, RawForm, Viewer, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "accounts/edit.html")]
pub struct EditAccountPage {
    layout: Layout,
    target: Target,
    account: Account,
    personal: bool,
    policy_text: String,
    form: AccountForm,
    errors: FieldErrors,
}

pub async fn edit_get(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<EditAccountPage, AppError> {
    let (account, target) =
        super::load_changeable(&viewer, &state, path.into_inner(), super::Change::Edit).await?;
    Ok(EditAccountPage {
        layout: viewer.layout("apps"),
        policy_text: target.policy().describe(),
        personal: !account.is_shared(),
        form: AccountForm::from_account(&account),
        target,
        account,
        errors: FieldErrors::new(),
    })
}

pub async fn edit_post(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (EditAccountPage, StatusCode)>, AppError> {
    let (account, target) =
        super::load_changeable(&viewer, &state, path.into_inner(), super::Change::Edit).await?;
    let values = AccountForm::from_form(&form);
    let owner = account.owner_user_id.map(crate::domain::UserId);
    let policy = target.policy();
    let (input, password) = match values.parse(&form, owner, &policy, true) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(Either::Right((
                EditAccountPage {
                    layout: viewer.layout("apps"),
                    policy_text: policy.describe(),
                    personal: !account.is_shared(),
                    target,
                    account,
                    form: values,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )));
        }
    };
    let vault = state.vault.clone();
    let now = state.clock.now_naive();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let before = account.clone();
    let editor = viewer.user.clone();
    let target_name = target.name.clone();
    let saved = state
        .db
        .run(move |conn| {
            let result = crate::db::transaction(conn, |conn| {
                Account::update(
                    conn,
                    &vault,
                    &before,
                    &input,
                    password.as_deref().map(|p| p.as_str()),
                    now,
                )?;
                let mut changes = Vec::new();
                if before.username != input.username.as_str() {
                    changes.push(format!(
                        "username \"{}\" → \"{}\"",
                        before.username,
                        input.username.as_str()
                    ));
                }
                if before.notes != input.notes.as_str() {
                    changes.push("notes".to_string());
                }
                if before.auto_reset != input.auto_reset {
                    changes.push(format!(
                        "AutoReset {}",
                        if input.auto_reset {
                            "enabled"
                        } else {
                            "disabled"
                        }
                    ));
                }
                let mut email_ids = Vec::new();
                if !before.is_shared() && before.admin_access != input.admin_access {
                    email_ids = crate::consent::admin_access_changed(
                        conn,
                        &before,
                        &editor,
                        &target_name,
                        input.admin_access,
                        now,
                    )?;
                    changes.push(if input.admin_access {
                        "admin access allowed (now Managed)".to_string()
                    } else {
                        "admin access withdrawn (now Unmanaged)".to_string()
                    });
                }
                if password.is_some() {
                    changes.push("password".to_string());
                }
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: "account.update",
                        object_type: "account",
                        object_id: Some(before.id.0),
                        detail: format!(
                            "Edited account \"{}\" on \"{target_name}\": {}",
                            input.username.as_str(),
                            if changes.is_empty() {
                                "no changes".to_string()
                            } else {
                                changes.join("; ")
                            }
                        ),
                        client_addr: Some(&client),
                        target_id: Some(before.target_id.0),
                    },
                    now,
                )?;
                Ok::<_, AccountError>(email_ids)
            });
            match result {
                Ok(email_ids) => {
                    let link = if before.is_shared() {
                        crate::routes::apps::shared_account_link(
                            conn,
                            before.target_id,
                            before.id,
                            input.username.as_str(),
                        )?
                    } else {
                        format!("/apps/{}", before.target_id)
                    };
                    Ok(Ok((email_ids, link)))
                }
                Err(AccountError::UsernameTaken) => Ok(Err(
                    "This app already has a shared account with this username.",
                )),
                Err(AccountError::AlreadyHasCredential) => {
                    Ok(Err("You already have a credential for this app."))
                }
                Err(AccountError::Vault(e)) => Err(AppError::Unexpected(e.into())),
                Err(AccountError::Database(e)) => Err(AppError::from(e)),
            }
        })
        .await?;
    match saved {
        Ok((email_ids, link)) => {
            crate::jobs::enqueue_emails(&state, &email_ids).await;
            Flash::push(&viewer.session, Flash::success("The account was saved."));
            Ok(Either::Left(see_other(&link)))
        }
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add("username", message);
            Ok(Either::Right((
                EditAccountPage {
                    layout: viewer.layout("apps"),
                    policy_text: policy.describe(),
                    personal: !account.is_shared(),
                    target,
                    account,
                    form: values,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )))
        }
    }
}
