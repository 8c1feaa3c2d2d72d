//! Access requests: the owner's page to answer one (from the dashboard or the email's link),
//! the decision, and the admins' list of the requests they made.

mod list;

pub use list::list;

use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::consent::{self, Decision, DecisionRefusal, LinkProblem};
use crate::errors::AppError;
use crate::jobs::enqueue_emails;
use crate::models::access_request::{AccessRequest, RequestStatus, RequestView};
use crate::models::{Target, User};
use crate::state::SharedState;
use crate::web::{Flash, Layout, RawForm, Viewer, see_other};

#[derive(Template, WebTemplate)]
#[template(path = "requests/show.html")]
pub struct RequestPage {
    layout: Layout,
    view: RequestView,
    /// The signed-in person owns the credential (else they are the requesting admin).
    is_owner: bool,
    /// Grant access / Deny are offered.
    can_decide: bool,
    /// The approval-link token, carried into the form when the page came from the email.
    token: Option<String>,
    policy_admins: Vec<User>,
    created: String,
    expires: String,
    decided: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "requests/refused.html")]
pub struct RefusedPage {
    layout: Layout,
    title: &'static str,
    message: String,
    request_link: Option<String>,
}

fn date(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Loads the request with names, if it is in the viewer's organization.
async fn load(
    state: &SharedState,
    viewer: &Viewer,
    id: i64,
) -> Result<(RequestView, Vec<User>), AppError> {
    let (organization, now) = (viewer.user.organization_id.0, state.clock.now_naive());
    state
        .db
        .run(move |conn| {
            let Some(view) = AccessRequest::view(conn, id, now)? else {
                return Ok::<_, AppError>(None);
            };
            if view.request.organization_id != organization {
                return Ok(None);
            }
            let admins =
                Target::policy_admins(conn, crate::domain::TargetId(view.request.target_id))?;
            Ok(Some((view, admins)))
        })
        .await?
        .ok_or(AppError::NotFound)
}

fn page(
    viewer: &Viewer,
    view: RequestView,
    policy_admins: Vec<User>,
    token: Option<String>,
) -> RequestPage {
    let is_owner = view.request.owner_user_id == viewer.user.id.0;
    RequestPage {
        layout: viewer.layout(if is_owner { "dashboard" } else { "requests" }),
        is_owner,
        can_decide: is_owner && view.status == RequestStatus::Pending,
        token,
        policy_admins: policy_admins
            .into_iter()
            .filter(|admin| !admin.disabled)
            .collect(),
        created: date(view.request.created_at),
        expires: date(view.request.expires_at),
        decided: view.request.decided_at.map(date),
        view,
    }
}

fn refused(viewer: &Viewer, problem: LinkProblem, id: i64) -> (RefusedPage, StatusCode) {
    let request_link = match problem {
        LinkProblem::NotYours => None,
        _ => Some(format!("/requests/{id}")),
    };
    (
        RefusedPage {
            layout: viewer.layout("dashboard"),
            title: problem.title(),
            message: problem.message(),
            request_link,
        },
        StatusCode::from_u16(problem.status()).unwrap_or(StatusCode::FORBIDDEN),
    )
}

/// The request, for its owner (with Grant access / Deny while pending) or the admin who made
/// it. Reached from the dashboard's notification. Reading only.
pub async fn show(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<Either<RequestPage, (RefusedPage, StatusCode)>, AppError> {
    let id = path.into_inner();
    let (view, admins) = load(&state, &viewer, id).await?;
    let me = viewer.user.id.0;
    if view.request.owner_user_id != me && view.request.admin_user_id != me {
        return Ok(Either::Right(refused(&viewer, LinkProblem::NotYours, id)));
    }
    Ok(Either::Left(page(&viewer, view, admins, None)))
}

#[derive(Deserialize)]
pub struct ReviewQuery {
    #[serde(default)]
    token: Option<String>,
}

/// The email's approval link. Opening it changes nothing, however often (mail scanners follow
/// links); it shows the owner, once signed in, what is asked. Anyone else, or a bad, used or
/// expired link, gets a page saying so.
pub async fn review(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    query: web::Query<ReviewQuery>,
) -> Result<Either<RequestPage, (RefusedPage, StatusCode)>, AppError> {
    let id = path.into_inner();
    let now = state.clock.now_naive();
    let (view, admins) = match load(&state, &viewer, id).await {
        Ok(found) => found,
        // A link to a request that does not exist (tampered id, or the credential was deleted).
        Err(AppError::NotFound) => {
            return Ok(Either::Right(refused(&viewer, LinkProblem::Invalid, id)));
        }
        Err(other) => return Err(other),
    };
    let token = query.into_inner().token;
    match consent::check_link(&view.request, viewer.user.id, token.as_deref(), now) {
        Ok(()) => Ok(Either::Left(page(&viewer, view, admins, token))),
        Err(problem) => Ok(Either::Right(refused(&viewer, problem, id))),
    }
}

/// Grant access or Deny (POST with CSRF), by the owner only.
pub async fn decide(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (RefusedPage, StatusCode)>, AppError> {
    let id = path.into_inner();
    let Some(decision) = Decision::parse(form.get("decision")) else {
        return Err(AppError::BadRequest("Choose Grant access or Deny.".into()));
    };
    let token = Some(form.get("token").trim().to_string()).filter(|t| !t.is_empty());
    let (owner, client, now) = (
        viewer.user.clone(),
        viewer.client.as_str().to_string(),
        state.clock.now_naive(),
    );
    let outcome = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(consent::decide(
                conn,
                &owner,
                id,
                decision,
                token.as_deref(),
                &client,
                now,
            )?)
        })
        .await?;
    match outcome {
        Ok(decided) => {
            enqueue_emails(&state, &decided.email_ids).await;
            let admin = decided
                .admin
                .map(|a| a.name)
                .unwrap_or_else(|| "The admin".into());
            Flash::push(
                &viewer.session,
                Flash::success(match decision {
                    Decision::Grant => format!(
                        "Access granted. Your credential is now Managed; {admin} has been told."
                    ),
                    Decision::Deny => format!(
                        "Request denied. Your credential stays Unmanaged; {admin} has been told."
                    ),
                }),
            );
            Ok(Either::Left(see_other(&format!("/requests/{id}"))))
        }
        Err(DecisionRefusal::NotFound) => Err(AppError::NotFound),
        Err(DecisionRefusal::Link(problem)) => Ok(Either::Right(refused(&viewer, problem, id))),
    }
}
