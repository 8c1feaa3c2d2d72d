//! Booting Keyholder for a test, and talking to it like a browser would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::{Connection, RunQueryDsl};
use keyholder::clock::AdjustableClock;
use keyholder::config::Config;
use keyholder::startup::Application;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "owner password 123";

/// Which database engine a test runs against.
#[derive(Clone, Debug)]
pub enum Engine {
    Sqlite,
    /// The server URL (its `postgres` database is used to create and drop test databases).
    Postgres(String),
}

impl Engine {
    /// PostgreSQL when `KEYHOLDER_TEST_POSTGRES_URL` is set. Otherwise the test is skipped
    /// loudly — or fails, when `KEYHOLDER_TEST_REQUIRE_POSTGRES` is set (as CI does).
    pub fn postgres(test: &str) -> Option<Engine> {
        match std::env::var("KEYHOLDER_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Engine::Postgres(url)),
            _ => {
                if std::env::var_os("KEYHOLDER_TEST_REQUIRE_POSTGRES").is_some() {
                    panic!(
                        "{test}: KEYHOLDER_TEST_REQUIRE_POSTGRES is set but KEYHOLDER_TEST_POSTGRES_URL is not: PostgreSQL tests must run"
                    );
                }
                skipped(&format!(
                    "SKIPPED on PostgreSQL: {test} (set KEYHOLDER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres to run it)"
                ));
                None
            }
        }
    }
}

/// Says a test was skipped, straight to the process's stderr: the test harness captures
/// `eprintln!` of passing tests, and a skip must be seen (CI fails on any line starting
/// `SKIPPED`).
pub fn skipped(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Generates `sqlite::NAME` and `postgres::NAME` tests from `async fn NAME(engine: Engine)`.
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(engine) = crate::helpers::Engine::postgres(concat!(module_path!(), "::", stringify!($name))) {
                        super::$name(engine).await
                    }
                }
            )*
        }
    };
}
pub(crate) use engine_tests;

/// A new, empty database of `engine`: a SQLite file in `dir`, or a PostgreSQL database (dropped
/// with the returned guard). Returns the guard and the database's URL.
pub(crate) fn fresh_database(
    engine: &Engine,
    dir: &std::path::Path,
) -> (Option<PgDatabase>, String) {
    match engine {
        Engine::Sqlite => (
            None,
            format!("sqlite://{}", dir.join("keyholder.db").display()),
        ),
        Engine::Postgres(server) => {
            let (db, url) = PgDatabase::create(server);
            (Some(db), url)
        }
    }
}

/// A fresh PostgreSQL database, dropped when the test ends.
pub(crate) struct PgDatabase {
    server_url: String,
    name: String,
}

impl PgDatabase {
    /// Creates the database on the server; returns it and its URL.
    pub(crate) fn create(server_url: &str) -> (Self, String) {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "keyholder_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            keyholder::security::tokens::random_token(6)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let mut conn = diesel::PgConnection::establish(server_url).unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at KEYHOLDER_TEST_POSTGRES_URL: {e}")
        });
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .expect("create test database");
        let mut url = url::Url::parse(server_url).expect("KEYHOLDER_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        (
            Self {
                server_url: server_url.to_string(),
                name,
            },
            url.to_string(),
        )
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.server_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub clock: AdjustableClock,
    pub setup_link: Option<String>,
    pub database_url: String,
    pub data_dir: std::path::PathBuf,
    pub handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

pub async fn spawn_app(engine: &Engine) -> TestApp {
    spawn_app_with(engine, &[]).await
}

/// Boots Keyholder with extra configuration variables.
pub async fn spawn_app_with(engine: &Engine, extra: &[(&str, &str)]) -> TestApp {
    try_spawn_app_with(engine, extra)
        .await
        .unwrap_or_else(|e| panic!("application starts: {e:#}"))
}

