//! `keyholder-bench expiry` measures check-out expiry and reset:
//!
//! 1. the delay from each check-out's end time to its password reset being done, over many
//!    check-outs ending a few seconds apart (p50, p99, max);
//! 2. a burst of check-outs all ending at the same second on the Vault-only connector: how long
//!    until every one is reset and free, and how the web pages answer meanwhile.
//!
//! It boots the real application (same code path as `keyholder serve`) on a fresh database in a
//! temporary folder (or `--database-url postgres://…`, which must be an empty database), seeds it
//! through the application's own models, checks accounts out through the same function and job
//! queue the Check out button uses, and reads the results from the audit trail.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use keyholder::clock::SystemClock;
use keyholder::config::Config;
use keyholder::db::DatabaseUrl;
use keyholder::domain::*;
use keyholder::jobs::{ExpireCheckout, Job};
use keyholder::models::organization::NewInstallation;
use keyholder::models::{Account, AccountInput, Installation, Target, TargetInput, User};
use keyholder::schema::{accounts, audit_events, checkouts};
use keyholder::startup::Application;

use crate::percentile;

pub struct Args {
    spread: usize,
    burst: usize,
    targets: usize,
    database_url: Option<String>,
}

pub fn parse_args() -> anyhow::Result<Args> {
    use anyhow::Context;
    let mut args = Args {
        spread: 1000,
        burst: 10_000,
        targets: 10_000,
        database_url: None,
    };
    let mut it = std::env::args().skip(2);
    while let Some(arg) = it.next() {
        let mut number = || -> anyhow::Result<usize> {
            it.next()
                .with_context(|| format!("{arg} needs a value"))?
                .parse()
                .with_context(|| format!("{arg}: a whole number"))
        };
        match arg.as_str() {
            "--spread" => args.spread = number()?,
            "--burst" => args.burst = number()?,
            "--targets" => args.targets = number()?,
            "--database-url" => {
                args.database_url = Some(it.next().context("--database-url needs a value")?)
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(args)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data_dir =
        std::env::var("KEYHOLDER_BENCH_DIR").unwrap_or_else(|_| dir.path().display().to_string());
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("KEYHOLDER_LISTEN".into(), "127.0.0.1:0".into());
    vars.insert("KEYHOLDER_DATA_DIR".into(), data_dir);
    vars.insert("KEYHOLDER_LOG".into(), "warn".into());
    if let Some(url) = &args.database_url {
        vars.insert("DATABASE_URL".into(), url.clone());
    }
    let config = Config::from_vars(&vars)?;
    keyholder::telemetry::init(&std::env::var("KEYHOLDER_LOG").unwrap_or_else(|_| "warn".into()));
    let engine = if config.database.is_sqlite() {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let app = Application::build_with_clock(config.clone(), Arc::new(SystemClock)).await?;
    let port = app.port();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());

    let total = args.spread + args.burst;
    println!("Seeding {total} shared accounts on {engine}…");
    let url: DatabaseUrl = config.database.clone();
    let vault = state.vault.clone();
    let (user, spread_accounts, burst_accounts, target) = tokio::task::spawn_blocking(move || {
        let mut conn = url.connect().unwrap();
        let now = chrono::Utc::now().naive_utc();
        let hash =
            keyholder::security::password::hash_password_blocking("bench password 1234").unwrap();
        let (org, user) = Installation::create(
            &mut conn,
            NewInstallation {
                organization: &OrganizationName::parse("Bench").unwrap(),
                owner_name: &PersonName::parse("Bench Owner").unwrap(),
                owner_email: &EmailAddress::parse("bench@example.com").unwrap(),
                owner_password_hash: &hash,
            },
            None,
            now,
            now,
            None,
        )
        .unwrap();
        let target = Target::insert(
            &mut conn,
            &vault,
            org.id,
            &TargetInput {
                name: TargetName::parse("Bench target").unwrap(),
                address: TargetAddress::parse("").unwrap(),
                description: TargetDescription::parse("").unwrap(),
                connector: Connector::VaultOnly,
                checkout_type: CheckoutType::Exclusive,
                exclusive_minutes: ExclusiveMinutes::parse("1").unwrap(),
                policy: PasswordPolicy::default(),
                connector_settings: Default::default(),
                admin_password: None,
            },
            now,
        )
        .unwrap();
        Target::allow(&mut conn, target.id, user.id).unwrap();
        let mut ids = Vec::with_capacity(total);
        keyholder::db::transaction::<_, diesel::result::Error, _>(&mut conn, |conn| {
            for i in 0..total {
                let account = Account::create(
                    conn,
                    &vault,
                    org.id,
                    target.id,
                    &AccountInput {
                        username: AccountUsername::parse(&format!("svc{i:05}")).unwrap(),
                        notes: AccountNotes::parse("").unwrap(),
                        auto_reset: true,
                        owner: None,
                        admin_access: true,
                    },
                    "Initial-Pa55word",
                    now,
                )
                .unwrap();
                ids.push(account);
            }
            Ok(())
        })
        .unwrap();
        let burst = ids.split_off(args.spread);
        (user, ids, burst, target)
    })
    .await?;

    // Part 0: Manage Apps with many targets.
    if args.targets > 0 {
        let url = config.database.clone();
        let vault = state.vault.clone();
        let organization = target.organization_id;
        let n = args.targets;
        tokio::task::spawn_blocking(move || {
            let mut conn = url.connect().unwrap();
            let now = chrono::Utc::now().naive_utc();
            keyholder::db::transaction::<_, diesel::result::Error, _>(&mut conn, |conn| {
                for i in 0..n {
                    Target::insert(
                        conn,
                        &vault,
                        organization,
                        &TargetInput {
                            name: TargetName::parse(&format!("App {i:05}")).unwrap(),
                            address: TargetAddress::parse(&format!("host{i}.corp.example"))
                                .unwrap(),
                            description: TargetDescription::parse(&format!(
                                "Service number {i} of the payroll and billing estate"
                            ))
                            .unwrap(),
                            connector: Connector::VaultOnly,
                            checkout_type: CheckoutType::Exclusive,
                            exclusive_minutes: ExclusiveMinutes::parse("60").unwrap(),
                            policy: PasswordPolicy::default(),
                            connector_settings: Default::default(),
                            admin_password: None,
                        },
                        now,
                    )
                    .unwrap();
                }
                Ok(())
            })
            .unwrap();
        })
        .await?;
        let client = reqwest::Client::builder().cookie_store(true).build()?;
        let base = format!("http://127.0.0.1:{port}");
        let login = client
            .get(format!("{base}/login"))
            .send()
            .await?
            .text()
            .await?;
        let token = login
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        client
            .post(format!("{base}/login"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", "bench@example.com"),
                ("password", "bench password 1234"),
            ])
            .send()
            .await?;
        println!(
            "Part 0: Manage Apps with {} apps (sequential requests, one signed-in session)",
            args.targets + 1
        );
        for (label, path) in [
            ("first page", "/apps".to_string()),
            (
                "search 'app 0012' (10 hits)",
                "/apps?q=app+0012".to_string(),
            ),
            (
                "search in descriptions 'payroll'",
                "/apps?q=payroll".to_string(),
            ),
            ("last page", format!("/apps?page={}", args.targets / 25)),
            ("sorted Z to A", "/apps?sort=name_desc".to_string()),
        ] {
            let mut times = Vec::new();
            for _ in 0..200 {
                let started = Instant::now();
                let response = client.get(format!("{base}{path}")).send().await?;
                assert!(
                    response.status().is_success(),
                    "{path}: {}",
                    response.status()
                );
                let body = response.text().await?;
                assert!(body.contains("App "), "{path} shows apps");
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "  {label:34} p50 {:.1} ms, p99 {:.1} ms",
                percentile(&times, 50.0),
                percentile(&times, 99.0)
            );
        }
    }

    // Part 1: check-outs ending one after another over ~10 seconds.
    let base = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(5);
    let step_ms = (10_000 / args.spread.max(1)) as i64;
    let ends: Vec<NaiveDateTime> = (0..args.spread)
        .map(|i| base + chrono::Duration::milliseconds(i as i64 * step_ms))
        .collect();
    check_out_all(&state, &user, &target, &spread_accounts, &ends).await;
    println!(
        "Part 1: {} check-outs ending from {} over ~10 s…",
        args.spread,
        base.format("%H:%M:%S")
    );
    wait_until_free(&config, spread_accounts.len(), Duration::from_secs(120)).await;
    let delays = reset_delays(&config, &spread_accounts).await;
    let mut sorted = delays.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "Part 1 result: {} resets; delay from end time to reset done: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        sorted.len(),
        percentile(&sorted, 50.0),
        percentile(&sorted, 99.0),
        sorted.last().copied().unwrap_or(f64::NAN)
    );

    // Part 2: a burst all ending at the same second, while pages are requested.
    if args.burst > 0 {
        let at = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(15);
        let ends = vec![at; burst_accounts.len()];
        check_out_all(&state, &user, &target, &burst_accounts, &ends).await;
        println!(
            "Part 2: {} check-outs all ending at {}…",
            burst_accounts.len(),
            at.format("%H:%M:%S")
        );
        let wait = (at - chrono::Utc::now().naive_utc())
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(wait).await;
        let started = Instant::now();
        let probe = tokio::spawn(probe_pages(port));
        wait_until_free(
            &config,
            spread_accounts.len() + burst_accounts.len(),
            Duration::from_secs(600),
        )
        .await;
        let took = started.elapsed();
        probe.abort();
        let latencies = probe_pages_result(port).await;
        println!(
            "Part 2 result: all {} reset and free {:.1} s after their end time; meanwhile /healthz answered in p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests, all 200)",
            burst_accounts.len(),
            took.as_secs_f64(),
            latencies.0,
            latencies.1,
            latencies.2,
            latencies.3
        );
    }
    Ok(())
}

async fn check_out_all(
    state: &Arc<keyholder::state::AppState>,
    user: &User,
    target: &Target,
    accounts_to_take: &[Account],
    ends: &[NaiveDateTime],
) {
    let url = state.config.database.clone();
    let (user, target, list, ends_owned) = (
        user.clone(),
        target.clone(),
        accounts_to_take.to_vec(),
        ends.to_vec(),
    );
    let checkouts = tokio::task::spawn_blocking(move || {
        let mut conn = url.connect().unwrap();
        let mut made = Vec::new();
        for (account, end) in list.iter().zip(ends_owned) {
            let now = chrono::Utc::now().naive_utc();
            let checkout =
                keyholder::lending::check_out(&mut conn, &user, account, &target, now, None)
                    .unwrap()
                    .unwrap();
            diesel::update(checkouts::table.find(checkout.id))
                .set(checkouts::expires_at.eq(end))
                .execute(&mut conn)
                .unwrap();
            made.push((checkout.id, end));
        }
        made
    })
    .await
    .unwrap();
    for (id, end) in checkouts {
        state
            .jobs
            .schedule(
                state,
                Job::ExpireCheckout(ExpireCheckout { checkout_id: id }),
                end,
            )
            .await;
    }
}

async fn wait_until_free(config: &Config, expected_resets: usize, limit: Duration) {
    let started = Instant::now();
    loop {
        let url = config.database.clone();
        let (busy, resets) = tokio::task::spawn_blocking(move || {
            let mut conn = url.connect().unwrap();
            let busy: i64 = accounts::table
                .filter(
                    accounts::state
                        .ne("available")
                        .or(accounts::exclusive_checkout_id.is_not_null()),
                )
                .count()
                .get_result(&mut conn)
                .unwrap();
            let resets: i64 = audit_events::table
                .filter(audit_events::action.eq("account.reset"))
                .count()
                .get_result(&mut conn)
                .unwrap();
            (busy, resets)
        })
        .await
        .unwrap();
        if busy == 0 && resets as usize >= expected_resets {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "not done after {limit:?}: {busy} busy, {resets} resets"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn reset_delays(config: &Config, list: &[Account]) -> Vec<f64> {
    let url = config.database.clone();
    let ids: Vec<i64> = list.iter().map(|a| a.id.0).collect();
    tokio::task::spawn_blocking(move || {
        let mut conn = url.connect().unwrap();
        let ends: HashMap<i64, NaiveDateTime> = checkouts::table
            .filter(checkouts::account_id.eq_any(&ids))
            .select((checkouts::account_id, checkouts::expires_at))
            .load::<(i64, NaiveDateTime)>(&mut conn)
            .unwrap()
            .into_iter()
            .collect();
        let resets: Vec<(Option<i64>, NaiveDateTime)> = audit_events::table
            .filter(audit_events::action.eq("account.reset"))
            .filter(audit_events::object_id.eq_any(&ids))
            .select((audit_events::object_id, audit_events::created_at))
            .load(&mut conn)
            .unwrap();
        resets
            .into_iter()
            .filter_map(|(id, at)| {
                let end = ends.get(&id?)?;
                Some((at - *end).num_microseconds()? as f64 / 1000.0)
            })
            .collect()
    })
    .await
    .unwrap()
}

static PROBES: std::sync::Mutex<Vec<f64>> = std::sync::Mutex::new(Vec::new());

async fn probe_pages(port: u16) {
    let client = reqwest::Client::new();
    loop {
        let started = Instant::now();
        let response = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        let ok = response.map(|r| r.status().is_success()).unwrap_or(false);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        PROBES
            .lock()
            .unwrap()
            .push(if ok { ms } else { f64::INFINITY });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn probe_pages_result(_port: u16) -> (f64, f64, f64, usize) {
    let mut all = PROBES.lock().unwrap().clone();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert!(
        all.iter().all(|v| v.is_finite()),
        "a page did not answer 200"
    );
    (
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all.last().copied().unwrap_or(0.0),
        all.len(),
    )
}
