//! [`RedisPool`]: what a lookup returns; [`RedisConnection`]: what it lends.

use std::{fmt, sync::Arc};

use deadpool_redis::{
    Status,
    redis::{self, aio::ConnectionLike},
};
use tenure_pool::{Lease, PoolGuard, Shared};

use crate::{
    Error, ExternalPool, Topology,
    connection_error::ConnectionError,
    pool::{OwnedKind, OwnedRedisPool},
    scrub::Secrets,
};

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
    /// With the credentials of the configuration it was handed in for (an
    /// owned pool has its own configuration's).
    Shared(Shared<ExternalPool>, Secrets),
}

/// A pool from [`RedisClients`](crate::RedisClients): owned by the cache, or
/// shared by the caller; for a standalone server, a Redis Cluster or a
/// Sentinel-managed master.
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
    /// What errors name (`host:port`, or the cluster's or sentinels' description).
    target: Arc<str>,
}

impl RedisPool {
    pub(crate) fn owned(lease: Lease<OwnedRedisPool>, target: Arc<str>) -> Self {
        Self {
            inner: Inner::Owned(lease),
            target,
        }
    }

    pub(crate) fn shared(pool: Shared<ExternalPool>, target: Arc<str>, secrets: Secrets) -> Self {
        Self {
            inner: Inner::Shared(pool, secrets),
            target,
        }
    }

    /// Checks a connection out of the pool (connecting if none is idle).
    ///
    /// The connection keeps this pool open until it is dropped, and goes back to
    /// the pool then.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) naming the server: it is unreachable, a timeout
    /// elapsed ([`Error::is_timeout`]), or the pool is closed ([`Error::is_closed`]);
    /// [`ErrorKind::Runtime`](crate::ErrorKind::Runtime) if polled outside a tokio
    /// runtime, or on one built without its timer or its IO driver (the pool's
    /// timeouts are tokio timers, its connections tokio sockets).
    pub async fn get(&self) -> Result<RedisConnection, Error> {
        // deadpool's tokio timers, and tokio's sockets, panic outside a runtime
        // or on one without their driver: refuse first.
        tenure_pool::check_runtime_drivers().map_err(|missing| Error::runtime("RedisPool::get", missing))?;
        let result = match &self.inner {
            Inner::Owned(pool) => match &pool.kind {
                OwnedKind::Standalone(pool) => pool.get().await.map(Conn::OwnedStandalone),
                #[cfg(feature = "cluster")]
                OwnedKind::Cluster(pool) => pool.get().await.map(Conn::OwnedCluster),
                #[cfg(feature = "sentinel")]
                OwnedKind::Sentinel(pool) => pool.get().await.map(Conn::OwnedSentinel),
            },
            Inner::Shared(pool, _) => match &**pool {
                ExternalPool::Standalone(pool) => pool.get().await.map(Conn::SharedStandalone),
                #[cfg(feature = "cluster")]
                ExternalPool::Cluster(pool) => pool.get().await.map(Conn::SharedCluster),
                #[cfg(feature = "sentinel")]
                ExternalPool::Sentinel(pool) => pool.get().await.map(Conn::SharedSentinel),
            },
        };
        match result {
            Ok(conn) => Ok(RedisConnection {
                conn,
                pool: self.clone(),
            }),
            Err(e) => {
                // A server's reply to the handshake may quote the credentials:
                // only the scrubbed error is shown.
                let secrets = match &self.inner {
                    Inner::Owned(pool) => &pool.secrets,
                    Inner::Shared(_, secrets) => secrets,
                };
                let e = ConnectionError::new(e, secrets);
                tracing::debug!(target_server = %self.target, error = %e, "no Redis connection");
                Err(Error::connection(&self.target, e))
            }
        }
    }

    /// The pool's maximum size, current size (connections open), idle connections
    /// and waiters.
    pub fn status(&self) -> Status {
        match &self.inner {
            Inner::Owned(pool) => pool.status(),
            Inner::Shared(pool, _) => pool.status(),
        }
    }

    /// Whether the cache owns this pool or the caller handed it in.
    pub fn ownership(&self) -> Ownership {
        match self.inner {
            Inner::Owned(_) => Ownership::Owned,
            Inner::Shared(..) => Ownership::Shared,
        }
    }

    /// Which kind of deployment the pool reaches.
    pub fn topology(&self) -> Topology {
        match &self.inner {
            Inner::Owned(pool) => match pool.kind {
                OwnedKind::Standalone(_) => Topology::Standalone,
                #[cfg(feature = "cluster")]
                OwnedKind::Cluster(_) => Topology::Cluster,
                #[cfg(feature = "sentinel")]
                OwnedKind::Sentinel(_) => Topology::Sentinel,
            },
            Inner::Shared(pool, _) => pool.topology(),
        }
    }

