//! Manage Apps (admins) and Apps (everyone): targets, their tabs, and their settings.

mod accounts_tab;
mod credentials;
mod delete;
mod list;
mod new;
mod overview;
mod settings;

pub use accounts_tab::{accounts_tab, add_person, remove_person, shared_account_link};
pub use credentials::{add_policy_admin, credentials, remove_policy_admin, request_access};
pub use delete::{delete_get, delete_post};
pub use list::list;
pub use new::{new_get, new_post};
pub use overview::overview;
pub use settings::{settings_get, settings_post};

use crate::connectors::ConnectorSettings;
use crate::domain::password_policy::{ClassRule, PasswordPolicy};
use crate::domain::{
    CheckoutType, Connector, ExclusiveMinutes, OrganizationId, TargetAddress, TargetDescription,
    TargetId, TargetName,
};
use crate::errors::AppError;
use crate::models::{Target, TargetInput};
use crate::state::SharedState;
use crate::web::{FieldErrors, RawForm};

/// The target behind `/apps/{id}`, if it belongs to the viewer's organization (else 404).
pub async fn load_target(
    state: &SharedState,
    organization: OrganizationId,
    id: i64,
) -> Result<Target, AppError> {
    state
        .db
        .read(move |conn| {
            Ok::<_, AppError>(Target::find_in_organization(
                conn,
                organization,
                TargetId(id),
            )?)
        })
        .await?
        .ok_or(AppError::NotFound)
}

/// The Create/Edit target form as typed, for filling it in again.
pub struct TargetForm {
    pub name: String,
    pub address: String,
    pub description: String,
    pub connector: String,
    pub checkout_type: String,
    pub exclusive_minutes: String,
    pub policy_length: String,
    pub policy_lower: bool,
    pub policy_lower_min: String,
    pub policy_upper: bool,
    pub policy_upper_min: String,
    pub policy_digits: bool,
    pub policy_digits_min: String,
    pub policy_symbols: bool,
    pub policy_symbols_min: String,
    pub policy_excluded: String,
    pub pg_host: String,
    pub pg_port: String,
    pub pg_database: String,
    pub pg_admin_username: String,
    /// Whether an admin password is already stored (it is never sent back).
    pub has_admin_password: bool,
}

pub struct ConnectorOption {
    pub value: &'static str,
    pub label: &'static str,
}

pub fn connector_options() -> Vec<ConnectorOption> {
    Connector::ALL
        .iter()
        .map(|c| ConnectorOption {
            value: c.as_str(),
            label: c.label(),
        })
        .collect()
}

impl TargetForm {
    pub fn defaults() -> Self {
        Self::from_parts(
            "",
            "",
            "",
            Connector::VaultOnly,
            CheckoutType::Exclusive,
            60,
            &PasswordPolicy::default(),
        )
    }

    pub fn from_target(target: &Target) -> Self {
        let mut form = Self::from_parts(
            &target.name,
            &target.address,
            &target.description,
            target.connector,
            target.checkout_type,
            target.exclusive_minutes,
            &target.policy(),
        );
        let settings = ConnectorSettings::parse_json(&target.connector_settings);
        if target.connector == Connector::Postgres {
            form.pg_host = settings.host;
            form.pg_port = settings.port.to_string();
            form.pg_database = settings.database;
            form.pg_admin_username = settings.admin_username;
        }
        form.has_admin_password = target.connector_secret.is_some();
        form
    }

