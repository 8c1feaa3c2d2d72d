//! Statement timing: every statement slower than `SLOW` is logged at `warn` (target
//! `keyholder::sql`), and with `KEYHOLDER_LOG=keyholder::sql=debug` every statement is logged
//! with its duration. Only the SQL text is written, never the bound values (they can hold
//! ciphertexts and password hashes).
//!
//! Waits for a connection are timed too ([`PoolLog`]): a slow statement and a slow wait for the
//! pool point to different fixes (the query or the database's cores, against the pool's size or
//! the work holding its connections).

use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::r2d2::HandleEvent;
use diesel::r2d2::event::{CheckoutEvent, TimeoutEvent};

const SLOW: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct SqlLog {
    started: Option<Instant>,
}

impl Instrumentation for SqlLog {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let Some(started) = self.started.take() else {
                    return;
                };
                let elapsed = started.elapsed();
                let slow = elapsed >= SLOW;
                if !slow && !tracing::enabled!(target: "keyholder::sql", tracing::Level::DEBUG) {
                    return;
                }
                let text = query.to_string();
                let sql = text.split(" -- binds:").next().unwrap_or_default();
                let ms = elapsed.as_secs_f64() * 1000.0;
                if slow {
                    tracing::warn!(target: "keyholder::sql", ms, failed = error.is_some(), sql, "slow statement");
                } else {
                    tracing::debug!(target: "keyholder::sql", ms, failed = error.is_some(), sql);
                }
            }
            _ => {}
        }
    }
}

/// Logs, at `warn`, every wait of `SLOW` or more for one of the pool's `size` connections, and
/// at `error` every wait that gave up.
#[derive(Debug)]
pub struct PoolLog {
    pub size: u32,
}

impl HandleEvent for PoolLog {
    fn handle_checkout(&self, event: CheckoutEvent) {
        let waited = event.duration();
        if waited >= SLOW {
            let ms = waited.as_secs_f64() * 1000.0;
            tracing::warn!(
                target: "keyholder::sql",
                ms,
                pool_size = self.size,
                "slow wait for a database connection: all of the pool's connections were busy"
            );
        }
    }

    fn handle_timeout(&self, event: TimeoutEvent) {
        tracing::error!(
            target: "keyholder::sql",
            seconds = event.timeout().as_secs_f64(),
            pool_size = self.size,
            "no database connection came free in time: all of the pool's connections stayed busy"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use crate::db::{Database, DatabaseUrl};

    /// What the log subscriber writes, kept for the test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_long_wait_for_a_connection_is_logged_a_short_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&DatabaseUrl::sqlite_file(dir.path().join("pool.db")), 1).unwrap();
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // The only connection is free: no wait.
            drop(db.get().unwrap());
            assert!(captured.0.lock().unwrap().is_empty());
            // Held elsewhere for 400 ms: the next one waits for it.
            let held = db.get().unwrap();
            let holder = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(400));
                drop(held);
            });
            drop(db.get().unwrap());
            holder.join().unwrap();
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("slow wait for a database connection") && text.contains("pool_size=1"),
            "{text}"
        );
    }
}
