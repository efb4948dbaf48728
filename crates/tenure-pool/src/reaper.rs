//! The background task that enforces expiry with no cache traffic at all.
//!
//! It holds only a `Weak` reference between passes, so dropping the last cache
//! handle ends it at its next tick. If its runtime shuts down, the next insert
//! from a live runtime starts a new one.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use tenure_core::Entry;
use tokio::runtime::Handle;

use crate::cache::{CacheKey, Inner};

pub(crate) fn spawn<K: CacheKey, E: Entry>(inner: &Arc<Inner<K, E>>, runtime: &Handle) {
    let cache = Arc::downgrade(inner);
    let interval = inner.settings.reap_interval;
    let running = RunningFlag(Arc::clone(&inner.reaper_running), Arc::clone(&inner.reaper_ticking));
    drop(runtime.spawn(async move {
        let running = running;
        // Only a reaper that is being polled keeps `recent` fresh for lookups.
        running.1.store(true, Ordering::Release);
        loop {
            tokio::time::sleep(interval).await;
            let Some(inner) = cache.upgrade() else {
                tracing::trace!("cache dropped; reaper stops");
                return;
            };
            inner.reap();
        }
    }));
}

/// Clears the cache's "reaper running" and "reaper ticking" flags when the task
/// ends, or is dropped with its runtime (polled or not).
struct RunningFlag(Arc<AtomicBool>, Arc<AtomicBool>);

impl Drop for RunningFlag {
    fn drop(&mut self) {
        self.1.store(false, Ordering::Release);
        self.0.store(false, Ordering::Release);
    }
}
