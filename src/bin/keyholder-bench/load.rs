//! `keyholder-bench load`: the pages people use most, at scale, against the framework's ceiling.
//!
//! 1. Seeds an organization through Keyholder's models (see `seed`), or reuses the one in
//!    `--data-dir`/`--database-url` from an earlier run.
//! 2. Starts the release `keyholder serve` (the binary beside this one) and the ceiling server
//!    (`keyholder-bench ceiling`) as their own processes, on the same database.
//! 3. Signs people in, then drives with wrk: the ceiling, the dashboard, Manage Apps searches,
//!    apps' Credentials & Policies tabs, the dashboard again while 20 people sign in over and
//!    over; and, with its own clients, check-out + reveal + check-in cycles, checking afterwards
//!    in the database that no check-out was lost or doubled.
//! 4. Reports requests/s, p50/p99/max latency, errors and the server's peak RSS per step, as a
//!    Markdown table, with each target marked met or missed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::prelude::*;
use keyholder::clock::SystemClock;
use keyholder::config::Config;
use keyholder::schema::{accounts, audit_events, checkouts};
use keyholder::startup::Application;
use rand::Rng;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use tokio::sync::Mutex;

use crate::percentile;
use crate::seed::{self, Scale, Seeded};
use crate::wrk::{self, Load, Measured};

const LOGIN_CLIENTS: usize = 20;
const SEARCHES: [&str; 5] = [
    "payroll",
    "jira prod",
    "00042",
    "grafana-0",
    "estate, run by team 42",
];

pub struct Args {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    scale: f64,
    seconds: u64,
    connections: usize,
    out: Option<PathBuf>,
}

pub fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        database_url: None,
        data_dir: None,
        scale: 1.0,
        seconds: 10,
        connections: 32,
        out: None,
    };
    let mut it = std::env::args().skip(2);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--database-url" => args.database_url = Some(value()?),
            "--data-dir" => args.data_dir = Some(PathBuf::from(value()?)),
            "--scale" => args.scale = value()?.parse().context("--scale: a number")?,
            "--seconds" => args.seconds = value()?.parse().context("--seconds: a number")?,
            "--connections" => {
                args.connections = value()?.parse().context("--connections: a number")?
            }
            "--out" => args.out = Some(PathBuf::from(value()?)),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(args)
}

/// A server process of ours; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(program: PathBuf, arg: &str, env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&program)
            .arg(arg)
            .envs(env)
            .env("KEYHOLDER_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEYHOLDER_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    async fn wait_ready(&self, path: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}{path}", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "{} did not answer {path} within 60 s",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// The peak resident set since the last `reset_peak`, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") as f64 / 1024.0
    }

    /// Starts a new peak measurement (Linux: writing 5 to clear_refs resets VmHWM).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

/// A signed-in person: a client with its own cookie jar, the session cookie and CSRF token.
struct Session {
    client: reqwest::Client,
    cookie: String,
    csrf: String,
}

fn csrf_of(page: &str) -> Option<String> {
    page.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(str::to_string)
}

fn client_with(jar: Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()
        .expect("an HTTP client")
}

/// Signs in through the form, as a browser does. `Ok(None)` when the server refused.
async fn sign_in(base: &str, email: &str) -> anyhow::Result<Option<Session>> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = client_with(jar.clone());
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let token = csrf_of(&page).context("the sign-in page has no CSRF token")?;
    let response = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", seed::PASSWORD),
        ])
        .send()
        .await?;
    let signed_in = response.status().as_u16() == 303
        && response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            == Some("/");
    if !signed_in {
        return Ok(None);
    }
    let url: reqwest::Url = base.parse()?;
    use reqwest::cookie::CookieStore;
    let cookie = jar
        .cookies(&url)
        .and_then(|v| v.to_str().ok().map(str::to_string))
        .context("no session cookie after signing in")?;
    let dashboard = client.get(format!("{base}/")).send().await?.text().await?;
    let csrf = csrf_of(&dashboard).context("the dashboard has no CSRF token")?;
    Ok(Some(Session {
        client,
        cookie,
        csrf,
    }))
}

