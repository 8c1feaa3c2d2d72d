//! Keyholder: a self-hosted vault for an organization's privileged and shared credentials.

pub mod access;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod consent;
pub mod db;
pub mod domain;
pub mod errors;
pub mod jobs;
pub mod lending;
pub mod mail;
pub mod models;
pub mod routes;
pub mod schema;
pub mod security;
pub mod startup;
pub mod state;
pub mod static_files;
pub mod telemetry;
pub mod vault;
pub mod web;
