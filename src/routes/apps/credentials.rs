use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{load_target, page_number, search_term};
use crate::errors::AppError;
use crate::models::{Account, CredentialRow, Page, Target, User};
use crate::state::SharedState;
use crate::web::{AdminViewer, Layout};

pub const PER_PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "apps/credentials.html")]
pub struct CredentialsPage {
    layout: Layout,
    target: Target,
    tab: &'static str,
    is_admin: bool,
    query: String,
    page: Page<CredentialRow>,
    policy_admins: Vec<User>,
    viewer_in_policy: bool,
}

/// The Credentials & Policies tab: every credential of the app with its Managed/Unmanaged
/// status, and the policy naming the admins who may view Managed passwords.
pub async fn credentials(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    query: web::Query<Query>,
) -> Result<CredentialsPage, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let Query { q, page } = query.into_inner();
    let term = search_term(&q);
    let page_number = page_number(page.as_deref());
    let (id, lookup, me) = (target.id, term.clone(), viewer.user.id);
    let (page, policy_admins) = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>((
                Account::credentials_of(conn, id, &lookup, page_number, PER_PAGE)?,
                Target::policy_admins(conn, id)?,
            ))
        })
        .await?;
    let viewer_in_policy = policy_admins.iter().any(|admin| admin.id == me);
    Ok(CredentialsPage {
        layout: viewer.layout("apps"),
        target,
        tab: "credentials",
        is_admin: true,
        query: term,
        page,
        policy_admins,
        viewer_in_policy,
    })
}
