//! The statements behind the pages people use most, read from a real Keyholder server's own
//! statement log (`KEYHOLDER_LOG=keyholder::sql=debug`, the built binary on a SQLite file):
//!
//! - every statement a page runs is explained by SQLite (`EXPLAIN QUERY PLAN`), and none reads a
//!   whole table, nor every active check-out: each finds its rows through an index, by a key
//!   that narrows them to the page's;
//! - each page runs as many statements with a dozen rows on it as with one or two, so no page
//!   issues a query per row.
//!
//! SQLite only, on purpose: Keyholder never runs `ANALYZE` on SQLite, so the planner has no
//! statistics and the plans seen here, on a small database, are those of every SQLite
//! installation, however large. PostgreSQL plans by its statistics, and on a small test
//! database a sequential scan is rightly its cheapest plan; its plans were read on the seeded
//! benchmark database instead (docs/BENCHMARKS.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use keyholder::schema::{access_requests, accounts, checkouts, users};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::helpers::{
    Browser, Engine, OWNER_EMAIL, OWNER_PASSWORD, PgDatabase, add_own_credential, add_user,
    checkout_id_in, create_shared_account, engine_tests, fresh_database,
    set_up_from_the_command_line,
};

const PASSWORD: &str = "member password 123";
const SHARED_PASSWORD: &str = "Initial-Pa55word";

