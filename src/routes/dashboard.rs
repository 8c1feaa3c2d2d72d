//! Everyone's home: notifications, their check-outs, the shared accounts they may use, and
//! their own credentials.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::domain::Role;
use crate::errors::AppError;
use crate::lending::view::{AccountRow, dashboard_rows};
use crate::models::access_request::{AccessRequest, RequestView};
use crate::models::account::OwnCredential;
use crate::models::{Account, Notification, Page};
use crate::routes::apps::page_number;
use crate::state::SharedState;
use crate::web::{Layout, RawForm, Viewer, see_other};

pub const NOTIFICATIONS_PER_PAGE: i64 = 10;
pub const USABLE_PER_PAGE: i64 = 20;
pub const CREDENTIALS_PER_PAGE: i64 = 10;
pub const WAITING_PER_PAGE: i64 = 10;
pub const HELD_PER_PAGE: i64 = 10;

/// Each list of the dashboard turns its own pages: `page` the notifications, `held` the
/// accounts the person holds, `shared` the shared accounts, `mine` the person's own
/// credentials, `asked` the requests waiting for an answer.
#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    shared: Option<String>,
    #[serde(default)]
    mine: Option<String>,
    #[serde(default)]
    asked: Option<String>,
    #[serde(default)]
    held: Option<String>,
}

pub struct NotificationView {
    pub id: i64,
    pub message: String,
    pub when: String,
    pub unread: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    layout: Layout,
    user_name: String,
    role_phrase: &'static str,
    organization: String,
    is_admin: bool,
    people_count: i64,
    notifications: Page<NotificationView>,
    checked_out: Page<(AccountRow, String)>,
    usable: Page<(AccountRow, String)>,
    credentials: Page<(OwnCredential, String)>,
    /// Access requests waiting for the viewer's answer.
    waiting: Page<RequestView>,
    /// The page of each list: notifications, shared accounts, own credentials, requests,
    /// held accounts.
    pages: (i64, i64, i64, i64, i64),
}

pub async fn get(
    viewer: Viewer,
    state: SharedState,
    query: web::Query<Query>,
) -> Result<DashboardPage, AppError> {
    let is_admin = viewer.user.role.is_admin();
    let page = page_number(query.page.as_deref());
    let shared_page = page_number(query.shared.as_deref());
    let mine_page = page_number(query.mine.as_deref());
    let asked_page = page_number(query.asked.as_deref());
    let held_page = page_number(query.held.as_deref());
    let (user, now) = (viewer.user.clone(), state.clock.now_naive());
    let (notifications, checked_out, usable, credentials, waiting) = state
        .db
        .read(move |conn| {
            let inbox = Notification::inbox(conn, user.id, page, NOTIFICATIONS_PER_PAGE)?;
            let usable = Account::usable_by(conn, user.id, shared_page, USABLE_PER_PAGE)?;
            let (listed, total, per_page, shown_page) =
                (usable.items, usable.total, usable.per_page, usable.page);
            let (held, listed) =
                dashboard_rows(conn, &user, (held_page, HELD_PER_PAGE), listed, now)?;
            let credentials =
                Account::personal_of_user(conn, user.id, mine_page, CREDENTIALS_PER_PAGE)?;
            let waiting =
                AccessRequest::waiting_for(conn, user.id, now, asked_page, WAITING_PER_PAGE)?;
            Ok::<_, AppError>((
                inbox,
                held,
                Page::new(listed, total, shown_page, per_page),
                credentials,
                waiting,
            ))
        })
        .await?;
    let notifications = notifications.map(|n| NotificationView {
        id: n.id,
        unread: n.read_at.is_none(),
        when: crate::lending::view::relative(n.created_at, now),
        message: n.message,
    });
    Ok(DashboardPage {
        layout: viewer.layout("dashboard"),
        user_name: viewer.user.name.clone(),
        role_phrase: match viewer.user.role {
            Role::Owner => "an owner",
            Role::Admin => "an admin",
            Role::Member => "a member",
        },
        organization: viewer.organization.name.clone(),
        is_admin,
        people_count: viewer.organization.people,
        notifications,
        checked_out,
        usable,
        credentials,
        waiting,
        pages: (page, shared_page, mine_page, asked_page, held_page),
    })
}

impl DashboardPage {
    /// The dashboard's address with one list turned to another page, the others kept.
    fn page_link(&self, list: &str, to: i64) -> String {
        let (mut page, mut shared, mut mine, mut asked, mut held) = self.pages;
        match list {
            "held" => held = to,
            "shared" => shared = to,
            "mine" => mine = to,
            "asked" => asked = to,
            _ => page = to,
        }
        let mut parts = Vec::new();
        for (name, value) in [
            ("page", page),
            ("shared", shared),
            ("mine", mine),
            ("asked", asked),
            ("held", held),
        ] {
            if value > 1 {
                parts.push(format!("{name}={value}"));
            }
        }
        if parts.is_empty() {
            "/".to_string()
        } else {
            format!("/?{}", parts.join("&"))
        }
    }
}

/// Opening a notification marks it read and goes where it points.
pub async fn open_notification(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (id, user, now) = (path.into_inner(), viewer.user.id, state.clock.now_naive());
    let link = state
        .db
        .run(move |conn| Ok::<_, AppError>(Notification::open(conn, user, id, now)?))
        .await?
        .ok_or(AppError::NotFound)?;
    // Links are written by Keyholder itself; still, only ever follow a local path.
    Ok(see_other(crate::web::safe_next(&link).unwrap_or("/")))
}

pub async fn read_all(
    viewer: Viewer,
    state: SharedState,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (user, now) = (viewer.user.id, state.clock.now_naive());
    state
        .db
        .run(move |conn| Ok::<_, AppError>(Notification::mark_all_read(conn, user, now)?))
        .await?;
    Ok(see_other("/"))
}