/// Boots Keyholder, or says why it would not start.
pub async fn try_spawn_app_with(
    engine: &Engine,
    extra: &[(&str, &str)],
) -> anyhow::Result<TestApp> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (pg, database_url) = fresh_database(engine, dir.path());
    let mut vars: HashMap<String, String> = [
        ("KEYHOLDER_LISTEN", "127.0.0.1:0".to_string()),
        ("KEYHOLDER_DATA_DIR", dir.path().display().to_string()),
        ("DATABASE_URL", database_url.clone()),
        ("KEYHOLDER_WORKERS", "2".to_string()),
        ("KEYHOLDER_DATABASE_POOL_SIZE", "4".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    if let Ok(filter) = std::env::var("TEST_LOG") {
        keyholder::telemetry::init(&filter);
    }
    let config = Config::from_vars(&vars).expect("test configuration");
    let clock = AdjustableClock::new();
    let app = Application::build_with_clock(config, std::sync::Arc::new(clock.clone())).await?;
    let port = app.port();
    let setup_link = app.setup_link().map(str::to_string);
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    Ok(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        clock,
        setup_link,
        database_url,
        data_dir: dir.path().to_path_buf(),
        handle,
        _dir: dir,
        _pg: pg,
    })
}

/// A response read to the end.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        hidden_value(&self.body, "csrf_token")
            .unwrap_or_else(|| panic!("no csrf_token on the page:\n{}", self.body))
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) {
        assert!(
            self.body.contains(needle),
            "expected {needle:?} on the page (status {}):\n{}",
            self.status,
            self.body
        );
    }

    #[track_caller]
    pub fn assert_redirects_to(&self, prefix: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "body:\n{}", self.body);
        let location = self.location.as_deref().unwrap_or("");
        assert!(
            location.starts_with(prefix),
            "redirected to {location:?}, expected {prefix:?}"
        );
    }
}