async fn sign_in_all(base: &str, people: &[usize]) -> anyhow::Result<Vec<Session>> {
    let mut sessions = Vec::with_capacity(people.len());
    for chunk in people.chunks(4) {
        let signed = futures_util::future::join_all(
            chunk
                .iter()
                .map(|p| async move { sign_in(base, &seed::email_of(*p)).await }),
        )
        .await;
        for (person, session) in chunk.iter().zip(signed) {
            sessions.push(
                session?
                    .with_context(|| format!("{} could not sign in", seed::email_of(*person)))?,
            );
        }
    }
    Ok(sessions)
}

/// One row of the report.
struct Row {
    step: String,
    connections: String,
    measured: Measured,
    unit: &'static str,
    ratio: Option<f64>,
    peak_rss_mib: f64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    wrk::check_installed()?;
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("no folder for the benchmark binary")?
        .to_path_buf();
    let server_bin = bin_dir.join("keyholder");
    anyhow::ensure!(
        server_bin.exists(),
        "{} is missing: build it with `cargo build --release --features bench --bins`",
        server_bin.display()
    );
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("KEYHOLDER_DATA_DIR".into(), data_dir.display().to_string());
    env.insert("KEYHOLDER_LOG".into(), "warn".into());
    // Every client of the benchmark comes from 127.0.0.1 and signs in again and again.
    env.insert(
        "KEYHOLDER_LOGIN_ATTEMPTS_PER_ADDRESS".into(),
        "10000".into(),
    );
    env.insert(
        "KEYHOLDER_LOGIN_ATTEMPTS_PER_ACCOUNT".into(),
        "10000".into(),
    );
    if let Some(url) = &args.database_url {
        env.insert("DATABASE_URL".into(), url.clone());
    }
    let mut vars = env.clone();
    vars.insert("KEYHOLDER_LISTEN".into(), "127.0.0.1:0".into());
    let config = Config::from_vars(&vars)?;
    let engine = if config.database.is_sqlite() {
        "SQLite"
    } else {
        "PostgreSQL"
    };

    // Seed through the application: building it applies the migrations and opens the vault.
    println!("Seeding on {engine} ({})…", config.database.display());
    let app = Application::build_with_clock(config.clone(), Arc::new(SystemClock)).await?;
    let state = app.state();
    let handle = app.handle();
    drop(app);
    handle.stop(false).await;
    let (url, vault, scale) = (
        config.database.clone(),
        state.vault.clone(),
        Scale::times(args.scale),
    );
    let seeded: Seeded =
        tokio::task::spawn_blocking(move || seed::seed(&url, &vault, scale)).await??;
    drop(state);

    let server = Server::start(server_bin, "serve", &env)?;
    let ceiling = Server::start(std::env::current_exe()?, "ceiling", &env)?;
    server.wait_ready("/healthz").await?;
    ceiling.wait_ready("/ceiling?id=1").await?;
    let base = server.base.clone();
    println!("keyholder serve at {base}, ceiling at {}", ceiling.base);

    // Sessions: every admin and the owner, 200 members, the people of the check-out cycle.
    let admins: Vec<usize> = std::iter::once(0)
        .chain(seeded.admins.iter().copied())
        .collect();
    let members: Vec<usize> = seeded
        .members
        .iter()
        .copied()
        .filter(|p| !seeded.cycle_people.contains(p))
        .take(200)
        .collect();
    let started = Instant::now();
    let admin_sessions = sign_in_all(&base, &admins).await?;
    let member_sessions = sign_in_all(&base, &members).await?;
    let cycle_sessions = sign_in_all(
        &base,
        &seeded.cycle_people[..args.connections.min(seeded.cycle_people.len())],
    )
    .await?;
    println!(
        "{} people signed in ({:.1} s)",
        admin_sessions.len() + member_sessions.len() + cycle_sessions.len(),
        started.elapsed().as_secs_f64()
    );

