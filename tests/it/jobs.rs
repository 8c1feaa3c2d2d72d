//! The job worker lives through failures of its queue: it is restarted, under a new name,
//! once the queue answers again.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use crate::helpers::{Engine, TestApp, engine_tests, spawn_app_with};

engine_tests!(the_job_worker_is_restarted_after_its_queue_failed);

/// A direct connection to the instance's job queue: the jobs file beside a SQLite database, the
/// `apalis` schema of a PostgreSQL one.
enum Queue {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

#[derive(diesel::QueryableByName)]
struct WorkerRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

impl Queue {
    fn open(app: &TestApp) -> Queue {
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