    /// The server its configuration names: `host:port` for a standalone
    /// server, `cluster <nodes>`, or `sentinel service <name> via <sentinels>`.
    /// For a pool handed in with
    /// [`insert_shared`](crate::RedisClients::insert_shared), that is the
    /// configuration it was handed in for, which tenure does not check
    /// against the pool.
    pub fn addr(&self) -> &str {
        &self.target
    }

    /// Whether two handles are the same cache entry (hence the same pool).
    pub fn same_entry(a: &Self, b: &Self) -> bool {
        match (&a.inner, &b.inner) {
            (Inner::Owned(a), Inner::Owned(b)) => Lease::ptr_eq(a, b),
            (Inner::Shared(a, _), Inner::Shared(b, _)) => Shared::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPool")
            .field("addr", &self.target)
            .field("topology", &self.topology())
            .field("ownership", &self.ownership())
            .field("status", &self.status())
            .finish()
    }
}

/// What a [`RedisConnection`] checked out, by pool kind: from an owned pool,
/// tenure's guard (which hides deadpool's `Object` and with it the pool); from a
/// shared pool, deadpool-redis' connection of the caller's own pool.
enum Conn {
    OwnedStandalone(PoolGuard<deadpool_redis::Manager>),
    SharedStandalone(deadpool_redis::Connection),
    #[cfg(feature = "cluster")]
    OwnedCluster(PoolGuard<crate::cluster::ClusterManager>),
    #[cfg(feature = "cluster")]
    SharedCluster(deadpool_redis::cluster::Connection),
    #[cfg(feature = "sentinel")]
    OwnedSentinel(PoolGuard<crate::sentinel::SentinelManager>),
    #[cfg(feature = "sentinel")]
    SharedSentinel(deadpool_redis::sentinel::Connection),
}

/// Runs `$body` with `$c` bound to the connection (as `&mut impl ConnectionLike`
/// or `&impl ConnectionLike`), whatever its kind.
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::OwnedStandalone($c) => $body,
            Conn::SharedStandalone($c) => $body,
            #[cfg(feature = "cluster")]
            Conn::OwnedCluster($c) => $body,
            #[cfg(feature = "cluster")]
            Conn::SharedCluster($c) => $body,
            #[cfg(feature = "sentinel")]
            Conn::OwnedSentinel($c) => $body,
            #[cfg(feature = "sentinel")]
            Conn::SharedSentinel($c) => $body,
        }
    };
}

/// A connection checked out of a [`RedisPool`]: it runs commands itself (it
/// implements [`ConnectionLike`], so every `AsyncCommands` method works on it).
/// For a cluster, it routes each command to the node owning its key's slot and
/// follows `MOVED`/`ASK` redirections.
///
/// It keeps its pool open while it lives, so a pool the cache retires is closed
/// only after every connection lent from it has come back. Dropping it returns
/// the connection to the pool (or closes it if the pool is closed).
///
/// A failed command returns the `redis` crate's error; `?` turns it into
/// [`ErrorKind::Command`](crate::ErrorKind::Command) (with [`Error::is_timeout`] true for a response timeout).
///
/// It deliberately has no `Deref` to deadpool's connection: deadpool's object
/// gives out a strong clone of its pool, and a clone of a pool the cache owns
/// would outlive the entry and could close it under other callers.
///
/// # Examples
///
/// ```
/// # async fn f(pool: tenure_redis::RedisPool) -> Result<(), tenure_redis::Error> {
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::deadpool_redis::redis::AsyncCommands;
///
/// let mut conn = pool.get().await?;
/// let () = conn.set("greeting", "hello").await?;
/// let value: String = conn.get("greeting").await?;
/// assert_eq!(value, "hello");
/// # Ok(())
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = tenure_test_support::RedisServer::start()?; // private, never 6379
/// # let clients = tenure_redis::RedisClients::new()?;
/// # let config = tenure_redis::RedisConfig::from_url(&server.url())?;
/// # f(clients.get(&config).await?).await?;
/// # assert!(clients.shutdown().await.is_complete());
/// # Ok(())
/// # }
/// ```
pub struct RedisConnection {
    // Field order matters: the connection goes back to the pool before the pool
    // handle (possibly the last lease of a retired pool) is dropped.
    conn: Conn,
    pool: RedisPool,
}

impl RedisConnection {
    /// The server its configuration names: `host:port` for a standalone
    /// server, `cluster <nodes>`, or `sentinel service <name> via <sentinels>`.
    /// For a pool handed in with
    /// [`insert_shared`](crate::RedisClients::insert_shared), that is the
    /// configuration it was handed in for, which tenure does not check
    /// against the pool.
    pub fn addr(&self) -> &str {
        self.pool.addr()
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        with_conn!(&mut self.conn, c => (**c).req_packed_command(cmd))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        with_conn!(&mut self.conn, c => (**c).req_packed_commands(cmd, offset, count))
    }

    fn get_db(&self) -> i64 {
        with_conn!(&self.conn, c => (**c).get_db())
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("addr", &self.pool.addr())
            .field("db", &self.get_db())
            .finish_non_exhaustive()
    }
}