    let load = Load {
        connections: args.connections,
        threads: 2,
        seconds: args.seconds,
    };
    let warm = Load { seconds: 2, ..load };
    let mut rng = rand::rng();
    let dashboard_pairs: Vec<(String, String)> = admin_sessions
        .iter()
        .chain(&member_sessions)
        .map(|s| ("/".to_string(), s.cookie.clone()))
        .collect();
    let search_pairs: Vec<(String, String)> = (0..admin_sessions.len() * SEARCHES.len())
        .map(|i| {
            (
                format!("/apps?q={}", url_encode(SEARCHES[i % SEARCHES.len()])),
                admin_sessions[i % admin_sessions.len()].cookie.clone(),
            )
        })
        .collect();
    let credentials_pairs: Vec<(String, String)> = (0..1000)
        .map(|i| {
            let app = seeded.apps[rng.random_range(0..seeded.apps.len())];
            (
                format!("/apps/{app}/credentials"),
                admin_sessions[i % admin_sessions.len()].cookie.clone(),
            )
        })
        .collect();
    let ceiling_pairs: Vec<(String, String)> = (1..=seeded.people)
        .map(|id| (format!("/ceiling?id={id}"), String::new()))
        .collect();

    // Each page once through reqwest first: a page that is not what people see fails here.
    for (pairs, expect) in [
        (&dashboard_pairs, "Dashboard"),
        (&search_pairs, "Manage Apps"),
        (&credentials_pairs, "Credentials"),
    ] {
        for (path, cookie) in pairs.iter().take(SEARCHES.len()) {
            let body = reqwest::Client::new()
                .get(format!("{base}{path}"))
                .header("Cookie", cookie)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            anyhow::ensure!(body.contains(expect), "{path} is not the {expect} page");
        }
    }

    let mut rows: Vec<Row> = Vec::new();
    let measure = |name: &str, target: &str, pairs: &[(String, String)], server: &Server| {
        wrk::run(target, pairs, &warm)?;
        server.reset_peak();
        let measured = wrk::run(target, pairs, &load)?;
        println!(
            "  {name:40} {:8.0} req/s  p50 {:6.2} ms  p99 {:6.2} ms  errors {}",
            measured.per_second, measured.p50_ms, measured.p99_ms, measured.errors
        );
        anyhow::Ok((measured, server.peak_rss_mib()))
    };

    println!(
        "Driving with wrk, {} connections, {} s each",
        load.connections, load.seconds
    );
    let (ceiling_m, ceiling_rss) = measure(
        "ceiling (one row, tiny page)",
        &ceiling.base,
        &ceiling_pairs,
        &ceiling,
    )?;
    rows.push(Row {
        step: "Ceiling: one row through the pool, tiny page".into(),
        connections: load.connections.to_string(),
        measured: ceiling_m,
        unit: "req/s",
        ratio: Some(1.0),
        peak_rss_mib: ceiling_rss,
    });
    let ratio = |m: &Measured| Some(m.per_second / ceiling_m.per_second);
    let mut page_rows = Vec::new();
    for (name, pairs) in [
        ("Dashboard", &dashboard_pairs),
        ("Manage Apps search", &search_pairs),
        ("Credentials & Policies tab", &credentials_pairs),
    ] {
        let (m, rss) = measure(name, &base, pairs, &server)?;
        page_rows.push((name, m));
        rows.push(Row {
            step: name.into(),
            connections: load.connections.to_string(),
            measured: m,
            unit: "req/s",
            ratio: ratio(&m),
            peak_rss_mib: rss,
        });
    }
    let quiet = page_rows[0].1;

