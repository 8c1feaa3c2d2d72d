//! Outgoing mail: composed from askama templates (subject, plain text and HTML), sent over SMTP
//! with lettre, or — when no SMTP server is configured — written as `.eml` files into the data
//! directory, so a fresh install works without a mail server.

mod compose;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox, MultiPart, SinglePart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use compose::{Composed, compose};

use crate::config::{Config, SmtpSecurity};

/// A message ready to go: recipient, subject and both bodies.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Stable per queued email, so a receiving server can tell a repeat (`<keyholder-email-N@host>`).
    pub message_id: String,
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message itself is wrong (an address that cannot be a mailbox): retrying will not help.
    #[error("the message cannot be built: {0}")]
    Invalid(String),
    /// The server could not be reached, or refused for now: try again later.
    #[error("delivery failed: {0}")]
    Delivery(String),
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Sends mail. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    host: String,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config.mail_from.parse().with_context(|| {
            format!(
                "KEYHOLDER_MAIL_FROM={:?} is not a mailbox",
                config.mail_from
            )
        })?;
        let host = config
            .public_url
            .host_str()
            .unwrap_or("localhost")
            .to_string();
        let transport = match &config.smtp {
            None => Transport::Files(config.data_dir.join("mail")),
            Some(smtp) => {
                let tls = || -> anyhow::Result<TlsParameters> {
                    TlsParameters::new(smtp.host.clone())
                        .with_context(|| format!("TLS settings for {}", smtp.host))
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                        .port(smtp.port)
                        .timeout(Some(Duration::from_secs(20)));
                builder = match smtp.security {
                    SmtpSecurity::StartTls => builder.tls(Tls::Required(tls()?)),
                    SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
                    SmtpSecurity::None => builder.tls(Tls::None),
                };
                if let Some(username) = &smtp.username {
                    builder = builder.credentials(Credentials::new(
                        username.clone(),
                        smtp.password.clone().unwrap_or_default(),
                    ));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Self {
            transport,
            from,
            host,
        })
    }

    /// Where mail goes, for the start-up log.
    pub fn describe(&self, config: &Config) -> String {
        match (&self.transport, &config.smtp) {
            (Transport::Files(dir), _) => format!(
                "no SMTP server configured (KEYHOLDER_SMTP_HOST): mail is written as .eml files into {}",
                dir.display()
            ),
            (Transport::Smtp(_), Some(smtp)) => format!(
                "mail goes to {}:{} ({:?})",
                smtp.host, smtp.port, smtp.security
            ),
            (Transport::Smtp(_), None) => "mail goes over SMTP".into(),
        }
    }

    pub fn message_id(&self, email_id: i64) -> String {
        format!("<keyholder-email-{email_id}@{}>", self.host)
    }

    /// Builds the multipart/alternative message.
    pub fn build(&self, outgoing: &Outgoing) -> Result<Message, MailError> {
        let to: Mailbox = format!(
            "{} <{}>",
            quote_name(&outgoing.to_name),
            outgoing.to_address
        )
        .parse()
        .or_else(|_| outgoing.to_address.parse())
        .map_err(|e| MailError::Invalid(format!("recipient {}: {e}", outgoing.to_address)))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(outgoing.subject.clone())
            .message_id(Some(outgoing.message_id.clone()))
            .header(header::MIME_VERSION_1_0)
            .date_now()
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(plain_body(&outgoing.text)))
                    .singlepart(SinglePart::html(outgoing.html.clone())),
            )
            .map_err(|e| MailError::Invalid(e.to_string()))
    }

    /// Delivers one message; returns where it went (for the log).
    pub async fn send(&self, email_id: i64, outgoing: &Outgoing) -> Result<String, MailError> {
        let message = self.build(outgoing)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                let response = smtp
                    .send(message)
                    .await
                    .map_err(|e| MailError::Delivery(e.to_string()))?;
                Ok(format!("accepted by the SMTP server ({})", response.code()))
            }
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Delivery(format!("creating {}: {e}", dir.display())))?;
                let file = dir.join(format!("keyholder-email-{email_id}.eml"));
                tokio::fs::write(&file, message.formatted())
                    .await
                    .map_err(|e| MailError::Delivery(format!("writing {}: {e}", file.display())))?;
                Ok(format!("written to {}", file.display()))
            }
        }
    }
}

/// The plain-text part: as 7-bit text when it is ASCII and no line passes RFC 5322's 998
/// characters, so links stay whole and can be copied from the raw message (an `.eml` file opened
/// in an editor); otherwise quoted-printable or base64, as lettre chooses.
fn plain_body(text: &str) -> Body {
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let plain_ascii = text.is_ascii()
        && !text.contains('\0')
        && text
            .split("\r\n")
            .all(|line| line.len() < 998 && !line.contains('\r'));
    if plain_ascii {
        Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    }
}

/// A display name safe inside a mailbox: quoted, with quotes and backslashes escaped.
fn quote_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect();
    format!("\"{cleaned}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let vars = std::collections::HashMap::from([(
            "KEYHOLDER_DATA_DIR".to_string(),
            "/tmp/keyholder-mail-test".to_string(),
        )]);
        Config::from_vars(&vars).unwrap()
    }

    #[test]
    fn builds_multipart_alternative_with_a_stable_message_id() {
        let mailer = Mailer::from_config(&config()).unwrap();
        let outgoing = Outgoing {
            message_id: mailer.message_id(42),
            to_name: "Zoë \"Z\" Owner".into(),
            to_address: "zoe@example.com".into(),
            subject: "Ada requested access to your credentials for Payroll".into(),
            text: format!(
                "Plain body\nhttps://keyholder.example/requests/1/review?token={}\n",
                "A".repeat(43)
            ),
            html: "<p>HTML body</p>".into(),
        };
        let raw = String::from_utf8(mailer.build(&outgoing).unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain"), "{raw}");
        assert!(raw.contains("text/html"), "{raw}");
        assert!(
            raw.contains("Message-ID: <keyholder-email-42@127.0.0.1>"),
            "{raw}"
        );
        assert!(raw.contains("zoe@example.com"), "{raw}");
        assert!(raw.contains("Content-Transfer-Encoding: 7bit"), "{raw}");
        assert!(raw.contains("\r\nPlain body\r\n"), "{raw}");
        assert!(
            raw.contains(&format!("/requests/1/review?token={}\r\n", "A".repeat(43))),
            "the link is on one line: {raw}"
        );
    }
}