    fn from_parts(
        name: &str,
        address: &str,
        description: &str,
        connector: Connector,
        checkout_type: CheckoutType,
        minutes: i32,
        policy: &PasswordPolicy,
    ) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
            description: description.into(),
            connector: connector.as_str().into(),
            checkout_type: checkout_type.as_str().into(),
            exclusive_minutes: minutes.to_string(),
            policy_length: policy.length.to_string(),
            policy_lower: policy.lower.enabled,
            policy_lower_min: policy.lower.min.to_string(),
            policy_upper: policy.upper.enabled,
            policy_upper_min: policy.upper.min.to_string(),
            policy_digits: policy.digits.enabled,
            policy_digits_min: policy.digits.min.to_string(),
            policy_symbols: policy.symbols.enabled,
            policy_symbols_min: policy.symbols.min.to_string(),
            policy_excluded: policy.excluded.clone(),
            pg_host: String::new(),
            pg_port: "5432".into(),
            pg_database: String::new(),
            pg_admin_username: String::new(),
            has_admin_password: false,
        }
    }

    pub fn from_form(form: &RawForm) -> Self {
        Self {
            name: form.get("name").into(),
            address: form.get("address").into(),
            description: form.get("description").into(),
            connector: form.get("connector").into(),
            checkout_type: form.get("checkout_type").into(),
            exclusive_minutes: form.get("exclusive_minutes").into(),
            policy_length: form.get("policy_length").into(),
            policy_lower: form.checked("policy_lower"),
            policy_lower_min: form.get("policy_lower_min").into(),
            policy_upper: form.checked("policy_upper"),
            policy_upper_min: form.get("policy_upper_min").into(),
            policy_digits: form.checked("policy_digits"),
            policy_digits_min: form.get("policy_digits_min").into(),
            policy_symbols: form.checked("policy_symbols"),
            policy_symbols_min: form.get("policy_symbols_min").into(),
            policy_excluded: form.get("policy_excluded").into(),
            pg_host: form.get("pg_host").into(),
            pg_port: form.get("pg_port").into(),
            pg_database: form.get("pg_database").into(),
            pg_admin_username: form.get("pg_admin_username").into(),
            has_admin_password: false,
        }
    }

    /// Validates the form. `form` gives the write-only admin password; `has_admin_password`
    /// says whether one is stored already (an empty field then keeps it).
    pub fn parse(
        &self,
        form: &RawForm,
        has_admin_password: bool,
    ) -> Result<TargetInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.take("name", TargetName::parse(&self.name));
        let address = errors.take("address", TargetAddress::parse(&self.address));
        let description = errors.take("description", TargetDescription::parse(&self.description));
        let connector = errors.take("connector", Connector::parse(&self.connector));
        let checkout_type = errors.take("checkout_type", CheckoutType::parse(&self.checkout_type));
        let exclusive_minutes = errors.take(
            "exclusive_minutes",
            ExclusiveMinutes::parse(&self.exclusive_minutes),
        );
        let number = |raw: &str, what: &str| -> Result<u32, String> {
            raw.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| format!("Enter {what} as a whole number."))
        };
        let length = errors.take("policy_length", number(&self.policy_length, "the length"));
        let mut rule = |enabled: bool, raw: &str, field: &'static str| {
            let min = if raw.trim().is_empty() {
                Some(0)
            } else {
                errors.take(field, number(raw, "the minimum"))
            };
            min.map(|min| ClassRule { enabled, min })
        };
        let lower = rule(
            self.policy_lower,
            &self.policy_lower_min,
            "policy_lower_min",
        );
        let upper = rule(
            self.policy_upper,
            &self.policy_upper_min,
            "policy_upper_min",
        );
        let digits = rule(
            self.policy_digits,
            &self.policy_digits_min,
            "policy_digits_min",
        );
        let symbols = rule(
            self.policy_symbols,
            &self.policy_symbols_min,
            "policy_symbols_min",
        );
        let excluded: String = self.policy_excluded.trim().to_string();
        let mut connector_settings = ConnectorSettings::default();
        let mut admin_password = None;
        if connector == Some(Connector::Postgres) {
            let readable =
                |value: &str| !value.contains('\u{FFFD}') && !value.chars().any(char::is_control);
            let host = self.pg_host.trim();
            if host.is_empty() {
                errors.add(
                    "pg_host",
                    "Enter the PostgreSQL server's host name or address.",
                );
            } else if host.len() > 253
                || !readable(host)
                || host.contains(char::is_whitespace)
                || host.contains(['/', '@', '?', '#', '<', '>', '"'])
            {
                errors.add(
                    "pg_host",
                    "Enter a host name or address only, like db.example.com or 10.0.0.5.",
                );
            }
            let port = match self.pg_port.trim() {
                "" => Some(5432),
                raw => errors.take(
                    "pg_port",
                    raw.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| "Enter a port from 1 to 65535.".to_string()),
                ),
            };
            let database = self.pg_database.trim();
            if database.is_empty() || database.chars().count() > 63 || !readable(database) {
                errors.add(
                    "pg_database",
                    "Enter the database to connect to (at most 63 characters).",
                );
            }
            let admin = self.pg_admin_username.trim();
            if admin.is_empty() || admin.chars().count() > 63 || !readable(admin) {
                errors.add(
                    "pg_admin_username",
                    "Enter the login Keyholder uses to change passwords (a role with CREATEROLE, at most 63 characters).",
                );
            }
            let typed = form.get("pg_admin_password");
            if typed.is_empty() {
                if !has_admin_password {
                    errors.add("pg_admin_password", "Enter the password of this login.");
                }
            } else if typed.contains('\u{FFFD}') || typed.chars().count() > 1024 {
                errors.add(
                    "pg_admin_password",
                    "The password contains characters that could not be read, or is too long.",
                );
            } else {
                admin_password = Some(zeroize::Zeroizing::new(typed.to_string()));
            }
            connector_settings = ConnectorSettings {
                host: host.to_string(),
                port: port.unwrap_or(5432),
                database: database.to_string(),
                admin_username: admin.to_string(),
            };
        }
        let policy = match (length, lower, upper, digits, symbols) {
            (Some(length), Some(lower), Some(upper), Some(digits), Some(symbols)) => {
                let policy = PasswordPolicy {
                    length,
                    lower,
                    upper,
                    digits,
                    symbols,
                    excluded,
                };
                match policy.validate() {
                    Ok(()) => Some(policy),
                    Err(problems) => {
                        for (field, message) in problems {
                            errors.add(field, message);
                        }
                        None
                    }
                }
            }
            _ => None,
        };
        match (
            name,
            address,
            description,
            connector,
            checkout_type,
            exclusive_minutes,
            policy,
        ) {
            (
                Some(name),
                Some(address),
                Some(description),
                Some(connector),
                Some(checkout_type),
                Some(exclusive_minutes),
                Some(policy),
            ) if errors.is_empty() => Ok(TargetInput {
                name,
                address,
                description,
                connector,
                checkout_type,
                exclusive_minutes,
                policy,
                connector_settings,
                admin_password,
            }),
            _ => Err(errors),
        }
    }
}

/// Page numbers from a query string: 1 when absent or nonsense.
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1)
}

/// A search term from a query string, bounded.
pub fn search_term(raw: &str) -> String {
    raw.trim().chars().take(200).collect()
}
