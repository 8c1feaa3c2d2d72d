//! Owner consent to admin access: Request Credentials, the owner's Grant access / Deny, and
//! the owner turning "Allow admin access to the password" on or off.
//!
//! Every change happens in one transaction with its notifications, queued emails and audit
//! events; the caller hands the returned email ids to the job queue after the commit (the sweep
//! sends any the queue missed).

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::{AccountId, OrganizationId, UserId};
use crate::models::access_request::{AccessRequest, NewRequest, RequestStatus};
use crate::models::outbound_email::{EmailKind, NewEmail, OutboundEmail};
use crate::models::{Account, AuditEvent, NewAuditEvent, Notification, Target, User};
use crate::security::tokens::{constant_time_eq, hash_token};

/// Why a request cannot be made, in words for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestRefusal {
    Shared,
    AlreadyManaged,
    OwnCredential,
    OwnerDisabled,
}

impl RequestRefusal {
    pub fn message(&self) -> &'static str {
        match self {
            RequestRefusal::Shared => {
                "Shared accounts belong to the organization and are always Managed; there is nobody to ask."
            }
            RequestRefusal::AlreadyManaged => {
                "This credential is already Managed: its owner allows admin access. Admins named in the app's policy can reveal it."
            }
            RequestRefusal::OwnCredential => "This is your own credential.",
            RequestRefusal::OwnerDisabled => {
                "The owner of this credential is disabled and cannot answer a request."
            }
        }
    }
}

pub enum RequestOutcome {
    /// A new request: the owner is notified and an email is queued (its id).
    Created {
        request: AccessRequest,
        owner: User,
        email_id: i64,
    },
    /// This admin already has a pending request for the credential: nothing was sent again.
    AlreadyPending { request: AccessRequest, owner: User },
}

pub struct RequestInput<'a> {
    pub admin: &'a User,
    pub account: &'a Account,
    pub target: &'a Target,
    pub expires_at: NaiveDateTime,
    pub client: &'a str,
}

/// An admin presses Request Credentials on an Unmanaged personal credential.
pub fn request_access(
    conn: &mut DbConnection,
    input: RequestInput<'_>,
    now: NaiveDateTime,
) -> Result<Result<RequestOutcome, RequestRefusal>, diesel::result::Error> {
    let RequestInput {
        admin,
        account,
        target,
        expires_at,
        client,
    } = input;
    let Some(owner_id) = account.owner_user_id else {
        return Ok(Err(RequestRefusal::Shared));
    };
    if owner_id == admin.id.0 {
        return Ok(Err(RequestRefusal::OwnCredential));
    }
    if account.admin_access {
        return Ok(Err(RequestRefusal::AlreadyManaged));
    }
    let Some(owner) = User::find(conn, UserId(owner_id))?.filter(|u| !u.disabled) else {
        return Ok(Err(RequestRefusal::OwnerDisabled));
    };
    crate::db::transaction(conn, |conn| {
        let (request, created) = AccessRequest::create_or_existing(
            conn,
            &NewRequest {
                organization_id: account.organization_id.0,
                account_id: account.id,
                target_id: target.id.0,
                admin: admin.id,
                owner: owner.id,
                expires_at,
            },
            now,
        )?;
        if !created {
            return Ok(Ok(RequestOutcome::AlreadyPending { request, owner }));
        }
        Notification::send(
            conn,
            account.organization_id,
            owner.id,
            &format!(
                "{} requested access to your credentials for {}",
                admin.name, target.name
            ),
            &format!("/requests/{}", request.id),
            now,
        )?;
        let email_id = OutboundEmail::queue(
            conn,
            &NewEmail {
                organization_id: account.organization_id.0,
                kind: EmailKind::AccessRequested,
                recipient: owner.id,
                request_id: Some(request.id),
                account_id: Some(account.id.0),
            },
            now,
        )?;
        AuditEvent::record(
            conn,
            NewAuditEvent {
                organization_id: account.organization_id,
                actor: Some(admin.id),
                action: "access.request",
                object_type: "account",
                object_id: Some(account.id.0),
                detail: format!(
                    "Requested access to {}'s credentials for \"{}\" (username \"{}\")",
                    owner.name, target.name, account.username
                ),
                client_addr: Some(client),
                target_id: Some(target.id.0),
            },
            now,
        )?;
        Ok(Ok(RequestOutcome::Created {
            request,
            owner,
            email_id,
        }))
    })
}

