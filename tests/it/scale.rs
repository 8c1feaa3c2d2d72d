//! Scale-out: several real Keyholder server processes (the built binary, configured by
//! environment variables, each on its own port) on one PostgreSQL database, sharing the master
//! key, the public URL and the job queue. They are started at the same moment, so their
//! migrations race, and driven alternately over HTTP. Password resets run against real
//! PostgreSQL roles, whose logins prove which password the system has.
//!
//! PostgreSQL only: without KEYHOLDER_TEST_POSTGRES_URL each test says SKIPPED (and fails under
//! KEYHOLDER_TEST_REQUIRE_POSTGRES).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use keyholder::schema::{accounts, audit_events, checkouts, outbound_emails};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::helpers::{
    Browser, Engine, OWNER_EMAIL, OWNER_PASSWORD, PgDatabase, account_id_for, add_user,
    checkout_id_in, create_target, first_user_id, pg_logs_in, set_up_from_the_command_line,
};

const MEMBER_PASSWORD: &str = "member password 123";
const INITIAL_PASSWORD: &str = "Initial-Pa55word";

/// The server URL, or `None` after saying SKIPPED (a failure when PostgreSQL is required).
fn postgres(test: &str) -> Option<String> {
    match Engine::postgres(test)? {
        Engine::Postgres(url) => Some(url),
        Engine::Sqlite => None,
    }
}

/// One `keyholder serve` process.
struct Instance {
    child: Child,
    base: String,
    log: PathBuf,
    mail_dir: PathBuf,
}

