//! Repairs for an account whose reset failed: retry it, or enter the real password.

use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use zeroize::Zeroizing;

use crate::errors::AppError;
use crate::jobs::{Job, ResetPassword};
use crate::lending::{retry_reset as retry, set_real_password};
use crate::models::{Account, AccountState, Target};
use crate::routes::accounts::load_account;
use crate::routes::apps::{load_target, shared_account_link};
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Flash, Layout, RawForm, see_other};

async fn load_out_of_sync(
    viewer: &AdminViewer,
    state: &SharedState,
    id: i64,
) -> Result<(Account, Target), AppError> {
    let account = load_account(state, viewer.user.organization_id, id).await?;
    if account.state != AccountState::OutOfSync || !account.is_shared() {
        return Err(AppError::Conflict(
            "This account is not out of sync: there is nothing to repair.".into(),
        ));
    }
    let target = load_target(state, viewer.user.organization_id, account.target_id.0).await?;
    Ok((account, target))
}

pub async fn retry_reset(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    _form: RawForm,
) -> Result<HttpResponse, AppError> {
    let (account, _) = load_out_of_sync(&viewer, &state, path.into_inner()).await?;
    let (user, now) = (viewer.user.clone(), state.clock.now_naive());
    let client = viewer.client.as_str().to_string();
    let id = account.id;
    let (restarted, link) = state
        .db
        .run(move |conn| {
            let restarted = retry(conn, &user, &account, now, Some(&client))?;
            let link = shared_account_link(conn, account.target_id, account.id, &account.username)?;
            Ok::<_, AppError>((restarted, link))
        })
        .await?;
    if restarted {
        state
            .jobs
            .schedule(
                &state,
                Job::ResetPassword(ResetPassword { account_id: id.0 }),
                now,
            )
            .await;
        Flash::push(&viewer.session, Flash::info("The reset is being retried."));
    }
    Ok(see_other(&link))
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/real_password.html")]
pub struct RealPasswordPage {
    layout: Layout,
    target: Target,
    account: Account,
    errors: FieldErrors,
}

pub async fn real_password_get(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
) -> Result<RealPasswordPage, AppError> {
    let (account, target) = load_out_of_sync(&viewer, &state, path.into_inner()).await?;
    Ok(RealPasswordPage {
        layout: viewer.layout("apps"),
        target,
        account,
        errors: FieldErrors::new(),
    })
}

pub async fn real_password_post(
    viewer: AdminViewer,
    state: SharedState,
    path: web::Path<i64>,
    form: RawForm,
) -> Result<Either<HttpResponse, (RealPasswordPage, StatusCode)>, AppError> {
    let (account, target) = load_out_of_sync(&viewer, &state, path.into_inner()).await?;
    let password = Zeroizing::new(form.get("password").to_string());
    let mut errors = FieldErrors::new();
    if password.is_empty() {
        errors.add("password", "Enter the password the system has now.");
    } else if password.contains('\u{FFFD}') || password.chars().count() > 1024 {
        errors.add(
            "password",
            "The password contains characters that could not be read, or is too long.",
        );
    } else if form.get("password_confirm") != password.as_str() {
        errors.add("password_confirm", "The two passwords are not the same.");
    }
    if !errors.is_empty() {
        return Ok(Either::Right((
            RealPasswordPage {
                layout: viewer.layout("apps"),
                target,
                account,
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )));
    }
    let (user, vault, now) = (
        viewer.user.clone(),
        state.vault.clone(),
        state.clock.now_naive(),
    );
    let client = viewer.client.as_str().to_string();
    let link = state
        .db
        .run(move |conn| {
            set_real_password(conn, &vault, &user, &account, &password, now, Some(&client))?;
            let link = shared_account_link(conn, account.target_id, account.id, &account.username)?;
            Ok::<_, AppError>(link)
        })
        .await?;
    Flash::push(
        &viewer.session,
        Flash::success("The password was stored. The account is available again."),
    );
    Ok(Either::Left(see_other(&link)))
}