/// Why an approval link (or a decision) is refused. Nothing changes in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// The link has no token (cut short when copied).
    Missing,
    /// The token is not this request's current token: mistyped, tampered, another request's,
    /// or from an earlier email.
    Invalid,
    /// Someone other than the credential's owner is signed in.
    NotYours,
    /// The link was used to decide already.
    Used,
    /// The request expired.
    Expired,
    /// The request was decided another way (from the dashboard).
    Settled(RequestStatus),
}

impl LinkProblem {
    pub fn status(self) -> u16 {
        match self {
            LinkProblem::Missing => 400,
            LinkProblem::Invalid | LinkProblem::NotYours => 403,
            LinkProblem::Used | LinkProblem::Expired | LinkProblem::Settled(_) => 410,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            LinkProblem::Missing => "This link is incomplete",
            LinkProblem::Invalid => "This link is not valid",
            LinkProblem::NotYours => "This request is not addressed to you",
            LinkProblem::Used => "This link has already been used",
            LinkProblem::Expired => "This request has expired",
            LinkProblem::Settled(_) => "This request has already been answered",
        }
    }

    pub fn message(self) -> String {
        match self {
            LinkProblem::Missing => "The address has no approval code; it was probably cut short when it was copied. Open the link from the email again, or open the request from the notifications on your dashboard.".into(),
            LinkProblem::Invalid => "The approval code in this address does not belong to this request: it may have been changed, or it comes from an older email. Nothing was changed. Open the request from the notifications on your dashboard instead.".into(),
            LinkProblem::NotYours => "Only the owner of the credential can answer this request. You are signed in as someone else: sign out and sign in as the person the email was sent to. Nothing was changed.".into(),
            LinkProblem::Used => "The request was answered with this link, which works only once. Nothing was changed now.".into(),
            LinkProblem::Expired => "Requests expire when they are not answered in time. Nothing was changed; the admin can send a new request.".into(),
            LinkProblem::Settled(status) => format!(
                "The request was already answered ({}), so there is nothing left to decide. Nothing was changed now.",
                status.label().to_lowercase()
            ),
        }
    }
}

/// Checks an approval link's token against the request and the signed-in person. Reading only.
pub fn check_link(
    request: &AccessRequest,
    viewer: UserId,
    token: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), LinkProblem> {
    if request.owner_user_id != viewer.0 {
        return Err(LinkProblem::NotYours);
    }
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(LinkProblem::Missing);
    };
    let matches = request
        .token_hash
        .as_deref()
        .is_some_and(|stored| constant_time_eq(stored, &hash_token(token)));
    if !matches {
        return Err(LinkProblem::Invalid);
    }
    if request.token_used_at.is_some() {
        return Err(LinkProblem::Used);
    }
    match request.effective(now) {
        RequestStatus::Pending => Ok(()),
        RequestStatus::Expired => Err(LinkProblem::Expired),
        settled => Err(LinkProblem::Settled(settled)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Grant,
    Deny,
}

impl Decision {
    pub fn parse(value: &str) -> Option<Decision> {
        match value {
            "grant" => Some(Decision::Grant),
            "deny" => Some(Decision::Deny),
            _ => None,
        }
    }
}

/// Why a decision was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionRefusal {
    NotFound,
    Link(LinkProblem),
}

pub struct Decided {
    pub request: AccessRequest,
    pub admin: Option<User>,
    /// Emails to hand to the job queue after the commit.
    pub email_ids: Vec<i64>,
}

