//! Statement timing: every statement slower than `SLOW` is logged at `warn` (target
//! `keyholder::sql`), and with `KEYHOLDER_LOG=keyholder::sql=debug` every statement is logged
//! with its duration. Only the SQL text is written, never the bound values (they can hold
//! ciphertexts and password hashes).

use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};

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
