use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::AccountForm;
use crate::access::can_manage_apps;
use crate::errors::AppError;
use crate::models::{Account, AccountError, AuditEvent, NewAuditEvent, Target};
use crate::routes::apps::load_target;
use crate::state::SharedState;
use crate::web::{FieldErrors, Flash, Layout, RawForm, Viewer, see_other};

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    kind: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/new.html")]
pub struct NewAccountPage {
    layout: Layout,
    target: Target,
    personal: bool,
    policy_text: String,
    form: AccountForm,
    errors: FieldErrors,
}

/// Shared accounts are the admins' to create; anyone adds their own (personal) credential.
fn personal_kind(viewer: &Viewer, kind: &str) -> Result<bool, AppError> {
    match kind {
        "shared" if can_manage_apps(&viewer.user) => Ok(false),
        "shared" => Err(AppError::forbidden(
            "Only owners and admins create shared accounts. Use Add my credential to store your own login.",
        )),
        _ => Ok(true),
    }
}

pub async fn new_get(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    query: web::Query<Query>,
) -> Result<Either<NewAccountPage, HttpResponse>, AppError> {
    let personal = personal_kind(&viewer, &query.kind)?;
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    if personal {
        let (id, me) = (target.id, viewer.user.id);
        let existing = state
            .db
            .run(move |conn| Ok::<_, AppError>(Account::personal_of(conn, id, me)?))
            .await?;
        if let Some(existing) = existing {
            return Ok(Either::Right(see_other(&format!(
                "/accounts/{}/edit",
                existing.id
            ))));
        }
    }
    Ok(Either::Left(NewAccountPage {
        layout: viewer.layout("apps"),
        policy_text: target.policy().describe(),
        target,
        personal,
        form: AccountForm::new_defaults(personal),
        errors: FieldErrors::new(),
    }))
}

pub async fn new_post(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (NewAccountPage, StatusCode)>, AppError> {
    let personal = personal_kind(&viewer, form.get("kind"))?;
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let values = AccountForm::from_form(&form);
    let owner = personal.then_some(viewer.user.id);
    let policy = target.policy();
    let (input, password) = match values.parse(&form, owner, &policy, false) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(Either::Right((
                NewAccountPage {
                    layout: viewer.layout("apps"),
                    policy_text: policy.describe(),
                    target,
                    personal,
                    form: values,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )));
        }
    };
    let Some(password) = password else {
        return Err(AppError::BadRequest(
            "A new account needs a password.".into(),
        ));
    };
    let vault = state.vault.clone();
    let now = state.clock.now_naive();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let (target_id, target_name) = (target.id, target.name.clone());
    let created = state
        .db
        .run(move |conn| {
            let result = crate::db::transaction(conn, |conn| {
                let account = Account::create(
                    conn,
                    &vault,
                    organization,
                    target_id,
                    &input,
                    &password,
                    now,
                )?;
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: "account.create",
                        object_type: "account",
                        object_id: Some(account.id.0),
                        detail: format!(
                            "Created {} account \"{}\" on \"{target_name}\" ({}, AutoReset {})",
                            if account.is_shared() {
                                "shared"
                            } else {
                                "personal"
                            },
                            account.username,
                            if account.is_managed() {
                                "Managed"
                            } else {
                                "Unmanaged"
                            },
                            if account.auto_reset {
                                "enabled"
                            } else {
                                "disabled"
                            }
                        ),
                        client_addr: Some(&client),
                        target_id: Some(target_id.0),
                    },
                    now,
                )?;
                Ok::<_, AccountError>(account)
            });
            match result {
                Ok(account) => {
                    let link = if account.is_shared() {
                        crate::routes::apps::shared_account_link(
                            conn,
                            account.target_id,
                            account.id,
                            &account.username,
                        )?
                    } else {
                        format!("/apps/{}", account.target_id)
                    };
                    Ok(Ok((account, link)))
                }
                Err(AccountError::UsernameTaken) => Ok(Err((
                    "username",
                    "This app already has a shared account with this username.",
                ))),
                Err(AccountError::AlreadyHasCredential) => Ok(Err((
                    "username",
                    "You already have a credential for this app: edit it instead.",
                ))),
                Err(AccountError::Vault(e)) => Err(AppError::Unexpected(e.into())),
                Err(AccountError::Database(e)) => Err(AppError::from(e)),
            }
        })
        .await?;
    match created {
        Ok((account, link)) => {
            Flash::push(
                &viewer.session,
                Flash::success(if account.is_shared() {
                    format!("The shared account {} was created.", account.username)
                } else if account.is_managed() {
                    "Your credential was saved. It is Managed: admins named in the app's policy can see it.".to_string()
                } else {
                    "Your credential was saved. It is Unmanaged: no admin can see the password."
                        .to_string()
                }),
            );
            Ok(Either::Left(see_other(&link)))
        }
        Err((field, message)) => {
            let mut errors = FieldErrors::new();
            errors.add(field, message);
            Ok(Either::Right((
                NewAccountPage {
                    layout: viewer.layout("apps"),
                    policy_text: policy.describe(),
                    target,
                    personal,
                    form: values,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )))
        }
    }
}
