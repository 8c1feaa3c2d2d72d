//! Check out, CheckIn credential, force check-in, and the out-of-sync repairs.

mod out_of_sync;

pub use out_of_sync::{real_password_get, real_password_post, retry_reset};

use actix_web::{HttpResponse, web};

use crate::errors::AppError;
use crate::jobs::{ExpireCheckout, Job, ResetPassword};
use crate::lending::view::{CheckoutView, TimeView};
use crate::lending::{Ended, KeptBecause, LendingError, check_out, end_checkout};
use crate::models::Checkout;
use crate::models::checkout::EndReason;
use crate::routes::accounts::{RevealPage, load_account};
use crate::routes::apps::load_target;
use crate::state::SharedState;
use crate::web::{Flash, RawForm, Viewer, see_other};

impl From<LendingError> for AppError {
    fn from(error: LendingError) -> Self {
        AppError::Unexpected(anyhow::Error::new(error).context("check-out"))
    }
}

/// Check out: on success the password is shown at once (this response is the reveal page).
pub async fn checkout(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<RevealPage, AppError> {
    let account = load_account(&state, viewer.user.organization_id, path.into_inner()).await?;
    let target = load_target(&state, viewer.user.organization_id, account.target_id.0).await?;
    let (user, vault, now) = (
        viewer.user.clone(),
        state.vault.clone(),
        state.clock.now_naive(),
    );
    let client = viewer.client.as_str().to_string();
    let (for_db, target_for_db) = (account.clone(), target.clone());
    let outcome = state
        .db
        .run(move |conn| {
            let granted = check_out(conn, &user, &for_db, &target_for_db, now, Some(&client))?;
            match granted {
                Ok(checkout) => {
                    let password = for_db.reveal(conn, &vault).map_err(|e| {
                        AppError::Unexpected(
                            anyhow::Error::new(e).context("decrypting after check-out"),
                        )
                    })?;
                    Ok(Ok((checkout, password)))
                }
                Err(refusal) => Ok::<_, AppError>(Err(refusal)),
            }
        })
        .await?;
    let (checkout, password) = match outcome {
        Ok(done) => done,
        Err(crate::lending::Refusal::NotAllowed) => {
            return Err(AppError::forbidden(
                crate::lending::Refusal::NotAllowed.message(),
            ));
        }
        Err(refusal) => {
            return Err(AppError::Conflict(format!(
                "{} cannot be checked out. {}",
                account.username,
                refusal.message()
            )));
        }
    };
    state
        .jobs
        .schedule(
            &state,
            Job::ExpireCheckout(ExpireCheckout {
                checkout_id: checkout.id,
            }),
            checkout.expires_at,
        )
        .await;
    let view = CheckoutView {
        id: checkout.id,
        until: TimeView::new(checkout.expires_at, now),
        exclusive: checkout.mode == crate::domain::CheckoutType::Exclusive,
    };
    Ok(RevealPage::new(
        viewer.layout("apps"),
        target,
        account,
        password,
        Some(view),
    ))
}

/// Ends a check-out. A Vault-only app's reset is done within it; another app's reset is queued
/// to run at once, off the request. `true` when the reset is already done.
async fn finish(
    viewer: &Viewer,
    state: &SharedState,
    checkout: Checkout,
    reason: EndReason,
) -> Result<(Ended, bool), AppError> {
    let (user, vault, now) = (
        viewer.user.clone(),
        state.vault.clone(),
        state.clock.now_naive(),
    );
    let client = viewer.client.as_str().to_string();
    let id = checkout.id;
    let ended = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(end_checkout(
                conn,
                &vault,
                id,
                reason,
                Some(&user),
                now,
                Some(&client),
            )?)
        })
        .await?;
    if matches!(ended, Ended::Ended { .. }) {
        // Ended before its time: its expiry job has nothing left to do.
        state.jobs.withdraw_expiry(id);
    }
    if let Some(account) = ended.reset_started() {
        state
            .jobs
            .schedule(
                state,
                Job::ResetPassword(ResetPassword {
                    account_id: account.0,
                }),
                now,
            )
            .await;
    }
    let done = ended.reset_done();
    Ok((ended, done))
}

async fn load_checkout(
    state: &SharedState,
    viewer: &Viewer,
    id: i64,
) -> Result<Checkout, AppError> {
    let organization = viewer.user.organization_id;
    state
        .db
        .run(move |conn| Ok::<_, AppError>(Checkout::find(conn, id)?))
        .await?
        .filter(|c| c.organization_id == organization)
        .ok_or(AppError::NotFound)
}

/// CheckIn credential: the holder, and only the holder, gives the account back early.
pub async fn checkin(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let checkout = load_checkout(&state, &viewer, path.into_inner()).await?;
    if checkout.user_id != viewer.user.id {
        return Err(AppError::forbidden(
            "Only the person who checked this account out can check it in.",
        ));
    }
    let target = checkout.target_id;
    let (ended, reset_done) = finish(&viewer, &state, checkout, EndReason::CheckedIn).await?;
    Flash::push(
        &viewer.session,
        match ended {
            Ended::Ended { kept: None, .. } if reset_done => Flash::success(
                "Checked in. The password was reset, so the one you saw no longer works.",
            ),
            Ended::Ended { kept: None, .. } => Flash::success(
                "Checked in. The password is being reset, so the one you saw no longer works.",
            ),
            Ended::Ended {
                kept: Some(kept), ..
            } => Flash::success(kept_message(kept)),
            Ended::AlreadyEnded => Flash::info("This check-out had already ended."),
        },
    );
    Ok(see_other(&format!("/apps/{target}")))
}

/// The check-in message when the password was left as it was, saying why.
fn kept_message(kept: KeptBecause) -> String {
    let why = match kept {
        KeptBecause::AutoResetDisabled => "AutoReset is disabled for this account".to_string(),
        KeptBecause::OthersHold(1) => {
            "someone else still has it checked out; it is reset when the last check-out ends"
                .to_string()
        }
        KeptBecause::OthersHold(n) => format!(
            "{n} others still have it checked out; it is reset when the last check-out ends"
        ),
        KeptBecause::NotAvailable => {
            "the account is already being reset, or is out of sync".to_string()
        }
        KeptBecause::AccountGone => "the account no longer exists".to_string(),
    };
    format!("Checked in. The password was not changed: {why}.")
}

/// An owner ends someone's exclusive check-out, when the organization allows it.
pub async fn force(
    viewer: Viewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let checkout = load_checkout(&state, &viewer, path.into_inner()).await?;
    if viewer.user.role != crate::domain::Role::Owner {
        return Err(AppError::forbidden("Only owners can force a check-in."));
    }
    if !viewer.organization.allow_force_checkin {
        return Err(AppError::forbidden(
            "Forcing a check-in is turned off for this organization (Organization settings).",
        ));
    }
    let target = checkout.target_id;
    finish(&viewer, &state, checkout, EndReason::Forced).await?;
    Flash::push(
        &viewer.session,
        Flash::success("The check-out was ended and its holder notified."),
    );
    Ok(see_other(&format!("/apps/{target}/accounts")))
}
