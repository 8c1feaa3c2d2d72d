use actix_web::http::StatusCode;
use actix_web::{Either, web};
use serde::Deserialize;

use super::{SETUP_LINK_LIFETIME, SetupClosedPage, SetupForm, SetupPage};
use crate::errors::AppError;
use crate::models::{Installation, SetupToken};
use crate::security::tokens::hash_token;
use crate::state::SharedState;
use crate::web::{FieldErrors, Visitor};

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    token: String,
}

pub async fn get(
    visitor: Visitor,
    state: SharedState,
    query: web::Query<Query>,
) -> Result<Either<SetupPage, (SetupClosedPage, StatusCode)>, AppError> {
    let token = query.into_inner().token;
    let hash = hash_token(&token);
    let not_before = state.clock.now_naive() - SETUP_LINK_LIFETIME;
    let (set_up, valid) = state
        .db
        .run(move |conn| {
            let set_up = Installation::is_set_up(conn)?;
            let valid = !set_up && SetupToken::is_valid(conn, &hash, not_before)?;
            Ok::<_, AppError>((set_up, valid))
        })
        .await?;
    if set_up {
        return Ok(Either::Right((
            SetupClosedPage {
                layout: visitor.layout(),
                heading: "Keyholder is already set up",
                message: "This setup link no longer works because the organization has been created. Sign in with your account.",
            },
            StatusCode::NOT_FOUND,
        )));
    }
    if !valid {
        return Ok(Either::Right((
            SetupClosedPage {
                layout: visitor.layout(),
                heading: "This setup link is not valid",
                message: "Use the exact link Keyholder printed when it started. Links work for 24 hours; restart Keyholder to print a new one.",
            },
            StatusCode::FORBIDDEN,
        )));
    }
    Ok(Either::Left(SetupPage {
        layout: visitor.layout(),
        token,
        form: SetupForm::default(),
        errors: FieldErrors::new(),
        error: None,
    }))
}
