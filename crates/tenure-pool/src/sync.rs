//! The synchronization the shards use, and loom's under `--cfg tenure_loom` so
//! the model checker explores every interleaving of lookups and retirement.
//!
//! - [`Mutex`]: parking_lot's (no poisoning).
//! - [`ReadMostly`]: the shard lock. A lookup takes it to read; an insert, a
//!   removal or an eviction takes it to write. Reading locks only the reading
//!   thread's stripe of the lock (crossbeam's `ShardedLock`: 8 stripes, one
//!   cache line each, picked by a per-thread index modulo 8). A hit writes its
//!   stripe, its thread's hit counter and the handle's reference count; beyond
//!   those, only an entry's frequency while it is below its cap, and its last
//!   use when time-to-idle is set. So two threads on different stripes hitting
//!   different entries write no cache line in common once the entries' counts
//!   are capped (more than 8 threads share stripes, and threads beyond the
//!   counter stripes share one). Writing locks every stripe, which makes a write
//!   dearer than a mutex's.
//! - The atomics a lookup writes under a read lock (an entry's frequency, last
//!   use and refresh time).

#[cfg(not(tenure_loom))]
pub(crate) use parking_lot::Mutex;
#[cfg(not(tenure_loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64};

#[cfg(tenure_loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64};
#[cfg(tenure_loom)]
pub(crate) use loom_sync::Mutex;

#[cfg(not(tenure_loom))]
type Lock<T> = crossbeam_utils::sync::ShardedLock<T>;
#[cfg(not(tenure_loom))]
type ReadGuard<'a, T> = crossbeam_utils::sync::ShardedLockReadGuard<'a, T>;
#[cfg(not(tenure_loom))]
type WriteGuard<'a, T> = crossbeam_utils::sync::ShardedLockWriteGuard<'a, T>;
#[cfg(tenure_loom)]
type Lock<T> = loom::sync::RwLock<T>;
#[cfg(tenure_loom)]
type ReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;
#[cfg(tenure_loom)]
type WriteGuard<'a, T> = loom::sync::RwLockWriteGuard<'a, T>;

/// A reader-writer lock whose readers on different threads lock different
/// cache lines (see the module docs). A panic under the lock does not poison it:
/// the shard's invariants are restored before any code that can panic runs.
#[derive(Debug)]
pub(crate) struct ReadMostly<T> {
    lock: Lock<T>,
}

impl<T> ReadMostly<T> {
    pub(crate) fn new(value: T) -> Self {
        Self { lock: Lock::new(value) }
    }

    /// Locks this thread's stripe for reading.
    #[inline]
    pub(crate) fn read(&self) -> ReadGuard<'_, T> {
        self.lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Locks every stripe, for writing.
    pub(crate) fn write(&self) -> WriteGuard<'_, T> {
        self.lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(tenure_loom)]
mod loom_sync {
    /// loom's mutex with parking_lot's signature (no poisoning).
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}
