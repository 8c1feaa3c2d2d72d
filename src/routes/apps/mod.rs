//! Manage Apps (admins) and Apps (everyone): targets, their tabs, and their settings.

mod accounts_tab;
mod credentials;
mod delete;
mod list;
mod new;
mod overview;
mod settings;

pub use accounts_tab::{accounts_tab, add_person, remove_person};
pub use credentials::credentials;
pub use delete::{delete_get, delete_post};
pub use list::list;
pub use new::{new_get, new_post};
pub use overview::overview;
pub use settings::{settings_get, settings_post};

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
        .run(move |conn| {
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
        Self::from_parts(
            &target.name,
            &target.address,
            &target.description,
            target.connector,
            target.checkout_type,
            target.exclusive_minutes,
            &target.policy(),
        )
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
        }
    }

    pub fn parse(&self) -> Result<TargetInput, FieldErrors> {
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