/// The value of `<input type="hidden" name=NAME value="...">`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The id in the first `href="/users/ID"` link of a page.
pub fn first_user_id(html: &str) -> Option<i64> {
    html.match_indices("href=\"/users/")
        .find_map(|(at, marker)| {
            let rest = &html[at + marker.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (rest[digits.len()..].starts_with('"'))
                .then(|| digits.parse().ok())
                .flatten()
        })
}

/// The id of the account whose row shows `username` (from its edit link).
pub fn account_id_for(html: &str, username: &str) -> Option<i64> {
    let at = html.find(&format!("<strong>{username}</strong>"))?;
    let rest = &html[at..];
    let marker = "/accounts/";
    let start = rest.find(marker)? + marker.len();
    let digits: String = rest[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The check-out id in a page's CheckIn credential form.
pub fn checkout_id_in(html: &str) -> Option<i64> {
    let marker = "action=\"/checkouts/";
    let start = html.find(marker)? + marker.len();
    let digits: String = html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The revealed password on a reveal page, with HTML escapes undone.
pub fn revealed_password(html: &str) -> Option<String> {
    let marker = "<code id=\"secret\" class=\"secret\">";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find("</code>")? + start;
    Some(unescape(&html[start..end]))
}

/// Undoes askama's HTML escaping.
pub fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix('#')
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// One browser: its own cookie jar, no automatic redirects.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        read(response).await
    }

    /// Posts raw pairs, as a form would (no token added).
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        read(response).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post_raw(path, body.into_bytes()).await
    }

    /// Opens `form_page`, takes its CSRF token and posts `fields` to `action`.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(form_page).await;
        assert!(
            page.status.is_success(),
            "GET {form_page} gave {}:\n{}",
            page.status,
            page.body
        );
        let token = page.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Presses Check out on a shared account; on success the page shows the password.
    pub async fn check_out(&self, account: i64) -> Page {
        let token = self.get("/").await.csrf();
        self.post(
            &format!("/accounts/{account}/checkout"),
            &[("csrf_token", &token)],
        )
        .await
    }

    /// Presses CheckIn credential on a check-out.
    pub async fn check_in(&self, checkout: i64) -> Page {
        let token = self.get("/").await.csrf();
        self.post(
            &format!("/checkouts/{checkout}/checkin"),
            &[("csrf_token", &token)],
        )
        .await
    }

    /// Presses Reveal on an account (a POST with this browser's token).
    pub async fn reveal(&self, account: i64) -> Page {
        let token = self.get("/").await.csrf();
        self.post(
            &format!("/accounts/{account}/reveal"),
            &[("csrf_token", &token)],
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// The value of the session cookie, if any.
    pub fn session_cookie(&self, jar: &reqwest::cookie::Jar) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().ok()?;
        let header = jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix("keyholder=").map(str::to_string))
    }
}

async fn read(response: reqwest::Response) -> Page {
    let status = response.status();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.text().await.expect("body");
    Page {
        status,
        location,
        headers,
        body,
    }
}

impl TestApp {
    /// Stops the server, as at shutdown; the database and data folder stay.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// Starts another server on the same database and data folder (a restart after `stop`).
    pub async fn restart(&self) -> TestApp {
        self.try_restart(&[])
            .await
            .unwrap_or_else(|e| panic!("restart: {e:#}"))
    }

    /// A restart with extra settings, or why it would not start.
    pub async fn try_restart(&self, extra: &[(&str, &str)]) -> anyhow::Result<TestApp> {
        let data_dir = self.data_dir.display().to_string();
        let mut vars = vec![
            ("DATABASE_URL", self.database_url.as_str()),
            ("KEYHOLDER_DATA_DIR", data_dir.as_str()),
        ];
        vars.extend_from_slice(extra);
        let mut again = try_spawn_app_with(&Engine::Sqlite, &vars).await?;
        again.database_url = self.database_url.clone();
        again.data_dir = self.data_dir.clone();
        Ok(again)
    }

    /// A direct database connection, for what a browser cannot check or arrange.
    pub fn db(&self) -> keyholder::db::DbConnection {
        keyholder::db::DatabaseUrl::parse(&self.database_url)
            .unwrap()
            .connect()
            .unwrap()
    }

    /// Creates an app through Create target; returns its id.
    pub async fn create_target(&self, admin: &Browser, name: &str, extra: &[(&str, &str)]) -> i64 {
        create_target(admin, name, extra).await
    }

    /// Creates a shared account with a typed password; returns its id.
    pub async fn create_shared_account(
        &self,
        admin: &Browser,
        target: i64,
        username: &str,
        password: &str,
    ) -> i64 {
        create_shared_account(admin, target, username, password).await
    }

    /// Allows the person with `email` to use the target's shared accounts.
    pub async fn allow(&self, admin: &Browser, target: i64, email: &str) {
        admin
            .submit(
                &format!("/apps/{target}/accounts"),
                &format!("/apps/{target}/people"),
                &[("email", email)],
            )
            .await
            .assert_redirects_to(&format!("/apps/{target}/accounts"));
    }

    pub fn browser(&self) -> Browser {
        self.browser_with_jar().0
    }

    /// A browser and its cookie jar (to read or plant the session cookie).
    pub fn browser_with_jar(&self) -> (Browser, std::sync::Arc<reqwest::cookie::Jar>) {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("client");
        (
            Browser {
                client,
                base: self.address.clone(),
            },
            jar,
        )
    }

    /// The path and query of the setup link.
    pub fn setup_path(&self) -> String {
        let link = self.setup_link.as_deref().expect("not set up yet");
        let index = link.find("/setup").expect("setup path");
        link[index..].to_string()
    }

    /// Runs setup through the web page and returns the owner's signed-in browser.
    pub async fn set_up(&self) -> Browser {
        let browser = self.browser();
        let path = self.setup_path();
        let token = path.trim_start_matches("/setup?token=").to_string();
        let page = browser
            .submit(
                &path,
                "/setup",
                &[
                    ("token", &token),
                    ("organization", "Acme Corp"),
                    ("name", "Olivia Owner"),
                    ("email", OWNER_EMAIL),
                    ("password", OWNER_PASSWORD),
                    ("password_confirm", OWNER_PASSWORD),
                ],
            )
            .await;
        page.assert_redirects_to("/");
        browser
    }

    /// Adds a user through the Users page as `admin`; returns their id.
    pub async fn add_user(
        &self,
        admin: &Browser,
        name: &str,
        email: &str,
        role: &str,
        password: &str,
    ) -> i64 {
        add_user(admin, name, email, role, password).await
    }

    /// A browser signed in as a new user with `role`.
    pub async fn user_browser(
        &self,
        owner: &Browser,
        name: &str,
        email: &str,
        role: &str,
    ) -> (Browser, i64) {
        let password = "member password 123";
        let id = self.add_user(owner, name, email, role, password).await;
        let browser = self.browser();
        browser
            .sign_in(email, password)
            .await
            .assert_redirects_to("/");
        (browser, id)
    }
}

/// Stores `member`'s own login for an app (a personal credential with a typed password).
pub async fn add_own_credential(member: &Browser, target: i64, username: &str, password: &str) {
    member
        .submit(
            &format!("/apps/{target}/accounts/new?kind=personal"),
            &format!("/apps/{target}/accounts/new"),
            &[
                ("kind", "personal"),
                ("username", username),
                ("password_mode", "type"),
                ("password", password),
                ("password_confirm", password),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}"));
}

/// Creates a shared account with a typed password as `admin` (on whichever server it talks
/// to); returns its id.
pub async fn create_shared_account(
    admin: &Browser,
    target: i64,
    username: &str,
    password: &str,
) -> i64 {
    let page = admin
        .submit(
            &format!("/apps/{target}/accounts/new?kind=shared"),
            &format!("/apps/{target}/accounts/new"),
            &[
                ("kind", "shared"),
                ("username", username),
                ("password_mode", "type"),
                ("password", password),
                ("password_confirm", password),
                ("notes", ""),
                ("auto_reset", "on"),
            ],
        )
        .await;
    // To the page of the Accounts tab that lists it, scrolled to it.
    page.assert_redirects_to(&format!("/apps/{target}/accounts"));
    let location = page.location.clone().unwrap_or_default();
    let (path, anchor) = location.split_once('#').expect("an anchor to the account");
    let tab = admin.get(path).await;
    let id = account_id_for(&tab.body, username).expect("the new account on its page");
    assert_eq!(anchor, format!("account-{id}"));
    id
}

/// Adds a user through the Users page as `admin` (on whichever server it talks to); returns
/// their id.
pub async fn add_user(admin: &Browser, name: &str, email: &str, role: &str, password: &str) -> i64 {
    let page = admin
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("name", name),
                ("email", email),
                ("role", role),
                ("password", password),
            ],
        )
        .await;
    page.assert_redirects_to("/users");
    let list = admin.get(&format!("/users?q={email}")).await;
    first_user_id(&list.body).expect("user row")
}

