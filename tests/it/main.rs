//! Keyholder's integration tests: one binary, a module per area. Each test boots the real
//! application on port 0 with its own database (a SQLite file in a temporary folder, or a fresh
//! PostgreSQL database when KEYHOLDER_TEST_POSTGRES_URL is set) and drives it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod apps;
mod auth;
mod authz;
mod checkout;
mod cli;
mod e2e;
mod forms;
mod jobs;
mod plans;
mod requests;
mod scale;
mod setup;
mod smtp;
mod users;
mod vault;
