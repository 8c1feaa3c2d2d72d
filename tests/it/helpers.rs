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
                eprintln!(
                    "SKIPPED on PostgreSQL: {test} (set KEYHOLDER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres to run it)"
                );
                None
            }
        }
    }
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

/// A fresh PostgreSQL database, dropped when the test ends.
struct PgDatabase {
    server_url: String,
    name: String,
}

impl PgDatabase {
    fn create(server_url: &str) -> (Self, String) {
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
    let dir = tempfile::tempdir().expect("temporary folder");
    let (pg, database_url) = match engine {
        Engine::Sqlite => (
            None,
            format!("sqlite://{}", dir.path().join("keyholder.db").display()),
        ),
        Engine::Postgres(server) => {
            let (db, url) = PgDatabase::create(server);
            (Some(db), url)
        }
    };
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
    let app = Application::build_with_clock(config, std::sync::Arc::new(clock.clone()))
        .await
        .expect("application starts");
    let port = app.port();
    let setup_link = app.setup_link().map(str::to_string);
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        clock,
        setup_link,
        database_url,
        data_dir: dir.path().to_path_buf(),
        handle,
        _dir: dir,
        _pg: pg,
    }
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
        let mut again = spawn_app_with(
            &Engine::Sqlite,
            &[
                ("DATABASE_URL", &self.database_url),
                ("KEYHOLDER_DATA_DIR", &self.data_dir.display().to_string()),
            ],
        )
        .await;
        again.database_url = self.database_url.clone();
        again.data_dir = self.data_dir.clone();
        again
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
