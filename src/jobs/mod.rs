//! Background work with apalis, in the same process as the web server: one queue of jobs in the
//! job storage of the installation's engine (a SQLite file beside the database, or the `apalis`
//! schema of the PostgreSQL database, shared by every instance), and a cron sweep.
//!
//! Jobs are accelerators, the database is the truth: every job is idempotent (the queue delivers
//! at least once), and the sweep finds anything due that no job covered — for instance
//! everything that fell due while the server was down.

mod expire_checkout;
mod reset_password;
mod send_email;
mod sweep;

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use apalis::prelude::*;
use apalis_cron::CronScheduler;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

pub use expire_checkout::ExpireCheckout;
pub use reset_password::ResetPassword;
pub use send_email::{
    SendEmail, backoff as email_backoff, enqueue as enqueue_emails, send_now as send_email_now,
};
pub use sweep::{SweepReport, sweep_once};

use crate::config::Config;
use crate::db::DatabaseUrl;
use crate::state::AppState;

pub const QUEUE: &str = "keyholder::jobs";

/// Every kind of job, in one queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Job {
    ExpireCheckout(ExpireCheckout),
    ResetPassword(ResetPassword),
    SendEmail(SendEmail),
}

/// Where jobs are pushed. Cheap to clone.
///
/// The queue's connections belong to the runtime that opened it (the server's main runtime,
/// where the job worker runs), and every push runs there too. Requests are served on the web
/// server's own per-thread runtimes, which stop first on shutdown: a connection opened from one
/// of them would die with it, and the job worker, still handing its last jobs back, would find
/// the pool full of dead connections.
#[derive(Clone)]
pub struct JobQueue {
    storage: Storage,
    runtime: tokio::runtime::Handle,
    /// Check-outs ended early, whose expiry jobs the withdrawing task deletes.
    withdrawals: tokio::sync::mpsc::UnboundedSender<i64>,
}

#[derive(Clone)]
enum Storage {
    Sqlite {
        storage: apalis_sqlite::SqliteStorage<Job>,
        /// This process's writes to the jobs file (queuing, withdrawing, pruning) take turns
        /// here: a writer that finds the file locked would sleep in SQLite's busy handler (1,
        /// 2, 5, 10 ms…) however soon the lock is free. The job worker's own writes still meet
        /// the lock itself.
        turns: Arc<tokio::sync::Mutex<()>>,
    },
    Postgres(apalis_postgres::PostgresStorage<Job>),
}

