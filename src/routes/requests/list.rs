//! The requests an admin made: pending, granted, denied, expired.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::errors::AppError;
use crate::models::Page;
use crate::models::access_request::{AccessRequest, RequestStatus, RequestView};
use crate::routes::apps::page_number;
use crate::state::SharedState;
use crate::web::{AdminViewer, Layout};

pub const PER_PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: Option<String>,
}

pub struct StatusTab {
    pub value: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "requests/list.html")]
pub struct RequestsPage {
    layout: Layout,
    tabs: Vec<StatusTab>,
    status: &'static str,
    page: Page<RequestView>,
}

impl RequestsPage {
    fn when(&self, at: &chrono::NaiveDateTime) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

pub async fn list(
    viewer: AdminViewer,
    state: SharedState,
    query: web::Query<Query>,
) -> Result<RequestsPage, AppError> {
    let Query { status, page } = query.into_inner();
    let filter = RequestStatus::parse(status.trim());
    let page_number = page_number(page.as_deref());
    let (admin, now) = (viewer.user.id, state.clock.now_naive());
    let page = state
        .db
        .read(move |conn| {
            Ok::<_, AppError>(AccessRequest::made_by(
                conn,
                admin,
                filter,
                now,
                page_number,
                PER_PAGE,
            )?)
        })
        .await?;
    let current = filter.map(RequestStatus::as_str).unwrap_or("");
    let tabs = [
        ("", "All"),
        ("pending", "Pending"),
        ("granted", "Granted"),
        ("denied", "Denied"),
        ("expired", "Expired"),
    ]
    .into_iter()
    .map(|(value, label)| StatusTab {
        value,
        label,
        current: value == current,
    })
    .collect();
    Ok(RequestsPage {
        layout: viewer.layout("requests"),
        tabs,
        status: current,
        page,
    })
}
