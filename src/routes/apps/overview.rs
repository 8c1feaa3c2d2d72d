use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::accounts_tab::ACCOUNTS_PER_PAGE;
use super::{load_target, page_number};
use crate::access::can_manage_apps;
use crate::errors::AppError;
use crate::lending::view::{AccountRow, account_rows};
use crate::models::{Account, Page, Target};
use crate::state::SharedState;
use crate::web::{Layout, Viewer};

#[derive(Template, WebTemplate)]
#[template(path = "apps/overview.html")]
pub struct OverviewPage {
    layout: Layout,
    target: Target,
    tab: &'static str,
    is_admin: bool,
    policy_text: String,
    my_credential: Option<Account>,
    allowed: bool,
    shared: Page<AccountRow>,
    can_force: bool,
}

/// `page` turns the pages of the shared accounts.
#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    page: Option<String>,
}

pub async fn overview(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    query: web::Query<Query>,
) -> Result<OverviewPage, AppError> {
    let shared_page = page_number(query.page.as_deref());
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let (user, now) = (viewer.user.clone(), state.clock.now_naive());
    let for_db = target.clone();
    let is_admin = can_manage_apps(&viewer.user);
    let (my_credential, allowed, shared) = state
        .db
        .read(move |conn| {
            let mine = Account::personal_of(conn, for_db.id, user.id)?;
            let allowed = Target::is_allowed(conn, for_db.id, user.id)?;
            let shared = if allowed || is_admin {
                let page = Account::shared_of(conn, for_db.id, shared_page, ACCOUNTS_PER_PAGE)?;
                let (total, number, per_page) = (page.total, page.page, page.per_page);
                let rows = account_rows(conn, &user, &for_db, page.items, now)?;
                Page::new(rows, total, number, per_page)
            } else {
                Page::new(Vec::new(), 0, 1, ACCOUNTS_PER_PAGE)
            };
            Ok::<_, AppError>((mine, allowed, shared))
        })
        .await?;
    Ok(OverviewPage {
        layout: viewer.layout("apps"),
        policy_text: target.policy().describe(),
        target,
        tab: "overview",
        is_admin,
        my_credential,
        allowed,
        // Members see shared accounts only when they are allowed to use them.
        shared,
        can_force: viewer.can_force_checkin(),
    })
}