impl JobQueue {
    /// Connects to the job storage of the installation's engine and creates its tables. Call it
    /// on the runtime the job worker will run on.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let storage = Self::open_storage(config).await?;
        let (withdrawals, asked) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(withdraw_in_batches(storage.clone(), asked));
        Ok(Self {
            storage,
            runtime: tokio::runtime::Handle::current(),
            withdrawals,
        })
    }

    async fn open_storage(config: &Config) -> anyhow::Result<Storage> {
        let url = &config.database;
        match url.sqlite_path() {
            Some(path) => {
                let jobs_file = jobs_file_beside(path);
                let pool = apalis_sqlite::SqlitePool::connect(&format!(
                    "sqlite://{}?mode=rwc",
                    jobs_file.display()
                ))
                .await
                .with_context(|| format!("opening the job queue {}", jobs_file.display()))?;
                apalis_sqlite::SqliteStorage::setup(&pool)
                    .await
                    .context("creating the job queue tables")?;
                let storage =
                    apalis_sqlite::SqliteStorage::new(&pool).with_config(storage_config_sqlite());
                Ok(Storage::Sqlite {
                    storage,
                    turns: Arc::default(),
                })
            }
            None => {
                let pool = apalis_postgres::PgPool::connect(url.as_str())
                    .await
                    .context("connecting the job queue to PostgreSQL")?;
                apalis_postgres::PostgresStorage::setup(&pool)
                    .await
                    .context("creating the job queue tables in PostgreSQL")?;
                index_finished_jobs_pg(&pool)
                    .await
                    .context("indexing the job queue's finished jobs")?;
                let storage =
                    apalis_postgres::PostgresStorage::new(&pool).with_config(storage_config_pg());
                Ok(Storage::Postgres(storage))
            }
        }
    }

    /// Pushes a job to run after `delay` (at once when zero). The queue counts in whole
    /// seconds, so the delay is rounded up: a job never runs before its time.
    pub async fn push(&self, job: Job, delay: Duration) -> anyhow::Result<()> {
        let at = std::time::SystemTime::now() + delay;
        let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let run_at = since.as_secs() + u64::from(since.subsec_nanos() > 0);
        let key = job.key();
        let mut task = TaskBuilder::new(job)
            .run_at_timestamp(run_at)
            .max_attempts(3);
        if let Some(key) = key {
            task = task.idempotency_key(key);
        }
        let task = task.build();
        let storage = self.storage.clone();
        self.runtime
            .spawn(async move { storage.push(task).await })
            .await
            .context("pushing a job: the job runtime has stopped")?
    }

    /// Withdraws the expiry job of a check-out that ended before its time, if it is still
    /// waiting: otherwise it would run at the end time only to find the check-out ended. Done
    /// in the background, moments later; nothing waits for it. A job a worker has already
    /// taken, or one the withdrawal misses (it failed, the server stopped first), runs and does
    /// just that.
    pub fn withdraw_expiry(&self, checkout_id: i64) {
        // Fails only once the withdrawing task has stopped, on shutdown.
        let _ = self.withdrawals.send(checkout_id);
    }

    /// Deletes up to `batch` jobs that finished (done, or failed for the last time) more than
    /// `kept` ago, by the queue database's clock. Returns how many it deleted.
    pub async fn prune_finished(&self, kept: Duration, batch: i64) -> anyhow::Result<u64> {
        let storage = self.storage.clone();
        self.runtime
            .spawn(async move { storage.prune_finished(kept, batch).await })
            .await
            .context("pruning finished jobs: the job runtime has stopped")?
            .context("pruning finished jobs")
    }

    /// Pushes a job for `at` (in the application's clock), logging instead of failing: the sweep
    /// covers any job that could not be queued.
    pub async fn schedule(&self, state: &AppState, job: Job, at: NaiveDateTime) {
        let now = state.clock.now_naive();
        let delay = (at - now).to_std().unwrap_or(Duration::ZERO);
        if let Err(error) = self.push(job, delay).await {
            tracing::warn!(error = %error, "could not queue a job; the sweep will cover it");
        }
    }
}

/// Deletes the expiry jobs of check-outs ended early, in one statement for whatever was asked
/// within a tenth of a second of the first: a busy hour's check-ins cost the queue ten writes
/// a second, not one each. (The jobs are due at the check-outs' end times, minutes away; one
/// due sooner runs and finds its check-out ended.)
async fn withdraw_in_batches(
    storage: Storage,
    mut asked: tokio::sync::mpsc::UnboundedReceiver<i64>,
) {
    const MOST: usize = 1000;
    const GATHER: Duration = Duration::from_millis(100);
    let mut batch = Vec::with_capacity(MOST);
    while asked.recv_many(&mut batch, MOST).await > 0 {
        tokio::time::sleep(GATHER).await;
        while batch.len() < MOST {
            match asked.try_recv() {
                Ok(id) => batch.push(id),
                Err(_) => break,
            }
        }
        let keys: Vec<String> = batch.drain(..).map(expiry_key).collect();
        match storage.withdraw(&keys).await {
            Ok(withdrawn) => {
                tracing::debug!(asked = keys.len(), withdrawn, "expiry jobs withdrawn")
            }
            Err(error) => tracing::warn!(
                asked = keys.len(),
                error = %error,
                "withdrawing expiry jobs; they run at their time and find their check-outs ended"
            ),
        }
    }
}

impl Job {
    /// The key under which the queue holds a job that may be withdrawn before it runs; the
    /// queue takes one job per key.
    fn key(&self) -> Option<String> {
        match self {
            Job::ExpireCheckout(job) => Some(expiry_key(job.checkout_id)),
            Job::ResetPassword(_) | Job::SendEmail(_) => None,
        }
    }
}

