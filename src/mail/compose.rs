//! Turns a queued email into a message, from the rows it points to, at the moment it is sent.

use askama::Template;
use chrono::NaiveDateTime;

use super::{Mailer, Outgoing};
use crate::config::Config;
use crate::db::DbConnection;
use crate::domain::{AccountId, OrganizationId, TargetId, UserId};
use crate::errors::AppError;
use crate::models::access_request::{AccessRequest, RequestStatus};
use crate::models::outbound_email::{EmailKind, OutboundEmail};
use crate::models::{Account, Organization, Target, User};
use crate::security::tokens::{hash_token, random_token};

/// What to do with a queued email.
pub enum Composed {
    Send(Box<Outgoing>),
    /// Nothing to send any more, and why (kept on the row).
    Drop(&'static str),
}

#[derive(Template)]
#[template(path = "email/access_requested.txt")]
struct RequestedText<'a> {
    owner_name: &'a str,
    admin_name: &'a str,
    admin_email: &'a str,
    organization: &'a str,
    app: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "email/access_requested.html")]
struct RequestedHtml<'a> {
    subject: &'a str,
    owner_name: &'a str,
    admin_name: &'a str,
    admin_email: &'a str,
    organization: &'a str,
    app: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "email/access_decided.txt")]
struct DecidedText<'a> {
    admin_name: &'a str,
    sentence: &'a str,
    next_step: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "email/access_decided.html")]
struct DecidedHtml<'a> {
    subject: &'a str,
    organization: &'a str,
    admin_name: &'a str,
    sentence: &'a str,
    next_step: &'a str,
    link: &'a str,
}

fn render(template: &impl Template) -> Result<String, AppError> {
    template
        .render()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("rendering an email: {e}")))
}

/// Composes `email`. For a request to an owner this mints the approval link's token: its hash
/// replaces any earlier one, so only the link in the message actually sent works.
pub fn compose(
    conn: &mut DbConnection,
    config: &Config,
    mailer: &Mailer,
    email: &OutboundEmail,
    now: NaiveDateTime,
) -> Result<Composed, AppError> {
    let Some(kind) = EmailKind::parse(&email.kind) else {
        return Ok(Composed::Drop("unknown kind of email"));
    };
    let Some(recipient) = User::find(conn, UserId(email.recipient_user_id))? else {
        return Ok(Composed::Drop("the recipient no longer exists"));
    };
    if recipient.disabled {
        return Ok(Composed::Drop("the recipient is disabled"));
    }
    let organization = Organization::find(conn, OrganizationId(email.organization_id))?.name;
    let message_id = mailer.message_id(email.id);
    match kind {
        EmailKind::AccessRequested => {
            let Some(request_id) = email.request_id else {
                return Ok(Composed::Drop("the request no longer exists"));
            };
            let Some(view) = AccessRequest::view(conn, request_id, now)? else {
                return Ok(Composed::Drop("the request no longer exists"));
            };
            if view.status != RequestStatus::Pending {
                return Ok(Composed::Drop(
                    "the request was settled before the email went out",
                ));
            }
            let token = random_token(32);
            AccessRequest::set_token_hash(conn, request_id, &hash_token(&token))?;
            let link = config.link(&format!("/requests/{request_id}/review?token={token}"));
            let subject = format!(
                "{} requested access to your credentials for {}",
                view.admin_name, view.app
            );
            let expires = view.request.expires_at.format("%Y-%m-%d %H:%M").to_string();
            let text = render(&RequestedText {
                owner_name: &recipient.name,
                admin_name: &view.admin_name,
                admin_email: &view.admin_email,
                organization: &organization,
                app: &view.app,
                username: &view.username,
                link: &link,
                expires: &expires,
            })?;
            let html = render(&RequestedHtml {
                subject: &subject,
                owner_name: &recipient.name,
                admin_name: &view.admin_name,
                admin_email: &view.admin_email,
                organization: &organization,
                app: &view.app,
                username: &view.username,
                link: &link,
                expires: &expires,
            })?;
            Ok(Composed::Send(Box::new(Outgoing {
                message_id,
                to_name: recipient.name,
                to_address: recipient.email,
                subject,
                text,
                html,
            })))
        }
        EmailKind::AccessGranted | EmailKind::AccessDenied => {
            let Some(request_id) = email.request_id else {
                return Ok(Composed::Drop("the request no longer exists"));
            };
            let Some(view) = AccessRequest::view(conn, request_id, now)? else {
                return Ok(Composed::Drop("the request no longer exists"));
            };
            let granted = kind == EmailKind::AccessGranted;
            let subject = format!(
                "{} {} your request for {}",
                view.owner_name,
                if granted { "granted" } else { "denied" },
                view.app
            );
            let sentence = if granted {
                format!(
                    "{} granted your request for access to their credentials for {} (username {}). The credential is now Managed.",
                    view.owner_name, view.app, view.username
                )
            } else {
                format!(
                    "{} denied your request for access to their credentials for {} (username {}). The credential stays Unmanaged.",
                    view.owner_name, view.app, view.username
                )
            };
            let next_step = if granted {
                "Admins named in the app's policy can now reveal it on the Credentials & Policies tab."
            } else {
                "You can see all your requests and their outcome in Keyholder."
            };
            let link = if granted {
                config.link(&format!("/apps/{}/credentials", view.request.target_id))
            } else {
                config.link("/requests")
            };
            decided(
                message_id,
                recipient,
                &organization,
                subject,
                &sentence,
                next_step,
                &link,
            )
        }
        EmailKind::AccessWithdrawn => {
            let Some(account_id) = email.account_id else {
                return Ok(Composed::Drop("the credential no longer exists"));
            };
            let Some(account) = Account::find(conn, AccountId(account_id))? else {
                return Ok(Composed::Drop("the credential no longer exists"));
            };
            let app = Target::find(conn, TargetId(account.target_id.0))?
                .map(|t| t.name)
                .unwrap_or_default();
            let owner = match account.owner_user_id {
                Some(owner) => User::find(conn, UserId(owner))?
                    .map(|u| u.name)
                    .unwrap_or_default(),
                None => String::new(),
            };
            let subject = format!("{owner} withdrew admin access to their credentials for {app}");
            let sentence = format!(
                "{owner} withdrew admin access to their credentials for {app} (username {}). The credential is now Unmanaged: no admin can view its password.",
                account.username
            );
            let link = config.link(&format!("/apps/{}/credentials", account.target_id.0));
            decided(
                message_id,
                recipient,
                &organization,
                subject,
                &sentence,
                "You can ask for access again with Request Credentials on the app's Credentials & Policies tab.",
                &link,
            )
        }
    }
}

fn decided(
    message_id: String,
    recipient: User,
    organization: &str,
    subject: String,
    sentence: &str,
    next_step: &str,
    link: &str,
) -> Result<Composed, AppError> {
    let text = render(&DecidedText {
        admin_name: &recipient.name,
        sentence,
        next_step,
        link,
    })?;
    let html = render(&DecidedHtml {
        subject: &subject,
        organization,
        admin_name: &recipient.name,
        sentence,
        next_step,
        link,
    })?;
    Ok(Composed::Send(Box::new(Outgoing {
        message_id,
        to_name: recipient.name,
        to_address: recipient.email,
        subject,
        text,
        html,
    })))
}
