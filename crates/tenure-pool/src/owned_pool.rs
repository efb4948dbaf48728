//! [`OwnedPool`]: any deadpool pool as an owned cache entry.

use std::fmt;

use deadpool::managed::{BuildError, Manager, Pool, PoolBuilder, PoolError, Status};
use tenure_core::{Close, Closing};

use crate::PoolGuard;

/// Any deadpool pool as an [`Owned`](crate::Owned) cache entry.
///
/// deadpool's `Pool` is a shared handle: `close()` on one clone closes every
/// clone. So `OwnedPool` builds its pool itself, from a `PoolBuilder`, and hands
/// out nothing from which the pool can be reached: [`get`](Self::get) returns a
/// [`PoolGuard`] that derefs to the connection and hides deadpool's `Object`
/// (which would give out a clone of the pool), and [`status`](Self::status) is a
/// plain snapshot. So the cache is the pool's sole owner, and closing it on
/// retirement breaks no pool that anybody else holds.
///
/// Closing it closes the pool: idle connections are dropped at once; connections
/// still checked out stay usable and are dropped, not returned, when released.
///
/// What is out of its reach: a `Manager` that keeps a handle to its own pool, or
/// a connection type (`M::Type`) that shares state with the pool, would carry
/// the pool out; deadpool's own managers do neither. And a [`PoolGuard`] lends
/// `&mut M::Type`: a connection can be cloned out of it (if `M::Type` is
/// `Clone`, as deadpool-redis's is) or moved with `std::mem::swap`, even into
/// another pool's guard; such a connection outlives this pool's close.
///
/// # Examples
///
/// ```
/// # use tenure_pool as tenure; // the facade re-exports these under the same names
/// use tenure::deadpool::managed::{Manager, Metrics, Pool, RecycleResult};
/// use tenure::{ClientCache, Owned, OwnedPool};
///
/// struct Counter;
/// impl Manager for Counter {
///     type Type = u32;
///     type Error = std::convert::Infallible;
///     async fn create(&self) -> Result<u32, Self::Error> { Ok(7) }
///     async fn recycle(&self, _: &mut u32, _: &Metrics) -> RecycleResult<Self::Error> { Ok(()) }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache = ClientCache::<&str, Owned<OwnedPool<Counter>>>::builder().build().unwrap();
/// let pool = OwnedPool::from_builder(Pool::builder(Counter).max_size(2)).unwrap();
/// let lease = cache.insert("db", Owned::new(pool)).unwrap();
/// assert_eq!(*lease.get().await.unwrap(), 7);
/// # });
/// ```
///
/// deadpool's `Object`, and through it the pool, is out of reach:
///
/// ```compile_fail,E0308
/// # use tenure_pool::deadpool::managed::{Manager, Metrics, Object, Pool, RecycleResult};
/// # use tenure_pool::OwnedPool;
/// # struct Counter;
/// # impl Manager for Counter {
/// #     type Type = u32;
/// #     type Error = std::convert::Infallible;
/// #     async fn create(&self) -> Result<u32, Self::Error> { Ok(7) }
/// #     async fn recycle(&self, _: &mut u32, _: &Metrics) -> RecycleResult<Self::Error> { Ok(()) }
/// # }
/// async fn keep_the_pool(pool: &OwnedPool<Counter>) -> Option<Pool<Counter>> {
///     let conn = pool.get().await.ok()?;
///     Object::pool(&conn)
/// }
/// ```
pub struct OwnedPool<M: Manager> {
    pool: Pool<M>,
}

impl<M: Manager> OwnedPool<M> {
    /// Builds the pool this entry will own.
    ///
    /// # Errors
    ///
    /// deadpool's build error (an invalid pool configuration, or a missing runtime
    /// for timeouts).
    pub fn from_builder(builder: PoolBuilder<M>) -> Result<Self, BuildError> {
        Ok(Self { pool: builder.build()? })
    }

    /// Checks a connection out of the pool.
    ///
    /// # Errors
    ///
    /// deadpool's `PoolError`: a timeout, a backend error, or `Closed` after the
    /// entry was closed.
    pub async fn get(&self) -> Result<PoolGuard<M>, PoolError<M::Error>> {
        self.pool.get().await.map(PoolGuard::new)
    }

    /// The pool's size, available objects and waiters.
    pub fn status(&self) -> Status {
        self.pool.status()
    }
}

impl<M: Manager + 'static> Close for OwnedPool<M> {
    async fn close(self, _: &Closing) {
        self.pool.close();
    }
}

impl<M: Manager> fmt::Debug for OwnedPool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPool")
            .field("status", &self.pool.status())
            .finish()
    }
}
