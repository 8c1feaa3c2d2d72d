use actix_web::{Either, HttpResponse, web};
use serde::Deserialize;

use super::LoginPage;
use crate::errors::AppError;
use crate::models::Installation;
use crate::state::SharedState;
use crate::web::{FieldErrors, Visitor, safe_next, see_other};

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
}

pub async fn get(
    visitor: Visitor,
    state: SharedState,
    query: web::Query<Query>,
) -> Result<Either<LoginPage, HttpResponse>, AppError> {
    let query = query.into_inner();
    let next = safe_next(&query.next).unwrap_or("/").to_string();
    if visitor.user_id().is_some() {
        return Ok(Either::Right(see_other(&next)));
    }
    let set_up = state
        .db
        .run(|conn| Ok::<_, AppError>(Installation::is_set_up(conn)?))
        .await?;
    Ok(Either::Left(LoginPage {
        layout: visitor.layout(),
        email: String::new(),
        next,
        errors: FieldErrors::new(),
        error: None,
        signed_out: query.signed_out.is_some(),
        not_set_up: !set_up,
    }))
}
