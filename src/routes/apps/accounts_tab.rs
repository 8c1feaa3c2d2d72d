use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::load_target;
use crate::domain::{EmailAddress, UserId};
use crate::errors::AppError;
use crate::lending::view::{AccountRow, account_rows};
use crate::models::{Account, AuditEvent, NewAuditEvent, Target, User};
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Flash, Layout, RawForm, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "apps/accounts.html")]
pub struct AccountsTabPage {
    layout: Layout,
    target: Target,
    tab: &'static str,
    is_admin: bool,
    accounts: Vec<AccountRow>,
    people: Vec<User>,
    can_force: bool,
    person_email: String,
    errors: FieldErrors,
}

async fn page(
    viewer: &AdminViewer,
    state: &SharedState,
    target: Target,
    person_email: String,
    errors: FieldErrors,
) -> Result<AccountsTabPage, AppError> {
    let (user, now, for_db) = (viewer.user.clone(), state.clock.now_naive(), target.clone());
    let (accounts, people) = state
        .db
        .run(move |conn| {
            let shared = Account::shared_of(conn, for_db.id)?;
            let rows = account_rows(conn, &user, &for_db, shared, now)?;
            Ok::<_, AppError>((rows, Target::allowed_people(conn, for_db.id)?))
        })
        .await?;
    Ok(AccountsTabPage {
        layout: viewer.layout("apps"),
        target,
        tab: "accounts",
        is_admin: true,
        accounts,
        people,
        can_force: viewer.can_force_checkin(),
        person_email,
        errors,
    })
}

pub async fn accounts_tab(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<AccountsTabPage, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    page(&viewer, &state, target, String::new(), FieldErrors::new()).await
}

/// Allows a person of the organization, found by email, to use the shared accounts.
pub async fn add_person(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (AccountsTabPage, StatusCode)>, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let raw = form.get("email").to_string();
    let email = match EmailAddress::parse(&raw) {
        Ok(email) => email,
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add("email", message);
            let page = page(&viewer, &state, target, raw, errors).await?;
            return Ok(Either::Right((page, StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    let organization = viewer.user.organization_id;
    let now = state.clock.now_naive();
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let target_id = target.id;
    let target_name = target.name.clone();
    let outcome = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let person = User::with_password_hash(conn, &email)?
                    .map(|(user, _)| user)
                    .filter(|user| user.organization_id == organization);
                let Some(person) = person else {
                    return Ok(Err("Nobody in your organization has this email address. Add them under Users first."));
                };
                if person.disabled {
                    return Ok(Err("This person is disabled. Enable them under Users first."));
                }
                if Target::allow(conn, target_id, person.id)? {
                    AuditEvent::record(
                        conn,
                        NewAuditEvent {
                            organization_id: organization,
                            actor: Some(actor),
                            action: "target.allow_user",
                            object_type: "user",
                            object_id: Some(person.id.0),
                            detail: format!(
                                "Allowed {} to use the shared accounts of \"{target_name}\"",
                                person.email
                            ),
                            client_addr: Some(&client),
                            target_id: Some(target_id.0),
                        },
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(Ok(person.name))
            })
            .map_err(AppError::from)
        })
        .await?;
    match outcome {
        Ok(name) => {
            Flash::push(
                &viewer.session,
                Flash::success(format!(
                    "{name} may now use the shared accounts of {}.",
                    target.name
                )),
            );
            Ok(Either::Left(see_other(&format!(
                "/apps/{}/accounts",
                target.id
            ))))
        }
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add("email", message);
            let page = page(&viewer, &state, target, raw, errors).await?;
            Ok(Either::Right((page, StatusCode::UNPROCESSABLE_ENTITY)))
        }
    }
}

pub async fn remove_person(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<(i64, i64)>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (target_id, user_id) = path.into_inner();
    let target = load_target(&state, viewer.user.organization_id, target_id).await?;
    let organization = viewer.user.organization_id;
    let now = state.clock.now_naive();
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let (id, name) = (target.id, target.name.clone());
    state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let person = User::find_in_organization(conn, organization, UserId(user_id))?;
                if let Some(person) = person
                    && Target::disallow(conn, id, person.id)?
                {
                    AuditEvent::record(
                        conn,
                        NewAuditEvent {
                            organization_id: organization,
                            actor: Some(actor),
                            action: "target.disallow_user",
                            object_type: "user",
                            object_id: Some(person.id.0),
                            detail: format!(
                                "Removed {} from the people allowed to use \"{name}\"",
                                person.email
                            ),
                            client_addr: Some(&client),
                            target_id: Some(id.0),
                        },
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .map_err(AppError::from)
        })
        .await?;
    Flash::push(&viewer.session, Flash::success("Access removed."));
    Ok(see_other(&format!("/apps/{}/accounts", target.id)))
}
