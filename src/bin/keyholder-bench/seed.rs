//! The organization the load benchmark runs against, made through Keyholder's own models (the
//! same inserts, encryption and constraints as the pages), in one transaction per kind of row.
//!
//! Shape at scale 1: 1 000 people (1 owner, 49 admins, 950 members), 10 000 apps (half
//! exclusive), 100 000 accounts (10 per app: 5 shared, 5 personal of which 1 Unmanaged),
//! 200 000 ended check-outs, 100 000 audit events, 50 000 notifications (5 unread per person).

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use keyholder::db::{DatabaseUrl, DbConnection};
use keyholder::domain::*;
use keyholder::models::checkout::{EndReason, NewCheckout};
use keyholder::models::organization::NewInstallation;
use keyholder::models::user::NewUser;
use keyholder::models::{
    Account, AccountInput, AuditEvent, Checkout, Installation, NewAuditEvent, Notification, Target,
    TargetInput, User,
};
use keyholder::schema::{accounts, organizations, targets, users};
use keyholder::vault::Vault;

/// Everyone's password in the benchmark organization.
pub const PASSWORD: &str = "bench password 1234";
pub const OWNER_EMAIL: &str = "owner@bench.example";
pub const ADMINS: usize = 49;
/// Apps whose shared exclusive accounts the check-out cycle uses, and the members allowed there.
pub const CYCLE_APPS: usize = 400;
pub const CYCLE_PEOPLE: usize = 64;

const SYSTEMS: [&str; 40] = [
    "Payroll",
    "Billing",
    "CRM",
    "Jira",
    "Confluence",
    "GitLab",
    "Grafana",
    "Kibana",
    "Vault",
    "Jenkins",
    "SAP",
    "Oracle",
    "Postgres",
    "MySQL",
    "Redis",
    "Kafka",
    "RabbitMQ",
    "Nginx",
    "Exchange",
    "SharePoint",
    "Workday",
    "Salesforce",
    "ServiceNow",
    "Zabbix",
    "Nagios",
    "Splunk",
    "Okta",
    "LDAP",
    "Backup",
    "Firewall",
    "Router",
    "Switch",
    "VPN",
    "Printer",
    "Wiki",
    "HR",
    "Finance",
    "Warehouse",
    "Shop",
    "Intranet",
];
const ENVIRONMENTS: [&str; 5] = ["prod", "staging", "test", "dr", "dev"];

#[derive(Clone, Copy)]
pub struct Scale {
    pub people: usize,
    pub apps: usize,
    pub checkouts: usize,
    pub audit: usize,
    pub notifications: usize,
}

impl Scale {
    pub fn times(factor: f64) -> Self {
        let n = |full: f64| ((full * factor).round() as usize).max(1);
        Self {
            people: n(1000.0).max(ADMINS + CYCLE_PEOPLE + 1),
            apps: n(10_000.0).max(CYCLE_APPS),
            checkouts: n(200_000.0),
            audit: n(100_000.0),
            notifications: n(50_000.0),
        }
    }
}

pub fn email_of(person: usize) -> String {
    if person == 0 {
        OWNER_EMAIL.to_string()
    } else {
        format!("person{person:04}@bench.example")
    }
}

pub fn app_name(i: usize) -> String {
    format!(
        "{} {} {i:05}",
        SYSTEMS[i % SYSTEMS.len()],
        ENVIRONMENTS[(i / SYSTEMS.len()) % ENVIRONMENTS.len()]
    )
}

/// What the drivers need to know about the seeded organization.
pub struct Seeded {
    pub people: usize,
    pub apps: Vec<i64>,
    pub admins: Vec<usize>,
    pub members: Vec<usize>,
    /// Shared accounts of exclusive apps the cycle people are allowed on.
    pub cycle_accounts: Vec<i64>,
    pub cycle_people: Vec<usize>,
}

/// Reads back what an earlier run seeded (so a kept database is reused, not seeded twice).
pub fn describe(conn: &mut DbConnection) -> anyhow::Result<Option<Seeded>> {
    let orgs: i64 = organizations::table.count().get_result(conn)?;
    if orgs == 0 {
        return Ok(None);
    }
    let people: i64 = users::table.count().get_result(conn)?;
    let apps: Vec<i64> = targets::table
        .order(targets::id)
        .select(targets::id)
        .load(conn)?;
    let cycle_apps: Vec<i64> = apps.iter().copied().take(CYCLE_APPS).step_by(2).collect();
    let cycle_accounts: Vec<i64> = accounts::table
        .filter(accounts::target_id.eq_any(&cycle_apps))
        .filter(accounts::owner_user_id.is_null())
        .order(accounts::id)
        .select(accounts::id)
        .load(conn)?;
    let people = people as usize;
    Ok(Some(Seeded {
        people,
        apps,
        admins: (1..=ADMINS).collect(),
        members: (ADMINS + 1..people).collect(),
        cycle_accounts,
        cycle_people: (ADMINS + 1..=ADMINS + CYCLE_PEOPLE).collect(),
    }))
}

