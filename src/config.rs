//! Configuration from environment variables, optionally preloaded from a file.
//!
//! Every setting has a default that works on a fresh machine. A file given with
//! `--config FILE` (or `KEYHOLDER_CONFIG`) holds `NAME=value` lines using the very same
//! variable names; a variable set in the environment wins over the file. A wrong value stops
//! start-up with a message naming the variable and what it accepts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::db::DatabaseUrl;

/// What a setting was given and why it was refused.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value:?} is not valid: {accepted}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub accepted: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// `KEYHOLDER_MASTER_KEY`: 32 bytes, base64.
    Inline(String),
    /// `KEYHOLDER_MASTER_KEY_FILE`, or `master.key` in the data directory (created if missing).
    File {
        path: PathBuf,
        create_if_missing: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub database_pool_size: u32,
    /// SQLite: MiB of page cache the pool's connections share (`KEYHOLDER_SQLITE_CACHE_MB`).
    pub sqlite_cache_mb: u32,
    pub master_key: MasterKeySource,
    pub smtp: Option<SmtpConfig>,
    pub mail_from: String,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    pub login_attempts_per_account: u32,
    pub login_attempts_per_address: u32,
    /// Use the left-most `X-Forwarded-For` address as the client address (behind a proxy).
    pub trust_forwarded_for: bool,
    pub workers: usize,
    pub log_filter: String,
    /// How often the sweep looks for overdue check-outs and resets.
    pub sweep_interval: Duration,
    /// How often idle job workers look for new jobs.
    pub job_poll_interval: Duration,
    /// How long before a check-out ends its holder is reminded.
    pub reminder_before: Duration,
    /// How long an access request (and its email's approval link) stays open.
    pub access_request_ttl: Duration,
}

