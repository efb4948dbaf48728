//! The lock the shards use: parking_lot's, or loom's under `--cfg tenure_loom`
//! so the model checker explores every interleaving of lookups and retirement.

#[cfg(not(tenure_loom))]
pub(crate) use parking_lot::Mutex;

#[cfg(tenure_loom)]
pub(crate) use loom_mutex::Mutex;

#[cfg(tenure_loom)]
mod loom_mutex {
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