/// One `keyholder serve` process logging every statement to its log file.
struct LoggedServer {
    child: Child,
    base: String,
    log: PathBuf,
    database: keyholder::db::DatabaseUrl,
    /// How much of the log has been read.
    read_to: usize,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(dir: &Path, database: &str, master_key: &str, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyholder"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database)
        .env("KEYHOLDER_MASTER_KEY", master_key)
        .env("KEYHOLDER_DATA_DIR", dir)
        .env("KEYHOLDER_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("KEYHOLDER_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYHOLDER_WORKERS", "2")
        .env("KEYHOLDER_LOGIN_ATTEMPTS_PER_ADDRESS", "1000")
        // Background work runs statements too: as seldom as allowed, so that most page loads
        // see only their own (see `page_statements`).
        .env("KEYHOLDER_SWEEP_INTERVAL", "59s")
        .env("KEYHOLDER_JOB_POLL_MS", "30000")
        .env("KEYHOLDER_LOG", "warn,keyholder::sql=debug")
        .env("NO_COLOR", "1");
    command
}

impl LoggedServer {
    async fn start(engine: &Engine) -> LoggedServer {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let (pg, url) = fresh_database(engine, dir.path());
        let master_key =
            base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        set_up_from_the_command_line(command(dir.path(), &url, &master_key, port));
        let log = dir.path().join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = command(dir.path(), &url, &master_key, port)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start keyholder");
        let mut server = LoggedServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            database: keyholder::db::DatabaseUrl::parse(&url).unwrap(),
            read_to: 0,
            _dir: dir,
            _pg: pg,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            let answered = client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if answered {
                break;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("keyholder exited with {status}:\n{}", server.log_text());
            }
            assert!(Instant::now() < deadline, "keyholder did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.statements_so_far();
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn browser(&self) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
            .build()
            .unwrap();
        Browser {
            client,
            base: self.base.clone(),
        }
    }

    /// The statements logged since the last call (their SQL text, placeholders unbound).
    fn statements_so_far(&mut self) -> Vec<String> {
        let text = self.log_text();
        let new = &text[self.read_to..];
        // Only whole lines: the server may be writing the next one.
        let end = new.rfind('\n').map_or(0, |i| i + 1);
        self.read_to += end;
        new[..end].lines().filter_map(logged_sql).collect()
    }

    /// The statements `request` made the server run, fenced by `/healthz`, whose one statement
    /// (`SELECT 1`) is logged after everything the request ran.
    async fn statements_of<F, Fut>(&mut self, request: F) -> Vec<String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let _ = self.statements_so_far();
        request().await;
        let fence = reqwest::get(format!("{}/healthz", self.base))
            .await
            .unwrap();
        assert_eq!(fence.status(), StatusCode::OK);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        loop {
            seen.extend(self.statements_so_far());
            if let Some(at) = seen.iter().rposition(|sql| sql == "SELECT 1") {
                seen.truncate(at);
                // Debug builds make a read's connection read-only around it: not the page's.
                seen.retain(|sql| {
                    !sql.starts_with("PRAGMA query_only")
                        && !sql.starts_with("SET default_transaction_read_only")
                });
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "the fence's statement was not logged"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A page's statements: the fewest of three loads in a row, so that statements that are not
    /// the page's (the session's idle deadline, moved once a minute; a flash message read; the
    /// sweep; a queued email's attempt) are not counted as its own.
    async fn page_statements(&mut self, browser: &Browser, path: &str) -> Vec<String> {
        let mut fewest: Option<Vec<String>> = None;
        for _ in 0..3 {
            let statements = self
                .statements_of(|| async {
                    let page = browser.get(path).await;
                    assert_eq!(page.status, StatusCode::OK, "GET {path}:\n{}", page.body);
                })
                .await;
            if fewest.as_ref().is_none_or(|f| statements.len() < f.len()) {
                fewest = Some(statements);
            }
        }
        fewest.unwrap()
    }
}

/// The SQL of one statement line of the log (`… sql="SELECT …"`), unescaped.
fn logged_sql(line: &str) -> Option<String> {
    let quoted = &line[line.find(" sql=\"")? + 6..];
    let mut sql = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(sql),
            '\\' => match chars.next()? {
                'n' => sql.push('\n'),
                't' => sql.push('\t'),
                'r' => sql.push('\r'),
                '0' => sql.push('\0'),
                'u' => {
                    let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                    sql.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => sql.push(other),
            },
            c => sql.push(c),
        }
    }
    None
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    parent: i64,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// `EXPLAIN QUERY PLAN` of a logged statement, its placeholders unbound (SQLite plans without
/// their values), as indented lines.
fn plan(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
    let lines = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<PlanLine>(conn)
        .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN {sql}: {e}"));
    let mut depth: BTreeMap<i64, usize> = BTreeMap::new();
    lines
        .iter()
        .map(|line| {
            let level = depth.get(&line.parent).map_or(0, |d| d + 1);
            depth.insert(line.id, level);
            format!("{}{}", "  ".repeat(level), line.detail)
        })
        .collect()
}

/// Keyholder's own tables (not FTS5's shadow tables, nor the virtual table itself).
fn tables(conn: &mut SqliteConnection) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_search_%'",
    )
    .load::<Name>(conn)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect()
}

/// Tables that only grow (the audit log, the inbox: neither is ever pruned): a statement
/// reading one may not sort what it reads either, only take the first rows in an index's order.
const ENDLESS_TABLES: &[&str] = &["audit_events", "notifications"];

/// Tables that may be read whole: they hold a row per key rotation, never many.
const SMALL_TABLES: &[&str] = &["data_keys"];

/// A line of a plan that walks one of `tables` from end to end (`SCAN t`, with or without an
/// index to walk it in order), rather than finding its rows by a key (`SEARCH t USING …`).
fn full_scan<'a>(line: &'a str, tables: &[String]) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix("SCAN ")?;
    let table = rest.split_whitespace().next()?;
    (tables.iter().any(|t| t == table) && !SMALL_TABLES.contains(&table)).then_some(table)
}

/// A line of a plan that finds its rows by `ended_at IS NULL` alone (`SEARCH checkouts USING
/// INDEX checkouts_active_expiry (ended_at=?)`): every active check-out of every organization,
/// walked for the few a page wants.
fn every_active(line: &str) -> bool {
    let text = line.trim_start();
    text.starts_with("SEARCH ") && text.ends_with("(ended_at=?)")
}

/// A plan that repeats a lookup for every row of an outer loop it need not have:
/// - a full-text match (`SCAN targets_search VIRTUAL TABLE INDEX 0:M…`) that is not the first
///   loop of its level, so it runs again for each row of the loops before it;
/// - a list of keys (`LIST SUBQUERY`: `IN (SELECT value FROM json_each(?))`, or the matches of
///   a full-text lookup) met by walking all of an organization's rows (`SEARCH t USING … INDEX
///   … (organization_id=?)`) instead of finding each key.
fn needless_loop(lines: &[String]) -> Option<&'static str> {
    let depth = |line: &str| line.len() - line.trim_start().len();
    for (i, line) in lines.iter().enumerate() {
        let text = line.trim_start();
        let full_text =
            text.contains("VIRTUAL TABLE INDEX") && (text.contains(":M") || text.contains(":=M"));
        if full_text {
            let level = depth(line);
            let before = lines[..i]
                .iter()
                .rev()
                .take_while(|earlier| depth(earlier) >= level)
                .filter(|earlier| depth(earlier) == level)
                .any(|earlier| {
                    let earlier = earlier.trim_start();
                    earlier.starts_with("SCAN ") || earlier.starts_with("SEARCH ")
                });
            if before {
                return Some("a full-text lookup repeated for each row of an outer loop");
            }
        }
    }
    let has_list = lines.iter().any(|line| line.contains("LIST SUBQUERY"));
    let by_organization = lines.iter().any(|line| {
        let text = line.trim_start();
        depth(line) == 0 && text.starts_with("SEARCH ") && text.ends_with("(organization_id=?)")
    });
    (has_list && by_organization).then_some("a list of keys met by walking the organization's rows")
}