impl Config {
    /// Reads the process environment, after loading `file` if one is given.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut vars: HashMap<String, String> = HashMap::new();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("KEYHOLDER_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!("cannot read the configuration file {}: {e}", path.display())
            })?;
            vars.extend(parse_config_file(&text).map_err(|e| {
                anyhow::anyhow!("in the configuration file {}: {e}", path.display())
            })?);
        }
        for (key, value) in std::env::vars() {
            if key.starts_with("KEYHOLDER_") || key == "DATABASE_URL" {
                vars.insert(key, value);
            }
        }
        Ok(Self::from_vars(&vars)?)
    }

    /// Builds a configuration from explicit variables: the environment is not read.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let listen = match get("KEYHOLDER_LISTEN") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.parse().map_err(|_| ConfigError {
                variable: "KEYHOLDER_LISTEN",
                value: v.into(),
                accepted: "an IP address and port, like 127.0.0.1:8080 or 0.0.0.0:8080".into(),
            })?,
        };

        let public_url = match get("KEYHOLDER_PUBLIC_URL") {
            None => {
                let host = if listen.ip().is_unspecified() {
                    "127.0.0.1".to_string()
                } else {
                    match listen {
                        SocketAddr::V4(a) => a.ip().to_string(),
                        SocketAddr::V6(a) => format!("[{}]", a.ip()),
                    }
                };
                Url::parse(&format!("http://{host}:{}/", listen.port())).map_err(|_| {
                    ConfigError {
                        variable: "KEYHOLDER_LISTEN",
                        value: listen.to_string(),
                        accepted: "an address usable in a URL".into(),
                    }
                })?
            }
            Some(v) => {
                let accepted = "an absolute http:// or https:// URL without query or fragment, like https://vault.example.com";
                let url = Url::parse(v).map_err(|_| ConfigError {
                    variable: "KEYHOLDER_PUBLIC_URL",
                    value: v.into(),
                    accepted: accepted.into(),
                })?;
                if !matches!(url.scheme(), "http" | "https")
                    || url.host().is_none()
                    || url.query().is_some()
                    || url.fragment().is_some()
                {
                    return Err(ConfigError {
                        variable: "KEYHOLDER_PUBLIC_URL",
                        value: v.into(),
                        accepted: accepted.into(),
                    });
                }
                let mut url = url;
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                url
            }
        };

        let data_dir = PathBuf::from(get("KEYHOLDER_DATA_DIR").unwrap_or("./data"));

        let database = match get("DATABASE_URL").or_else(|| get("KEYHOLDER_DATABASE_URL")) {
            None => DatabaseUrl::sqlite_file(data_dir.join("keyholder.db")),
            Some(v) => DatabaseUrl::parse(v).map_err(|accepted| ConfigError {
                variable: "DATABASE_URL",
                value: redact_url_password(v),
                accepted,
            })?,
        };

        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let database_pool_size = parse_number(
            get("KEYHOLDER_DATABASE_POOL_SIZE"),
            "KEYHOLDER_DATABASE_POOL_SIZE",
            1,
            256,
            if database.is_sqlite() {
                8
            } else {
                postgres_pool_size(cores)
            },
        )?;

        let sqlite_cache_mb = parse_number(
            get("KEYHOLDER_SQLITE_CACHE_MB"),
            "KEYHOLDER_SQLITE_CACHE_MB",
            1,
            65_536,
            crate::db::DEFAULT_SQLITE_CACHE_MB,
        )?;

        let master_key = match (
            get("KEYHOLDER_MASTER_KEY"),
            get("KEYHOLDER_MASTER_KEY_FILE"),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    variable: "KEYHOLDER_MASTER_KEY",
                    value: "(hidden)".into(),
                    accepted: "either KEYHOLDER_MASTER_KEY or KEYHOLDER_MASTER_KEY_FILE, not both"
                        .into(),
                });
            }
            (Some(key), None) => MasterKeySource::Inline(key.to_string()),
            (None, Some(path)) => MasterKeySource::File {
                path: PathBuf::from(path),
                create_if_missing: false,
            },
            (None, None) => MasterKeySource::File {
                path: data_dir.join("master.key"),
                create_if_missing: true,
            },
        };

        let smtp = match get("KEYHOLDER_SMTP_HOST") {
            None => None,
            Some(host) => {
                let security = match get("KEYHOLDER_SMTP_SECURITY").unwrap_or("starttls") {
                    s if s.eq_ignore_ascii_case("starttls") => SmtpSecurity::StartTls,
                    s if s.eq_ignore_ascii_case("tls") => SmtpSecurity::Tls,
                    s if s.eq_ignore_ascii_case("none") => SmtpSecurity::None,
                    other => {
                        return Err(ConfigError {
                            variable: "KEYHOLDER_SMTP_SECURITY",
                            value: other.into(),
                            accepted: "starttls, tls or none".into(),
                        });
                    }
                };
                let default_port = match security {
                    SmtpSecurity::StartTls => 587,
                    SmtpSecurity::Tls => 465,
                    SmtpSecurity::None => 25,
                };
                let port = parse_number(
                    get("KEYHOLDER_SMTP_PORT"),
                    "KEYHOLDER_SMTP_PORT",
                    1,
                    65535,
                    default_port,
                )?;
                Some(SmtpConfig {
                    host: host.to_string(),
                    port: port as u16,
                    security,
                    username: get("KEYHOLDER_SMTP_USERNAME").map(str::to_string),
                    password: vars.get("KEYHOLDER_SMTP_PASSWORD").cloned(),
                })
            }
        };

        let mail_from = match get("KEYHOLDER_MAIL_FROM") {
            None => format!(
                "Keyholder <keyholder@{}>",
                public_url.host_str().unwrap_or("localhost")
            ),
            Some(v) => {
                if !v.contains('@') || v.contains(['\r', '\n']) {
                    return Err(ConfigError {
                        variable: "KEYHOLDER_MAIL_FROM",
                        value: v.into(),
                        accepted: "a mailbox like keyholder@example.com or \"Keyholder <keyholder@example.com>\"".into(),
                    });
                }
                v.to_string()
            }
        };

        let session_idle_timeout = parse_duration_var(
            get("KEYHOLDER_SESSION_IDLE_TIMEOUT"),
            "KEYHOLDER_SESSION_IDLE_TIMEOUT",
            Duration::from_secs(30 * 60),
        )?;
        let session_absolute_timeout = parse_duration_var(
            get("KEYHOLDER_SESSION_ABSOLUTE_TIMEOUT"),
            "KEYHOLDER_SESSION_ABSOLUTE_TIMEOUT",
            Duration::from_secs(12 * 3600),
        )?;
        if session_absolute_timeout < session_idle_timeout {
            return Err(ConfigError {
                variable: "KEYHOLDER_SESSION_ABSOLUTE_TIMEOUT",
                value: format_duration(session_absolute_timeout),
                accepted: format!(
                    "a duration at least as long as KEYHOLDER_SESSION_IDLE_TIMEOUT ({})",
                    format_duration(session_idle_timeout)
                ),
            });
        }

        let login_attempts_per_account = parse_number(
            get("KEYHOLDER_LOGIN_ATTEMPTS_PER_ACCOUNT"),
            "KEYHOLDER_LOGIN_ATTEMPTS_PER_ACCOUNT",
            1,
            10_000,
            5,
        )?;
        let login_attempts_per_address = parse_number(
            get("KEYHOLDER_LOGIN_ATTEMPTS_PER_ADDRESS"),
            "KEYHOLDER_LOGIN_ATTEMPTS_PER_ADDRESS",
            1,
            100_000,
            30,
        )?;

        let trust_forwarded_for = parse_bool(
            get("KEYHOLDER_TRUST_FORWARDED_FOR"),
            "KEYHOLDER_TRUST_FORWARDED_FOR",
            false,
        )?;

        let default_workers = cores;
        let workers = parse_number(
            get("KEYHOLDER_WORKERS"),
            "KEYHOLDER_WORKERS",
            1,
            256,
            default_workers as u32,
        )? as usize;

        let log_filter = get("KEYHOLDER_LOG").unwrap_or("info").to_string();

        let sweep_interval = parse_duration_var(
            get("KEYHOLDER_SWEEP_INTERVAL"),
            "KEYHOLDER_SWEEP_INTERVAL",
            Duration::from_secs(1),
        )?;
        if sweep_interval > Duration::from_secs(59) {
            return Err(ConfigError {
                variable: "KEYHOLDER_SWEEP_INTERVAL",
                value: format_duration(sweep_interval),
                accepted: "a duration from 1s to 59s".into(),
            });
        }
        let job_poll_interval = Duration::from_millis(u64::from(parse_number(
            get("KEYHOLDER_JOB_POLL_MS"),
            "KEYHOLDER_JOB_POLL_MS",
            50,
            30_000,
            250,
        )?));
        let reminder_before = Duration::from_secs(
            u64::from(parse_number(
                get("KEYHOLDER_REMINDER_MINUTES"),
                "KEYHOLDER_REMINDER_MINUTES",
                1,
                1440,
                5,
            )?) * 60,
        );
        let access_request_ttl = Duration::from_secs(
            u64::from(parse_number(
                get("KEYHOLDER_ACCESS_REQUEST_DAYS"),
                "KEYHOLDER_ACCESS_REQUEST_DAYS",
                1,
                90,
                7,
            )?) * 86_400,
        );

        Ok(Config {
            listen,
            public_url,
            data_dir,
            database,
            database_pool_size,
            sqlite_cache_mb,
            master_key,
            smtp,
            mail_from,
            session_idle_timeout,
            session_absolute_timeout,
            login_attempts_per_account,
            login_attempts_per_address,
            trust_forwarded_for,
            workers,
            log_filter,
            sweep_interval,
            job_poll_interval,
            reminder_before,
            access_request_ttl,
        })
    }

    /// Secure cookies and HSTS are on exactly when people reach Keyholder over https.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// An absolute link to `path` (which starts with `/`) under the public URL.
    pub fn link(&self, path_and_query: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }
}