fn expiry_key(checkout_id: i64) -> String {
    format!("expire-checkout-{checkout_id}")
}

/// The queue's writes, each taking its turn on SQLite; beside apalis's own, Keyholder's
/// statements on the queue's tables: a job waiting for its time is never handed to a worker
/// once it is deleted, and finished jobs are only history.
impl Storage {
    /// On SQLite, waits for this process's turn to write to the jobs file.
    async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self {
            Storage::Sqlite { turns, .. } => Some(turns.lock().await),
            Storage::Postgres(_) => None,
        }
    }

    async fn push(&self, task: Task<Job>) -> anyhow::Result<()> {
        let _turn = self.turn().await;
        match self.clone() {
            Storage::Sqlite { mut storage, .. } => storage
                .push_task(task)
                .await
                .map_err(|e| anyhow::anyhow!("pushing a job: {e}")),
            Storage::Postgres(mut storage) => storage
                .push_task(task)
                .await
                .map_err(|e| anyhow::anyhow!("pushing a job: {e}")),
        }
    }

    async fn withdraw(&self, keys: &[String]) -> Result<u64, sqlx::Error> {
        let _turn = self.turn().await;
        let done = match self {
            Storage::Sqlite { storage, .. } => {
                // `+status`: the unique index on (job_type, idempotency_key) finds the jobs;
                // without the `+`, SQLite would walk every waiting job through the index on
                // (job_type, status, run_at).
                let keys = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
                sqlx::query(
                    "DELETE FROM Jobs WHERE job_type = ?1 \
                     AND idempotency_key IN (SELECT value FROM json_each(?2)) \
                     AND +status = 'Pending' AND lock_by IS NULL",
                )
                .bind(QUEUE)
                .bind(keys)
                .execute(storage.pool())
                .await?
                .rows_affected()
            }
            Storage::Postgres(storage) => sqlx::query(
                "DELETE FROM apalis.jobs WHERE job_type = $1 AND idempotency_key = ANY($2) \
                     AND status = 'Pending' AND lock_by IS NULL",
            )
            .bind(QUEUE)
            .bind(keys)
            .execute(storage.pool())
            .await?
            .rows_affected(),
        };
        Ok(done)
    }

    /// In batches, so a long backlog never holds the queue's writer for long. Failed jobs
    /// with attempts left are waiting for their retry, not finished.
    async fn prune_finished(&self, kept: Duration, batch: i64) -> Result<u64, sqlx::Error> {
        let _turn = self.turn().await;
        let done = match self {
            Storage::Sqlite { storage, .. } => {
                // `done_at` is in Unix seconds; the terms on status and done_at match the
                // partial index apalis keeps on finished jobs.
                sqlx::query(
                    "DELETE FROM Jobs WHERE rowid IN (SELECT rowid FROM Jobs \
                     WHERE status IN ('Done', 'Failed', 'Killed') AND done_at IS NOT NULL \
                     AND done_at < CAST(strftime('%s', 'now') AS INTEGER) - ?1 \
                     AND (status <> 'Failed' OR attempts >= max_attempts) LIMIT ?2)",
                )
                .bind(i64::try_from(kept.as_secs()).unwrap_or(i64::MAX))
                .bind(batch)
                .execute(storage.pool())
                .await?
                .rows_affected()
            }
            Storage::Postgres(storage) => sqlx::query(
                "DELETE FROM apalis.jobs WHERE id IN (SELECT id FROM apalis.jobs \
                     WHERE status IN ('Done', 'Failed', 'Killed') \
                     AND done_at < NOW() - make_interval(secs => $1) \
                     AND (status <> 'Failed' OR attempts >= max_attempts) LIMIT $2)",
            )
            .bind(kept.as_secs_f64())
            .bind(batch)
            .execute(storage.pool())
            .await?
            .rows_affected(),
        };
        Ok(done)
    }
}