/// `keyholder setup` for the owner of "Acme Corp", the password on standard input; `command`
/// is the binary with the installation's settings.
pub fn set_up_from_the_command_line(mut command: std::process::Command) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .args(["setup", "--org", "Acme Corp", "--email", OWNER_EMAIL])
        .args(["--name", "Olivia Owner"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start keyholder setup");
    writeln!(child.stdin.take().unwrap(), "{OWNER_PASSWORD}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "keyholder setup: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Creates an app through Create target as `admin` (on whichever instance it talks to);
/// `extra` overrides or adds form fields. Returns its id.
pub async fn create_target(admin: &Browser, name: &str, extra: &[(&str, &str)]) -> i64 {
    let mut fields: Vec<(&str, &str)> = vec![
        ("name", name),
        ("address", "db.example.com:5432"),
        ("description", "A test system"),
        ("connector", "vault"),
        ("checkout_type", "exclusive"),
        ("exclusive_minutes", "60"),
        ("policy_length", "20"),
        ("policy_lower", "on"),
        ("policy_lower_min", "1"),
        ("policy_upper", "on"),
        ("policy_upper_min", "1"),
        ("policy_digits", "on"),
        ("policy_digits_min", "1"),
        ("policy_symbols", "on"),
        ("policy_symbols_min", "1"),
        ("policy_excluded", ""),
    ];
    for (k, v) in extra {
        match fields.iter_mut().find(|(name, _)| name == k) {
            Some(field) => field.1 = v,
            None => fields.push((k, v)),
        }
    }
    let page = admin.submit("/apps/new", "/apps/new", &fields).await;
    page.assert_redirects_to("/apps/");
    let location = page.location.unwrap();
    location
        .trim_start_matches("/apps/")
        .trim_end_matches("/accounts")
        .parse()
        .expect("target id in the redirect")
}

/// Whether `role` can sign in to the PostgreSQL server at `server` (a URL) with `password`.
pub fn pg_logs_in(server: &str, role: &str, password: &str) -> bool {
    use diesel::Connection;
    let url = url::Url::parse(server).unwrap();
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let conninfo = format!(
        "host={} port={} dbname=postgres user={} password={}",
        quote(url.host_str().unwrap_or("127.0.0.1")),
        url.port().unwrap_or(5432),
        quote(role),
        quote(password)
    );
    diesel::PgConnection::establish(&conninfo).is_ok()
}
