//! [`RedisPool`]: what a lookup returns; [`RedisConnection`]: what it lends.

use std::{fmt, sync::Arc};

use deadpool_redis::{
    Connection, Manager, Pool, Status,
    redis::{self, aio::ConnectionLike},
};
use tenure_pool::{Lease, OwnedPool, PoolGuard, Shared};

use crate::Error;

/// The pool type the cache creates and owns.
pub(crate) type OwnedRedisPool = OwnedPool<Manager>;

/// Who owns the pool behind a [`RedisPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ownership {
    /// The cache created the pool from a [`RedisConfig`](crate::RedisConfig) and
    /// closes it when the entry is retired, after its last handle and connection
    /// are dropped.
    Owned,
    /// The caller handed the pool in; the cache never closes it.
    Shared,
}

#[derive(Clone)]
enum Inner {
    Owned(Lease<OwnedRedisPool>),
    Shared(Shared<Pool>),
}

/// A pool from [`RedisClients`](crate::RedisClients): owned by the cache, or
/// shared by the caller.
///
/// Holding a `RedisPool` (or a [`RedisConnection`] from it) keeps an owned pool
/// open: once the cache retires the entry (eviction, expiry, invalidation,
/// shutdown), the pool is closed only after the last handle and the last
/// connection are dropped. Commands in flight always complete. A shared pool is
/// never closed by the cache at all.
///
/// Cloning is cheap (one reference count).
#[derive(Clone)]
pub struct RedisPool {
    inner: Inner,
    addr: Arc<str>,
}

impl RedisPool {
    pub(crate) fn owned(lease: Lease<OwnedRedisPool>, addr: Arc<str>) -> Self {
        Self {
            inner: Inner::Owned(lease),
            addr,
        }
    }

    pub(crate) fn shared(pool: Shared<Pool>, addr: Arc<str>) -> Self {
        Self {
            inner: Inner::Shared(pool),
            addr,
        }
    }

    /// Checks a connection out of the pool (connecting if none is idle).
    ///
    /// The connection keeps this pool open until it is dropped, and goes back to
    /// the pool then.
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] naming `host:port`: the server is unreachable, a
    /// timeout elapsed, or the pool is closed.
    pub async fn get(&self) -> Result<RedisConnection, Error> {
        let result = match &self.inner {
            Inner::Owned(pool) => pool.get().await.map(Checkout::Owned),
            Inner::Shared(pool) => pool.get().await.map(Checkout::Shared),
        };
        match result {
            Ok(conn) => Ok(RedisConnection {
                conn,
                pool: self.clone(),
            }),
            Err(e) => {
                tracing::debug!(addr = %self.addr, error = %e, "no Redis connection");
                Err(Error::connection(&self.addr, e))
            }
        }
    }

    /// The pool's maximum size, current size (connections open), idle connections
    /// and waiters.
    pub fn status(&self) -> Status {
        match &self.inner {
            Inner::Owned(pool) => pool.status(),
            Inner::Shared(pool) => pool.status(),
        }
    }

    /// Whether the cache owns this pool or the caller handed it in.
    pub fn ownership(&self) -> Ownership {
        match self.inner {
            Inner::Owned(_) => Ownership::Owned,
            Inner::Shared(_) => Ownership::Shared,
        }
    }

    /// `host:port` of the server.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether two handles are the same cache entry (hence the same pool).
    pub fn same_entry(a: &Self, b: &Self) -> bool {
        match (&a.inner, &b.inner) {
            (Inner::Owned(a), Inner::Owned(b)) => Lease::ptr_eq(a, b),
            (Inner::Shared(a), Inner::Shared(b)) => Shared::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPool")
            .field("addr", &self.addr)
            .field("ownership", &self.ownership())
            .field("status", &self.status())
            .finish()
    }
}

/// What a [`RedisConnection`] checked out: from an owned pool, tenure's guard
/// (which hides deadpool's `Object` and with it the pool); from a shared pool,
/// deadpool-redis' connection of the caller's own pool.
enum Checkout {
    Owned(PoolGuard<Manager>),
    Shared(Connection),
}

impl Checkout {
    fn connection(&mut self) -> &mut redis::aio::MultiplexedConnection {
        match self {
            Checkout::Owned(guard) => guard,
            Checkout::Shared(conn) => conn,
        }
    }

    fn db(&self) -> i64 {
        match self {
            Checkout::Owned(guard) => guard.get_db(),
            Checkout::Shared(conn) => conn.get_db(),
        }
    }
}

/// A connection checked out of a [`RedisPool`]. It runs commands itself: it
/// implements [`ConnectionLike`], so the `redis` crate's `AsyncCommands`,
/// `Cmd::query_async` and pipelines take it directly.
///
/// It keeps its pool open while it lives, so a pool the cache retires is closed
/// only after every connection lent from it has come back. Dropping it returns
/// the connection to the pool (or closes it if the pool is closed).
///
/// It deliberately has no `Deref` to deadpool's connection: deadpool's object
/// gives out a strong clone of its pool, and a clone of a pool the cache owns
/// would outlive the entry and could close it under other callers.
///
/// # Examples
///
/// ```no_run
/// # async fn f(pool: tenure_redis::RedisPool) -> Result<(), Box<dyn std::error::Error>> {
/// use tenure_redis::deadpool_redis::redis::AsyncCommands;
///
/// let mut conn = pool.get().await?;
/// let () = conn.set("greeting", "hello").await?;
/// let value: String = conn.get("greeting").await?;
/// # Ok(())
/// # }
/// ```
pub struct RedisConnection {
    // Field order matters: the connection goes back to the pool before the pool
    // handle (possibly the last lease of a retired pool) is dropped.
    conn: Checkout,
    pool: RedisPool,
}

impl RedisConnection {
    /// `host:port` of the server.
    pub fn addr(&self) -> &str {
        self.pool.addr()
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        self.conn.connection().req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        self.conn.connection().req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.conn.db()
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("addr", &self.pool.addr())
            .field("db", &self.conn.db())
            .finish_non_exhaustive()
    }
}