/// apalis keeps no index on when a job finished on PostgreSQL; the sweep's pruning needs one,
/// or it would read the whole table every second. Instances starting together create it
/// once: the advisory lock makes the second wait for the first.
async fn index_finished_jobs_pg(pool: &apalis_postgres::PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('keyholder_jobs_finished'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "CREATE INDEX IF NOT EXISTS keyholder_jobs_finished ON apalis.jobs (done_at) \
         WHERE status IN ('Done', 'Failed', 'Killed')",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

fn storage_config_sqlite() -> apalis_sqlite::Config {
    apalis_sqlite::Config::default().queue(QUEUE)
}

/// Every instance's worker beats every 10 s; a worker silent for 30 s is dead (killed, or its
/// machine gone) and the jobs it had taken go back to the queue for the living ones. (The
/// library's default waits five minutes; the sweep covers resets and expiries sooner anyway.)
fn storage_config_pg() -> apalis_postgres::Config {
    apalis_postgres::Config::default()
        .queue(QUEUE)
        .heartbeat_interval(Duration::from_secs(10))
        .missed_heartbeats(3)
}

/// The job worker's name, unique to this process: the queue records which worker holds a job
/// under this name, so two instances sharing the queue must never use the same one (apalis
/// refuses to register a second live worker with a taken name, and could not tell whose jobs
/// were orphaned).
fn worker_name() -> String {
    format!(
        "keyholder-jobs-{}-{}",
        std::process::id(),
        crate::security::tokens::random_token(6)
    )
}

/// `data/keyholder.db` → `data/keyholder-jobs.db`.
pub fn jobs_file_beside(database: &std::path::Path) -> std::path::PathBuf {
    let stem = database
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keyholder".into());
    database.with_file_name(format!("{stem}-jobs.db"))
}

async fn run_job(job: Job, state: Data<Arc<AppState>>) -> Result<(), BoxDynError> {
    let state: Arc<AppState> = (*state).clone();
    match job {
        Job::ExpireCheckout(job) => job.run(state).await,
        Job::ResetPassword(job) => job.run(state).await,
        Job::SendEmail(job) => job.run(state).await,
    }
    .map_err(|e| -> BoxDynError { e.into() })
}

async fn run_sweep(
    _tick: apalis_cron::Tick,
    state: Data<Arc<AppState>>,
) -> Result<(), BoxDynError> {
    let state: Arc<AppState> = (*state).clone();
    sweep::run(state)
        .await
        .map_err(|e| -> BoxDynError { e.into() })
}

/// Wakes the job worker every `period`. apalis 1.0's own `poll_with_interval` arms the next
/// timer after a tick without polling it, so when a fetch completes within the same poll the
/// worker can sleep until the 30 s heartbeat and scheduled jobs run late; this one re-arms
/// until its timer is pending, which registers the wake-up.
struct PollEvery {
    period: Duration,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl PollEvery {
    fn new(period: Duration) -> Self {
        Self {
            period: period.max(Duration::from_millis(1)),
            sleep: None,
        }
    }
}

impl apalis_core::backend::ext::poll_strategy::PollStrategy for PollEvery {
    fn poll_drive(
        &mut self,
        cx: &mut std::task::Context<'_>,
        _: &apalis_core::backend::ext::poll_strategy::PollSnapshot,
    ) -> std::task::Poll<Option<()>> {
        use std::future::Future;
        let period = self.period;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(period)));
        let mut fired = false;
        while sleep.as_mut().poll(cx).is_ready() {
            fired = true;
            sleep.as_mut().reset(tokio::time::Instant::now() + period);
        }
        if fired {
            std::task::Poll::Ready(Some(()))
        } else {
            std::task::Poll::Pending
        }
    }
}

/// The running workers; `stop` ends them after the web server has stopped.
pub struct Workers {
    sweep: MonitorContext,
    sweep_handle: tokio::task::JoinHandle<Result<(), MonitorError>>,
    jobs: Arc<JobWorker>,
    jobs_handle: tokio::task::JoinHandle<()>,
    state: Arc<AppState>,
}

impl Workers {
    pub async fn stop(self) {
        self.jobs.stop();
        if let Err(error) = self.sweep.shutdown() {
            tracing::warn!(error = %error, "stopping the sweep");
        }
        if let Err(error) = self.jobs_handle.await {
            tracing::warn!(error = %error, "job worker task failed");
        }
        match self.sweep_handle.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(error = %error, "the sweep stopped with an error"),
            Err(error) => tracing::warn!(error = %error, "sweep task failed"),
        }
        let names = self
            .jobs
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for name in names {
            match hand_back(&self.state, name).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "handed back jobs the worker held at its stop"),
                Err(error) => tracing::warn!(error = %error, "handing back the worker's jobs"),
            }
        }
    }
}

