//! The PostgreSQL connector: `ALTER ROLE … PASSWORD …` as the target's admin login, then a
//! login as the role with the new password to verify.
//!
//! Role names and passwords are untrusted input: they are quoted by the server itself with
//! `format('%I', …)` and `format('%L', …)` from bound parameters, never by string building.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use zeroize::Zeroizing;

use super::{ConnectorError, ConnectorSettings, PasswordConnector};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PostgresConnector {
    settings: ConnectorSettings,
    admin_password: Option<Zeroizing<String>>,
}

#[derive(QueryableByName)]
struct Statement {
    #[diesel(sql_type = Text)]
    statement: String,
}

impl PostgresConnector {
    pub fn new(settings: ConnectorSettings, admin_password: Option<Zeroizing<String>>) -> Self {
        Self {
            settings,
            admin_password,
        }
    }

    /// A libpq key=value connection string. Values are single-quoted with `\` and `'`
    /// escaped, so no character of a password can change its meaning (a URL would need
    /// percent-encoding that is easy to get wrong).
    fn conninfo(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Zeroizing<String>, ConnectorError> {
        let s = &self.settings;
        if s.host.is_empty() || s.database.is_empty() {
            return Err(ConnectorError::Misconfigured(
                "the host and database must be set".into(),
            ));
        }
        let port = if s.port == 0 { 5432 } else { s.port };
        Ok(Zeroizing::new(format!(
            "host={} port={port} dbname={} user={} password={} connect_timeout={} application_name=keyholder",
            quote(&s.host),
            quote(&s.database),
            quote(username),
            quote(password),
            CONNECT_TIMEOUT.as_secs()
        )))
    }

    fn connect(&self, username: &str, password: &str) -> Result<PgConnection, ConnectorError> {
        let conninfo = self.conninfo(username, password)?;
        PgConnection::establish(&conninfo).map_err(|e| {
            let message = redact(&first_line(&e.to_string()), &[password]);
            if message.contains("password authentication failed")
                || message.contains("does not exist")
                || message.contains("permission denied")
            {
                ConnectorError::Refused(message)
            } else {
                ConnectorError::Unreachable(message)
            }
        })
    }
}

fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// Error texts go to the log and to admins' pages: whatever they echo, no secret stays in.
fn redact(message: &str, secrets: &[&str]) -> String {
    let mut text = message.to_string();
    for secret in secrets {
        if secret.len() >= 4 {
            text = text.replace(secret, "****");
        }
    }
    text
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

impl PasswordConnector for PostgresConnector {
    fn change_password(&self, username: &str, new_password: &str) -> Result<(), ConnectorError> {
        let admin_password = self
            .admin_password
            .as_ref()
            .ok_or_else(|| ConnectorError::Misconfigured("no admin password is stored".into()))?;
        let mut conn = self.connect(&self.settings.admin_username, admin_password)?;
        let secrets = [new_password, admin_password.as_str()];
        let statement = diesel::sql_query(
            "SELECT format('ALTER ROLE %I WITH PASSWORD %L', $1, $2) AS statement",
        )
        .bind::<Text, _>(username)
        .bind::<Text, _>(new_password)
        .get_result::<Statement>(&mut conn)
        .map_err(|e| ConnectorError::Refused(redact(&first_line(&e.to_string()), &secrets)))?;
        let statement = Zeroizing::new(statement.statement);
        conn.batch_execute(&statement)
            .map_err(|e| ConnectorError::Refused(redact(&first_line(&e.to_string()), &secrets)))
    }

    fn verify(&self, username: &str, password: &str) -> Result<(), ConnectorError> {
        let mut conn = self.connect(username, password)?;
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnectorError::Refused(redact(&first_line(&e.to_string()), &[password])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_every_character_literal() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it\\'s'");
        assert_eq!(quote("back\\slash"), "'back\\\\slash'");
        assert_eq!(quote("100%"), "'100%'");
    }

    #[test]
    fn secrets_are_redacted_from_messages() {
        assert_eq!(
            redact("bad token: \"O%3E5AHPoRS2\"", &["O%3E5AHPoRS2"]),
            "bad token: \"****\""
        );
    }
}
