//! The one place Keyholder asks what time it is, so tests can move time forward.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The current time as stored in the database (UTC, microsecond precision).
    fn now_naive(&self) -> NaiveDateTime {
        let now = self.now().naive_utc();
        // Both engines keep microseconds; trimming here keeps values read back equal.
        now.with_nanosecond((now.and_utc().timestamp_subsec_micros()) * 1000)
            .unwrap_or(now)
    }
}

use chrono::Timelike;

pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock plus an offset that only moves forward: tests use it to let sessions time
/// out and check-outs expire without waiting.
#[derive(Debug, Default, Clone)]
pub struct AdjustableClock {
    offset_millis: Arc<AtomicI64>,
}

impl AdjustableClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, by: std::time::Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for AdjustableClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_millis.load(Ordering::SeqCst))
    }
}