/// The job worker's supervisor state, shared with `Workers::stop`.
struct JobWorker {
    /// The running monitor's context, and whether the instance is stopping: under one lock, so
    /// a stop never misses a run that is just starting.
    run: Mutex<(Option<MonitorContext>, bool)>,
    /// Wakes the supervisor from its wait before a restart.
    stopped: tokio::sync::Notify,
    /// Every name the worker ran under (a restarted worker takes a new one).
    names: Mutex<Vec<String>>,
}

impl JobWorker {
    fn stop(&self) {
        let mut run = self.run.lock().unwrap_or_else(PoisonError::into_inner);
        run.1 = true;
        if let Some(context) = &run.0
            && let Err(error) = context.shutdown()
        {
            tracing::warn!(error = %error, "stopping the job worker");
        }
        self.stopped.notify_one();
    }
}

/// The wait before the job worker's first restart; it doubles with each failure in a row, up to
/// [`RESTART_WAIT_MAX`], and starts again from here once a run has lasted a minute.
const RESTART_WAIT: Duration = Duration::from_secs(1);
const RESTART_WAIT_MAX: Duration = Duration::from_secs(30);

/// Runs the job worker until the instance stops. apalis ends a worker on any error of its
/// backend (PostgreSQL briefly unreachable, the jobs file locked past the busy timeout), and
/// its monitor restarts a worker at once or never; this one restarts it after a wait that grows
/// while the failures go on, so an outage neither stops the jobs for good nor spins. Meanwhile
/// the sweep handles what falls due.
async fn supervise(
    worker: Arc<JobWorker>,
    state: Arc<AppState>,
    base_name: String,
    poll: Duration,
) {
    let mut wait = RESTART_WAIT;
    for run_number in 0usize.. {
        // Each run has a name of its own: jobs a failed run still held are taken back by
        // apalis once that name's heartbeat stops, instead of staying locked by a live name.
        let name = if run_number == 0 {
            base_name.clone()
        } else {
            format!("{base_name}-restart-{run_number}")
        };
        let monitor = job_monitor(&state, name.clone(), poll);
        {
            let mut run = worker.run.lock().unwrap_or_else(PoisonError::into_inner);
            if run.1 {
                return;
            }
            run.0 = Some(monitor.context());
            worker
                .names
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(name.clone());
        }
        let started = tokio::time::Instant::now();
        let result = monitor.run().await;
        let stopping = {
            let mut run = worker.run.lock().unwrap_or_else(PoisonError::into_inner);
            run.0 = None;
            run.1
        };
        match result {
            Ok(()) if stopping => return,
            Ok(()) => tracing::warn!(worker = %name, "the job worker stopped by itself"),
            Err(error) if stopping => {
                tracing::warn!(worker = %name, error = %error, "the job worker stopped with an error");
                return;
            }
            Err(error) => tracing::warn!(worker = %name, error = %error, "the job worker failed"),
        }
        if started.elapsed() > Duration::from_secs(60) {
            wait = RESTART_WAIT;
        }
        tracing::warn!(
            wait_ms = wait.as_millis() as u64,
            "restarting the job worker after a wait; the sweep handles what falls due meanwhile"
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = worker.stopped.notified() => return,
        }
        wait = (wait * 2).min(RESTART_WAIT_MAX);
    }
}

