//! Validated values of targets (apps) and their accounts.

use super::check_printable;

fn bounded(raw: &str, label: &str, max: usize, required: Option<&str>) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return match required {
            Some(message) => Err(message.into()),
            None => Ok(String::new()),
        };
    }
    let length = value.chars().count();
    if length > max {
        return Err(format!(
            "{label} must be at most {max} characters (this one has {length})."
        ));
    }
    Ok(value.to_string())
}

/// The name people know an app by; unique (ignoring case) in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetName(String);

impl TargetName {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = bounded(raw, "The name", Self::MAX, Some("Enter the app's name."))?;
        check_printable(&value, "The name")?;
        if value.contains(['<', '>']) {
            return Err("The name cannot contain < or >.".into());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form compared for uniqueness.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Where the system is reached: a host name, address or URL. Optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetAddress(String);

impl TargetAddress {
    pub const MAX: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = bounded(raw, "The address", Self::MAX, None)?;
        check_printable(&value, "The address")?;
        if value.contains(char::is_whitespace) {
            return Err("An address or URL has no spaces.".into());
        }
        if value.contains(['<', '>', '"']) {
            return Err("An address or URL cannot contain <, > or \".".into());
        }
        let lower = value.to_ascii_lowercase();
        if lower.starts_with("javascript:") || lower.starts_with("data:") {
            return Err("Use a host name or an http(s) URL.".into());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDescription(String);

impl TargetDescription {
    pub const MAX: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = bounded(raw, "The description", Self::MAX, None)?;
        if value.contains('\u{FFFD}') {
            return Err("The description contains characters that could not be read (the text was not valid UTF-8).".into());
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err("The description must not contain control characters.".into());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many may hold an account at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutType {
    /// One holder at a time, with a time limit; reset at the end.
    Exclusive,
    /// Several holders at once, each recorded.
    Regular,
}

impl CheckoutType {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "exclusive" => Ok(Self::Exclusive),
            "regular" => Ok(Self::Regular),
            _ => Err("Choose Exclusive or Regular.".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exclusive => "exclusive",
            Self::Regular => "regular",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Exclusive => "Exclusive",
            Self::Regular => "Regular",
        }
    }
}

impl From<String> for CheckoutType {
    /// The table's CHECK constraint allows only these; anything else reads as the stricter one.
    fn from(value: String) -> Self {
        Self::parse(&value).unwrap_or(Self::Exclusive)
    }
}

/// How a password is changed on the real system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// The password is changed in Keyholder only.
    VaultOnly,
    /// The target is a PostgreSQL server: `ALTER ROLE … PASSWORD …`.
    Postgres,
}

impl Connector {
    pub const ALL: [Connector; 2] = [Connector::VaultOnly, Connector::Postgres];

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "vault" => Ok(Self::VaultOnly),
            "postgres" => Ok(Self::Postgres),
            _ => Err("Choose how passwords are changed.".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VaultOnly => "vault",
            Self::Postgres => "postgres",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::VaultOnly => "Vault only — password is changed in Keyholder only",
            Self::Postgres => "PostgreSQL — ALTER ROLE on the server, then a test login",
        }
    }
}

impl From<String> for Connector {
    fn from(value: String) -> Self {
        Self::parse(&value).unwrap_or(Self::VaultOnly)
    }
}

/// The time limit of an exclusive check-out, in minutes (1 minute to 7 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExclusiveMinutes(i32);

impl ExclusiveMinutes {
    pub const MIN: i32 = 1;
    pub const MAX: i32 = 10_080;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let message = || {
            format!(
                "Enter a whole number of minutes from {} to {} (7 days).",
                Self::MIN,
                Self::MAX
            )
        };
        let value: i32 = raw.trim().parse().map_err(|_| message())?;
        if !(Self::MIN..=Self::MAX).contains(&value) {
            return Err(message());
        }
        Ok(Self(value))
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// The login name of an account on its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountUsername(String);

impl AccountUsername {
    pub const MAX: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = bounded(raw, "The username", Self::MAX, Some("Enter the username."))?;
        check_printable(&value, "The username")?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Notes about an account (not encrypted: never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountNotes(String);

impl AccountNotes {
    pub const MAX: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        TargetDescription::parse(raw)
            .map(|d| Self(d.as_str().to_string()))
            .map_err(|m| m.replace("The description", "The notes"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_values() {
        assert_eq!(TargetName::parse("  Prod DB ").unwrap().key(), "prod db");
        assert!(TargetName::parse("").is_err());
        assert!(TargetName::parse(&"n".repeat(101)).is_err());
        assert!(TargetAddress::parse("javascript:alert(1)").is_err());
        assert!(TargetAddress::parse("db.example.com:5432").is_ok());
        assert!(TargetAddress::parse("").is_ok());
        assert!(ExclusiveMinutes::parse("0").is_err());
        assert!(ExclusiveMinutes::parse("10081").is_err());
        assert_eq!(ExclusiveMinutes::parse("60").unwrap().get(), 60);
        assert!(CheckoutType::parse("both").is_err());
        assert!(TargetDescription::parse("line one\nline two").is_ok());
    }
}
