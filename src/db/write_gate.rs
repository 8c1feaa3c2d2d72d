//! SQLite's writers take turns in the process before they ask SQLite.
//!
//! SQLite lets one connection write at a time. A connection that finds the write lock taken
//! does not queue: its busy handler sleeps and tries again, sleeping longer each time (1, 2, 5,
//! 10 … 100 ms), so under a steady stream of writes an unlucky writer kept losing the race and
//! waited 330–430 ms in the load benchmark while each write took well under a millisecond.
//! Writers of one Keyholder process therefore first take the database's [`WriteGate`] (a mutex,
//! which wakes the next waiter as soon as it is released) and only then SQLite's lock, which
//! they then nearly always find free; the busy handler is left for other processes (a
//! `keyholder rotate-key` next to the server).
//!
//! [`crate::db::Database::run`] makes its database's gate the current one for the work it runs
//! on a blocking thread; [`crate::db::transaction`] (outermost, SQLite) and [`gated`] take it.
//! Work given a connection some other way, and PostgreSQL, go straight to the database.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;

use super::DbConnection;

/// How long a writer waits for the gate before asking SQLite anyway (as long as SQLite's own
/// busy timeout): a writer that holds it longer than that is stuck, and the next one should
/// get SQLite's "database is locked" rather than wait forever.
const GATE_WAIT: Duration = Duration::from_secs(10);

/// One per SQLite database of the process.
#[derive(Debug, Default)]
pub struct WriteGate(parking_lot::Mutex<()>);

thread_local! {
    static CURRENT: RefCell<Option<Arc<WriteGate>>> = const { RefCell::new(None) };
    /// Whether this thread holds its gate: a write inside a held turn (a session ended inside
    /// a transaction) must not wait for itself.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// While alive, `gate` is the current thread's gate; the previous one comes back on drop.
pub(super) struct Entered(Option<Arc<WriteGate>>);

pub(super) fn enter(gate: Option<Arc<WriteGate>>) -> Entered {
    Entered(CURRENT.with_borrow_mut(|current| std::mem::replace(current, gate)))
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with_borrow_mut(|current| *current = previous);
    }
}

/// Runs `work` holding the current thread's gate, if it has one. For SQLite's outermost
/// transactions and for single writing statements outside a transaction.
pub(super) fn hold<T>(work: impl FnOnce() -> T) -> T {
    let gate = CURRENT.with_borrow(Clone::clone);
    let Some(gate) = gate.filter(|_| !HOLDING.get()) else {
        return work();
    };
    let held = gate.0.try_lock_for(GATE_WAIT);
    if held.is_none() {
        tracing::warn!(
            waited_s = GATE_WAIT.as_secs(),
            "a database writer held the write gate too long; writing without it"
        );
    }
    HOLDING.set(true);
    let _release = Release(held);
    work()
}

/// Gives the turn back (also when `work` panics).
struct Release<'a>(Option<parking_lot::MutexGuard<'a, ()>>);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        HOLDING.set(false);
        self.0.take();
    }
}

/// Runs a write that is not in a transaction (one statement, committed on its own) after the
/// other writers of this process on SQLite; on PostgreSQL at once.
pub fn gated<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> T) -> T {
    if matches!(conn, DbConnection::Sqlite(_)) {
        hold(|| work(conn))
    } else {
        work(conn)
    }
}