/// The owner grants or denies. With `token` (from the email's link) the token must be valid and
/// is used up; without, the signed-in owner decides from the dashboard.
pub fn decide(
    conn: &mut DbConnection,
    owner: &User,
    request_id: i64,
    decision: Decision,
    token: Option<&str>,
    client: &str,
    now: NaiveDateTime,
) -> Result<Result<Decided, DecisionRefusal>, diesel::result::Error> {
    crate::db::transaction(conn, |conn| {
        let Some(request) = AccessRequest::find(conn, request_id)? else {
            return Ok(Err(DecisionRefusal::NotFound));
        };
        if request.organization_id != owner.organization_id.0 {
            return Ok(Err(DecisionRefusal::NotFound));
        }
        let checked = match token {
            Some(token) => check_link(&request, owner.id, Some(token), now),
            None if request.owner_user_id != owner.id.0 => Err(LinkProblem::NotYours),
            None => match request.effective(now) {
                RequestStatus::Pending => Ok(()),
                RequestStatus::Expired => Err(LinkProblem::Expired),
                settled => Err(LinkProblem::Settled(settled)),
            },
        };
        if let Err(problem) = checked {
            return Ok(Err(DecisionRefusal::Link(problem)));
        }
        let status = match decision {
            Decision::Grant => RequestStatus::Granted,
            Decision::Deny => RequestStatus::Denied,
        };
        if !AccessRequest::decide(conn, request.id, status, token.is_some(), now)? {
            // Someone decided a moment earlier (a second tab, a double click).
            let current = AccessRequest::find(conn, request.id)?
                .map(|r| r.effective(now))
                .unwrap_or(RequestStatus::Expired);
            return Ok(Err(DecisionRefusal::Link(match current {
                RequestStatus::Expired => LinkProblem::Expired,
                other => LinkProblem::Settled(other),
            })));
        }
        // The owner has dealt with it: the notification that asked no longer waits in the inbox.
        Notification::mark_read_by_link(conn, owner.id, &format!("/requests/{}", request.id), now)?;
        let account = Account::find(conn, AccountId(request.account_id))?;
        let app = Target::find(conn, crate::domain::TargetId(request.target_id))?
            .map(|t| t.name)
            .unwrap_or_default();
        let username = account
            .as_ref()
            .map(|a| a.username.clone())
            .unwrap_or_default();
        let organization = OrganizationId(request.organization_id);
        let mut email_ids = Vec::new();
        let admin = User::find(conn, UserId(request.admin_user_id))?;
        match decision {
            Decision::Grant => {
                Account::set_admin_access(conn, AccountId(request.account_id), true, now)?;
                email_ids.push(tell_admin(
                    conn,
                    &request,
                    EmailKind::AccessGranted,
                    &format!(
                        "{} granted your request for access to their credentials for {app}",
                        owner.name
                    ),
                    &format!("/apps/{}/credentials", request.target_id),
                    now,
                )?);
                // Other admins' pending requests for it are answered too: it is Managed now.
                for other in AccessRequest::close_pending_as_granted(
                    conn,
                    AccountId(request.account_id),
                    now,
                )? {
                    email_ids.push(tell_admin(
                        conn,
                        &other,
                        EmailKind::AccessGranted,
                        &format!(
                            "{} granted access to their credentials for {app}",
                            owner.name
                        ),
                        &format!("/apps/{}/credentials", other.target_id),
                        now,
                    )?);
                }
            }
            Decision::Deny => {
                email_ids.push(tell_admin(
                    conn,
                    &request,
                    EmailKind::AccessDenied,
                    &format!(
                        "{} denied your request for access to their credentials for {app}",
                        owner.name
                    ),
                    &format!("/requests/{}", request.id),
                    now,
                )?);
            }
        }
        let admin_name = admin
            .as_ref()
            .map(|a| a.name.as_str())
            .unwrap_or("an admin");
        AuditEvent::record(
            conn,
            NewAuditEvent {
                organization_id: organization,
                actor: Some(owner.id),
                action: match decision {
                    Decision::Grant => "access.grant",
                    Decision::Deny => "access.deny",
                },
                object_type: "account",
                object_id: Some(request.account_id),
                detail: format!(
                    "{} {admin_name}'s request for access to the credentials for \"{app}\" (username \"{username}\"){}",
                    match decision {
                        Decision::Grant => "Granted",
                        Decision::Deny => "Denied",
                    },
                    if token.is_some() {
                        ", from the email's link"
                    } else {
                        ""
                    }
                ),
                client_addr: Some(client),
                target_id: Some(request.target_id),
            },
            now,
        )?;
        let request = AccessRequest::find(conn, request.id)?.unwrap_or(request);
        Ok(Ok(Decided {
            request,
            admin,
            email_ids,
        }))
    })
}

