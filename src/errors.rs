//! Errors that end a request. Each maps to a status and a calm page; unexpected ones keep their
//! cause chain for the log and show nothing internal to the person.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    SignInRequired { next: Option<String> },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// The request is fine but the thing is not available now (locked, resetting).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the form's security token is missing or wrong")]
    CsrfRejected,
    #[error("too many attempts")]
    TooManyRequests { retry_after: Duration },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        AppError::Unexpected(anyhow::Error::new(error).context("database query failed"))
    }
}

impl AppError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: String,
    pub message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Forbidden(_) | AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::SignInRequired { next } = self {
            let location = match next {
                Some(next) => format!(
                    "/login?next={}",
                    percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
                ),
                None => "/login".to_string(),
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let (title, message) = match self {
            AppError::SignInRequired { .. } => unreachable_title(),
            AppError::Forbidden(message) => ("Not allowed".to_string(), message.clone()),
            AppError::NotFound => (
                "Page not found".to_string(),
                "There is nothing here. The link may be mistyped, or what it pointed to was removed."
                    .to_string(),
            ),
            AppError::Conflict(message) => ("Not available right now".to_string(), message.clone()),
            AppError::CsrfRejected => (
                "This form has expired".to_string(),
                "The form was not accepted because its security token is missing or out of date \
                 (it may have been open for a long time, or sent from another site). Go back, \
                 reload the page and try again."
                    .to_string(),
            ),
            AppError::TooManyRequests { retry_after } => (
                "Too many attempts".to_string(),
                format!(
                    "Too many sign-in attempts. For your safety, wait {} before trying again.",
                    humanize_wait(*retry_after)
                ),
            ),
            AppError::BadRequest(message) => ("Request not understood".to_string(), message.clone()),
            AppError::PayloadTooLarge => (
                "Too much data".to_string(),
                "The form sent more data than Keyholder accepts. Shorten the text and try again."
                    .to_string(),
            ),
            AppError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "unexpected error");
                (
                    "Something went wrong".to_string(),
                    "Keyholder could not complete this request. Nothing was changed by the failed \
                     step. Try again; if it keeps happening, tell your administrator the time it \
                     happened."
                        .to_string(),
                )
            }
        };
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("text/html; charset=utf-8");
        if let AppError::TooManyRequests { retry_after } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
        {
            response.insert_header((header::RETRY_AFTER, value));
        }
        match page.render() {
            Ok(body) => response.body(body),
            Err(_) => response.body(page.message),
        }
    }
}

fn unreachable_title() -> (String, String) {
    ("Sign in".into(), "Sign in to continue.".into())
}

/// "12 seconds", "1 minute", "3 minutes".
pub fn humanize_wait(wait: Duration) -> String {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    if seconds < 60 {
        format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
    } else {
        let minutes = seconds.div_ceil(60);
        format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
    }
}
