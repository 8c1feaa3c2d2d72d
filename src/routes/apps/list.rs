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
    apps_in_organization: i64,
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
    let (page, apps_in_organization) = state
        .db
        .run(move |conn| {
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
            let all = if lookup.is_empty() {
                page.total
            } else {
                Target::count(conn, organization)?
            };
            Ok::<_, AppError>((page, all))
        })
        .await?;
    Ok(AppsPage {
        layout: viewer.layout("apps"),
        is_admin: can_manage_apps(&viewer.user),
        query: term,
        descending,
        page,
        apps_in_organization,
    })
}
