use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{load_target, page_number, search_term};
use crate::consent::{self, RequestInput, RequestOutcome};
use crate::domain::{AccountId, Role, TargetId, UserId};
use crate::errors::AppError;
use crate::jobs::enqueue_emails;
use crate::models::access_request::{AccessRequest, PendingMark};
use crate::models::{Account, AuditEvent, CredentialRow, NewAuditEvent, Page, Target, User};
use crate::state::SharedState;
use crate::web::{AdminViewer, Flash, Layout, RawForm, see_other};

pub const PER_PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct Query {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

/// A Credentials row and what the viewer can do with it.
pub struct Row {
    pub credential: CredentialRow,
    /// "Requested by NAME on DATE" for pending requests.
    pub requested: Vec<String>,
    pub can_request: bool,
    pub can_reveal: bool,
    pub is_mine: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "apps/credentials.html")]
pub struct CredentialsPage {
    layout: Layout,
    target: Target,
    tab: &'static str,
    is_admin: bool,
    query: String,
    page: Page<Row>,
    policy_admins: Vec<User>,
    /// Organization owners edit the policy.
    can_edit_policy: bool,
    /// Where forms come back to (this tab, with its search and page).
    back: String,
}

/// The Credentials & Policies tab: every credential of the app with its Managed/Unmanaged
/// status and Request Credentials, and the policy naming the admins who may view Managed
/// passwords.
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
    let (id, lookup, me, now) = (
        target.id,
        term.clone(),
        viewer.user.id,
        state.clock.now_naive(),
    );
    let can_edit_policy = viewer.user.role == Role::Owner;
    let (page, marks, policy_admins) = state
        .db
        .read(move |conn| {
            let page = Account::credentials_of(conn, id, &lookup, page_number, PER_PAGE)?;
            let ids: Vec<i64> = page.items.iter().map(|row| row.account.id.0).collect();
            let marks = AccessRequest::pending_marks(conn, &ids, now)?;
            Ok::<_, AppError>((page, marks, Target::policy_admins(conn, id)?))
        })
        .await?;
    let viewer_in_policy = policy_admins.iter().any(|admin| admin.id == me);
    let page = page.map(|credential| row(credential, &marks, me, viewer_in_policy));
    let mut back = format!("/apps/{}/credentials", target.id.0);
    if !term.is_empty() || page.page > 1 {
        back.push_str(&format!(
            "?q={}&page={}",
            percent_encoding::utf8_percent_encode(&term, percent_encoding::NON_ALPHANUMERIC),
            page.page
        ));
    }
    Ok(CredentialsPage {
        layout: viewer.layout("apps"),
        target,
        tab: "credentials",
        is_admin: true,
        query: term,
        page,
        policy_admins,
        can_edit_policy,
        back,
    })
}

fn row(credential: CredentialRow, marks: &[PendingMark], me: UserId, in_policy: bool) -> Row {
    let account = &credential.account;
    let requested: Vec<String> = marks
        .iter()
        .filter(|mark| mark.account_id == account.id.0)
        .map(|mark| {
            format!(
                "Requested by {} on {}",
                if mark.admin_user_id == me.0 {
                    "you"
                } else {
                    mark.admin_name.as_str()
                },
                mark.created_at.format("%Y-%m-%d")
            )
        })
        .collect();
    let personal_of_other = !account.is_shared() && !account.is_owned_by(me);
    Row {
        can_request: personal_of_other && !account.is_managed() && requested.is_empty(),
        can_reveal: personal_of_other && account.is_managed() && in_policy,
        is_mine: account.is_owned_by(me),
        requested,
        credential,
    }
}

/// Where to come back to after a form on the tab: a local path of this app's tab, or the tab.
fn back_to(form: &RawForm, target: i64) -> String {
    let prefix = format!("/apps/{target}/credentials");
    let back = form.get("back");
    if back.starts_with(&prefix) && crate::web::safe_next(back).is_some() {
        back.to_string()
    } else {
        prefix
    }
}

/// Request Credentials (POST, CSRF): asks the owner of an Unmanaged credential for access.
pub async fn request_access(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (organization, id) = (viewer.user.organization_id, AccountId(path.into_inner()));
    let found = state
        .db
        .run(move |conn| {
            let Some(account) = Account::find_in_organization(conn, organization, id)? else {
                return Ok::<_, AppError>(None);
            };
            let target = Target::find(conn, account.target_id)?;
            Ok(target.map(|target| (account, target)))
        })
        .await?;
    let Some((account, target)) = found else {
        return Err(AppError::NotFound);
    };
    let back = back_to(&form, target.id.0);
    let ttl = chrono::Duration::from_std(state.config.access_request_ttl)
        .unwrap_or(chrono::Duration::days(7));
    let (admin, client, now) = (
        viewer.user.clone(),
        viewer.client.as_str().to_string(),
        state.clock.now_naive(),
    );
    let outcome = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(consent::request_access(
                conn,
                RequestInput {
                    admin: &admin,
                    account: &account,
                    target: &target,
                    expires_at: now + ttl,
                    client: &client,
                },
                now,
            )?)
        })
        .await?;
    let flash = match outcome {
        Ok(RequestOutcome::Created {
            owner, email_id, ..
        }) => {
            enqueue_emails(&state, &[email_id]).await;
            Flash::success(format!(
                "Request sent. {} will get an email and a notification, and can grant access with one click.",
                owner.name
            ))
        }
        Ok(RequestOutcome::AlreadyPending { request, owner }) => Flash::info(format!(
            "You already requested access on {}; {} has not answered yet. Nothing was sent again.",
            request.created_at.format("%Y-%m-%d"),
            owner.name
        )),
        Err(refusal) => Flash::warning(refusal.message()),
    };
    Flash::push(&viewer.session, flash);
    Ok(see_other(&back))
}

