use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse};
use askama::Template;
use askama_web::WebTemplate;

use super::{UserForm, assignable_roles};
use crate::domain::{EmailAddress, NewPassword, PersonName, Role};
use crate::errors::AppError;
use crate::models::{AuditEvent, NewAuditEvent, NewUser, User, UserError};
use crate::security::password::hash_password;
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Flash, Layout, RawForm, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "users/new.html")]
pub struct NewUserPage {
    layout: Layout,
    form: UserForm,
    errors: FieldErrors,
    role_options: Vec<Role>,
}

pub async fn new_get(viewer: AdminViewer) -> NewUserPage {
    NewUserPage {
        layout: viewer.layout("users"),
        form: UserForm {
            role: Role::Member.as_str().into(),
            ..UserForm::default()
        },
        errors: FieldErrors::new(),
        role_options: assignable_roles(&viewer.user),
    }
}

pub async fn new_post(
    viewer: AdminViewer,
    state: SharedState,
    form: RawForm,
) -> Result<Either<HttpResponse, (NewUserPage, StatusCode)>, AppError> {
    let refill = UserForm {
        name: form.get("name").to_string(),
        email: form.get("email").to_string(),
        role: form.get("role").to_string(),
    };
    let role_options = assignable_roles(&viewer.user);
    let mut errors = FieldErrors::new();
    let name = errors.take("name", PersonName::parse(form.get("name")));
    let email = errors.take("email", EmailAddress::parse(form.get("email")));
    let role = errors.take(
        "role",
        Role::parse(form.get("role")).and_then(|role| {
            if role_options.contains(&role) {
                Ok(role)
            } else {
                Err("Only an owner can add another owner.".into())
            }
        }),
    );
    let password = errors.take("password", NewPassword::parse(form.get("password")));

    let page = |errors: FieldErrors, refill: UserForm| {
        Ok(Either::Right((
            NewUserPage {
                layout: viewer.layout("users"),
                form: refill,
                errors,
                role_options: role_options.clone(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )))
    };
    let (Some(name), Some(email), Some(role), Some(password)) = (name, email, role, password)
    else {
        return page(errors, refill);
    };

    let hash = hash_password(password.expose().to_string()).await?;
    let now = state.clock.now_naive();
    let organization = viewer.user.organization_id;
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let created = state
        .db
        .run(move |conn| {
            let result = crate::db::transaction(conn, |conn| {
                let user = User::insert(
                    conn,
                    NewUser {
                        organization_id: organization,
                        email: &email,
                        name: &name,
                        role,
                        password_hash: &hash,
                    },
                    now,
                )?;
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: organization,
                        actor: Some(actor),
                        action: "user.create",
                        object_type: "user",
                        object_id: Some(user.id.0),
                        detail: format!(
                            "Added {} ({}) as {}",
                            user.name,
                            user.email,
                            role.as_str()
                        ),
                        client_addr: Some(&client),
                        target_id: None,
                    },
                    now,
                )?;
                Ok::<_, UserError>(user)
            });
            match result {
                Ok(user) => Ok(Ok(user)),
                Err(UserError::EmailTaken) => Ok(Err(())),
                Err(UserError::Database(e)) => Err(AppError::from(e)),
            }
        })
        .await?;
    match created {
        Ok(user) => {
            Flash::push(
                &viewer.session,
                Flash::success(format!(
                    "{} was added as {}. They sign in with {} and the initial password you chose.",
                    user.name,
                    user.role.label().to_lowercase(),
                    user.email
                )),
            );
            Ok(Either::Left(see_other("/users")))
        }
        Err(()) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "email",
                "A person with this email address already has a Keyholder account.",
            );
            page(errors, refill)
        }
    }
}
