use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use zeroize::Zeroizing;

use super::load_account;
use crate::access::{RevealContext, may_reveal};
use crate::errors::AppError;
use crate::lending::view::CheckoutView;
use crate::models::{Account, AuditEvent, Checkout, NewAuditEvent, Target};
use crate::routes::apps::load_target;
use crate::state::SharedState;
use crate::vault::VaultError;
use crate::web::{Layout, RawForm, Viewer};

#[derive(Template, WebTemplate)]
#[template(path = "accounts/reveal.html")]
pub struct RevealPage {
    layout: Layout,
    target: Target,
    account: Account,
    password: Zeroizing<String>,
    /// When shown right after a check-out, or to its holder: the check-out.
    checkout: Option<CheckoutView>,
}

impl RevealPage {
    pub fn new(
        layout: Layout,
        target: Target,
        account: Account,
        password: Zeroizing<String>,
        checkout: Option<CheckoutView>,
    ) -> Self {
        Self {
            layout,
            target,
            account,
            password,
            checkout,
        }
    }
}

/// Shows the password (POST only; the page is sent with `Cache-Control: no-store`). The audit
/// event is written in the same transaction as the decryption: no event, no password.
pub async fn reveal(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<RevealPage, AppError> {
    let account = load_account(&state, viewer.user.organization_id, path.into_inner()).await?;
    let target = load_target(&state, viewer.user.organization_id, account.target_id.0).await?;
    let vault = state.vault.clone();
    let now = state.clock.now_naive();
    let user = viewer.user.clone();
    let client = viewer.client.as_str().to_string();
    let (for_db, target_name) = (account.clone(), target.name.clone());
    let password = state
        .db
        .run(move |conn| {
            let context = RevealContext {
                holds_checkout: Checkout::active_of_user_on(conn, user.id, for_db.id)?.is_some(),
                named_in_policy: Target::policy_names(conn, for_db.target_id, user.id)?,
            };
            if let Err(reason) = may_reveal(&user, &for_db, &context) {
                return Err(AppError::forbidden(reason));
            }
            crate::db::transaction(conn, |conn| {
                AuditEvent::record(
                    conn,
                    NewAuditEvent {
                        organization_id: user.organization_id,
                        actor: Some(user.id),
                        action: "account.reveal",
                        object_type: "account",
                        object_id: Some(for_db.id.0),
                        detail: format!(
                            "Revealed the password of \"{}\" on \"{target_name}\"",
                            for_db.username
                        ),
                        client_addr: Some(&client),
                        target_id: Some(for_db.target_id.0),
                    },
                    now,
                )?;
                for_db.reveal(conn, &vault).map_err(|e| match e {
                    VaultError::Database(e) => RevealFailure::Database(e),
                    other => RevealFailure::Vault(other),
                })
            })
            .map_err(|e| match e {
                RevealFailure::Database(e) => AppError::from(e),
                RevealFailure::Vault(e) => {
                    tracing::error!(account = for_db.id.0, error = %e, "a stored password could not be decrypted");
                    AppError::Unexpected(anyhow::anyhow!(e).context(
                        "decrypting a stored password (the stored value was altered or the key is wrong)",
                    ))
                }
            })
        })
        .await?;
    let (me, id, now) = (viewer.user.id, account.id, state.clock.now_naive());
    let checkout = state
        .db
        .run(move |conn| Ok::<_, AppError>(Checkout::active_of_user_on(conn, me, id)?))
        .await?
        .map(|c| CheckoutView {
            id: c.id,
            until: crate::lending::view::TimeView::new(c.expires_at, now),
            exclusive: c.mode == crate::domain::CheckoutType::Exclusive,
        });
    Ok(RevealPage::new(
        viewer.layout("apps"),
        target,
        account,
        password,
        checkout,
    ))
}

#[derive(Debug, thiserror::Error)]
enum RevealFailure {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Vault(VaultError),
}
