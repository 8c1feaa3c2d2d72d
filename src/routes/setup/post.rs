use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse};

use super::{SETUP_LINK_LIFETIME, SetupForm, SetupPage};
use crate::domain::{EmailAddress, NewPassword, OrganizationName, PersonName};
use crate::errors::AppError;
use crate::models::organization::NewInstallation;
use crate::models::{Installation, SetupError};
use crate::security::csrf;
use crate::security::password::hash_password;
use crate::security::tokens::hash_token;
use crate::state::SharedState;
use crate::web::session_store::USER_ID_KEY;
use crate::web::{FieldErrors, Flash, RawForm, Visitor, see_other};

/// The validated answers of the setup form (also used by `keyholder setup`).
pub struct SetupInput {
    pub organization: OrganizationName,
    pub name: PersonName,
    pub email: EmailAddress,
    pub password: NewPassword,
}

impl SetupInput {
    pub fn parse(
        organization: &str,
        name: &str,
        email: &str,
        password: &str,
        password_confirm: Option<&str>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let organization = errors.take("organization", OrganizationName::parse(organization));
        let name = errors.take("name", PersonName::parse(name));
        let email = errors.take("email", EmailAddress::parse(email));
        let password = errors.take("password", NewPassword::parse(password));
        if let Some(confirm) = password_confirm
            && password.is_some()
            && confirm
                != password
                    .as_ref()
                    .map(NewPassword::expose)
                    .unwrap_or_default()
        {
            errors.add("password_confirm", "The two passwords are not the same.");
        }
        match (organization, name, email, password) {
            (Some(organization), Some(name), Some(email), Some(password)) if errors.is_empty() => {
                Ok(Self {
                    organization,
                    name,
                    email,
                    password,
                })
            }
            _ => Err(errors),
        }
    }
}

pub async fn post(
    visitor: Visitor,
    state: SharedState,
    form: RawForm,
) -> Result<Either<HttpResponse, (SetupPage, StatusCode)>, AppError> {
    let token = form.get("token").to_string();
    let refill = SetupForm {
        organization: form.get("organization").to_string(),
        name: form.get("name").to_string(),
        email: form.get("email").to_string(),
    };
    let page = |errors: FieldErrors, error: Option<String>, refill: SetupForm, status| {
        Ok(Either::Right((
            SetupPage {
                layout: visitor.layout(),
                token: token.clone(),
                form: refill,
                errors,
                error,
            },
            status,
        )))
    };

    let input = match SetupInput::parse(
        form.get("organization"),
        form.get("name"),
        form.get("email"),
        form.get("password"),
        Some(form.get("password_confirm")),
    ) {
        Ok(input) => input,
        Err(errors) => return page(errors, None, refill, StatusCode::UNPROCESSABLE_ENTITY),
    };

    let password_hash = hash_password(input.password.expose().to_string()).await?;
    let now = state.clock.now_naive();
    let not_before = now - SETUP_LINK_LIFETIME;
    let token_hash = hash_token(&token);
    let client = visitor.client.as_str().to_string();
    let created = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(Installation::create(
                conn,
                NewInstallation {
                    organization: &input.organization,
                    owner_name: &input.name,
                    owner_email: &input.email,
                    owner_password_hash: &password_hash,
                },
                Some(&token_hash),
                not_before,
                now,
                Some(&client),
            ))
        })
        .await?;

    match created {
        Ok((organization, owner)) => {
            tracing::info!(organization = organization.id.0, "organization set up");
            visitor.session.renew();
            csrf::rotate(&visitor.session);
            visitor
                .session
                .insert(USER_ID_KEY, owner.id.0)
                .map_err(|e| anyhow::anyhow!("session: {e}"))?;
            Flash::push(
                &visitor.session,
                Flash::success(format!(
                    "{} is ready. You are signed in as its owner. Next, add the people who will use Keyholder.",
                    organization.name
                )),
            );
            Ok(Either::Left(see_other("/")))
        }
        Err(SetupError::EmailTaken) => {
            let mut errors = FieldErrors::new();
            errors.add("email", "A person with this email address already exists.");
            page(errors, None, refill, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(SetupError::AlreadySetUp) => Ok(Either::Left(see_other("/login"))),
        Err(SetupError::InvalidToken) => page(
            FieldErrors::new(),
            Some("This setup link is not valid or has expired. Restart Keyholder and use the new link it prints.".into()),
            refill,
            StatusCode::FORBIDDEN,
        ),
        Err(SetupError::Database(e)) => Err(e.into()),
    }
}
