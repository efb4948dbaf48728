//! Drain-then-close: the slot an owned entry lives in while the cache and its
//! leases hold it.

use std::{fmt, future::Future, pin::Pin};

use crate::{Close, Closing, EvictClose, Owned};

/// A close that is ready to run: [`EvictClose::evict_close`] with the `Closing` it borrows.
pub type PendingClose = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Where an owned entry's close goes once its last holder lets go.
///
/// Implemented by the cache, which decides which runtime runs the close and
/// counts it. Not meant for use outside tenure's own crates.
#[doc(hidden)]
pub trait Closer: Send + Sync + 'static {
    /// Runs `close` (or schedules it): called exactly once per owned entry.
    fn close(&self, close: PendingClose);
}

/// The shared home of an owned value: one reference held by the cache until it
/// retires the entry, one per outstanding [`Lease`](crate::Lease).
///
/// Dropping the last reference, whoever holds it, hands the value to
/// [`EvictClose`] and the close to the [`Closer`]: exactly once, because `Drop`
/// runs exactly once, and never under a live lease, because a lease is a reference.
// `pub` because it is `Entry::Stored` for owned entries; unnameable outside this crate.
#[allow(unreachable_pub)]
pub struct LeasedValue<T: Close> {
    // `Some` from creation until `Drop` takes it: nothing else can observe `None`.
    owned: Option<Owned<T>>,
    closer: std::sync::Arc<dyn Closer>,
}

impl<T: Close> LeasedValue<T> {
    pub(crate) fn new(owned: Owned<T>, closer: std::sync::Arc<dyn Closer>) -> Self {
        Self {
            owned: Some(owned),
            closer,
        }
    }

    pub(crate) fn value(&self) -> &T {
        self.owned
            .as_ref()
            .map(Owned::value)
            .expect("an owned value is present until its slot is dropped")
    }
}

impl<T: Close> Drop for LeasedValue<T> {
    fn drop(&mut self) {
        if let Some(owned) = self.owned.take() {
            // The token lives in the close task itself: the future borrows it, so
            // the `&Closing` the value's `close` receives cannot outlive the close.
            self.closer.close(Box::pin(async move {
                let closing = Closing::new();
                owned.evict_close(&closing).await;
            }));
        }
    }
}

impl<T: Close> fmt::Debug for LeasedValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeasedValue").finish_non_exhaustive()
    }
}
