use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::load_target;
use crate::access::can_manage_apps;
use crate::errors::AppError;
use crate::lending::view::{AccountRow, account_rows};
use crate::models::{Account, Target};
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
    shared: Vec<AccountRow>,
    can_force: bool,
}

pub async fn overview(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<OverviewPage, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let (user, now) = (viewer.user.clone(), state.clock.now_naive());
    let for_db = target.clone();
    let is_admin = can_manage_apps(&viewer.user);
    let (my_credential, allowed, shared) = state
        .db
        .run(move |conn| {
            let mine = Account::personal_of(conn, for_db.id, user.id)?;
            let allowed = Target::is_allowed(conn, for_db.id, user.id)?;
            let shared = if allowed || is_admin {
                let accounts = Account::shared_of(conn, for_db.id)?;
                account_rows(conn, &user, &for_db, accounts, now)?
            } else {
                Vec::new()
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