fn parse_config_file(text: &str) -> Result<HashMap<String, String>, String> {
    let mut vars = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {} is not of the form NAME=value", index + 1));
        };
        let key = key.trim();
        if !(key.starts_with("KEYHOLDER_") || key == "DATABASE_URL") {
            return Err(format!(
                "line {}: {key} is not a Keyholder setting (names start with KEYHOLDER_, or DATABASE_URL)",
                index + 1
            ));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        vars.insert(key.to_string(), value.to_string());
    }
    Ok(vars)
}

/// PostgreSQL connections per instance by default: twice the cores plus one, from 4 to 32.
/// More backends than that all running at once only queue for the same cores: with PostgreSQL
/// on a 2-core host, 16 connections busy together stalled single statements for up to 2 s
/// (docs/BENCHMARKS.md), where 4 answered within 70 ms at the same throughput.
fn postgres_pool_size(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(2).saturating_add(1))
        .unwrap_or(u32::MAX)
        .clamp(4, 32)
}

fn parse_number(
    value: Option<&str>,
    variable: &'static str,
    min: u32,
    max: u32,
    default: u32,
) -> Result<u32, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| ConfigError {
                variable,
                value: v.into(),
                accepted: format!("a whole number from {min} to {max}"),
            }),
    }
}

fn parse_bool(
    value: Option<&str>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "yes" | "1" | "on") => Ok(true),
        Some("false" | "no" | "0" | "off") => Ok(false),
        Some(other) => Err(ConfigError {
            variable,
            value: other.into(),
            accepted: "true or false".into(),
        }),
    }
}

