//! One module per page. `configure` is the whole URL map.

pub mod accounts;
pub mod apps;
pub mod audit;
pub mod checkouts;
pub mod dashboard;
pub mod health;
pub mod login;
pub mod logout;
pub mod organization;
pub mod password;
pub mod requests;
pub mod setup;
pub mod users;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::get))
        .route("/", web::get().to(dashboard::get))
        .route("/setup", web::get().to(setup::get))
        .route("/setup", web::post().to(setup::post))
        .route("/login", web::get().to(login::get))
        .route("/login", web::post().to(login::post))
        .route("/logout", web::post().to(logout::post))
        .route("/me/password", web::get().to(password::get))
        .route("/me/password", web::post().to(password::post))
        .route("/users", web::get().to(users::list))
        .route("/users/new", web::get().to(users::new_get))
        .route("/users/new", web::post().to(users::new_post))
        .route("/users/{id}", web::get().to(users::edit_get))
        .route("/users/{id}", web::post().to(users::edit_post))
        .route("/users/{id}/disable", web::post().to(users::disable))
        .route("/users/{id}/enable", web::post().to(users::enable))
        .route("/apps", web::get().to(apps::list))
        .route("/apps/new", web::get().to(apps::new_get))
        .route("/apps/new", web::post().to(apps::new_post))
        .route("/apps/{id}", web::get().to(apps::overview))
        .route("/apps/{id}/accounts", web::get().to(apps::accounts_tab))
        .route("/apps/{id}/people", web::post().to(apps::add_person))
        .route(
            "/apps/{id}/people/{user}/remove",
            web::post().to(apps::remove_person),
        )
        .route("/apps/{id}/credentials", web::get().to(apps::credentials))
        .route("/apps/{id}/policy", web::post().to(apps::add_policy_admin))
        .route(
            "/apps/{id}/policy/{user}/remove",
            web::post().to(apps::remove_policy_admin),
        )
        .route(
            "/accounts/{id}/request-access",
            web::post().to(apps::request_access),
        )
        .route("/requests", web::get().to(requests::list))
        .route("/requests/{id}", web::get().to(requests::show))
        .route("/requests/{id}/review", web::get().to(requests::review))
        .route("/requests/{id}/decision", web::post().to(requests::decide))
        .route("/apps/{id}/settings", web::get().to(apps::settings_get))
        .route("/apps/{id}/settings", web::post().to(apps::settings_post))
        .route("/apps/{id}/delete", web::get().to(apps::delete_get))
        .route("/apps/{id}/delete", web::post().to(apps::delete_post))
        .route("/apps/{id}/accounts/new", web::get().to(accounts::new_get))
        .route(
            "/apps/{id}/accounts/new",
            web::post().to(accounts::new_post),
        )
        .route("/accounts/{id}/edit", web::get().to(accounts::edit_get))
        .route("/accounts/{id}/edit", web::post().to(accounts::edit_post))
        .route("/accounts/{id}/reveal", web::post().to(accounts::reveal))
        .route("/accounts/{id}/delete", web::get().to(accounts::delete_get))
        .route(
            "/accounts/{id}/delete",
            web::post().to(accounts::delete_post),
        )
        .route("/audit", web::get().to(audit::audit))
        .route(
            "/notifications/{id}/open",
            web::post().to(dashboard::open_notification),
        )
        .route(
            "/notifications/read-all",
            web::post().to(dashboard::read_all),
        )
        .route("/organization", web::get().to(organization::get))
        .route("/organization", web::post().to(organization::post))
        .route(
            "/accounts/{id}/checkout",
            web::post().to(checkouts::checkout),
        )
        .route(
            "/checkouts/{id}/checkin",
            web::post().to(checkouts::checkin),
        )
        .route("/checkouts/{id}/force", web::post().to(checkouts::force))
        .route(
            "/accounts/{id}/retry-reset",
            web::post().to(checkouts::retry_reset),
        )
        .route(
            "/accounts/{id}/real-password",
            web::get().to(checkouts::real_password_get),
        )
        .route(
            "/accounts/{id}/real-password",
            web::post().to(checkouts::real_password_post),
        );
}