fn step(label: &str, started: Instant) {
    println!("  {label} ({:.1} s)", started.elapsed().as_secs_f64());
}

pub fn seed(url: &DatabaseUrl, vault: &Vault, scale: Scale) -> anyhow::Result<Seeded> {
    let mut conn = url.connect()?;
    if let Some(seeded) = describe(&mut conn)? {
        println!("Reusing the organization already seeded in this database.");
        if url.is_sqlite() {
            // Seeded by an earlier version, which ran `ANALYZE` (see below): measure the plans
            // of an installation, which has no statistics.
            diesel::sql_query("DROP TABLE IF EXISTS sqlite_stat1").execute(&mut conn)?;
        }
        return Ok(seeded);
    }
    let now = chrono::Utc::now().naive_utc();
    let started = Instant::now();
    // One real argon2id hash, shared: hashing a thousand passwords would only time argon2.
    let hash = keyholder::security::password::hash_password_blocking(PASSWORD)?;
    let (org, owner) = Installation::create(
        &mut conn,
        NewInstallation {
            organization: &OrganizationName::parse("Bench Corporation").unwrap(),
            owner_name: &PersonName::parse("Olivia Owner").unwrap(),
            owner_email: &EmailAddress::parse(OWNER_EMAIL).unwrap(),
            owner_password_hash: &hash,
        },
        None,
        now,
        now,
        None,
    )?;

    let mut people: Vec<UserId> = vec![owner.id];
    keyholder::db::transaction::<_, anyhow::Error, _>(&mut conn, |conn| {
        for i in 1..scale.people {
            let user = User::insert(
                conn,
                NewUser {
                    organization_id: org.id,
                    email: &EmailAddress::parse(&email_of(i)).unwrap(),
                    name: &PersonName::parse(&format!("Person {i:04}")).unwrap(),
                    role: if i <= ADMINS {
                        Role::Admin
                    } else {
                        Role::Member
                    },
                    password_hash: &hash,
                },
                now,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            people.push(user.id);
        }
        Ok(())
    })?;
    step(&format!("{} people", people.len()), started);

    let mut apps: Vec<(TargetId, bool)> = Vec::with_capacity(scale.apps);
    keyholder::db::transaction::<_, anyhow::Error, _>(&mut conn, |conn| {
        for i in 0..scale.apps {
            let system = SYSTEMS[i % SYSTEMS.len()];
            let exclusive = i % 2 == 0;
            let target = Target::insert(
                conn,
                vault,
                org.id,
                &TargetInput {
                    name: TargetName::parse(&app_name(i)).unwrap(),
                    address: TargetAddress::parse(&format!(
                        "{}-{i:05}.corp.example",
                        system.to_lowercase()
                    ))
                    .unwrap(),
                    description: TargetDescription::parse(&format!(
                        "{system} for the {} estate, run by team {}",
                        ENVIRONMENTS[(i / SYSTEMS.len()) % ENVIRONMENTS.len()],
                        i % 97
                    ))
                    .unwrap(),
                    connector: Connector::VaultOnly,
                    checkout_type: if exclusive {
                        CheckoutType::Exclusive
                    } else {
                        CheckoutType::Regular
                    },
                    exclusive_minutes: ExclusiveMinutes::parse("60").unwrap(),
                    policy: PasswordPolicy::default(),
                    connector_settings: Default::default(),
                    admin_password: None,
                },
                now,
            )?;
            // Two admins named in each app's policy; members allowed on a couple of apps each.
            Target::add_policy_admin(conn, target.id, people[1 + i % ADMINS])?;
            Target::add_policy_admin(conn, target.id, people[1 + (i + 17) % ADMINS])?;
            let members = people.len() - ADMINS - 1;
            Target::allow(conn, target.id, people[ADMINS + 1 + i % members])?;
            Target::allow(conn, target.id, people[ADMINS + 1 + (i * 7 + 3) % members])?;
            if i < CYCLE_APPS && exclusive {
                for p in 0..CYCLE_PEOPLE {
                    Target::allow(conn, target.id, people[ADMINS + 1 + p])?;
                }
            }
            apps.push((target.id, exclusive));
        }
        Ok(())
    })?;
    step(&format!("{} apps", apps.len()), started);

    // Ten accounts per app: five shared, five personal (the fifth Unmanaged).
    let mut shared: Vec<(AccountId, TargetId, bool)> = Vec::new();
    let mut personal = 0usize;
    keyholder::db::transaction::<_, anyhow::Error, _>(&mut conn, |conn| {
        for (i, (target, exclusive)) in apps.iter().enumerate() {
            for k in 0..10 {
                let owner = (k >= 5).then(|| people[(i * 5 + k - 5) % people.len()]);
                let username = match owner {
                    None => format!("svc_{k}_{i:05}"),
                    Some(user) => format!("user{}_{i:05}", user.0),
                };
                let account = Account::create(
                    conn,
                    vault,
                    org.id,
                    *target,
                    &AccountInput {
                        username: AccountUsername::parse(&username).unwrap(),
                        notes: AccountNotes::parse("").unwrap(),
                        auto_reset: true,
                        owner,
                        admin_access: k != 9,
                    },
                    &format!("Initial-Pa55word-{i}-{k}"),
                    now,
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                match owner {
                    None => shared.push((account.id, *target, *exclusive)),
                    Some(_) => personal += 1,
                }
            }
        }
        Ok(())
    })?;
    step(
        &format!("{} accounts ({personal} personal)", shared.len() + personal),
        started,
    );

    let members = &people[ADMINS + 1..];
    keyholder::db::transaction::<_, anyhow::Error, _>(&mut conn, |conn| {
        for n in 0..scale.checkouts {
            let (account, target, exclusive) = shared[n % shared.len()];
            let user = members[(n * 31) % members.len()];
            let started_at = history_time(now, n, scale.checkouts);
            let id = Checkout::insert(
                conn,
                NewCheckout {
                    organization: org.id,
                    account,
                    target,
                    user,
                    mode: if exclusive {
                        CheckoutType::Exclusive
                    } else {
                        CheckoutType::Regular
                    },
                    started_at,
                    expires_at: started_at + Duration::minutes(60),
                },
            )?
            .context("a history check-out found its account held")?;
            let (reason, at) = if n % 3 == 0 {
                (EndReason::Expired, started_at + Duration::minutes(60))
            } else {
                (
                    EndReason::CheckedIn,
                    started_at + Duration::minutes(5 + (n % 50) as i64),
                )
            };
            Checkout::end(conn, id, reason, Some(user), at)?;
        }
        Ok(())
    })?;
    step(&format!("{} check-outs", scale.checkouts), started);

    const ACTIONS: [&str; 6] = [
        "checkout.start",
        "checkout.checkin",
        "account.reveal",
        "account.reset",
        "user.login",
        "account.update",
    ];
    keyholder::db::transaction::<_, anyhow::Error, _>(&mut conn, |conn| {
        for n in 0..scale.audit {
            let (account, target, _) = shared[(n * 13) % shared.len()];
            let action = ACTIONS[n % ACTIONS.len()];
            let login = action == "user.login";
            AuditEvent::record(
                conn,
                NewAuditEvent {
                    organization_id: org.id,
                    actor: Some(people[(n * 7) % people.len()]),
                    action,
                    object_type: if login { "user" } else { "account" },
                    object_id: Some(if login {
                        people[(n * 7) % people.len()].0
                    } else {
                        account.0
                    }),
                    detail: String::new(),
                    client_addr: Some("10.0.0.1"),
                    target_id: (!login).then_some(target.0),
                },
                history_time(now, n, scale.audit),
            )?;
        }
        Ok(())
    })?;
    step(&format!("{} audit events", scale.audit), started);

    // Each person: most notifications read, the newest few unread.
    let per_person = scale.notifications.div_ceil(people.len());
    let unread = per_person.min(5);
    keyholder::db::transaction::<_, anyhow::Error, _>(&mut conn, |conn| {
        let mut sent = 0;
        for (p, user) in people.iter().enumerate() {
            for n in 0..per_person {
                if sent == scale.notifications {
                    break;
                }
                if n == per_person - unread {
                    Notification::mark_all_read(conn, *user, now)?;
                }
                let (_, target, _) = shared[(p * per_person + n) % shared.len()];
                Notification::send(
                    conn,
                    org.id,
                    *user,
                    &format!("Your check-out on app {} ended.", target.0),
                    &format!("/apps/{}", target.0),
                    now - Duration::minutes((per_person - n) as i64 * 90),
                )?;
                sent += 1;
            }
        }
        Ok(())
    })?;
    step(&format!("{} notifications", scale.notifications), started);
    // On PostgreSQL fresh statistics and a vacuumed heap, as a database that has lived a while
    // under autovacuum would have. On SQLite nothing: Keyholder never runs `ANALYZE` there, so
    // an installation's planner has no statistics, and the benchmark measures the plans it
    // gets (with statistics SQLite chose better plans for some statements than without, which
    // hid a search that took seconds; see docs/BENCHMARKS.md).
    if !url.is_sqlite() {
        diesel::sql_query("VACUUM ANALYZE").execute(&mut conn)?;
    }
    describe(&mut conn)?.ok_or_else(|| anyhow::anyhow!("the seeded organization vanished"))
}

/// Spreads `n` of `total` over the last 180 days, oldest first.
fn history_time(now: NaiveDateTime, n: usize, total: usize) -> NaiveDateTime {
    let span = 180 * 24 * 3600i64;
    now - Duration::seconds(span - span * n as i64 / total.max(1) as i64)
}
