//! How a password is changed on the real system. A reset calls `change_password` and then
//! `verify`; both must succeed before the new password becomes current.

mod postgres;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use postgres::PostgresConnector;

use crate::domain::Connector;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConnectorError {
    /// The system answered and refused (wrong admin password, missing role, no permission).
    #[error("the system refused: {0}")]
    Refused(String),
    /// The system could not be reached.
    #[error("the system could not be reached: {0}")]
    Unreachable(String),
    /// The connector is not configured completely.
    #[error("the connector is not configured: {0}")]
    Misconfigured(String),
}

pub trait PasswordConnector: Send {
    fn change_password(&self, username: &str, new_password: &str) -> Result<(), ConnectorError>;
    fn verify(&self, username: &str, password: &str) -> Result<(), ConnectorError>;
}

/// Changes the password in Keyholder only: the system itself is not touched.
pub struct VaultOnlyConnector;

impl PasswordConnector for VaultOnlyConnector {
    fn change_password(&self, _: &str, _: &str) -> Result<(), ConnectorError> {
        Ok(())
    }

    fn verify(&self, _: &str, _: &str) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// The non-secret settings of a target's connector (stored as JSON on the target). The admin
/// password is stored apart, encrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorSettings {
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub database: String,
    #[serde(default)]
    pub admin_username: String,
}

impl ConnectorSettings {
    pub fn parse_json(raw: &str) -> Self {
        serde_json::from_str(raw).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The connector of a target, ready to use.
pub fn connector_for(
    kind: Connector,
    settings: &ConnectorSettings,
    admin_password: Option<Zeroizing<String>>,
) -> Box<dyn PasswordConnector> {
    match kind {
        Connector::VaultOnly => Box::new(VaultOnlyConnector),
        Connector::Postgres => Box::new(PostgresConnector::new(settings.clone(), admin_password)),
    }
}
