//! The background task that enforces expiry with no cache traffic at all.
//!
//! It holds only a `Weak` reference between passes, so dropping the last cache
//! handle ends it at its next tick. If its runtime shuts down, the next insert
//! or lookup on a live runtime starts a new one; if its runtime is alive but idle (the
//! reaper is not polled), a lookup on another runtime starts a new one there,
//! with a newer generation, and the stalled one stops if it ever runs again.
//!
//! The task knows the cache only through [`Reap`], so this module does not
//! depend on the cache's internals.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use tokio::runtime::Handle;

/// What the reaper needs from the cache it serves.
pub(crate) trait Reap: Send + Sync + 'static {
    /// One pass: expired, idle and dead-runtime entries out; stuck drains warned.
    fn reap(&self);
    /// Whether `generation` is still the cache's current reaper.
    fn is_current_reaper(&self, generation: u64) -> bool;
    /// Records whether the current reaper is being polled (and so keeps `recent` fresh).
    fn set_reaper_ticking(&self, generation: u64, ticking: bool);
    /// Records that the current reaper stopped, so the next insert or lookup may
    /// start one; `refused_by` is its runtime ([`runtime_key`]) if it stopped
    /// before it could tick, which no reaper is started on again.
    fn reaper_stopped(&self, generation: u64, refused_by: Option<u64>);
}

/// A runtime's identity for the runtime a reaper could not run on: tokio's id,
/// hashed, never 0. (A runtime started after that one shut down may reuse its
/// id; such a runtime then gets its reaper from an insert on another runtime,
/// or from a lookup or insert after another runtime's reaper ran, not from its
/// own.)
pub(crate) fn runtime_key(runtime: &Handle) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0).hash_one(runtime.id()) | 1
}

/// Starts reaper number `generation` for `target` on `runtime`, passing every `interval`.
pub(crate) fn spawn<R: Reap>(target: &Arc<R>, generation: u64, interval: Duration, runtime: &Handle) {
    let mut running = RunningFlag {
        target: Arc::downgrade(target),
        generation,
        runtime: runtime_key(runtime),
        ticked: false,
    };
    drop(runtime.spawn(async move {
        // A runtime built without timers cannot make a `Sleep` (tokio panics):
        // no reaper can run on it. It stops before its first tick, so the cache
        // remembers that runtime, as it does one that drops the task unpolled
        // (it is shutting down): inserts and lookups there do not spawn one
        // reaper after another, and the next insert or lookup on another
        // runtime starts one there. (Built with `panic = "abort"`, tokio's panic
        // here aborts the process.)
        let Ok(mut next) = std::panic::catch_unwind(|| tokio::time::sleep(interval)) else {
            tracing::warn!(
                "the cache's reaper cannot run on a tokio runtime built without timers \
                 (`enable_time`); expired entries are retired by lookups until a reaper \
                 starts on a runtime with timers"
            );
            return;
        };
        // Only a reaper that is being polled keeps `recent` fresh for lookups.
        if let Some(target) = running.target.upgrade() {
            target.set_reaper_ticking(generation, true);
        }
        running.ticked = true;
        loop {
            next.await;
            next = tokio::time::sleep(interval);
            let Some(target) = running.target.upgrade() else {
                tracing::trace!("cache dropped; reaper stops");
                return;
            };
            if !target.is_current_reaper(generation) {
                tracing::trace!("a newer reaper took over; this one stops");
                return;
            }
            target.reap();
        }
    }));
}

/// Clears the cache's "reaper running" and "reaper ticking" flags when the task
/// ends, or is dropped with its runtime (polled or not), and names its runtime
/// as refused if the reaper never ticked there. Only the current generation's
/// flags are cleared.
struct RunningFlag<R: Reap> {
    target: Weak<R>,
    generation: u64,
    /// [`runtime_key`] of the runtime the task was spawned on.
    runtime: u64,
    /// Whether the reaper made its timer and marked itself ticking.
    ticked: bool,
}

impl<R: Reap> Drop for RunningFlag<R> {
    fn drop(&mut self) {
        if let Some(target) = self.target.upgrade() {
            target.reaper_stopped(self.generation, (!self.ticked).then_some(self.runtime));
        }
    }
}