/// A dashboard notification and a queued email for the admin who made `request`.
fn tell_admin(
    conn: &mut DbConnection,
    request: &AccessRequest,
    kind: EmailKind,
    message: &str,
    link: &str,
    now: NaiveDateTime,
) -> diesel::result::QueryResult<i64> {
    let organization = OrganizationId(request.organization_id);
    Notification::send(
        conn,
        organization,
        UserId(request.admin_user_id),
        message,
        link,
        now,
    )?;
    OutboundEmail::queue(
        conn,
        &NewEmail {
            organization_id: request.organization_id,
            kind,
            recipient: UserId(request.admin_user_id),
            request_id: Some(request.id),
            account_id: Some(request.account_id),
        },
        now,
    )
}

/// The owner turned "Allow admin access to the password" on or off for a personal credential
/// (inside the caller's transaction). Turning it on answers pending requests; turning it off
/// tells the admins in the app's policy. Returns the emails to queue.
pub fn admin_access_changed(
    conn: &mut DbConnection,
    account: &Account,
    owner: &User,
    app: &str,
    allowed: bool,
    now: NaiveDateTime,
) -> diesel::result::QueryResult<Vec<i64>> {
    let mut email_ids = Vec::new();
    if allowed {
        for request in AccessRequest::close_pending_as_granted(conn, account.id, now)? {
            email_ids.push(tell_admin(
                conn,
                &request,
                EmailKind::AccessGranted,
                &format!(
                    "{} allowed admin access to their credentials for {app}",
                    owner.name
                ),
                &format!("/apps/{}/credentials", request.target_id),
                now,
            )?);
        }
    } else {
        for admin in Target::policy_admins(conn, account.target_id)? {
            if admin.disabled || admin.id == owner.id {
                continue;
            }
            Notification::send(
                conn,
                account.organization_id,
                admin.id,
                &format!(
                    "{} withdrew admin access to their credentials for {app}: they are Unmanaged now",
                    owner.name
                ),
                &format!("/apps/{}/credentials", account.target_id.0),
                now,
            )?;
            email_ids.push(OutboundEmail::queue(
                conn,
                &NewEmail {
                    organization_id: account.organization_id.0,
                    kind: EmailKind::AccessWithdrawn,
                    recipient: admin.id,
                    request_id: None,
                    account_id: Some(account.id.0),
                },
                now,
            )?);
        }
    }
    Ok(email_ids)
}

/// Marks requests past their time as expired and tells their admins. For the sweep.
pub fn expire_requests(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> diesel::result::QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        let expired = AccessRequest::expire_due(conn, now, limit)?;
        for request in &expired {
            let app = Target::find(conn, crate::domain::TargetId(request.target_id))?
                .map(|t| t.name)
                .unwrap_or_default();
            Notification::send(
                conn,
                OrganizationId(request.organization_id),
                UserId(request.admin_user_id),
                &format!(
                    "Your request for access to credentials for {app} expired without an answer"
                ),
                &format!("/requests/{}", request.id),
                now,
            )?;
            AuditEvent::record(
                conn,
                NewAuditEvent {
                    organization_id: OrganizationId(request.organization_id),
                    actor: None,
                    action: "access.expire",
                    object_type: "account",
                    object_id: Some(request.account_id),
                    detail: format!(
                        "A request for access to credentials for \"{app}\" expired without an answer"
                    ),
                    client_addr: None,
                    target_id: Some(request.target_id),
                },
                now,
            )?;
        }
        Ok(expired.len())
    })
}
