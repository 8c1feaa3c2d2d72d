use askama::Template;
use askama_web::WebTemplate;

use crate::domain::Role;
use crate::errors::AppError;
use crate::models::{Organization, User};
use crate::state::SharedState;
use crate::web::{Layout, Viewer};

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    layout: Layout,
    user_name: String,
    email: String,
    role_label: &'static str,
    role_phrase: &'static str,
    organization: String,
    is_admin: bool,
    people_count: i64,
}

pub async fn get(viewer: Viewer, state: SharedState) -> Result<DashboardPage, AppError> {
    let organization_id = viewer.user.organization_id;
    let is_admin = viewer.user.role.is_admin();
    let (organization, people_count) = state
        .db
        .run(move |conn| {
            let organization = Organization::find(conn, organization_id)?;
            let count = if is_admin {
                User::search(conn, organization_id, "", 1, 1)?.total
            } else {
                0
            };
            Ok::<_, AppError>((organization, count))
        })
        .await?;
    Ok(DashboardPage {
        layout: viewer.layout("dashboard"),
        user_name: viewer.user.name.clone(),
        email: viewer.user.email.clone(),
        role_label: viewer.user.role.label(),
        role_phrase: match viewer.user.role {
            Role::Owner => "an owner",
            Role::Admin => "an admin",
            Role::Member => "a member",
        },
        organization: organization.name,
        is_admin,
        people_count,
    })
}
