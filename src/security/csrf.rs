//! Synchronizer-token CSRF protection.
//!
//! The token lives in the session and in a hidden `csrf_token` field of every form. This
//! middleware stands in front of every handler: a POST whose form lacks the session's token
//! gets 403 before any handler runs, so no route can forget the check. The parsed form is left
//! in the request for the handler.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, ResponseError};
use futures_util::StreamExt;

use super::tokens::{constant_time_eq, random_token};
use crate::errors::AppError;
use crate::web::RawForm;

pub const CSRF_SESSION_KEY: &str = "csrf";
pub const CSRF_FIELD: &str = "csrf_token";
/// Generous for any form Keyholder has, small enough to refuse floods.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// The session's token, created on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(existing)) = session.get::<String>(CSRF_SESSION_KEY) {
        return existing;
    }
    let fresh = random_token(32);
    if let Err(error) = session.insert(CSRF_SESSION_KEY, &fresh) {
        tracing::warn!(%error, "could not store a CSRF token in the session");
    }
    fresh
}

/// Forgets the token so the next page gets a new one (after sign-in).
pub fn rotate(session: &Session) {
    session.remove(CSRF_SESSION_KEY);
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.call(req).await.map(|res| res.map_into_left_body());
    }

    let reject = |req: ServiceRequest, error: AppError| {
        let response = error.error_response();
        Ok(req.into_response(response).map_into_right_body())
    };

    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    if !is_form {
        // Keyholder only ever posts plain forms; anything else cannot carry the token.
        return reject(req, AppError::CsrfRejected);
    }

    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return reject(
                req,
                AppError::BadRequest("The form could not be read.".into()),
            );
        };
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return reject(req, AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let form = RawForm::parse(&body);

    let session = req.get_session();
    let expected = session.get::<String>(CSRF_SESSION_KEY).ok().flatten();
    let sent = form.get(CSRF_FIELD);
    let valid =
        matches!(&expected, Some(expected) if !sent.is_empty() && constant_time_eq(expected, sent));
    if !valid {
        tracing::warn!(path = %req.path(), "form refused: missing or wrong CSRF token");
        return reject(req, AppError::CsrfRejected);
    }

    req.extensions_mut().insert(form);
    req.set_payload(Payload::from(body));
    next.call(req).await.map(|res| res.map_into_left_body())
}
