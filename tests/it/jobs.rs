//! The job worker lives through failures of its queue: it is restarted, under a new name,
//! once the queue answers again.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use crate::helpers::{Engine, TestApp, engine_tests, spawn_app_with};

engine_tests!(
    the_job_worker_is_restarted_after_its_queue_failed,
    finished_jobs_leave_the_queue_after_a_week,
);

/// A direct connection to the instance's job queue: the jobs file beside a SQLite database, the
/// `apalis` schema of a PostgreSQL one.
pub enum Queue {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

#[derive(diesel::QueryableByName)]
struct WorkerRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

#[derive(diesel::QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
}

impl Queue {
    pub fn open(app: &TestApp) -> Queue {
        if app.database_url.starts_with("sqlite://") {
            let path = app.data_dir.join("keyholder-jobs.db");
            let mut conn = diesel::SqliteConnection::establish(&path.display().to_string())
                .expect("the jobs file opens");
            conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
            Queue::Sqlite(conn)
        } else {
            Queue::Postgres(
                diesel::PgConnection::establish(&app.database_url).expect("the database opens"),
            )
        }
    }

    fn execute(&mut self, sqlite: &str, postgres: &str) {
        match self {
            Queue::Sqlite(conn) => conn.batch_execute(sqlite).unwrap(),
            Queue::Postgres(conn) => conn.batch_execute(postgres).unwrap(),
        }
    }

    /// Statuses of the jobs queued under `key` (a check-out's expiry job is
    /// `expire-checkout-<id>`).
    pub fn statuses_of(&mut self, key: &str) -> Vec<String> {
        use diesel::sql_types::Text;
        let rows: Vec<StatusRow> = match self {
            Queue::Sqlite(conn) => {
                diesel::sql_query("SELECT status FROM Jobs WHERE idempotency_key = ?")
                    .bind::<Text, _>(key)
                    .load(conn)
                    .unwrap()
            }
            Queue::Postgres(conn) => {
                diesel::sql_query("SELECT status FROM apalis.jobs WHERE idempotency_key = $1")
                    .bind::<Text, _>(key)
                    .load(conn)
                    .unwrap()
            }
        };
        rows.into_iter().map(|r| r.status).collect()
    }

    /// Waits (up to 10 s) until nothing is queued under `key`.
    pub async fn wait_until_gone(&mut self, key: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let statuses = self.statuses_of(key);
            if statuses.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: {key} is {statuses:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Statuses of every job in the queue, sorted.
    pub fn statuses(&mut self) -> Vec<String> {
        let rows: Vec<StatusRow> = match self {
            Queue::Sqlite(conn) => diesel::sql_query("SELECT status FROM Jobs ORDER BY status")
                .load(conn)
                .unwrap(),
            Queue::Postgres(conn) => {
                diesel::sql_query("SELECT status FROM apalis.jobs ORDER BY status")
                    .load(conn)
                    .unwrap()
            }
        };
        rows.into_iter().map(|r| r.status).collect()
    }

    /// Moves the end of every finished job `days` into the past.
    pub fn age_finished_jobs(&mut self, days: i64) {
        use diesel::sql_types::BigInt;
        match self {
            Queue::Sqlite(conn) => diesel::sql_query(
                "UPDATE Jobs SET done_at = done_at - ? * 86400 WHERE done_at IS NOT NULL",
            )
            .bind::<BigInt, _>(days)
            .execute(conn)
            .unwrap(),
            Queue::Postgres(conn) => diesel::sql_query(
                "UPDATE apalis.jobs SET done_at = done_at - make_interval(days => $1::int) \
                 WHERE done_at IS NOT NULL",
            )
            .bind::<BigInt, _>(days)
            .execute(conn)
            .unwrap(),
        };
    }

    /// Names of the job workers that registered with the queue.
    fn workers(&mut self) -> Vec<String> {
        let rows: Vec<WorkerRow> = match self {
            Queue::Sqlite(conn) => diesel::sql_query("SELECT id FROM Workers ORDER BY id")
                .load(conn)
                .unwrap(),
            Queue::Postgres(conn) => diesel::sql_query("SELECT id FROM apalis.workers ORDER BY id")
                .load(conn)
                .unwrap(),
        };
        rows.into_iter()
            .map(|r| r.id)
            .filter(|id| id.starts_with("keyholder-jobs-"))
            .collect()
    }

    async fn wait_for_workers(&mut self, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let workers = self.workers();
            if done(&workers) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}; workers: {workers:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn the_job_worker_is_restarted_after_its_queue_failed(engine: Engine) {
    let app = spawn_app_with(&engine, &[("KEYHOLDER_JOB_POLL_MS", "50")]).await;
    let mut queue = Queue::open(&app);
    queue
        .wait_for_workers("the job worker registers", |w| w.len() == 1)
        .await;

    // The queue's table goes away: the worker's next fetch fails, and so do its restarts.
    queue.execute(
        "ALTER TABLE Jobs RENAME TO JobsAway",
        "ALTER TABLE apalis.jobs RENAME TO jobs_away",
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    queue.execute(
        "ALTER TABLE JobsAway RENAME TO Jobs",
        "ALTER TABLE apalis.jobs_away RENAME TO jobs",
    );

    // Once the queue answers again, the worker runs again under a name of its own…
    queue
        .wait_for_workers("the job worker is restarted", |w| {
            w.iter().any(|name| name.contains("-restart-"))
        })
        .await;
    // …and stays up: no further restart follows.
    let settled = queue.workers();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        queue.workers(),
        settled,
        "the restarted worker keeps running"
    );
    app.handle.stop(true).await;
}

/// A sent email's job stays in the queue for a week, to look into, and is deleted by the sweep
/// once it finished more than seven days ago.
async fn finished_jobs_leave_the_queue_after_a_week(engine: Engine) {
    let cast = crate::requests::cast(&engine, None).await;
    let mut queue = Queue::open(&cast.app);
    crate::requests::press_request_credentials(&cast.admin, cast.target, cast.account)
        .await
        .assert_redirects_to(&format!("/apps/{}/credentials", cast.target));
    // The owner's email is sent by a job.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !queue.statuses().iter().any(|s| s == "Done") {
        assert!(
            Instant::now() < deadline,
            "the email's job finishes; queue: {:?}",
            queue.statuses()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let finished = queue.statuses();
    assert!(
        finished.iter().all(|s| s == "Done"),
        "every job finished: {finished:?}"
    );

    // Six days on, the sweep (every second) keeps them…
    queue.age_finished_jobs(6);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(queue.statuses(), finished, "kept for a week");

    // …eight days on, it deletes them.
    queue.age_finished_jobs(2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !queue.statuses().is_empty() {
        assert!(
            Instant::now() < deadline,
            "finished jobs deleted after a week; queue: {:?}",
            queue.statuses()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cast.app.handle.stop(true).await;
}
