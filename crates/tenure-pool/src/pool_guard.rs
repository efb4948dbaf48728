//! [`PoolGuard`]: a connection checked out of an [`OwnedPool`](crate::OwnedPool).

use std::{
    fmt,
    ops::{Deref, DerefMut},
};

use deadpool::managed::{Manager, Object};

/// A connection checked out of an [`OwnedPool`](crate::OwnedPool); derefs to the
/// pool's object (`M::Type`).
///
/// It wraps deadpool's `Object` without exposing it: deadpool's `Object` can hand
/// out a strong clone of the `Pool` it came from, and a clone of the pool would
/// outlive the entry and could close it under other leases. From a `PoolGuard`
/// only the connection itself is reachable.
///
/// Dropping it returns the connection to the pool, or drops the connection if the
/// pool was closed meanwhile; [`PoolGuard::take`] takes it out of the pool
/// instead. A guard does not keep its entry open: once the
/// entry is retired and its last lease is dropped, the pool is closed, and a
/// guard still checked out stays usable until it is dropped.
///
/// # Examples
///
/// ```
/// # use tenure_pool::deadpool::managed::{Manager, Metrics, Pool, RecycleResult};
/// # use tenure_pool::OwnedPool;
/// # struct Counter;
/// # impl Manager for Counter {
/// #     type Type = u32;
/// #     type Error = std::convert::Infallible;
/// #     async fn create(&self) -> Result<u32, Self::Error> { Ok(7) }
/// #     async fn recycle(&self, _: &mut u32, _: &Metrics) -> RecycleResult<Self::Error> { Ok(()) }
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let pool = OwnedPool::from_builder(Pool::builder(Counter)).unwrap();
/// let mut conn = pool.get().await.unwrap();
/// *conn += 1; // `&mut u32` through `DerefMut`
/// assert_eq!(*conn, 8);
/// # });
/// ```
pub struct PoolGuard<M: Manager> {
    object: Object<M>,
}

impl<M: Manager> PoolGuard<M> {
    pub(crate) fn new(object: Object<M>) -> Self {
        Self { object }
    }

    /// Takes the connection out of its pool for good, instead of returning it
    /// when the guard is dropped: the pool's size goes down by one (its slot is
    /// free for a new connection), and the caller owns the connection, which is
    /// closed when dropped. For a connection left in a state the next borrower
    /// must not get.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tenure_pool::deadpool::managed::{Manager, Metrics, Pool, RecycleResult};
    /// # use tenure_pool::{OwnedPool, PoolGuard};
    /// # struct Counter;
    /// # impl Manager for Counter {
    /// #     type Type = u32;
    /// #     type Error = std::convert::Infallible;
    /// #     async fn create(&self) -> Result<u32, Self::Error> { Ok(7) }
    /// #     async fn recycle(&self, _: &mut u32, _: &Metrics) -> RecycleResult<Self::Error> { Ok(()) }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let pool = OwnedPool::from_builder(Pool::builder(Counter)).unwrap();
    /// let conn = pool.get().await.unwrap();
    /// assert_eq!(pool.status().size, 1);
    /// let taken: u32 = PoolGuard::take(conn);
    /// assert_eq!(taken, 7);
    /// assert_eq!(pool.status().size, 0, "it never goes back");
    /// # });
    /// ```
    #[must_use = "the connection is closed when dropped"]
    pub fn take(this: Self) -> M::Type {
        Object::take(this.object)
    }
}

impl<M: Manager> Deref for PoolGuard<M> {
    type Target = M::Type;

    fn deref(&self) -> &M::Type {
        &self.object
    }
}

impl<M: Manager> DerefMut for PoolGuard<M> {
    fn deref_mut(&mut self) -> &mut M::Type {
        &mut self.object
    }
}

impl<M: Manager> fmt::Debug for PoolGuard<M> {
    // The object may hold credentials; a guard names only what it lends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolGuard")
            .field("type", &std::any::type_name::<M::Type>())
            .finish_non_exhaustive()
    }
}
