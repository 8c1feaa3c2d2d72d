use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{page_number, search_term};
use crate::access::can_manage_apps;
use crate::errors::AppError;
use crate::models::{Page, SortOrder, Target, TargetSummary};
use crate::state::SharedState;
use crate::web::{Layout, Viewer};

pub const PER_PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "apps/list.html")]
pub struct AppsPage {
    layout: Layout,
    is_admin: bool,
    query: String,
    descending: bool,
    page: Page<TargetSummary>,
    /// Whether the organization has any app (else the page explains what an app is).
    has_apps: bool,
}

pub async fn list(
    viewer: Viewer,
    state: SharedState,
    query: web::Query<Query>,
) -> Result<AppsPage, AppError> {
    let Query { q, sort, page } = query.into_inner();
    let term = search_term(&q);
    let descending = sort == "name_desc";
    let page_number = page_number(page.as_deref());
    let organization = viewer.user.organization_id;
    let lookup = term.clone();
    let (page, has_apps) = state
        .db
        .read(move |conn| {
            let page = Target::search(
                conn,
                organization,
                &lookup,
                if descending {
                    SortOrder::NameDescending
                } else {
                    SortOrder::NameAscending
                },
                page_number,
                PER_PAGE,
            )?;
            // A search that finds nothing still needs to know whether there is any app.
            let any = page.total > 0 || (!lookup.is_empty() && Target::any_in(conn, organization)?);
            Ok::<_, AppError>((page, any))
        })
        .await?;
    Ok(AppsPage {
        layout: viewer.layout("apps"),
        is_admin: can_manage_apps(&viewer.user),
        query: term,
        descending,
        page,
        has_apps,
    })
}
