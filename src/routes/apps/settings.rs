use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::{ConnectorOption, TargetForm, connector_options, load_target};
use crate::errors::AppError;
use crate::models::{AuditEvent, NewAuditEvent, Target, TargetError};
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Flash, Layout, RawForm, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "apps/settings.html")]
pub struct SettingsPage {
    layout: Layout,
    target: Target,
    tab: &'static str,
    is_admin: bool,
    form: TargetForm,
    errors: FieldErrors,
    connectors: Vec<ConnectorOption>,
}

impl SettingsPage {
    fn new(viewer: &AdminViewer, target: Target, form: TargetForm, errors: FieldErrors) -> Self {
        Self {
            layout: viewer.layout("apps"),
            target,
            tab: "settings",
            is_admin: true,
            form,
            errors,
            connectors: connector_options(),
        }
    }
}

pub async fn settings_get(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<SettingsPage, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let form = TargetForm::from_target(&target);
    Ok(SettingsPage::new(&viewer, target, form, FieldErrors::new()))
}

pub async fn settings_post(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (SettingsPage, StatusCode)>, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let mut values = TargetForm::from_form(&form);
    values.has_admin_password = target.connector_secret.is_some();
    let input = match values.parse(&form, target.connector_secret.is_some()) {
        Ok(input) => input,
        Err(errors) => {
            return Ok(Either::Right((
                SettingsPage::new(&viewer, target, values, errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )));
        }
    };
    if input.checkout_type != target.checkout_type {
        let id = target.id;
        let active = state
            .db
            .run(move |conn| {
                Ok::<_, AppError>(crate::models::Checkout::count_active_on_target(conn, id)?)
            })
            .await?;
        if active > 0 {
            let mut errors = FieldErrors::new();
            errors.add(
                "checkout_type",
                format!("{active} check-out(s) of this app are in progress. Change the checkout type once they have ended."),
            );
            return Ok(Either::Right((
                SettingsPage::new(&viewer, target, values, errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )));
        }
    }
    let now = state.clock.now_naive();
    let vault = state.vault.clone();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let target_id = target.id;
    let before = TargetForm::from_target(&target);
    let saved = state
        .db
        .run(move |conn| {
            let result = crate::db::transaction(conn, |conn| {
                Target::update(conn, &vault, target_id, &input, now)?;
                let after = Target::find_in_organization(conn, organization, target_id)?
                    .map(|t| TargetForm::from_target(&t));
                let changes = after
                    .map(|after| describe_changes(&before, &after))
                    .unwrap_or_default();
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: "target.update",
                        object_type: "target",
                        object_id: Some(target_id.0),
                        detail: if changes.is_empty() {
                            "Saved without changes".into()
                        } else {
                            changes
                        },
                        client_addr: Some(&client),
                        target_id: Some(target_id.0),
                    },
                    now,
                )?;
                Ok::<_, TargetError>(())
            });
            match result {
                Ok(()) => Ok(true),
                Err(TargetError::NameTaken) => Ok(false),
                Err(TargetError::Vault(e)) => Err(AppError::Unexpected(e.into())),
                Err(TargetError::Database(e)) => Err(AppError::from(e)),
            }
        })
        .await?;
    if !saved {
        let mut errors = FieldErrors::new();
        errors.add(
            "name",
            "An app with this name already exists. Choose another name.",
        );
        return Ok(Either::Right((
            SettingsPage::new(&viewer, target, values, errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )));
    }
    Flash::push(
        &viewer.session,
        Flash::success("The app's settings were saved."),
    );
    Ok(Either::Left(see_other(&format!("/apps/{}", target.id))))
}

/// "name, checkout type, password policy" — which settings changed, for the audit trail.
fn describe_changes(before: &TargetForm, after: &TargetForm) -> String {
    let mut changed = Vec::new();
    if before.name != after.name {
        changed.push(format!("name \"{}\" → \"{}\"", before.name, after.name));
    }
    if before.address != after.address {
        changed.push("address".to_string());
    }
    if before.description != after.description {
        changed.push("description".to_string());
    }
    if (
        &before.pg_host,
        &before.pg_port,
        &before.pg_database,
        &before.pg_admin_username,
    ) != (
        &after.pg_host,
        &after.pg_port,
        &after.pg_database,
        &after.pg_admin_username,
    ) {
        changed.push("connector settings".to_string());
    }
    if before.connector != after.connector {
        changed.push(format!(
            "connector {} → {}",
            before.connector, after.connector
        ));
    }
    if before.checkout_type != after.checkout_type {
        changed.push(format!(
            "checkout type {} → {}",
            before.checkout_type, after.checkout_type
        ));
    }
    if before.exclusive_minutes != after.exclusive_minutes {
        changed.push(format!(
            "exclusive duration {} → {} minutes",
            before.exclusive_minutes, after.exclusive_minutes
        ));
    }
    let policy = |f: &TargetForm| {
        (
            f.policy_length.clone(),
            f.policy_lower,
            f.policy_lower_min.clone(),
            f.policy_upper,
            f.policy_upper_min.clone(),
            f.policy_digits,
            f.policy_digits_min.clone(),
            f.policy_symbols,
            f.policy_symbols_min.clone(),
            f.policy_excluded.clone(),
        )
    };
    if policy(before) != policy(after) {
        changed.push("password policy".to_string());
    }
    if changed.is_empty() {
        String::new()
    } else {
        format!("Changed {}", changed.join("; "))
    }
}
