use actix_web::{Either, HttpResponse, web};
use serde::Deserialize;

use super::LoginPage;
use crate::web::{FieldErrors, Visitor, safe_next, see_other};

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
}

pub async fn get(visitor: Visitor, query: web::Query<Query>) -> Either<LoginPage, HttpResponse> {
    let query = query.into_inner();
    let next = safe_next(&query.next).unwrap_or("/").to_string();
    if visitor.user_id().is_some() {
        return Either::Right(see_other(&next));
    }
    Either::Left(LoginPage {
        layout: visitor.layout(),
        email: String::new(),
        next,
        errors: FieldErrors::new(),
        error: None,
        signed_out: query.signed_out.is_some(),
    })
}