    // The dashboard while 20 people sign in over and over.
    let stop = Arc::new(AtomicBool::new(false));
    let login_times = Arc::new(Mutex::new(Vec::<f64>::new()));
    let login_failures = Arc::new(AtomicU64::new(0));
    let mut logins = Vec::new();
    for i in 0..LOGIN_CLIENTS {
        let (stop, times, failures, base) = (
            stop.clone(),
            login_times.clone(),
            login_failures.clone(),
            base.clone(),
        );
        let email = seed::email_of(seeded.members[seeded.members.len() - 1 - i]);
        logins.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                match sign_in(&base, &email).await {
                    Ok(Some(_)) => times
                        .lock()
                        .await
                        .push(started.elapsed().as_secs_f64() * 1000.0),
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.reset_peak();
    let login_started = Instant::now();
    let base_for_wrk = base.clone();
    let pairs = dashboard_pairs.clone();
    let busy =
        tokio::task::spawn_blocking(move || wrk::run(&base_for_wrk, &pairs, &load)).await??;
    let login_elapsed = login_started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in logins {
        let _ = task.await;
    }
    let busy_rss = server.peak_rss_mib();
    let mut times = login_times.lock().await.clone();
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  {:40} {:8.0} req/s  p50 {:6.2} ms  p99 {:6.2} ms  errors {}",
        "Dashboard while 20 people sign in", busy.per_second, busy.p50_ms, busy.p99_ms, busy.errors
    );
    rows.push(Row {
        step: format!("Dashboard while {LOGIN_CLIENTS} people sign in"),
        connections: load.connections.to_string(),
        measured: busy,
        unit: "req/s",
        ratio: ratio(&busy),
        peak_rss_mib: busy_rss,
    });
    let login_m = measured_from(
        &times,
        login_elapsed,
        login_failures.load(Ordering::Relaxed),
    );
    rows.push(Row {
        step: "Sign-in (form, argon2id), meanwhile".into(),
        connections: LOGIN_CLIENTS.to_string(),
        measured: login_m,
        unit: "sign-ins/s",
        ratio: None,
        peak_rss_mib: busy_rss,
    });

    // Check-out + reveal + check-in cycles.
    server.reset_peak();
    let cycles = drive_cycles(&base, cycle_sessions, &seeded, &config, args.seconds).await?;
    rows.push(Row {
        step: "Check-out + reveal + check-in (3 requests)".into(),
        connections: args.connections.to_string(),
        measured: cycles.measured,
        unit: "cycles/s",
        ratio: None,
        peak_rss_mib: server.peak_rss_mib(),
    });
    let overall_rss = rows
        .iter()
        .filter(|r| !r.step.starts_with("Ceiling"))
        .map(|r| r.peak_rss_mib)
        .fold(0.0, f64::max);

    let report = report(
        engine,
        &args,
        scale,
        &rows,
        &page_rows,
        quiet,
        busy,
        &cycles,
        overall_rss,
    );
    println!("\n{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("writing {}", out.display()))?;
        println!("(written to {})", out.display());
    }
    drop(server);
    drop(ceiling);
    Ok(())
}

/// Figures from our own clients' timings (sorted, in ms) over `seconds`.
fn measured_from(sorted_ms: &[f64], seconds: f64, errors: u64) -> Measured {
    Measured {
        requests: sorted_ms.len() as u64,
        per_second: sorted_ms.len() as f64 / seconds,
        p50_ms: percentile(sorted_ms, 50.0),
        p99_ms: percentile(sorted_ms, 99.0),
        max_ms: sorted_ms.last().copied().unwrap_or(f64::NAN),
        errors,
    }
}

fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

struct Cycles {
    measured: Measured,
    refused: u64,
    checked: String,
    sound: bool,
}

/// Each client takes a random shared exclusive account: check out (the page shows the password),
/// reveal again, check in. A 409 (held by someone else, or still being reset) is a refusal, not
/// an error. Afterwards the database must hold exactly the check-outs the clients were given,
/// none overlapping another on the same account, every one checked in and its password reset.
async fn drive_cycles(
    base: &str,
    sessions: Vec<Session>,
    seeded: &Seeded,
    config: &Config,
    seconds: u64,
) -> anyhow::Result<Cycles> {
    let url = config.database.clone();
    let (first_checkout, first_event) = tokio::task::spawn_blocking(move || {
        let mut conn = url.connect()?;
        let c: Option<i64> = checkouts::table
            .select(diesel::dsl::max(checkouts::id))
            .first(&mut conn)?;
        let a: Option<i64> = audit_events::table
            .select(diesel::dsl::max(audit_events::id))
            .first(&mut conn)?;
        anyhow::Ok((c.unwrap_or(0), a.unwrap_or(0)))
    })
    .await??;

    let accounts_list = Arc::new(seeded.cycle_accounts.clone());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let granted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let times = Arc::new(Mutex::new(Vec::<f64>::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for session in sessions {
        let (list, granted, refused, errors, times, base) = (
            accounts_list.clone(),
            granted.clone(),
            refused.clone(),
            errors.clone(),
            times.clone(),
            base.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let account = list[rand::rng().random_range(0..list.len())];
                let began = Instant::now();
                match cycle(&base, &session, account).await {
                    Ok(true) => {
                        granted.fetch_add(1, Ordering::Relaxed);
                        times
                            .lock()
                            .await
                            .push(began.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(false) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("check-out cycle failed: {error:#}");
                        }
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut times = times.lock().await.clone();
    times.sort_by(|a, b| a.total_cmp(b));
    let granted = granted.load(Ordering::Relaxed);
    let measured = measured_from(&times, elapsed, errors.load(Ordering::Relaxed));
    println!(
        "  {:40} {:8.0} cycles/s  p50 {:6.2} ms  p99 {:6.2} ms  errors {}  refused {}",
        "check-out + reveal + check-in",
        measured.per_second,
        measured.p50_ms,
        measured.p99_ms,
        measured.errors,
        refused.load(Ordering::Relaxed)
    );

    // Let the last resets finish, then compare the database with what the clients saw.
    let url = config.database.clone();
    let ids = seeded.cycle_accounts.clone();
    let (sound, checked) = tokio::task::spawn_blocking(move || {
        let mut conn = url.connect()?;
        let waited = Instant::now();
        loop {
            let busy: i64 = accounts::table
                .filter(accounts::id.eq_any(&ids))
                .filter(
                    accounts::state
                        .ne("available")
                        .or(accounts::exclusive_checkout_id.is_not_null()),
                )
                .count()
                .get_result(&mut conn)?;
            if busy == 0 || waited.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let made: Vec<(i64, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>, Option<String>)> =
            checkouts::table
                .filter(checkouts::id.gt(first_checkout))
                .order((checkouts::account_id, checkouts::started_at, checkouts::id))
                .select((
                    checkouts::account_id,
                    checkouts::started_at,
                    checkouts::ended_at,
                    checkouts::end_reason,
                ))
                .load(&mut conn)?;
        let resets: i64 = audit_events::table
            .filter(audit_events::id.gt(first_event))
            .filter(audit_events::action.eq("account.reset"))
            .count()
            .get_result(&mut conn)?;
        let not_checked_in = made
            .iter()
            .filter(|(_, _, ended, reason)| ended.is_none() || reason.as_deref() != Some("checked_in"))
            .count();
        let overlapping = made
            .windows(2)
            .filter(|w| {
                w[0].0 == w[1].0 && w[0].2.is_none_or(|ended| w[1].1 < ended)
            })
            .count();
        let sound = made.len() as u64 == granted
            && not_checked_in == 0
            && overlapping == 0
            && resets as u64 == granted;
        let checked = format!(
            "clients were granted {granted} check-outs; the database holds {} new ones, \
             {overlapping} overlapping another on the same account, {not_checked_in} not checked in, \
             {resets} password resets",
            made.len()
        );
        anyhow::Ok((sound, checked))
    })
    .await??;
    println!("  {checked}");
    Ok(Cycles {
        measured,
        refused: refused.load(Ordering::Relaxed),
        checked,
        sound,
    })
}

/// `Ok(false)` when the check-out was refused with 409.
async fn cycle(base: &str, session: &Session, account: i64) -> anyhow::Result<bool> {
    let form = [("csrf_token", session.csrf.as_str())];
    let response = session
        .client
        .post(format!("{base}/accounts/{account}/checkout"))
        .form(&form)
        .send()
        .await?;
    match response.status().as_u16() {
        200 => {}
        409 => return Ok(false),
        other => anyhow::bail!("check-out answered {other}"),
    }
    let page = response.text().await?;
    let checkout: i64 = page
        .split("action=\"/checkouts/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|id| id.parse().ok())
        .context("the check-out page has no CheckIn form")?;
    let reveal = session
        .client
        .post(format!("{base}/accounts/{account}/reveal"))
        .form(&form)
        .send()
        .await?;
    anyhow::ensure!(
        reveal.status().as_u16() == 200,
        "reveal answered {}",
        reveal.status()
    );
    let _ = reveal.bytes().await?;
    let checkin = session
        .client
        .post(format!("{base}/checkouts/{checkout}/checkin"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf_token={}", url_encode(&session.csrf)))
        .send()
        .await?;
    anyhow::ensure!(
        checkin.status().as_u16() == 303,
        "check-in answered {}",
        checkin.status()
    );
    Ok(true)
}

#[allow(clippy::too_many_arguments)]
fn report(
    engine: &str,
    args: &Args,
    scale: Scale,
    rows: &[Row],
    pages: &[(&str, Measured)],
    quiet: Measured,
    busy: Measured,
    cycles: &Cycles,
    overall_rss: f64,
) -> String {
    let ceiling = rows[0].measured.per_second;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {engine}: {} people, {} apps, {} accounts, {} check-outs, {} audit events, {} notifications\n",
        scale.people,
        scale.apps,
        scale.apps * 10,
        scale.checkouts,
        scale.audit,
        scale.notifications
    );
    let _ = writeln!(
        out,
        "| step | connections | done | throughput | of ceiling | p50 | p99 | max | errors | peak RSS |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for row in rows {
        let m = row.measured;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} | {:.0} MiB |",
            row.step,
            row.connections,
            m.requests,
            m.per_second,
            row.unit,
            row.ratio
                .map(|r| format!("{:.0} %", r * 100.0))
                .unwrap_or_else(|| "—".into()),
            m.p50_ms,
            m.p99_ms,
            m.max_ms,
            m.errors,
            row.peak_rss_mib
        );
    }
    let mark = |ok: bool| if ok { "met" } else { "**missed**" };
    let _ = writeln!(out, "\nTargets ({} s per step):\n", args.seconds);
    for (name, m) in pages {
        let _ = writeln!(
            out,
            "- {name}: p99 {:.1} ms ≤ 25 ms: {}; {:.0} req/s ≥ half the ceiling ({:.0}): {}",
            m.p99_ms,
            mark(m.p99_ms <= 25.0),
            m.per_second,
            ceiling / 2.0,
            mark(m.per_second >= ceiling / 2.0)
        );
    }
    let _ = writeln!(
        out,
        "- Check-out cycles: {:.0}/s ≥ 300: {}; {} refused while held or resetting; {}: {}",
        cycles.measured.per_second,
        mark(cycles.measured.per_second >= 300.0),
        cycles.refused,
        cycles.checked,
        if cycles.sound {
            "none lost or doubled"
        } else {
            "**LOST OR DOUBLED**"
        }
    );
    let _ = writeln!(
        out,
        "- Dashboard p99 with {LOGIN_CLIENTS} sign-ins going on: {:.1} ms ≤ 2 × {:.1} ms: {}",
        busy.p99_ms,
        quiet.p99_ms,
        mark(busy.p99_ms <= 2.0 * quiet.p99_ms)
    );
    let _ = writeln!(
        out,
        "- Peak RSS of `keyholder serve`: {overall_rss:.0} MiB ≤ 150 MB (143 MiB): {}",
        mark(overall_rss <= 143.0)
    );
    out
}