async fn sign_in(server: &LoggedServer, email: &str, password: &str) -> Browser {
    let browser = server.browser();
    browser
        .sign_in(email, password)
        .await
        .assert_redirects_to("/");
    browser
}

/// The id of the member's own credential `username`.
fn own_credential(conn: &mut keyholder::db::DbConnection, username: &str) -> i64 {
    accounts::table
        .filter(accounts::username.eq(username))
        .select(accounts::id)
        .first(conn)
        .unwrap()
}

/// Presses Request Credentials on the app's Credentials & Policies tab.
async fn request_credentials(admin: &Browser, target: i64, account: i64) {
    let tab = format!("/apps/{target}/credentials");
    let page = admin
        .submit(
            &tab,
            &format!("/accounts/{account}/request-access"),
            &[("back", &tab)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

engine_tests!(
    the_busiest_pages_read_through_indexes_with_a_fixed_number_of_statements,
    every_reference_to_a_row_that_can_go_is_indexed,
);

/// Everything a member's dashboard, an admin's search and an app's Credentials & Policies tab
/// show grows from one or two rows to a dozen; the statements behind them must not (both
/// engines). On SQLite, every statement's plan finds its rows through an index.
async fn the_busiest_pages_read_through_indexes_with_a_fixed_number_of_statements(engine: Engine) {
    let mut server = LoggedServer::start(&engine).await;
    let owner = sign_in(&server, OWNER_EMAIL, OWNER_PASSWORD).await;
    add_user(&owner, "Mia Member", "mia@example.com", "member", PASSWORD).await;
    let member = sign_in(&server, "mia@example.com", PASSWORD).await;

    // Two apps; the member may use the first's shared accounts, holds one of them, keeps her
    // own credential on it, and an admin has asked for that one (a notification and a request
    // waiting for her answer).
    let apps = [
        crate::helpers::create_target(&owner, "Payroll Database", &[]).await,
        crate::helpers::create_target(&owner, "Payroll Reports", &[]).await,
    ];
    owner
        .submit(
            &format!("/apps/{}/accounts", apps[0]),
            &format!("/apps/{}/people", apps[0]),
            &[("email", "mia@example.com")],
        )
        .await
        .assert_redirects_to(&format!("/apps/{}/accounts", apps[0]));
    let mut shared = Vec::new();
    for n in 0..2 {
        shared.push(
            create_shared_account(&owner, apps[0], &format!("svc-{n:02}"), SHARED_PASSWORD).await,
        );
    }
    let mut conn = server.database.connect().unwrap();
    assert!(checkout_id_in(&member.check_out(shared[0]).await.body).is_some());
    add_own_credential(&member, apps[0], "mia-00", PASSWORD).await;
    request_credentials(&owner, apps[0], own_credential(&mut conn, "mia-00")).await;
    let member_id: i64 = users::table
        .filter(users::email.eq("mia@example.com"))
        .select(users::id)
        .first(&mut conn)
        .unwrap();
    let request: i64 = access_requests::table
        .select(access_requests::id)
        .first(&mut conn)
        .unwrap();
    // A shared account nobody holds, for its edit and delete pages.
    let spare = create_shared_account(&owner, apps[0], "svc-spare", SHARED_PASSWORD).await;
    // An event for the audit log's links between pages to start beside.
    let event: i64 = keyholder::schema::audit_events::table
        .select(keyholder::schema::audit_events::id)
        .order(keyholder::schema::audit_events::id.asc())
        .first(&mut conn)
        .unwrap();

    let pages: Vec<(&str, &Browser, String)> = vec![
        ("the member's dashboard", &member, "/".into()),
        ("the owner's dashboard", &owner, "/".into()),
        ("Manage Apps", &owner, "/apps".into()),
        (
            "Manage Apps search (a word)",
            &owner,
            "/apps?q=payroll".into(),
        ),
        (
            "Manage Apps search (two letters)",
            &owner,
            "/apps?q=pa".into(),
        ),
        (
            "Manage Apps search (a long phrase)",
            &owner,
            "/apps?q=payroll%20database".into(),
        ),
        (
            "Credentials & Policies",
            &owner,
            format!("/apps/{}/credentials", apps[0]),
        ),
        (
            "Credentials & Policies search",
            &owner,
            format!("/apps/{}/credentials?q=svc", apps[0]),
        ),
        ("an app's overview", &owner, format!("/apps/{}", apps[0])),
        (
            "an app's Accounts tab",
            &owner,
            format!("/apps/{}/accounts", apps[0]),
        ),
        ("the requests an admin made", &owner, "/requests".into()),
        ("Users", &owner, "/users".into()),
        ("Users search", &owner, "/users?q=mia".into()),
        ("the audit log", &owner, "/audit".into()),
        (
            "the audit log of one person",
            &owner,
            format!("/audit?actor={member_id}"),
        ),
        (
            "the audit log of one action",
            &owner,
            "/audit?action=checkout.start".into(),
        ),
        (
            "the audit log of one app",
            &owner,
            format!("/audit?app={}", apps[0]),
        ),
        (
            "the audit log of some days",
            &owner,
            "/audit?from=2020-01-01&to=2100-12-31".into(),
        ),
        (
            "the audit log of a person searched for",
            &owner,
            "/audit?person=mia".into(),
        ),
        (
            "the audit log's next page",
            &owner,
            format!("/audit?page=2&before={event}"),
        ),
        (
            "the audit log's previous page",
            &owner,
            format!("/audit?page=3&after={event}"),
        ),
        ("a user's page", &owner, format!("/users/{member_id}")),
        (
            "an app's settings",
            &owner,
            format!("/apps/{}/settings", apps[0]),
        ),
        (
            "deleting an app",
            &owner,
            format!("/apps/{}/delete", apps[1]),
        ),
        (
            "editing a shared account",
            &owner,
            format!("/accounts/{spare}/edit"),
        ),
        (
            "deleting a shared account",
            &owner,
            format!("/accounts/{spare}/delete"),
        ),
        (
            "a request, to its owner",
            &member,
            format!("/requests/{request}"),
        ),
        (
            "a request, to the admin who made it",
            &owner,
            format!("/requests/{request}"),
        ),
        ("the organization", &owner, "/organization".into()),
    ];
    let mut few = Vec::new();
    for (name, browser, path) in &pages {
        few.push(server.page_statements(browser, path).await);
        assert!(!few.last().unwrap().is_empty(), "{name}: no statement seen");
    }

    // A dozen of everything.
    for n in 2..14 {
        shared.push(
            create_shared_account(&owner, apps[0], &format!("svc-{n:02}"), SHARED_PASSWORD).await,
        );
    }
    // More held than My check-outs shows on a page.
    for account in &shared[1..12] {
        let page = member.check_out(*account).await;
        assert!(checkout_id_in(&page.body).is_some(), "{}", page.body);
    }
    // One own credential per app and person.
    let mut services = vec![apps[1]];
    for n in 2..14 {
        services.push(
            crate::helpers::create_target(&owner, &format!("Payroll Service {n:02}"), &[]).await,
        );
    }
    for (n, app) in services.iter().enumerate() {
        let username = format!("mia-{:02}", n + 1);
        add_own_credential(&member, *app, &username, PASSWORD).await;
        if n < 5 {
            let account = own_credential(&mut conn, &username);
            request_credentials(&owner, *app, account).await;
        }
    }
    let mut many = Vec::new();
    for (_, browser, path) in &pages {
        many.push(server.page_statements(browser, path).await);
    }

    // And the writes of a check-out cycle: check out, reveal, check in.
    let token = member.get("/").await.csrf();
    let account = shared[13];
    let mut cycle = server
        .statements_of(|| async {
            let page = member
                .post(
                    &format!("/accounts/{account}/checkout"),
                    &[("csrf_token", &token)],
                )
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        })
        .await;
    let checkout: i64 = checkouts::table
        .filter(checkouts::account_id.eq(account))
        .select(checkouts::id)
        .first(&mut conn)
        .unwrap();
    for action in [
        format!("/accounts/{account}/reveal"),
        format!("/checkouts/{checkout}/checkin"),
    ] {
        cycle.extend(
            server
                .statements_of(|| async {
                    let page = member.post(&action, &[("csrf_token", &token)]).await;
                    assert!(page.status.as_u16() < 400, "{action}: {}", page.body);
                })
                .await,
        );
    }

    // The plans: SQLite only (see the module's comment).
    let mut sqlite = server
        .database
        .sqlite_path()
        .map(|path| SqliteConnection::establish(path.to_str().unwrap()).unwrap());
    let tables = sqlite.as_mut().map(tables).unwrap_or_default();
    if sqlite.is_some() {
        assert!(tables.iter().any(|t| t == "accounts"), "tables: {tables:?}");
    }
    let mut report = String::new();
    let mut scans = Vec::new();
    let mut per_row = Vec::new();
    let mut explain = |name: &str, sql: &str, report: &mut String| {
        report.push_str(&format!("{sql}\n"));
        let Some(conn) = sqlite.as_mut() else {
            return;
        };
        let lines = plan(conn, sql);
        if let Some(problem) = needless_loop(&lines) {
            scans.push(format!("{name}: {problem}"));
        }
        for line in lines {
            if let Some(table) = full_scan(&line, &tables) {
                scans.push(format!("{name}: {table}"));
            }
            if every_active(&line) {
                scans.push(format!("{name}: every active check-out ({})", line.trim()));
            }
            if line.contains("USE TEMP B-TREE") {
                for table in ENDLESS_TABLES.iter().filter(|t| sql.contains(*t)) {
                    scans.push(format!("{name}: {table} sorted"));
                }
            }
            report.push_str(&format!("    {line}\n"));
        }
    };
    for (((name, _, path), few), many) in pages.iter().zip(&few).zip(&many) {
        report.push_str(&format!(
            "\n== {name} ({path}): {} statements with few rows, {} with many\n",
            few.len(),
            many.len()
        ));
        // Fewer with many rows means background work (the sweep, running passes back to back)
        // fell inside all three loads with few: noise, not a query per row. More is the fault.
        if few.len() != many.len() {
            if many.len() > few.len() {
                per_row.push(format!("{name}: {} → {}", few.len(), many.len()));
            }
            report.push_str(&format!(
                "-- with few rows:\n{}\n-- with many:\n",
                few.join("\n")
            ));
        }
        for sql in many {
            explain(name, sql, &mut report);
        }
    }
    report.push_str("\n== a check-out, its reveal and its check-in\n");
    for sql in &cycle {
        explain("the check-out cycle", sql, &mut report);
    }
    assert!(
        scans.is_empty() && per_row.is_empty(),
        "plans that read more than their rows need: {scans:?}; statements that grew with the rows: {per_row:?}\n{report}"
    );
    // `cargo test plans -- --nocapture` shows every statement and its plan.
    println!("{report}");
}

/// Parent tables whose rows are never deleted nor their keys changed, so nothing looks up the
/// rows that refer to them: one organization per installation, and people are disabled, never
/// deleted (their check-outs and audit events keep naming them).
const NEVER_DELETED: &[&str] = &["organizations", "users"];

/// One column of a foreign key or of an index, in its place.
#[derive(QueryableByName)]
struct KeyColumn {
    /// The table the key or index is on.
    #[diesel(sql_type = Text)]
    on_table: String,
    /// The key's or index's name (SQLite's foreign keys have a number).
    #[diesel(sql_type = Text)]
    key_name: String,
    #[diesel(sql_type = Text)]
    refers_to: String,
    #[diesel(sql_type = BigInt)]
    place: i64,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// `(table, name, referenced table) → columns in order`.
fn by_key(rows: Vec<KeyColumn>) -> BTreeMap<(String, String, String), Vec<String>> {
    let mut keys: BTreeMap<_, Vec<(i64, String)>> = BTreeMap::new();
    for row in rows {
        keys.entry((row.on_table, row.key_name, row.refers_to))
            .or_default()
            .push((row.place, row.column_name));
    }
    keys.into_iter()
        .map(|(key, mut columns)| {
            columns.sort();
            (key, columns.into_iter().map(|(_, c)| c).collect())
        })
        .collect()
}

/// Foreign keys whose columns do not lead any whole (not partial) index of their table.
fn unindexed(
    foreign_keys: BTreeMap<(String, String, String), Vec<String>>,
    indexes: &BTreeMap<(String, String, String), Vec<String>>,
) -> Vec<String> {
    foreign_keys
        .into_iter()
        .filter(|((_, _, parent), _)| !NEVER_DELETED.contains(&parent.as_str()))
        .filter(|((table, _, _), columns)| {
            !indexes.iter().any(|((on, _, _), index)| {
                on == table
                    && index.len() >= columns.len()
                    && columns.iter().all(|c| index[..columns.len()].contains(c))
            })
        })
        .map(|((table, _, parent), columns)| format!("{table} ({}) → {parent}", columns.join(", ")))
        .collect()
}

/// Deleting a row (an account, an app, a request) makes the database find the rows that refer
/// to it, to delete them or clear their reference; `EXPLAIN` does not show that lookup, and
/// without an index it reads the whole referring table once per deleted row. Read from the
/// schema the migrations make, on both engines.
async fn every_reference_to_a_row_that_can_go_is_indexed(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let (_pg, url) = fresh_database(&engine, dir.path());
    let url = keyholder::db::DatabaseUrl::parse(&url).unwrap();
    keyholder::db::run_migrations(&mut url.connect().unwrap()).unwrap();
    let (foreign_keys, indexes) = match &engine {
        Engine::Sqlite => {
            let mut conn =
                SqliteConnection::establish(url.sqlite_path().unwrap().to_str().unwrap()).unwrap();
            let foreign_keys = diesel::sql_query(
                "SELECT m.name AS on_table, CAST(f.id AS TEXT) AS key_name, f.\"table\" AS refers_to, \
                 f.seq AS place, f.\"from\" AS column_name \
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
            )
            .load::<KeyColumn>(&mut conn)
            .unwrap();
            let indexes = diesel::sql_query(
                // An index's expression (`read_at IS NOT NULL`) is a column of no name: ''.
                "SELECT m.name AS on_table, l.name AS key_name, '' AS refers_to, i.seqno AS place, \
                 COALESCE(i.name, '') AS column_name FROM sqlite_master m, pragma_index_list(m.name) l, \
                 pragma_index_info(l.name) i WHERE m.type = 'table' AND l.partial = 0",
            )
            .load::<KeyColumn>(&mut conn)
            .unwrap();
            (foreign_keys, indexes)
        }
        Engine::Postgres(_) => {
            let mut conn = diesel::PgConnection::establish(url.as_str()).unwrap();
            let foreign_keys = diesel::sql_query(
                "SELECT c.conrelid::regclass::text AS on_table, c.conname::text AS key_name, \
                 c.confrelid::regclass::text AS refers_to, k.place, a.attname::text AS column_name \
                 FROM pg_constraint c \
                 CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, place) \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                 WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace",
            )
            .load::<KeyColumn>(&mut conn)
            .unwrap();
            let indexes = diesel::sql_query(
                "SELECT t.relname::text AS on_table, x.indexrelid::regclass::text AS key_name, \
                 '' AS refers_to, k.place, COALESCE(a.attname::text, '') AS column_name \
                 FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid \
                 CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, place) \
                 LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum \
                 WHERE t.relnamespace = 'public'::regnamespace AND x.indpred IS NULL",
            )
            .load::<KeyColumn>(&mut conn)
            .unwrap();
            (foreign_keys, indexes)
        }
    };
    let foreign_keys = by_key(foreign_keys);
    assert!(
        foreign_keys.len() > 10,
        "the schema's foreign keys were not read: {foreign_keys:?}"
    );
    let indexes = by_key(indexes);
    let missing = unindexed(foreign_keys, &indexes);
    assert!(
        missing.is_empty(),
        "references without an index to find them by: {missing:?}"
    );
}

#[test]
fn a_logged_statement_is_read_back_whole() {
    let line = r#"2026-12-01T03:00:00.000000Z DEBUG ms=0.04 failed=false sql="SELECT \"a\" FROM t WHERE x = ? -- é\\ \u{1b}""#;
    assert_eq!(
        logged_sql(line).as_deref(),
        Some("SELECT \"a\" FROM t WHERE x = ? -- é\\ \u{1b}")
    );
    assert_eq!(logged_sql("DEBUG ms=1 sql=\"unterminated"), None);
    assert!(full_scan("  SCAN accounts", &["accounts".into()]).is_some());
    assert!(full_scan("SCAN accounts USING INDEX a_by_b", &["accounts".into()]).is_some());
    assert!(full_scan("SCAN data_keys", &["data_keys".into()]).is_none());
    assert!(
        full_scan(
            "SEARCH accounts USING INDEX a_by_b (x=?)",
            &["accounts".into()]
        )
        .is_none()
    );
    assert!(full_scan("SCAN (subquery-1)", &["accounts".into()]).is_none());
    assert!(every_active(
        "  SEARCH c USING INDEX checkouts_active_expiry (ended_at=?)"
    ));
    assert!(!every_active(
        "SEARCH checkouts USING INDEX checkouts_active_expiry (ended_at=? AND expires_at<?)"
    ));
    assert!(!every_active(
        "SEARCH checkouts USING COVERING INDEX checkouts_user_expiry (user_id=? AND ended_at=?)"
    ));
    let plan = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(
        needless_loop(&plan(&[
            "SEARCH targets USING COVERING INDEX targets_organization_name (organization_id=?)",
            "SCAN targets_search VIRTUAL TABLE INDEX 0:=M0",
        ]))
        .is_some()
    );
    assert!(
        needless_loop(&plan(&[
            "SEARCH targets USING INTEGER PRIMARY KEY (rowid=?)",
            "LIST SUBQUERY 1",
            "  SCAN targets_search VIRTUAL TABLE INDEX 0:M0",
        ]))
        .is_none()
    );
    assert!(
        needless_loop(&plan(&[
            "SEARCH targets USING COVERING INDEX targets_organization_name (organization_id=?)",
            "LIST SUBQUERY 1",
            "  SCAN json_each VIRTUAL TABLE INDEX 1:",
        ]))
        .is_some()
    );
    assert!(
        needless_loop(&plan(&[
            "SCAN targets_search VIRTUAL TABLE INDEX 0:=M0",
            "SEARCH targets USING INTEGER PRIMARY KEY (rowid=?)",
        ]))
        .is_none()
    );
    let keys = |rows: &[(&str, &str, &str, &[&str])]| {
        by_key(
            rows.iter()
                .flat_map(|(table, name, parent, columns)| {
                    columns.iter().enumerate().map(|(place, column)| KeyColumn {
                        on_table: table.to_string(),
                        key_name: name.to_string(),
                        refers_to: parent.to_string(),
                        place: place as i64,
                        column_name: column.to_string(),
                    })
                })
                .collect(),
        )
    };
    let foreign_keys = keys(&[
        ("mail", "0", "requests", &["request_id"]),
        ("grants", "0", "apps", &["app_id", "kind"]),
        ("grants", "1", "users", &["user_id"]),
    ]);
    let indexes = keys(&[
        ("mail", "mail_due", "", &["sent_at", "request_id"]),
        ("grants", "grants_app", "", &["kind", "app_id", "id"]),
    ]);
    assert_eq!(
        unindexed(foreign_keys, &indexes),
        ["mail (request_id) → requests"]
    );
}
