use std::fmt;

use deadpool::managed::{Manager, Object, Pool, PoolBuilder, PoolError, Status};
use tenure_core::Close;

/// Any deadpool pool as an [`Owned`](crate::Owned) cache entry.
///
/// deadpool's `Pool` is a shared handle: `close()` on one clone closes every
/// clone. So `OwnedPool` builds its pool itself and never hands out a clone: the
/// cache really is the sole owner, and closing it on retirement cannot break
/// anybody else's pool. Callers get connections through [`get`](Self::get).
///
/// Closing it closes the pool: idle connections are dropped at once; connections
/// still checked out stay usable and are dropped, not returned, when released.
///
/// # Examples
///
/// ```
/// use deadpool::managed::{Manager, Metrics, Pool, RecycleResult};
/// use tenure_pool::{ClientCache, Owned, OwnedPool};
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
/// `W` is the pool's object wrapper, as in deadpool (`deadpool_redis::Connection`
/// for deadpool-redis).
pub struct OwnedPool<M: Manager, W: From<Object<M>> = Object<M>> {
    pool: Pool<M, W>,
}

impl<M: Manager, W: From<Object<M>>> OwnedPool<M, W> {
    /// Builds the pool this entry will own.
    ///
    /// # Errors
    ///
    /// deadpool's build error (an invalid pool configuration, or a missing runtime
    /// for timeouts).
    pub fn from_builder(builder: PoolBuilder<M, W>) -> Result<Self, deadpool::managed::BuildError> {
        Ok(Self { pool: builder.build()? })
    }

    /// Checks a connection out of the pool.
    ///
    /// # Errors
    ///
    /// deadpool's `PoolError`: a timeout, a backend error, or `Closed` after the
    /// entry was closed.
    pub async fn get(&self) -> Result<W, PoolError<M::Error>> {
        self.pool.get().await
    }

    /// The pool's size, available objects and waiters.
    pub fn status(&self) -> Status {
        self.pool.status()
    }
}

impl<M: Manager + 'static, W: From<Object<M>> + Send + 'static> Close for OwnedPool<M, W> {
    async fn close(self) {
        self.pool.close();
    }
}

impl<M: Manager, W: From<Object<M>>> fmt::Debug for OwnedPool<M, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPool")
            .field("status", &self.pool.status())
            .finish()
    }
}
