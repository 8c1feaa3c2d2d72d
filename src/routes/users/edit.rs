use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::{UserForm, assignable_roles, change_refused};
use crate::domain::{PersonName, Role, UserId};
use crate::errors::AppError;
use crate::models::{AuditEvent, NewAuditEvent, User};
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Flash, Layout, RawForm, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "users/edit.html")]
pub struct EditUserPage {
    layout: Layout,
    person: User,
    form: UserForm,
    errors: FieldErrors,
    role_options: Vec<Role>,
    locked_reason: Option<&'static str>,
    can_toggle: bool,
}

/// The person behind `/users/{id}`, if they belong to the viewer's organization.
pub(super) async fn load_person(
    state: &SharedState,
    viewer: &AdminViewer,
    id: i64,
) -> Result<User, AppError> {
    let organization = viewer.user.organization_id;
    state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(User::find_in_organization(conn, organization, UserId(id))?)
        })
        .await?
        .ok_or(AppError::NotFound)
}

fn page(viewer: &AdminViewer, person: User, form: UserForm, errors: FieldErrors) -> EditUserPage {
    let locked_reason = change_refused(&viewer.user, &person);
    EditUserPage {
        layout: viewer.layout("users"),
        can_toggle: locked_reason.is_none(),
        locked_reason,
        role_options: assignable_roles(&viewer.user),
        person,
        form,
        errors,
    }
}

pub async fn edit_get(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<EditUserPage, AppError> {
    let person = load_person(&state, &viewer, path.into_inner()).await?;
    let form = UserForm {
        name: person.name.clone(),
        email: person.email.clone(),
        role: person.role.as_str().to_string(),
    };
    Ok(page(&viewer, person, form, FieldErrors::new()))
}

pub async fn edit_post(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (EditUserPage, StatusCode)>, AppError> {
    let person = load_person(&state, &viewer, path.into_inner()).await?;
    if let Some(reason) = change_refused(&viewer.user, &person) {
        return Err(AppError::forbidden(reason));
    }
    let role_options = assignable_roles(&viewer.user);
    let mut errors = FieldErrors::new();
    let name = errors.take("name", PersonName::parse(form.get("name")));
    let role = errors.take(
        "role",
        Role::parse(form.get("role")).and_then(|role| {
            if role_options.contains(&role) {
                Ok(role)
            } else {
                Err("Only an owner can make someone an owner.".into())
            }
        }),
    );
    let (Some(name), Some(role)) = (name, role) else {
        let refill = UserForm {
            name: form.get("name").to_string(),
            email: person.email.clone(),
            role: form.get("role").to_string(),
        };
        return Ok(Either::Right((
            page(&viewer, person, refill, errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )));
    };

    let now = state.clock.now_naive();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let before = (person.name.clone(), person.role);
    let person_id = person.id;
    let outcome = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                if before.1 == Role::Owner
                    && role != Role::Owner
                    && User::count_active_owners(conn, organization)? <= 1
                {
                    return Ok(Err("The organization must keep at least one active owner."));
                }
                User::update_profile(conn, person_id, &name, role, now)?;
                let mut changes = Vec::new();
                if before.0 != name.as_str() {
                    changes.push(format!("name \"{}\" → \"{}\"", before.0, name.as_str()));
                }
                if before.1 != role {
                    changes.push(format!("role {} → {}", before.1.as_str(), role.as_str()));
                }
                if !changes.is_empty() {
                    AuditEvent::record(
                        conn,
                        NewAuditEvent {
                            organization_id: organization,
                            actor: Some(actor),
                            action: "user.update",
                            object_type: "user",
                            object_id: Some(person_id.0),
                            detail: changes.join("; "),
                            client_addr: Some(&client),
                            target_id: None,
                        },
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(Ok(()))
            })
            .map_err(AppError::from)
        })
        .await?;
    match outcome {
        Ok(()) => {
            Flash::push(&viewer.session, Flash::success("Changes saved."));
            Ok(Either::Left(see_other("/users")))
        }
        Err(reason) => Err(AppError::forbidden(reason)),
    }
}
