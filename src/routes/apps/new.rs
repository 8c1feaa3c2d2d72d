use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse};
use askama::Template;
use askama_web::WebTemplate;

use super::{ConnectorOption, TargetForm, connector_options};
use crate::errors::AppError;
use crate::models::{AuditEvent, NewAuditEvent, Target, TargetError};
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Flash, Layout, RawForm, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "apps/new.html")]
pub struct NewAppPage {
    pub layout: Layout,
    pub form: TargetForm,
    pub errors: FieldErrors,
    pub connectors: Vec<ConnectorOption>,
}

pub async fn new_get(viewer: AdminViewer) -> NewAppPage {
    NewAppPage {
        layout: viewer.layout("apps"),
        form: TargetForm::defaults(),
        errors: FieldErrors::new(),
        connectors: connector_options(),
    }
}

pub async fn new_post(
    viewer: AdminViewer,
    state: SharedState,
    form: RawForm,
) -> Result<Either<HttpResponse, (NewAppPage, StatusCode)>, AppError> {
    let values = TargetForm::from_form(&form);
    let page = |values: TargetForm, errors: FieldErrors| {
        Ok(Either::Right((
            NewAppPage {
                layout: viewer.layout("apps"),
                form: values,
                errors,
                connectors: connector_options(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )))
    };
    let input = match values.parse(&form, false) {
        Ok(input) => input,
        Err(errors) => return page(values, errors),
    };
    let now = state.clock.now_naive();
    let vault = state.vault.clone();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let created = state
        .db
        .run(move |conn| {
            let result = crate::db::transaction(conn, |conn| {
                let target = Target::insert(conn, &vault, organization, &input, now)?;
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: "target.create",
                        object_type: "target",
                        object_id: Some(target.id.0),
                        detail: format!(
                            "Created app \"{}\" ({}, {})",
                            target.name,
                            target.checkout_type.label(),
                            target.connector.as_str()
                        ),
                        client_addr: Some(&client),
                        target_id: Some(target.id.0),
                    },
                    now,
                )?;
                Ok::<_, TargetError>(target)
            });
            match result {
                Ok(target) => Ok(Some(target)),
                Err(TargetError::NameTaken) => Ok(None),
                Err(TargetError::Vault(e)) => Err(AppError::Unexpected(e.into())),
                Err(TargetError::Database(e)) => Err(AppError::from(e)),
            }
        })
        .await?;
    match created {
        Some(target) => {
            Flash::push(
                &viewer.session,
                Flash::success(format!(
                    "{} was created. Next, add its shared accounts (Create account) and the people allowed to use them.",
                    target.name
                )),
            );
            Ok(Either::Left(see_other(&format!(
                "/apps/{}/accounts",
                target.id
            ))))
        }
        None => {
            let mut errors = FieldErrors::new();
            errors.add(
                "name",
                "An app with this name already exists. Choose another name.",
            );
            page(values, errors)
        }
    }
}
