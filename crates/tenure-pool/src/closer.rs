//! Where owned entries are closed: on a tokio runtime, counted, traced, and never
//! on the thread that dropped the last lease.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
};

use tenure_core::{Closer, PendingClose};
use tokio::{runtime::Handle, sync::Notify};

use crate::catch_unwind::CatchUnwind;

/// Counters for closes, shared by a cache and every closer it made.
#[derive(Debug, Default)]
pub(crate) struct CloseCounters {
    pub(crate) closes: AtomicU64,
    pub(crate) close_panics: AtomicU64,
    pub(crate) closes_abandoned: AtomicU64,
    pub(crate) draining: AtomicU64,
    /// Woken whenever `draining` drops to zero.
    pub(crate) drained: Notify,
}

impl CloseCounters {
    fn finish_one(&self) {
        if self.draining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.drained.notify_waiters();
        }
    }
}

const LIVE: u8 = 0;
const DRAINING: u8 = 1;
const RELEASED: u8 = 2;

/// The close path of one owned entry.
pub(crate) struct EntryCloser<K> {
    key: K,
    /// The runtime current when the entry was inserted: runtime-bound resources
    /// are closed where they were made.
    runtime: Option<Handle>,
    counters: Arc<CloseCounters>,
    state: AtomicU8,
    retired_at: AtomicU64,
    warned: AtomicBool,
}

impl<K: fmt::Debug + Send + Sync + 'static> EntryCloser<K> {
    pub(crate) fn new(key: K, runtime: Option<Handle>, counters: Arc<CloseCounters>) -> Self {
        Self {
            key,
            runtime,
            counters,
            state: AtomicU8::new(LIVE),
            retired_at: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        }
    }

    pub(crate) fn key(&self) -> &K {
        &self.key
    }

    /// Called by the cache as it retires the entry, before it drops its reference.
    pub(crate) fn retire(&self, now: u64) {
        self.retired_at.store(now, Ordering::Relaxed);
        self.counters.draining.fetch_add(1, Ordering::AcqRel);
        // A close that already ran (the value was never leased and the cache's
        // reference was the last) cannot happen before retirement: the cache holds one.
        let _ = self
            .state
            .compare_exchange(LIVE, DRAINING, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Whether the entry is retired and still waiting for a lease to be dropped.
    pub(crate) fn is_draining(&self) -> bool {
        self.state.load(Ordering::Acquire) == DRAINING
    }

    /// Logs once if the entry has been draining longer than `limit` nanoseconds.
    pub(crate) fn warn_if_stuck(&self, now: u64, limit: u64) {
        if self.is_draining()
            && now.saturating_sub(self.retired_at.load(Ordering::Relaxed)) >= limit
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                key = ?self.key,
                waited_ms = limit / 1_000_000,
                "retired entry still leased: it will be closed when its last lease is dropped"
            );
        }
    }
}

impl<K: fmt::Debug + Clone + Send + Sync + 'static> Closer for EntryCloser<K> {
    fn close(&self, close: PendingClose) {
        if self.state.swap(RELEASED, Ordering::AcqRel) == LIVE {
            // Closed without being retired first (the cache never lets this happen,
            // but the books must balance if it ever does).
            self.counters.draining.fetch_add(1, Ordering::AcqRel);
        }
        let guard = CloseGuard {
            key: self.key.clone(),
            counters: Arc::clone(&self.counters),
            finished: false,
        };
        let runtime = self.runtime.clone().or_else(|| Handle::try_current().ok());
        match runtime {
            Some(runtime) => {
                tracing::debug!(key = ?self.key, "last lease returned; closing");
                drop(runtime.spawn(async move {
                    let outcome = CatchUnwind::new(close).await;
                    guard.finish(outcome.is_ok());
                }));
            }
            // No runtime to run it on: `guard` drops now and reports the abandoned close.
            None => drop(close),
        }
    }
}

impl<K> fmt::Debug for EntryCloser<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryCloser")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Accounts for one close however it ends: finished, panicked, or dropped unrun
/// because its runtime shut down.
struct CloseGuard<K: fmt::Debug> {
    key: K,
    counters: Arc<CloseCounters>,
    finished: bool,
}

impl<K: fmt::Debug> CloseGuard<K> {
    fn finish(mut self, ok: bool) {
        self.finished = true;
        if ok {
            self.counters.closes.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(key = ?self.key, "entry closed");
        } else {
            self.counters.close_panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(key = ?self.key, "closing the entry panicked; the panic was caught");
        }
        self.counters.finish_one();
    }
}

impl<K: fmt::Debug> Drop for CloseGuard<K> {
    fn drop(&mut self) {
        if !self.finished {
            self.counters.closes_abandoned.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                key = ?self.key,
                "the entry's close could not run: its runtime has shut down; the value was dropped without closing"
            );
            self.counters.finish_one();
        }
    }
}