/// One run of the job worker, under its own monitor.
fn job_monitor(state: &Arc<AppState>, name: String, poll: Duration) -> Monitor {
    let concurrency = 4;
    let worker_state = state.clone();
    let monitor = Monitor::new();
    let monitor = match state.jobs.storage.clone() {
        Storage::Sqlite { storage, .. } => monitor.register(move |_restarts| {
            WorkerBuilder::new(name.clone())
                .backend(storage.clone().poll_with_strategy(PollEvery::new(poll)))
                .data(worker_state.clone())
                .concurrency(concurrency)
                .build(run_job)
        }),
        Storage::Postgres(storage) => monitor.register(move |_restarts| {
            WorkerBuilder::new(name.clone())
                .backend(storage.clone().poll_with_strategy(PollEvery::new(poll)))
                .data(worker_state.clone())
                .concurrency(concurrency)
                .build(run_job)
        }),
    };
    monitor.shutdown_timeout(Duration::from_secs(20))
}

/// Puts back in the queue whatever the stopped worker still holds. apalis hands back the jobs
/// it had fetched and not started, but a fetch still in flight when the stop came is dropped
/// after the database has committed it: its jobs stay taken by a worker that no longer runs,
/// until other instances declare it dead (30 s). The worker has stopped, so nothing it holds
/// is running any more; a job whose end was not recorded runs again (every job is idempotent).
async fn hand_back(state: &Arc<AppState>, worker: String) -> anyhow::Result<usize> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    match state.config.database.sqlite_path() {
        None => {
            let released = state
                .db
                .run(move |conn| {
                    diesel::sql_query(
                        "UPDATE apalis.jobs SET status = 'Pending', lock_by = NULL, \
                         lock_at = NULL, done_at = NULL \
                         WHERE lock_by = $1 AND status IN ('Queued', 'Running')",
                    )
                    .bind::<Text, _>(worker)
                    .execute(conn)
                    .map_err(anyhow::Error::from)
                })
                .await?;
            Ok(released)
        }
        Some(path) => {
            let jobs_file = jobs_file_beside(path);
            let released = tokio::task::spawn_blocking(move || {
                use diesel::Connection;
                use diesel::connection::SimpleConnection;
                let mut conn = diesel::SqliteConnection::establish(&jobs_file.to_string_lossy())?;
                conn.batch_execute("PRAGMA busy_timeout = 5000")?;
                let released = diesel::sql_query(
                    "UPDATE Jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL, \
                     done_at = NULL WHERE lock_by = ? AND status IN ('Queued', 'Running')",
                )
                .bind::<Text, _>(worker)
                .execute(&mut conn)?;
                Ok::<_, anyhow::Error>(released)
            })
            .await??;
            Ok(released)
        }
    }
}

/// Starts the job worker and the sweep beside the web server.
pub fn start(state: Arc<AppState>) -> anyhow::Result<Workers> {
    let poll = state.config.job_poll_interval;
    let sweep_every = state.config.sweep_interval.as_secs().clamp(1, 59);
    let schedule = cron::Schedule::from_str(&format!("*/{sweep_every} * * * * *"))
        .context("the sweep schedule")?;
    let base_name = worker_name();
    tracing::info!(worker = %base_name, "job worker starting");
    let jobs = Arc::new(JobWorker {
        run: Mutex::new((None, false)),
        stopped: tokio::sync::Notify::new(),
        names: Mutex::new(Vec::new()),
    });
    let jobs_handle = tokio::spawn(supervise(jobs.clone(), state.clone(), base_name, poll));
    let sweep_state = state.clone();
    let sweep = Monitor::new()
        .register(move |_restarts| {
            WorkerBuilder::new("keyholder-sweep")
                .backend(CronScheduler::new(schedule.clone()))
                .data(sweep_state.clone())
                .build(run_sweep)
        })
        .shutdown_timeout(Duration::from_secs(20));
    let context = sweep.context();
    let sweep_handle = tokio::spawn(sweep.run());
    Ok(Workers {
        sweep: context,
        sweep_handle,
        jobs,
        jobs_handle,
        state,
    })
}

/// Whether a database URL keeps its jobs in a SQLite file.
pub fn is_sqlite(url: &DatabaseUrl) -> bool {
    url.is_sqlite()
}