impl Instance {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process dies wherever it is.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as a service manager stops it.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit; `None` if it is still running.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Several instances of one installation on a fresh PostgreSQL database.
struct Cluster {
    instances: Vec<Instance>,
    database_url: String,
    master_key: String,
    public_url: String,
    dir: tempfile::TempDir,
    // Dropped last, after the processes are gone.
    _pg: PgDatabase,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Starts `n` instances at the same moment on a new database and waits until all answer.
    async fn start(server: &str, n: usize) -> Cluster {
        use base64::Engine as _;
        let (pg, database_url) = PgDatabase::create(server);
        let master_key =
            base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        let dir = tempfile::tempdir().unwrap();
        let mut cluster = Cluster {
            instances: Vec::new(),
            database_url,
            master_key,
            // What people would use: the reverse proxy's address, the same for every instance.
            public_url: "http://keyholder.test".into(),
            dir,
            _pg: pg,
        };
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        for (i, port) in ports.iter().enumerate() {
            let data_dir = cluster.dir.path().join(format!("instance-{i}"));
            std::fs::create_dir_all(&data_dir).unwrap();
            let log = cluster.dir.path().join(format!("instance-{i}.log"));
            let out = std::fs::File::create(&log).unwrap();
            let child = cluster
                .command(&data_dir)
                .arg("serve")
                .env("KEYHOLDER_LISTEN", format!("127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("start keyholder");
            cluster.instances.push(Instance {
                child,
                base: format!("http://127.0.0.1:{port}"),
                log,
                mail_dir: data_dir.join("mail"),
            });
        }
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        for instance in &mut cluster.instances {
            loop {
                let ok = client
                    .get(format!("{}/healthz", instance.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::OK);
                if ok {
                    break;
                }
                if let Some(status) = instance.child.try_wait().unwrap() {
                    panic!(
                        "{} exited with {status} at start:\n{}",
                        instance.base,
                        instance.log_text()
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not answer:\n{}",
                    instance.base,
                    instance.log_text()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        cluster
    }

    /// The binary with this installation's settings (and nothing from the test's environment).
    fn command(&self, data_dir: &std::path::Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyholder"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.database_url)
            .env("KEYHOLDER_MASTER_KEY", &self.master_key)
            .env("KEYHOLDER_PUBLIC_URL", &self.public_url)
            .env("KEYHOLDER_DATA_DIR", data_dir)
            .env("KEYHOLDER_WORKERS", "2")
            .env("KEYHOLDER_DATABASE_POOL_SIZE", "4")
            .env("KEYHOLDER_SWEEP_INTERVAL", "1s")
            .env("KEYHOLDER_LOGIN_ATTEMPTS_PER_ADDRESS", "1000")
            .env(
                "KEYHOLDER_LOG",
                std::env::var("KEYHOLDER_TEST_INSTANCE_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1");
        command
    }

    /// `keyholder setup`, the password on standard input.
    fn setup(&self) {
        set_up_from_the_command_line(self.command(self.dir.path()));
    }

    /// One person's browser: one cookie jar, pointed at instance `i` (cookies do not depend on
    /// the port, so the same session cookie goes to every instance).
    fn browser(&self) -> Person {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        Person {
            client,
            jar,
            bases: self.instances.iter().map(|i| i.base.clone()).collect(),
        }
    }

    fn db(&self) -> keyholder::db::DbConnection {
        keyholder::db::DatabaseUrl::parse(&self.database_url)
            .unwrap()
            .connect()
            .unwrap()
    }

    fn logs(&self) -> String {
        self.instances.iter().map(Instance::log_text).collect()
    }

    /// How many times `action` was recorded, per object.
    fn audit_counts(&self, action: &str) -> HashMap<i64, i64> {
        let mut conn = self.db();
        audit_events::table
            .filter(audit_events::action.eq(action))
            .select(audit_events::object_id)
            .load::<Option<i64>>(&mut conn)
            .unwrap()
            .into_iter()
            .flatten()
            .fold(HashMap::new(), |mut counts, id| {
                *counts.entry(id).or_insert(0) += 1;
                counts
            })
    }

    /// The current password of each account, decrypted with the shared master key.
    fn current_passwords(&self, ids: &[i64]) -> HashMap<i64, String> {
        use keyholder::vault::{MasterKey, Vault};
        let mut conn = self.db();
        let (master, _) = MasterKey::load(
            &keyholder::config::MasterKeySource::Inline(self.master_key.clone()),
            false,
        )
        .unwrap();
        let vault = Vault::open(&mut conn, &master, chrono::Utc::now().naive_utc()).unwrap();
        ids.iter()
            .map(|id| {
                let secret: Vec<u8> = accounts::table
                    .find(id)
                    .select(accounts::secret)
                    .first(&mut conn)
                    .unwrap();
                let slot =
                    keyholder::models::account::secret_slot(keyholder::domain::AccountId(*id));
                (
                    *id,
                    vault.decrypt(&mut conn, &secret, slot).unwrap().to_string(),
                )
            })
            .collect()
    }

    /// (accounts not Available, check-outs not ended) among `ids`.
    fn unsettled(&self, ids: &[i64]) -> (i64, i64) {
        let mut conn = self.db();
        let accounts: i64 = accounts::table
            .filter(accounts::id.eq_any(ids))
            .filter(accounts::state.ne("available"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        let open: i64 = checkouts::table
            .filter(checkouts::account_id.eq_any(ids))
            .filter(checkouts::ended_at.is_null())
            .count()
            .get_result(&mut conn)
            .unwrap();
        (accounts, open)
    }

    /// Waits until every account is Available with no open check-out; returns how long it took.
    async fn settle(&self, ids: &[i64], limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let (accounts, open) = self.unsettled(ids);
            if (accounts, open) == (0, 0) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "after {limit:?}: {accounts} account(s) not Available, {open} check-out(s) open\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Jobs taken by a worker and not finished.
    fn jobs_held(&self) -> i64 {
        let mut conn = self.db();
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(
            "SELECT count(*) AS n FROM apalis.jobs WHERE status IN ('Queued', 'Running')",
        )
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
    }

    /// The jobs taken by a worker and not finished, one line each, for a failure message.
    fn jobs_held_detail(&self) -> String {
        let mut conn = self.db();
        #[derive(QueryableByName)]
        struct Held {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        diesel::sql_query(
            "SELECT concat_ws(' | ', id, status, lock_by, attempts, run_at, lock_at, \
             last_result::text) AS line FROM apalis.jobs \
             WHERE status IN ('Queued', 'Running') ORDER BY id",
        )
        .load::<Held>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|h| h.line)
        .collect::<Vec<_>>()
        .join("\n")
    }
}

/// A person with one cookie jar who may talk to any instance.
#[derive(Clone)]
struct Person {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    bases: Vec<String>,
}

impl Person {
    /// The person's browser pointed at instance `i`.
    fn on(&self, i: usize) -> Browser {
        Browser {
            client: self.client.clone(),
            base: self.bases[i % self.bases.len()].clone(),
        }
    }

    /// The session cookie's value.
    fn cookie(&self) -> Option<String> {
        self.on(0).session_cookie(&self.jar)
    }
}

/// Real PostgreSQL roles playing one target system: an admin with CREATEROLE and `n` roles
/// whose passwords Keyholder manages. Dropped at the end.
struct PgRoles {
    server: String,
    admin: String,
    roles: Vec<String>,
}

const TARGET_ADMIN_PASSWORD: &str = "admin-Pa55word";

impl PgRoles {
    fn create(server: &str, n: usize) -> PgRoles {
        let suffix = keyholder::security::tokens::random_token(6)
            .to_lowercase()
            .replace(['-', '_'], "x");
        let roles = PgRoles {
            server: server.to_string(),
            admin: format!("keyholder_target_admin_{suffix}"),
            roles: (0..n)
                .map(|i| format!("keyholder_target_s{suffix}_{i}"))
                .collect(),
        };
        let mut sql = format!(
            "CREATE ROLE {} LOGIN CREATEROLE PASSWORD '{TARGET_ADMIN_PASSWORD}' IN ROLE keyholder_targets;",
            roles.admin
        );
        for role in &roles.roles {
            sql.push_str(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{INITIAL_PASSWORD}' IN ROLE keyholder_targets;"
            ));
        }
        use diesel::connection::SimpleConnection;
        let mut conn = diesel::PgConnection::establish(server).unwrap();
        conn.batch_execute(&sql).unwrap();
        assert!(
            !pg_logs_in(server, &roles.roles[0], "not the password"),
            "PostgreSQL accepts any password for target roles: run .ci/postgres-password-auth once"
        );
        roles
    }

    /// Which of `(role, password)` log in, checked in parallel.
    async fn logins(&self, pairs: Vec<(String, String)>) -> Vec<bool> {
        let mut handles = Vec::new();
        for chunk in pairs.chunks(25) {
            let chunk = chunk.to_vec();
            let server = self.server.clone();
            handles.push(tokio::task::spawn_blocking(move || {
                chunk
                    .iter()
                    .map(|(role, password)| pg_logs_in(&server, role, password))
                    .collect::<Vec<_>>()
            }));
        }
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.await.unwrap());
        }
        all
    }
}

impl Drop for PgRoles {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.server) {
            for role in self.roles.iter().chain([&self.admin]) {
                let _ = diesel::sql_query(format!("DROP ROLE IF EXISTS {role}")).execute(&mut conn);
            }
        }
    }
}

/// Creates shared accounts named `usernames` (spread over the instances, a few at a time);
/// returns their ids in the same order.
async fn create_shared_accounts(
    admin: &Person,
    target: i64,
    usernames: &[String],
    password: &str,
) -> Vec<i64> {
    let token = admin.on(0).get("/").await.csrf();
    let mut pending = Vec::new();
    let mut ids = Vec::with_capacity(usernames.len());
    for (i, username) in usernames.iter().enumerate() {
        let browser = admin.on(i);
        let token = token.clone();
        let username = username.clone();
        let password = password.to_string();
        pending.push(tokio::spawn(async move {
            let page = browser
                .post(
                    &format!("/apps/{target}/accounts/new"),
                    &[
                        ("csrf_token", &token),
                        ("kind", "shared"),
                        ("username", &username),
                        ("password_mode", "type"),
                        ("password", &password),
                        ("password_confirm", &password),
                        ("notes", ""),
                        ("auto_reset", "on"),
                    ],
                )
                .await;
            page.assert_redirects_to(&format!("/apps/{target}/accounts"));
            // The redirect goes to the tab's page that lists the account, scrolled to it.
            let location = page.location.clone().unwrap_or_default();
            let (_, anchor) = location.split_once("#account-").expect("an anchor");
            anchor.parse::<i64>().expect("the new account's id")
        }));
        if pending.len() == 8 {
            for handle in pending.drain(..) {
                ids.push(handle.await.unwrap());
            }
        }
    }
    for handle in pending {
        ids.push(handle.await.unwrap());
    }
    // The first and the last by username are listed on the first and the last page.
    let mut sorted: Vec<(String, &String, i64)> = usernames
        .iter()
        .zip(&ids)
        .map(|(u, id)| (u.to_lowercase(), u, *id))
        .collect();
    sorted.sort();
    let pages = usernames.len().div_ceil(25);
    for (page, (_, username, id)) in [(1, &sorted[0]), (pages, &sorted[sorted.len() - 1])] {
        let tab = admin
            .on(1)
            .get(&format!("/apps/{target}/accounts?page={page}"))
            .await;
        assert_eq!(account_id_for(&tab.body, username), Some(*id));
    }
    ids
}

async fn allow(admin: &Browser, target: i64, email: &str) {
    admin
        .submit(
            &format!("/apps/{target}/accounts"),
            &format!("/apps/{target}/people"),
            &[("email", email)],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}/accounts"));
}

fn pg_connector<'a>(roles: &'a PgRoles, minutes: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("connector", "postgres"),
        ("pg_host", "127.0.0.1"),
        ("pg_port", "5432"),
        ("pg_database", "postgres"),
        ("pg_admin_username", roles.admin.as_str()),
        ("pg_admin_password", TARGET_ADMIN_PASSWORD),
        ("exclusive_minutes", minutes),
    ]
}

/// Checks out every account as `person`, spread over the instances; returns the check-out ids.
async fn check_out_all(person: &Person, accounts: &[i64]) -> Vec<i64> {
    let token = person.on(0).get("/").await.csrf();
    let mut ids = Vec::new();
    for chunk in accounts.chunks(8) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|&account| {
                let browser = person.on(account as usize);
                let token = token.clone();
                tokio::spawn(async move {
                    let page = browser
                        .post(
                            &format!("/accounts/{account}/checkout"),
                            &[("csrf_token", &token)],
                        )
                        .await;
                    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
                    checkout_id_in(&page.body).unwrap()
                })
            })
            .collect();
        for handle in handles {
            ids.push(handle.await.unwrap());
        }
    }
    ids
}

/// Asserts that each account was reset `expected` times and none ended out of sync, that its
/// password in Keyholder logs in to its role, and that the password the holders saw no longer
/// does.
async fn assert_each_reset_once(
    cluster: &Cluster,
    roles: &PgRoles,
    accounts: &[i64],
    expected: i64,
) {
    let resets = cluster.audit_counts("account.reset");
    for account in accounts {
        assert_eq!(
            resets.get(account).copied().unwrap_or(0),
            expected,
            "account {account}: resets {resets:?}"
        );
    }
    assert!(
        cluster.audit_counts("account.out_of_sync").is_empty(),
        "no account may end out of sync"
    );
    let passwords = cluster.current_passwords(accounts);
    let current: Vec<(String, String)> = accounts
        .iter()
        .zip(&roles.roles)
        .map(|(id, role)| (role.clone(), passwords[id].clone()))
        .collect();
    assert!(
        current.iter().all(|(_, p)| p != INITIAL_PASSWORD),
        "every password was changed"
    );
    let works = roles.logins(current).await;
    assert!(
        works.iter().all(|w| *w),
        "{} role(s) refuse the password Keyholder has",
        works.iter().filter(|w| !**w).count()
    );
    let old: Vec<(String, String)> = roles
        .roles
        .iter()
        .map(|r| (r.clone(), INITIAL_PASSWORD.to_string()))
        .collect();
    let still = roles.logins(old).await;
    assert!(
        still.iter().all(|w| !*w),
        "the password the holders saw must no longer log in"
    );
}

/// No reset attempt failed anywhere (two workers on one reset would make PostgreSQL refuse one
/// of the concurrent ALTER ROLEs).
fn assert_no_failed_attempts(cluster: &Cluster) {
    let logs = cluster.logs();
    let failed: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("password reset failed"))
        .collect();
    assert!(
        failed.is_empty(),
        "failed reset attempts:\n{}",
        failed.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_sessions_locks_and_mail() {
    let Some(server) = postgres("scale::instances_share_sessions_locks_and_mail") else {
        return;
    };
    let started = Instant::now();
    let mut cluster = Cluster::start(&server, 3).await;
    eprintln!("3 instances up in {:?}", started.elapsed());

    // The migrations raced; one instance applied each, once.
    {
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            all: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            distinct: i64,
        }
        let mut conn = cluster.db();
        let counts: Counts = diesel::sql_query(
            "SELECT count(*) AS all, count(DISTINCT version) AS distinct FROM __diesel_schema_migrations",
        )
        .get_result(&mut conn)
        .unwrap();
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .unwrap()
            .count() as i64;
        assert_eq!((counts.all, counts.distinct), (on_disk, on_disk));
    }

    // Each instance's job worker registered under its own name and keeps beating.
    {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let live = || {
            diesel::sql_query(
                "SELECT count(DISTINCT id) AS n FROM apalis.workers \
                 WHERE worker_type = 'keyholder::jobs' AND last_seen > now() - interval '1 minute'",
            )
            .get_result::<Count>(&mut cluster.db())
            .unwrap()
            .n
        };
        // Three processes starting at once on a loaded 2-core machine can take a while.
        let deadline = Instant::now() + Duration::from_secs(60);
        while live() < 3 {
            assert!(Instant::now() < deadline, "live job workers: {}", live());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Set up from the command line; sign in on one instance, carry on with the others.
    cluster.setup();
    let owner = cluster.browser();
    owner
        .on(0)
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
    for i in 1..3 {
        let page = owner.on(i).get("/users").await;
        assert_eq!(page.status, StatusCode::OK, "instance {i}: {}", page.body);
        page.assert_contains("Olivia Owner");
    }
    // A form from one instance is accepted by another (the CSRF token lives in the session).
    let token = owner.on(0).get("/users/new").await.csrf();
    owner
        .on(2)
        .post(
            "/users/new",
            &[
                ("csrf_token", &token),
                ("name", "Adam Admin"),
                ("email", "adam@example.com"),
                ("role", "admin"),
                ("password", MEMBER_PASSWORD),
            ],
        )
        .await
        .assert_redirects_to("/users");

    // An exclusive app with one account, and twelve people racing for it on all instances.
    let target = create_target(&owner.on(1), "Production", &[]).await;
    let account =
        create_shared_accounts(&owner, target, &["app_user".into()], "Contended-Pa55").await[0];
    let mut racers = Vec::new();
    for i in 0..12 {
        let email = format!("racer{i}@example.com");
        add_user(
            &owner.on(i),
            &format!("Racer {i}"),
            &email,
            "member",
            MEMBER_PASSWORD,
        )
        .await;
        allow(&owner.on(i + 1), target, &email).await;
        let racer = cluster.browser();
        racer
            .on(i)
            .sign_in(&email, MEMBER_PASSWORD)
            .await
            .assert_redirects_to("/");
        let token = racer.on(i).get("/").await.csrf();
        racers.push((racer, token));
    }
    let handles: Vec<_> = racers
        .iter()
        .enumerate()
        .map(|(i, (racer, token))| {
            // Signed in on instance i, checking out on the next one.
            let browser = racer.on(i + 1);
            let token = token.clone();
            tokio::spawn(async move {
                browser
                    .post(
                        &format!("/accounts/{account}/checkout"),
                        &[("csrf_token", &token)],
                    )
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    let winners: Vec<usize> = (0..statuses.len())
        .filter(|i| statuses[*i] == StatusCode::OK)
        .collect();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((winners.len(), refused), (1, 11), "{statuses:?}");
    let winner = winners[0];
    let open: i64 = checkouts::table
        .filter(checkouts::account_id.eq(account))
        .filter(checkouts::ended_at.is_null())
        .count()
        .get_result(&mut cluster.db())
        .unwrap();
    assert_eq!(open, 1);
    // Every instance refuses the others, and says who holds it.
    let loser = &racers[(winner + 1) % racers.len()].0;
    for i in 0..3 {
        let page = loser.on(i).check_out(account).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "instance {i}");
        page.assert_contains(&format!(
            "Racer {winner} has checked this account out exclusively until"
        ));
        assert_eq!(
            owner.on(i).reveal(account).await.status,
            StatusCode::FORBIDDEN
        );
    }
    // The holder checks in on another instance than the one that granted it.
    let holder = &racers[winner].0;
    let page = holder.on(winner).get(&format!("/apps/{target}")).await;
    let checkout = checkout_id_in(&page.body).unwrap();
    holder
        .on(winner + 2)
        .check_in(checkout)
        .await
        .assert_redirects_to(&format!("/apps/{target}"));

    // Signing out on one instance ends the session on all of them: the cookie it had is
    // refused everywhere, even when sent again by hand.
    let (racer, _) = &racers[0];
    let cookie = racer.cookie().expect("a session cookie");
    let token = racer.on(1).get("/").await.csrf();
    racer
        .on(1)
        .post("/logout", &[("csrf_token", &token)])
        .await
        .assert_redirects_to("/login");
    let bare = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    for instance in &cluster.instances {
        let response = bare
            .get(format!("{}/", instance.base))
            .header("cookie", format!("keyholder={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            instance.base
        );
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login"), "{location}");
    }

    // Mail: three requests for access, pressed on three instances, make three messages, each
    // sent once by whichever instance took it.
    let adam = cluster.browser();
    adam.on(0)
        .sign_in("adam@example.com", MEMBER_PASSWORD)
        .await
        .assert_redirects_to("/");
    let adam_id = {
        let list = owner.on(0).get("/users?q=adam@example.com").await;
        first_user_id(&list.body).unwrap()
    };
    let tab = format!("/apps/{target}/credentials");
    owner
        .on(1)
        .submit(
            &tab,
            &format!("/apps/{target}/policy"),
            &[("user_id", &adam_id.to_string())],
        )
        .await
        .assert_redirects_to(&tab);
    for (i, (racer, _)) in racers.iter().enumerate().skip(1).take(3) {
        racer
            .on(i)
            .submit(
                &format!("/apps/{target}/accounts/new?kind=personal"),
                &format!("/apps/{target}/accounts/new"),
                &[
                    ("kind", "personal"),
                    ("username", &format!("racer{i}@prod")),
                    ("password_mode", "type"),
                    ("password", "Personal-Pa55word"),
                    ("password_confirm", "Personal-Pa55word"),
                ],
            )
            .await
            .assert_redirects_to(&format!("/apps/{target}"));
    }
    let personal: Vec<i64> = accounts::table
        .filter(accounts::target_id.eq(target))
        .filter(accounts::owner_user_id.is_not_null())
        .select(accounts::id)
        .load(&mut cluster.db())
        .unwrap();
    assert_eq!(personal.len(), 3);
    for (i, account) in personal.iter().enumerate() {
        let page = adam
            .on(i)
            .submit(
                &tab,
                &format!("/accounts/{account}/request-access"),
                &[("back", &tab)],
            )
            .await;
        page.assert_redirects_to(&tab);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let unsent: i64 = outbound_emails::table
            .filter(outbound_emails::sent_at.is_null())
            .count()
            .get_result(&mut cluster.db())
            .unwrap();
        if unsent == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{unsent} email(s) not sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more, in case a second instance were about to send one again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let files: usize = cluster
        .instances
        .iter()
        .map(|i| {
            std::fs::read_dir(&i.mail_dir)
                .map(|d| d.filter_map(Result::ok).count())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(files, 3, "one message per request, across all instances");

    // No worker died on the way (a worker refused by the queue ends "with error").
    let logs = cluster.logs();
    assert!(
        !logs.contains("ended with error") && !logs.contains("WorkerAlreadyExists"),
        "{logs}"
    );

    // SIGTERM: each instance stops cleanly.
    for instance in &mut cluster.instances {
        instance.terminate();
    }
    for instance in &mut cluster.instances {
        let stopped = Instant::now();
        let status = instance.wait_exit(Duration::from_secs(10));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "exit after SIGTERM:\n{}",
            instance.log_text()
        );
        eprintln!(
            "{} stopped {:?} after SIGTERM",
            instance.base,
            stopped.elapsed()
        );
    }
    eprintln!(
        "instances_share_sessions_locks_and_mail took {:?}",
        started.elapsed()
    );
}

/// The smallest check-out duration the app accepts (one minute), so the expiries happen in
/// real time: a server process's clock cannot be moved by the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_expiries_are_reset_once_even_when_an_instance_dies() {
    const N: usize = 200;
    let Some(server) =
        postgres("scale::two_hundred_expiries_are_reset_once_even_when_an_instance_dies")
    else {
        return;
    };
    let started = Instant::now();
    let roles = PgRoles::create(&server, N);
    let mut cluster = Cluster::start(&server, 3).await;
    cluster.setup();
    let owner = cluster.browser();
    owner
        .on(2)
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
    let target = create_target(&owner.on(0), "Fleet", &pg_connector(&roles, "1")).await;
    allow(&owner.on(1), target, OWNER_EMAIL).await;
    let accounts = create_shared_accounts(&owner, target, &roles.roles, INITIAL_PASSWORD).await;
    eprintln!("{N} accounts ready after {:?}", started.elapsed());

    let checked_out = Instant::now();
    check_out_all(&owner, &accounts).await;
    eprintln!("{N} check-outs made in {:?}", checked_out.elapsed());
    assert_eq!(cluster.unsettled(&accounts), (0, N as i64));

    // They expire together about a minute later; once the resets are under way, one instance
    // is killed wherever it is (in a reset, an expiry, a request).
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        if !cluster.audit_counts("account.reset").is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no reset began:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first_reset = checked_out.elapsed();
    cluster.instances[0].kill();
    let resets_at_kill = cluster.audit_counts("account.reset").len();
    let (resetting, _) = cluster.unsettled(&accounts);
    eprintln!(
        "first reset {first_reset:?} after the first check-out; killed instance 0 with {resets_at_kill} reset(s) done and {resetting} account(s) not yet Available"
    );

    let took = cluster.settle(&accounts, Duration::from_secs(120)).await;
    eprintln!("all {N} Available {took:?} after the kill");
    let expired = cluster.audit_counts("checkout.expire");
    assert!(
        accounts.iter().all(|a| expired.get(a) == Some(&1)),
        "each check-out expired once"
    );
    assert_each_reset_once(&cluster, &roles, &accounts, 1).await;
    // The killed instance may have died in the middle of an attempt; the survivors never failed.
    let survivors: String = cluster.instances[1..]
        .iter()
        .map(Instance::log_text)
        .collect();
    assert!(
        !survivors.contains("password reset failed"),
        "{}",
        survivors
            .lines()
            .filter(|l| l.contains("password reset failed"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "two_hundred_expiries_are_reset_once_even_when_an_instance_dies took {:?}",
        started.elapsed()
    );
}

/// SIGTERM while resets run: the instance stops taking requests, finishes or hands back its
/// jobs, and exits 0 within seconds; the other instance finishes whatever is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_cleanly_and_hands_its_work_on() {
    const N: usize = 30;
    let Some(server) = postgres("scale::sigterm_exits_cleanly_and_hands_its_work_on") else {
        return;
    };
    let started = Instant::now();
    let roles = PgRoles::create(&server, N);
    let mut cluster = Cluster::start(&server, 2).await;
    cluster.setup();
    let owner = cluster.browser();
    owner
        .on(1)
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
    let target = create_target(&owner.on(0), "Fleet", &pg_connector(&roles, "60")).await;
    allow(&owner.on(1), target, OWNER_EMAIL).await;
    let accounts = create_shared_accounts(&owner, target, &roles.roles, INITIAL_PASSWORD).await;
    let checkouts = check_out_all(&owner, &accounts).await;

    // Everything is checked in on instance 0, which queues the resets; then it is told to stop
    // while they run.
    let token = owner.on(0).get("/").await.csrf();
    let handles: Vec<_> = checkouts
        .iter()
        .map(|&checkout| {
            let browser = owner.on(0);
            let token = token.clone();
            tokio::spawn(async move {
                browser
                    .post(
                        &format!("/checkouts/{checkout}/checkin"),
                        &[("csrf_token", &token)],
                    )
                    .await
                    .status
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let stopping = Instant::now();
    cluster.instances[0].terminate();
    let status = cluster.instances[0].wait_exit(Duration::from_secs(15));
    let stopped_in = stopping.elapsed();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "exit after SIGTERM (after {stopped_in:?}):\n{}",
        cluster.instances[0].log_text()
    );
    eprintln!("instance 0 exited 0, {stopped_in:?} after SIGTERM");
    let stop_log = cluster.instances[0].log_text();
    assert!(
        [
            "handing back the worker's jobs",
            "the job worker stopped with an error",
            "the job worker failed",
            "the sweep stopped with an error"
        ]
        .iter()
        .all(|bad| !stop_log.contains(bad)),
        "the job worker stopped cleanly and could hand its jobs back:\n{stop_log}"
    );
    // Jobs that were running finish first; alone it takes well under a second, on two busy
    // cores (the whole suite) several.
    assert!(
        stopped_in < Duration::from_secs(10),
        "SIGTERM took {stopped_in:?}:\n{}",
        cluster.instances[0].log_text()
    );
    // It no longer answers; the other instance does, with the same session.
    assert!(
        reqwest::get(format!("{}/healthz", cluster.instances[0].base))
            .await
            .is_err()
    );
    let page = owner.on(1).get(&format!("/apps/{target}")).await;
    assert_eq!(page.status, StatusCode::OK);

    // Nothing it had taken stays stuck: the jobs were finished or handed back (orphan recovery
    // would take 30 s), and every reset is done once.
    let took = cluster.settle(&accounts, Duration::from_secs(60)).await;
    eprintln!("all {N} Available {took:?} after the stop");
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.jobs_held() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} job(s) still held by a worker:\n{}\n--- instance 0:\n{}",
            cluster.jobs_held(),
            cluster.jobs_held_detail(),
            cluster.instances[0].log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_each_reset_once(&cluster, &roles, &accounts, 1).await;
    assert_no_failed_attempts(&cluster);
    eprintln!(
        "sigterm_exits_cleanly_and_hands_its_work_on took {:?}",
        started.elapsed()
    );
}
