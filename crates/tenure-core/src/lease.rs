use std::{fmt, ops::Deref};

use crate::{Close, drain::LeasedValue, sealed::NotByLease, sync::Arc};

/// A caller's loan of an [`Owned`](crate::Owned) cache entry.
///
/// A lease derefs to the value and keeps it open: while any lease exists, the
/// entry is never closed, even after the cache has retired it. Dropping the last
/// lease of a retired entry triggers its close, which the cache spawns on the
/// runtime the entry was inserted on (or, if there was none, the cache's); the
/// drop itself does not wait for the close. If that runtime has shut down, the
/// value is dropped unclosed instead, in the lease's drop, and counted. Leases are `'static`, so they can move into spawned tasks,
/// and are `Send`/`Sync` when `T` is. Cloning a lease takes another loan.
///
/// A lease never turns back into a `T`, an `Arc<T>` or an `Owned<T>`, and it
/// cannot close its value: [`Close::close`] needs a [`Closing`](crate::Closing),
/// which only the cache makes. What a lease lends is `&T`; if `T` itself is
/// `Clone`, or has a `close(&self)` of its own, `&T` reaches those (see
/// [`Close`]'s "What the types cannot check for you").
///
/// # Examples
///
/// ```
/// # use tenure_core::{Close, Closing, Lease};
/// # struct Pool; impl Pool { fn ping(&self) -> bool { true } }
/// # impl Close for Pool { async fn close(self, _: &Closing) {} }
/// fn use_pool(pool: &Lease<Pool>) -> bool {
///     pool.ping() // `&Pool` through `Deref`
/// }
/// ```
///
/// Closing through a lease is refused, with the reason:
///
/// ```compile_fail,E0277
/// # use tenure_core::{Close, Closing, Lease};
/// # struct Pool;
/// # impl Close for Pool { async fn close(self, _: &Closing) {} }
/// async fn done(pool: Lease<Pool>) {
///     pool.close().await;
/// }
/// ```
///
/// and so is taking the value out:
///
/// ```compile_fail,E0507
/// # use tenure_core::{Close, Closing, Lease};
/// # struct Pool;
/// # impl Close for Pool { async fn close(self, _: &Closing) {} }
/// fn take(pool: Lease<Pool>) -> Pool {
///     *pool
/// }
/// ```
pub struct Lease<T: Close> {
    slot: Arc<LeasedValue<T>>,
}

impl<T: Close> Lease<T> {
    pub(crate) fn new(slot: &Arc<LeasedValue<T>>) -> Self {
        Self { slot: Arc::clone(slot) }
    }

    /// Whether two leases lend the same entry.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        Arc::ptr_eq(&this.slot, &other.slot)
    }

    /// Refused at compile time: only the cache closes an owned entry.
    ///
    /// This method exists only so that `lease.close()` explains itself instead of
    /// reaching `T::close` through `Deref`.
    #[doc(hidden)]
    #[allow(private_bounds)]
    pub fn close(self) -> std::future::Ready<()>
    where
        Self: NotByLease,
    {
        std::future::ready(())
    }

    /// Refused at compile time, like [`close`](Self::close).
    #[doc(hidden)]
    #[allow(private_bounds)]
    pub fn evict_close(self) -> std::future::Ready<()>
    where
        Self: NotByLease,
    {
        std::future::ready(())
    }
}

impl<T: Close> Clone for Lease<T> {
    fn clone(&self) -> Self {
        Self::new(&self.slot)
    }
}

impl<T: Close> Deref for Lease<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.slot.value()
    }
}

impl<T: Close> fmt::Debug for Lease<T> {
    // The value may hold secrets; a lease names only what it lends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
