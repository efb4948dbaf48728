//! [`RedisPool`]: what a lookup returns; [`RedisConnection`]: what it lends.

use std::{fmt, sync::Arc};

use deadpool_redis::{
    Status,
    redis::{self, aio::ConnectionLike},
};
use tenure_pool::{Lease, PoolGuard, Shared};

use crate::{
    Error, ExternalPool, Topology,
    borrower_state::BorrowerState,
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
    /// elapsed ([`Error::is_timeout`]), or the pool is closed ([`Error::is_closed`]).
    /// For a pool the cache owns, the checkout as a whole takes at most
    /// [`RedisConfig::checkout_timeout`](crate::RedisConfig::checkout_timeout)
    /// (the wait timeout plus one connection's creation bound), whatever the
    /// pool meanwhile waits on; a pool handed in keeps its own timeouts;
    /// [`ErrorKind::Runtime`](crate::ErrorKind::Runtime) if polled outside a tokio
    /// runtime, or on one built without its timer or its IO driver (the pool's
    /// timeouts are tokio timers, its connections tokio sockets).
    pub async fn get(&self) -> Result<RedisConnection, Error> {
        // deadpool's tokio timers, and tokio's sockets, panic outside a runtime
        // or on one without their driver: refuse first.
        tenure_pool::check_runtime_drivers().map_err(|missing| Error::runtime("RedisPool::get", missing))?;
        // A server's reply to the handshake may quote the credentials: a
        // failure is shown only as a `ConnectionError`, scrubbed of them.
        let result = match &self.inner {
            Inner::Owned(pool) => {
                let checkout = async {
                    match &pool.kind {
                        OwnedKind::Standalone(pool) => pool.get().await.map(Conn::OwnedStandalone),
                        #[cfg(feature = "cluster")]
                        OwnedKind::Cluster(pool) => pool.get().await.map(Conn::OwnedCluster),
                        #[cfg(feature = "sentinel")]
                        OwnedKind::Sentinel(pool) => pool.get().await.map(Conn::OwnedSentinel),
                    }
                };
                // One bound on the whole checkout: deadpool bounds each step
                // (the wait, each idle connection's check, the creation), not
                // their sum. Cancelled mid-step, deadpool frees the slot and
                // closes the connection it was checking or creating.
                match tokio::time::timeout(pool.checkout_timeout, checkout).await {
                    Ok(result) => result.map_err(|e| ConnectionError::new(e, &pool.secrets)),
                    Err(_) => Err(ConnectionError::checkout_timed_out(pool.checkout_timeout)),
                }
            }
            Inner::Shared(pool, secrets) => match &**pool {
                ExternalPool::Standalone(pool) => pool.get().await.map(Conn::SharedStandalone),
                #[cfg(feature = "cluster")]
                ExternalPool::Cluster(pool) => pool.get().await.map(Conn::SharedCluster),
                #[cfg(feature = "sentinel")]
                ExternalPool::Sentinel(pool) => pool.get().await.map(Conn::SharedSentinel),
            }
            .map_err(|e| ConnectionError::new(e, secrets)),
        };
        match result {
            Ok(conn) => Ok(RedisConnection {
                // A cluster connection sends `EXEC` and `DISCARD` to a random
                // node, `WATCH` to its keys' nodes.
                state: BorrowerState::new(self.topology() != Topology::Cluster),
                conn: Some(conn),
                pool: self.clone(),
            }),
            Err(e) => {
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

impl Conn {
    /// Takes the connection out of its pool for good (the pool's size goes
    /// down; a new connection may be created in its place) and closes it.
    fn discard(self) {
        match self {
            Self::OwnedStandalone(c) => drop(PoolGuard::take(c)),
            Self::SharedStandalone(c) => drop(deadpool_redis::Connection::take(c)),
            #[cfg(feature = "cluster")]
            Self::OwnedCluster(c) => drop(PoolGuard::take(c)),
            #[cfg(feature = "cluster")]
            Self::SharedCluster(c) => drop(deadpool_redis::cluster::Connection::take(c)),
            #[cfg(feature = "sentinel")]
            Self::OwnedSentinel(c) => drop(PoolGuard::take(c)),
            #[cfg(feature = "sentinel")]
            Self::SharedSentinel(c) => drop(deadpool_redis::sentinel::Connection::take(c)),
        }
    }
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
/// the connection to the pool (or closes it if the pool is closed), unless its
/// borrower left state on it that the next borrower would get (a transaction
/// open, keys watched, `SELECT`, `SUBSCRIBE`, ...: the commands sent through
/// it are tracked, see [the crate docs](crate#topologies)): it is then
/// discarded, and the pool opens a new one when needed.
///
/// A failed command returns the `redis` crate's error, as that crate wrote
/// it (tenure does not scrub it; see [`ErrorKind::Command`](crate::ErrorKind::Command)
/// for what it may quote); `?` turns it into an
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
    // Field order matters: the connection goes back to the pool (or is
    // discarded, in `drop`) before the pool handle (possibly the last lease of
    // a retired pool) is dropped. `None` only once discarded, in `drop`.
    conn: Option<Conn>,
    /// What its borrower left on it (`borrower_state.rs`).
    state: BorrowerState,
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

/// The answer to a command on a connection already discarded (never seen: a
/// connection is discarded only when it is dropped).
fn discarded<'a, T: Send + 'a>() -> redis::RedisFuture<'a, T> {
    Box::pin(async {
        Err(redis::RedisError::from((
            redis::ErrorKind::Client,
            "the connection was discarded",
        )))
    })
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        let Some(conn) = self.conn.as_mut() else {
            return discarded();
        };
        // Marked before it is sent: a future dropped mid-flight leaves the mark.
        let state = &mut self.state;
        let effect = state.command_sent(cmd);
        let reply = with_conn!(conn, c => (**c).req_packed_command(cmd));
        Box::pin(async move {
            let reply = reply.await;
            state.command_returned(cmd, effect, &reply);
            reply
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        let Some(conn) = self.conn.as_mut() else {
            return discarded();
        };
        let state = &mut self.state;
        let effects = state.pipeline_sent(cmd);
        let reply = with_conn!(conn, c => (**c).req_packed_commands(cmd, offset, count));
        Box::pin(async move {
            let reply = reply.await;
            state.pipeline_returned(cmd, effects, offset, &reply);
            reply
        })
    }

    fn get_db(&self) -> i64 {
        match &self.conn {
            Some(conn) => with_conn!(conn, c => (**c).get_db()),
            None => 0,
        }
    }
}

impl Drop for RedisConnection {
    fn drop(&mut self) {
        let Some(left) = self.state.left_behind() else {
            return; // `conn` goes back to the pool.
        };
        if let Some(conn) = self.conn.take() {
            tracing::debug!(
                target_server = %self.pool.target,
                left,
                "a borrower left state on a Redis connection; discarded, not returned to the pool"
            );
            conn.discard();
        }
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
