//! The background task that enforces expiry with no cache traffic at all.
//!
//! It holds only a `Weak` reference between passes, so dropping the last cache
//! handle ends it at its next tick. If its runtime shuts down, the next insert
//! from a live runtime starts a new one.

use std::sync::{Arc, Weak, atomic::Ordering};

use tenure_core::Entry;
use tokio::runtime::Handle;

use crate::cache::{CacheKey, Inner};

pub(crate) fn spawn<K: CacheKey, E: Entry>(inner: &Arc<Inner<K, E>>, runtime: &Handle) {
    let interval = inner.settings.reap_interval;
    let running = RunningFlag(Arc::downgrade(inner));
    drop(runtime.spawn(async move {
        let running = running;
        // Only a reaper that is being polled keeps `recent` fresh for lookups.
        if let Some(inner) = running.0.upgrade() {
            inner.reaper_ticking.store(true, Ordering::Release);
        }
        loop {
            tokio::time::sleep(interval).await;
            let Some(inner) = running.0.upgrade() else {
                tracing::trace!("cache dropped; reaper stops");
                return;
            };
            inner.reap();
        }
    }));
}

/// Clears the cache's "reaper running" and "reaper ticking" flags when the task
/// ends, or is dropped with its runtime (polled or not).
struct RunningFlag<K: CacheKey, E: Entry>(Weak<Inner<K, E>>);

impl<K: CacheKey, E: Entry> Drop for RunningFlag<K, E> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.reaper_ticking.store(false, Ordering::Release);
            inner.reaper_running.store(false, Ordering::Release);
        }
    }
}
