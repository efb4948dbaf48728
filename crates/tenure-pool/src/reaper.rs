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
    let running = RunningFlag(Arc::clone(&inner.reaper_running));
    drop(runtime.spawn(async move {
        let _running = running;
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

/// Clears the cache's "reaper running" flag when the task ends or is dropped
/// with its runtime.
struct RunningFlag(Arc<AtomicBool>);

impl Drop for RunningFlag {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
