use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse};

use super::LoginPage;
use crate::domain::EmailAddress;
use crate::errors::AppError;
use crate::models::{AuditEvent, NewAuditEvent, User};
use crate::security::csrf;
use crate::security::password::verify_password;
use crate::state::SharedState;
use crate::web::session_store::USER_ID_KEY;
use crate::web::{FieldErrors, RawForm, Visitor, safe_next, see_other};

const WRONG_CREDENTIALS: &str = "The email or password is not right. Check both and try again.";

pub async fn post(
    visitor: Visitor,
    state: SharedState,
    form: RawForm,
) -> Result<Either<HttpResponse, (LoginPage, StatusCode)>, AppError> {
    let raw_email = form.get("email").to_string();
    let password = form.get("password").to_string();
    let next = safe_next(form.get("next")).unwrap_or("/").to_string();

    let page = |errors: FieldErrors, error: Option<String>, status: StatusCode| {
        Ok(Either::Right((
            LoginPage {
                layout: visitor.layout(),
                email: raw_email.clone(),
                next: next.clone(),
                errors,
                error,
                signed_out: false,
                not_set_up: false,
            },
            status,
        )))
    };

    let mut errors = FieldErrors::new();
    let email = errors.take("email", EmailAddress::parse(&raw_email));
    if password.is_empty() {
        errors.add("password", "Enter your password.");
    } else if password.chars().count() > 1024 {
        errors.add("password", "This is longer than any Keyholder password.");
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return page(errors, None, StatusCode::UNPROCESSABLE_ENTITY);
    };

    if let Err(retry_after) = state
        .login_throttle
        .check(visitor.client.as_str(), email.as_str())
    {
        tracing::warn!(client = %visitor.client.as_str(), "sign-in throttled");
        return Err(AppError::TooManyRequests { retry_after });
    }

    let lookup_email = email.clone();
    let found = state
        .db
        .run(move |conn| Ok::<_, AppError>(User::with_password_hash(conn, &lookup_email)?))
        .await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    // An unknown address is checked against a dummy hash: both cost the same time.
    let password_ok = verify_password(password, hash).await?;

    let now = state.clock.now_naive();
    let client = visitor.client.as_str().to_string();
    let user = match user {
        Some(user) if password_ok => user,
        other => {
            if let Some(user) = other {
                let (org, id) = (user.organization_id, user.id);
                state
                    .db
                    .run(move |conn| {
                        AuditEvent::record(
                            conn,
                            NewAuditEvent {
                                organization_id: org,
                                actor: Some(id),
                                action: "user.login_failed",
                                object_type: "user",
                                object_id: Some(id.0),
                                detail: "Wrong password".into(),
                                client_addr: Some(&client),
                                target_id: None,
                            },
                            now,
                        )?;
                        Ok::<_, AppError>(())
                    })
                    .await?;
            }
            return page(
                FieldErrors::new(),
                Some(WRONG_CREDENTIALS.into()),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    if user.disabled {
        return page(
            FieldErrors::new(),
            Some(
                "Your account is disabled. Ask an administrator of your organization to enable it."
                    .into(),
            ),
            StatusCode::FORBIDDEN,
        );
    }

    let (org, id) = (user.organization_id, user.id);
    state
        .db
        .run(move |conn| {
            AuditEvent::record(
                conn,
                NewAuditEvent {
                    organization_id: org,
                    actor: Some(id),
                    action: "user.login",
                    object_type: "user",
                    object_id: Some(id.0),
                    detail: "Signed in".into(),
                    client_addr: Some(&client),
                    target_id: None,
                },
                now,
            )?;
            Ok::<_, AppError>(())
        })
        .await?;

    // A new session id at sign-in: an id planted or seen before sign-in is worth nothing.
    visitor.session.renew();
    csrf::rotate(&visitor.session);
    visitor
        .session
        .insert(USER_ID_KEY, user.id.0)
        .map_err(|e| anyhow::anyhow!("session: {e}"))?;
    Ok(Either::Left(see_other(&next)))
}