/// Names an admin in the app's policy (organization owners only).
pub async fn add_policy_admin(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<HttpResponse, AppError> {
    let target = load_target(&state, viewer.user.organization_id, path.into_inner()).await?;
    let back = back_to(&form, target.id.0);
    if viewer.user.role != Role::Owner {
        return Err(AppError::forbidden(
            "Only the organization's owners can change which admins may view Managed passwords.",
        ));
    }
    // The form names the admin by email (an organization may have hundreds of admins, so the
    // page lists none); `user_id` is accepted too.
    let email: String = form.get("email").trim().chars().take(254).collect();
    let user_id = form.get("user_id").trim().parse::<i64>().ok();
    if email.is_empty() && user_id.is_none() {
        Flash::push(
            &viewer.session,
            Flash::warning("Choose an admin to add to the policy: enter their email address."),
        );
        return Ok(see_other(&back));
    }
    let (organization, actor, client, now) = (
        viewer.user.organization_id,
        viewer.user.id,
        viewer.client.as_str().to_string(),
        state.clock.now_naive(),
    );
    let target_id = target.id;
    let target_name = target.name.clone();
    let result = state
        .db
        .run(move |conn| {
            let found = match user_id {
                Some(id) if email.is_empty() => {
                    User::find_in_organization(conn, organization, UserId(id))?
                }
                _ => User::by_email_in_organization(conn, organization, &email)?,
            };
            let Some(admin) = found else {
                return Ok::<_, AppError>(Err(if email.is_empty() {
                    "That person is not in your organization.".to_string()
                } else {
                    format!("No one in your organization has the address \u{201c}{email}\u{201d}.")
                }));
            };
            if admin.disabled || !admin.role.is_admin() {
                return Ok(Err(
                    "Only enabled admins and owners can be named in a policy. Make the person an admin under Users first.".to_string(),
                ));
            }
            let added = crate::db::transaction(conn, |conn| {
                let added = Target::add_policy_admin(conn, target_id, admin.id)?;
                if added {
                    AuditEvent::record(
                        conn,
                        NewAuditEvent {
                            organization_id: organization,
                            actor: Some(actor),
                            action: "target.policy_add",
                            object_type: "target",
                            object_id: Some(target_id.0),
                            detail: format!(
                                "Named {} in the policy of \"{target_name}\": may view Managed passwords",
                                admin.name
                            ),
                            client_addr: Some(&client),
                            target_id: Some(target_id.0),
                        },
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(added)
            })?;
            Ok(Ok((admin.name, added)))
        })
        .await?;
    Flash::push(
        &viewer.session,
        match result {
            Ok((name, true)) => {
                Flash::success(format!("{name} may now view this app's Managed passwords."))
            }
            Ok((name, false)) => Flash::info(format!("{name} is already named in this policy.")),
            Err(message) => Flash::warning(message),
        },
    );
    Ok(see_other(&back))
}

/// Removes an admin from the app's policy (organization owners only).
pub async fn remove_policy_admin(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<(i64, i64)>,
    form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (target_id, user_id) = path.into_inner();
    let target = load_target(&state, viewer.user.organization_id, target_id).await?;
    let back = back_to(&form, target.id.0);
    if viewer.user.role != Role::Owner {
        return Err(AppError::forbidden(
            "Only the organization's owners can change which admins may view Managed passwords.",
        ));
    }
    let (organization, actor, client, now) = (
        viewer.user.organization_id,
        viewer.user.id,
        viewer.client.as_str().to_string(),
        state.clock.now_naive(),
    );
    let id: TargetId = target.id;
    let target_name = target.name.clone();
    let removed = state
        .db
        .run(move |conn| {
            let name = User::find_in_organization(conn, organization, UserId(user_id))?
                .map(|u| u.name)
                .unwrap_or_default();
            crate::db::transaction(conn, |conn| {
                let removed = Target::remove_policy_admin(conn, id, UserId(user_id))?;
                if removed {
                    AuditEvent::record(
                        conn,
                        NewAuditEvent {
                            organization_id: organization,
                            actor: Some(actor),
                            action: "target.policy_remove",
                            object_type: "target",
                            object_id: Some(id.0),
                            detail: format!("Removed {name} from the policy of \"{target_name}\""),
                            client_addr: Some(&client),
                            target_id: Some(id.0),
                        },
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(removed.then_some(name))
            })
            .map_err(AppError::from)
        })
        .await?;
    if let Some(name) = removed {
        Flash::push(
            &viewer.session,
            Flash::success(format!(
                "{name} was removed from the policy and can no longer view this app's Managed passwords."
            )),
        );
    }
    Ok(see_other(&back))
}
