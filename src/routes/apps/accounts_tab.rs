use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel::QueryResult;
use serde::Deserialize;

use super::{load_target, page_number};
use crate::db::DbConnection;
use crate::domain::{AccountId, EmailAddress, TargetId, UserId};
use crate::errors::AppError;
use crate::lending::view::{AccountRow, account_rows};
use crate::models::{Account, AuditEvent, NewAuditEvent, Page, Target, User};
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Flash, Layout, RawForm, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "apps/accounts.html")]
pub struct AccountsTabPage {
    layout: Layout,
    target: Target,
    tab: &'static str,
    is_admin: bool,
    accounts: Page<AccountRow>,
    people: Page<User>,
    can_force: bool,
    person_email: String,
    errors: FieldErrors,
}

pub const ACCOUNTS_PER_PAGE: i64 = 25;
pub const PEOPLE_PER_PAGE: i64 = 50;

/// Each list turns its own pages: `page` the shared accounts, `people` the people allowed.
#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    people: Option<String>,
}

impl AccountsTabPage {
    /// This tab with one list turned to another page, the other kept.
    fn page_link(&self, list: &str, to: i64) -> String {
        let (accounts, people) = match list {
            "people" => (self.accounts.page, to),
            _ => (to, self.people.page),
        };
        accounts_tab_link(self.target.id.0, accounts, people)
    }
}

impl Query {
    fn pages(&self) -> (i64, i64) {
        (
            page_number(self.page.as_deref()),
            page_number(self.people.as_deref()),
        )
    }
}

async fn page(
    viewer: &AdminViewer,
    state: &SharedState,
    target: Target,
    (accounts_page, people_page): (i64, i64),
    person_email: String,
    errors: FieldErrors,
) -> Result<AccountsTabPage, AppError> {
    let (user, now, for_db) = (viewer.user.clone(), state.clock.now_naive(), target.clone());
    let (accounts, people) = state
        .db
        .read(move |conn| {
            let shared = Account::shared_of(conn, for_db.id, accounts_page, ACCOUNTS_PER_PAGE)?;
            let (total, page, per_page) = (shared.total, shared.page, shared.per_page);
            let rows = account_rows(conn, &user, &for_db, shared.items, now)?;
            let people = Target::allowed_people(conn, for_db.id, people_page, PEOPLE_PER_PAGE)?;
            Ok::<_, AppError>((Page::new(rows, total, page, per_page), people))
        })
        .await?;
    Ok(AccountsTabPage {
        layout: viewer.layout("apps"),
        target,
        tab: "accounts",
        is_admin: true,
        accounts,
        people,
        can_force: viewer.can_force_checkin(),
        person_email,
        errors,
    })
}

pub async fn accounts_tab(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    query: web::Query<Query>,
) -> Result<AccountsTabPage, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let pages = query.pages();
    page(
        &viewer,
        &state,
        target,
        pages,
        String::new(),
        FieldErrors::new(),
    )
    .await
}

/// Allows a person of the organization, found by email, to use the shared accounts.
pub async fn add_person(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (AccountsTabPage, StatusCode)>, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let raw = form.get("email").to_string();
    let email = match EmailAddress::parse(&raw) {
        Ok(email) => email,
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add("email", message);
            let page = page(&viewer, &state, target, (1, 1), raw, errors).await?;
            return Ok(Either::Right((page, StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    let organization = viewer.user.organization_id;
    let now = state.clock.now_naive();
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let target_id = target.id;
    let target_name = target.name.clone();
    let outcome = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let person = User::with_password_hash(conn, &email)?
                    .map(|(user, _)| user)
                    .filter(|user| user.organization_id == organization);
                let Some(person) = person else {
                    return Ok(Err("Nobody in your organization has this email address. Add them under Users first."));
                };
                if person.disabled {
                    return Ok(Err("This person is disabled. Enable them under Users first."));
                }
                if Target::allow(conn, target_id, person.id)? {
                    AuditEvent::record(
                        conn,
                        NewAuditEvent {
                            organization_id: organization,
                            actor: Some(actor),
                            action: "target.allow_user",
                            object_type: "user",
                            object_id: Some(person.id.0),
                            detail: format!(
                                "Allowed {} to use the shared accounts of \"{target_name}\"",
                                person.email
                            ),
                            client_addr: Some(&client),
                            target_id: Some(target_id.0),
                        },
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(Ok(person.name))
            })
            .map_err(AppError::from)
        })
        .await?;
    match outcome {
        Ok(name) => {
            Flash::push(
                &viewer.session,
                Flash::success(format!(
                    "{name} may now use the shared accounts of {}.",
                    target.name
                )),
            );
            Ok(Either::Left(see_other(&format!(
                "/apps/{}/accounts",
                target.id
            ))))
        }
        Err(message) => {
            let mut errors = FieldErrors::new();
            errors.add("email", message);
            let page = page(&viewer, &state, target, (1, 1), raw, errors).await?;
            Ok(Either::Right((page, StatusCode::UNPROCESSABLE_ENTITY)))
        }
    }
}

pub async fn remove_person(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<(i64, i64)>,
    form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (target_id, user_id) = path.into_inner();
    // Back to the page of people the admin was on.
    let people_page = page_number(Some(form.get("people")));
    let target = load_target(&state, viewer.user.organization_id, target_id).await?;
    let organization = viewer.user.organization_id;
    let now = state.clock.now_naive();
    let actor = viewer.user.id;
    let client = viewer.client.as_str().to_string();
    let (id, name) = (target.id, target.name.clone());
    state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let person = User::find_in_organization(conn, organization, UserId(user_id))?;
                if let Some(person) = person
                    && Target::disallow(conn, id, person.id)?
                {
                    AuditEvent::record(
                        conn,
                        NewAuditEvent {
                            organization_id: organization,
                            actor: Some(actor),
                            action: "target.disallow_user",
                            object_type: "user",
                            object_id: Some(person.id.0),
                            detail: format!(
                                "Removed {} from the people allowed to use \"{name}\"",
                                person.email
                            ),
                            client_addr: Some(&client),
                            target_id: Some(id.0),
                        },
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .map_err(AppError::from)
        })
        .await?;
    Flash::push(&viewer.session, Flash::success("Access removed."));
    Ok(see_other(&accounts_tab_link(target.id.0, 1, people_page)))
}

/// The Accounts tab's page that lists this shared account, scrolled to it.
pub fn shared_account_link(
    conn: &mut DbConnection,
    target: TargetId,
    id: AccountId,
    username: &str,
) -> QueryResult<String> {
    let before = Account::shared_rank(conn, target, id, username)?;
    Ok(format!(
        "{}#account-{}",
        accounts_tab_link(target.0, before / ACCOUNTS_PER_PAGE + 1, 1),
        id.0
    ))
}

/// The Accounts tab's address with its lists on these pages (page 1 left out).
pub fn accounts_tab_link(target: i64, accounts_page: i64, people_page: i64) -> String {
    let mut parts = Vec::new();
    for (name, value) in [("page", accounts_page), ("people", people_page)] {
        if value > 1 {
            parts.push(format!("{name}={value}"));
        }
    }
    if parts.is_empty() {
        format!("/apps/{target}/accounts")
    } else {
        format!("/apps/{target}/accounts?{}", parts.join("&"))
    }
}
