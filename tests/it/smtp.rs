//! A small SMTP server for the tests: it speaks the protocol over a real TCP socket (EHLO, MAIL,
//! RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), keeps every message it accepts, and can be
//! started late on a port chosen in advance (a mail server that was down and comes back).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body), dot-unstuffed.
    pub data: String,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("a parsable message")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    /// The decoded text/plain body.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The decoded text/html body.
    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The first link in the plain-text body that contains `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<String> {
        self.text()
            .split_whitespace()
            .find(|word| word.starts_with("http") && word.contains(needle))
            .map(str::to_string)
    }
}

#[derive(Clone, Default)]
pub struct Mailbox {
    messages: Arc<Mutex<Vec<Received>>>,
}

impl Mailbox {
    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Waits until at least `count` messages arrived (up to `within`), and returns them all.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected {count} email(s) within {within:?}, got {}: {messages:#?}",
                    messages.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub struct SmtpServer {
    pub port: u16,
    pub mailbox: Mailbox,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A free port on 127.0.0.1, with nothing listening on it (yet).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        Self::start_on(0, Mailbox::default()).await
    }

    /// Listens on `port` (0: any free port), storing into `mailbox`.
    pub async fn start_on(port: u16, mailbox: Mailbox) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = mailbox.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    let _ = session(socket, inbox).await;
                });
            }
        });
        SmtpServer {
            port,
            mailbox,
            task,
        }
    }

    /// The settings that point Keyholder at this server.
    pub fn settings(port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("KEYHOLDER_SMTP_HOST", "127.0.0.1".to_string()),
            ("KEYHOLDER_SMTP_PORT", port.to_string()),
            ("KEYHOLDER_SMTP_SECURITY", "none".to_string()),
            (
                "KEYHOLDER_MAIL_FROM",
                "Keyholder <keyholder@example.com>".to_string(),
            ),
        ]
    }
}

async fn session(socket: tokio::net::TcpStream, inbox: Mailbox) -> std::io::Result<()> {
    let (reader, mut writer) = socket.into_split();
    let mut lines = BufReader::new(reader);
    writer.write_all(b"220 mail.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                writer
                    .write_all(b"250-mail.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?
            }
            "HELO" => writer.write_all(b"250 mail.test\r\n").await?,
            "MAIL" => {
                from = command[4..].trim().to_string();
                to.clear();
                writer.write_all(b"250 OK\r\n").await?;
            }
            "RCPT" => {
                to.push(command[4..].trim().to_string());
                writer.write_all(b"250 OK\r\n").await?;
            }
            "DATA" => {
                writer
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(unstuffed);
                }
                inbox.messages.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                writer.write_all(b"250 OK: queued\r\n").await?;
            }
            "RSET" => {
                from.clear();
                to.clear();
                writer.write_all(b"250 OK\r\n").await?;
            }
            "NOOP" => writer.write_all(b"250 OK\r\n").await?,
            "QUIT" => {
                writer.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => writer.write_all(b"502 Command not implemented\r\n").await?,
        }
    }
}