fn parse_duration_var(
    value: Option<&str>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration(v).ok_or_else(|| ConfigError {
            variable,
            value: v.into(),
            accepted: "a duration like 90s, 30m, 12h or 7d (at least one second, at most 365 days)"
                .into(),
        }),
    }
}

/// Parses `90s`, `30m`, `12h`, `7d`; a bare number means seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (1..=365 * 86_400)
        .contains(&seconds)
        .then(|| Duration::from_secs(seconds))
}

pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Never echo a database password back in an error message.
fn redact_url_password(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("****"));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_work_on_a_fresh_machine() {
        let config = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080/");
        assert!(config.database.is_sqlite());
        assert_eq!(config.session_idle_timeout, Duration::from_secs(1800));
        assert_eq!(config.session_absolute_timeout, Duration::from_secs(43_200));
        assert!(!config.is_https());
    }

    #[test]
    fn the_postgres_pool_follows_the_cores() {
        assert_eq!(postgres_pool_size(1), 4);
        assert_eq!(postgres_pool_size(2), 5);
        assert_eq!(postgres_pool_size(8), 17);
        assert_eq!(postgres_pool_size(64), 32);
        let config = Config::from_vars(&vars(&[(
            "DATABASE_URL",
            "postgres://keyholder@db.example/keyholder",
        )]))
        .unwrap();
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(config.database_pool_size, postgres_pool_size(cores));
        let sqlite = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(sqlite.database_pool_size, 8);
    }

    #[test]
    fn the_sqlite_cache_is_64_mib_unless_set() {
        let default = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(default.sqlite_cache_mb, 64);
        let set = Config::from_vars(&vars(&[("KEYHOLDER_SQLITE_CACHE_MB", "16")])).unwrap();
        assert_eq!(set.sqlite_cache_mb, 16);
        for wrong in ["0", "lots", "64MB", "70000"] {
            let err =
                Config::from_vars(&vars(&[("KEYHOLDER_SQLITE_CACHE_MB", wrong)])).unwrap_err();
            assert_eq!(err.variable, "KEYHOLDER_SQLITE_CACHE_MB", "{wrong}");
            assert!(err.to_string().contains("1 to 65536"), "{err}");
        }
    }

    #[test]
    fn a_wrong_value_names_the_variable_and_what_is_accepted() {
        let err = Config::from_vars(&vars(&[("KEYHOLDER_LISTEN", "localhost")])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("KEYHOLDER_LISTEN"), "{message}");
        assert!(message.contains("127.0.0.1:8080"), "{message}");

        let err =
            Config::from_vars(&vars(&[("KEYHOLDER_SESSION_IDLE_TIMEOUT", "soon")])).unwrap_err();
        assert_eq!(err.variable, "KEYHOLDER_SESSION_IDLE_TIMEOUT");

        let err =
            Config::from_vars(&vars(&[("DATABASE_URL", "mysql://root:secret@db/x")])).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn durations_are_humane() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("1y"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }

    #[test]
    fn https_public_url_turns_on_secure_cookies() {
        let config = Config::from_vars(&vars(&[(
            "KEYHOLDER_PUBLIC_URL",
            "https://vault.example.com",
        )]))
        .unwrap();
        assert!(config.is_https());
        assert_eq!(
            config.link("/setup?token=x"),
            "https://vault.example.com/setup?token=x"
        );
    }

    #[test]
    fn config_file_uses_the_variable_names() {
        let parsed = parse_config_file(
            "# comment\nKEYHOLDER_LISTEN=0.0.0.0:9000\nDATABASE_URL=\"postgres://db/kh\"\n",
        )
        .unwrap();
        assert_eq!(parsed["KEYHOLDER_LISTEN"], "0.0.0.0:9000");
        assert_eq!(parsed["DATABASE_URL"], "postgres://db/kh");
        assert!(parse_config_file("LISTEN=1").is_err());
    }
}
