use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::domain::UserId;
use crate::errors::AppError;
use crate::models::{Page, User};
use crate::state::SharedState;
use crate::web::{AdminViewer, Layout};

pub const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "users/list.html")]
pub struct UsersPage {
    layout: Layout,
    query: String,
    page: Page<User>,
    viewer_id: UserId,
}

pub async fn list(
    viewer: AdminViewer,
    state: SharedState,
    query: web::Query<Query>,
) -> Result<UsersPage, AppError> {
    let Query { q, page } = query.into_inner();
    let q: String = q.trim().chars().take(200).collect();
    let page_number = page
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let organization = viewer.user.organization_id;
    let term = q.clone();
    let page = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(User::search(
                conn,
                organization,
                &term,
                page_number,
                PER_PAGE,
            )?)
        })
        .await?;
    Ok(UsersPage {
        layout: viewer.layout("users"),
        query: q,
        page,
        viewer_id: viewer.user.id,
    })
}
