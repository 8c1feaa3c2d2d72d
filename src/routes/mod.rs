//! One module per page. `configure` is the whole URL map.

pub mod dashboard;
pub mod health;
pub mod login;
pub mod logout;
pub mod password;
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
        .route("/users/{id}/enable", web::post().to(users::enable));
}
