//! Building deadpool pools from a [`RedisConfig`], honouring every setting, for each
//! [`Topology`](crate::Topology); the pools the cache owns.

use deadpool_redis::{Manager, Pool, Runtime, redis::AsyncConnectionConfig};
use tenure_pool::{
    Close, Closing, OwnedPool,
    deadpool::managed::{self, Object},
};

use crate::{Error, RedisConfig, Topology, budget::BudgetToken, scrub::Secrets};

impl RedisConfig {
    /// Builds a new standalone pool for this configuration: at most
    /// [`max_connections`](RedisConfig::max_connections) connections, the connect
    /// and response timeouts on every connection, the wait timeout on checkout, and
    /// the database index selected on connect.
    ///
    /// The pool is lazy: no connection is opened until the first `get`. The caller
    /// owns it (and closes it when done); to share it with
    /// [`RedisClients`](crate::RedisClients), hand it in with
    /// [`RedisClients::insert_shared`](crate::RedisClients::insert_shared).
    ///
    /// It is deadpool-redis's own pool, outside this crate's secret handling:
    /// its `Debug` shows the username, and the errors of its `get` are
    /// deadpool's and the `redis` crate's, unscrubbed (with `?protocol=3`
    /// against a server without `HELLO`, the password too; see the crate docs).
    /// Checked out through [`RedisClients`](crate::RedisClients) after
    /// `insert_shared`, its errors are scrubbed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Build`](crate::ErrorKind::Build) if the `redis` crate or deadpool rejects the settings,
    /// or if this is a cluster or sentinel configuration (build those pools with
    /// deadpool-redis's `cluster` or `sentinel` module).
    pub fn create_pool(&self) -> Result<Pool, Error> {
        if self.topology != Topology::Standalone {
            return Err(self.build_error(format!(
                "`create_pool` builds standalone pools; this is a {} configuration",
                self.topology
            )));
        }
        self.pool_builder::<deadpool_redis::Connection>()?
            .build()
            .map_err(|e| self.build_error(e.to_string()))
    }

    /// A standalone pool builder with every setting of this configuration applied;
    /// `W` is deadpool-redis' `Connection` for a caller's pool, deadpool's `Object`
    /// for one the cache owns (whose guard hides it).
    pub(crate) fn pool_builder<W: From<Object<Manager>>>(&self) -> Result<managed::PoolBuilder<Manager, W>, Error> {
        let info = self.connection_info().map_err(|e| self.build_error(e.to_string()))?;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout()))
            .set_response_timeout(Some(self.response_timeout()));
        let manager = Manager::new_with_config(info, connection).map_err(|e| self.build_error(e.to_string()))?;
        Ok(self.apply_pool_settings(managed::Pool::<Manager, W>::builder(manager)))
    }

    /// Pool size, runtime and the three pool-level timeouts.
    fn apply_pool_settings<M: managed::Manager, W: From<Object<M>>>(
        &self,
        builder: managed::PoolBuilder<M, W>,
    ) -> managed::PoolBuilder<M, W> {
        builder
            .max_size(self.max_connections())
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.wait_timeout()))
            // Connecting is bounded by the connect timeout plus the handshake's round
            // trips. For sentinel the bound also covers the sentinel lookup and the
            // role checks, which use the redis crate's own timeouts (1 s to connect,
            // 500 ms per response; its sentinel client has no setting), not these.
            .create_timeout(Some(self.create_timeout()))
            // Recycling is one round trip (`UNWATCH` + `PING`, `UNWATCH` + `ROLE` for sentinel;
            // for cluster, a check of the connection's driver that waits on no
            // server), plus, for the standalone and sentinel pools the cache owns, a
            // `CLIENT INFO` check of the connection's state (`connection_state.rs`),
            // bounded by the response timeout of the connection only. A checkout may
            // try every idle connection in turn: `RedisPool::get` bounds it as a
            // whole (`RedisConfig::checkout_timeout`).
            .recycle_timeout(Some(self.response_timeout()))
    }

    pub(crate) fn build_error(&self, reason: String) -> Error {
        Error::build(&self.target(), &reason)
    }
}

/// The pool behind an owned entry, by topology.
pub(crate) enum OwnedKind {
    Standalone(OwnedPool<Manager>),
    #[cfg(feature = "cluster")]
    Cluster(OwnedPool<crate::cluster::ClusterManager>),
    #[cfg(feature = "sentinel")]
    Sentinel(OwnedPool<crate::sentinel::SentinelManager>),
}

/// A pool the cache created and owns, with its share of the connection budget.
pub(crate) struct OwnedRedisPool {
    pub(crate) kind: OwnedKind,
    /// The configuration's credentials, removed from the errors of its connections.
    pub(crate) secrets: Secrets,
    /// The bound on one checkout as a whole ([`RedisConfig::checkout_timeout`]).
    pub(crate) checkout_timeout: std::time::Duration,
    /// Given back when the pool is dropped, after it is closed.
    _budget: BudgetToken,
}

impl OwnedRedisPool {
    /// Builds the pool for `config` (lazy: no connection yet).
    pub(crate) fn build(config: &RedisConfig, budget: BudgetToken) -> Result<Self, Error> {
        let build_error = |e: managed::BuildError| config.build_error(e.to_string());
        let kind = match config.topology {
            Topology::Standalone => {
                let builder = config.pool_builder()?.post_recycle(crate::connection_state::hook(
                    crate::connection_state::Expected::of(config),
                ));
                OwnedKind::Standalone(OwnedPool::from_builder(builder).map_err(build_error)?)
            }
            #[cfg(feature = "cluster")]
            Topology::Cluster => {
                let manager = crate::cluster::ClusterManager::new(config)?;
                let builder = config.apply_pool_settings(managed::Pool::builder(manager));
                OwnedKind::Cluster(OwnedPool::from_builder(builder).map_err(build_error)?)
            }
            #[cfg(feature = "sentinel")]
            Topology::Sentinel => {
                let manager = crate::sentinel::SentinelManager::new(config)?;
                let builder = config
                    .apply_pool_settings(managed::Pool::builder(manager))
                    .post_recycle(crate::connection_state::hook(crate::connection_state::Expected::of(
                        config,
                    )));
                OwnedKind::Sentinel(OwnedPool::from_builder(builder).map_err(build_error)?)
            }
            // The builder refuses configurations of topologies this build lacks.
            #[allow(unreachable_patterns)]
            topology => {
                return Err(Error::topology_not_enabled(
                    topology,
                    topology.feature().unwrap_or_default(),
                ));
            }
        };
        Ok(Self {
            kind,
            secrets: Secrets::of(config),
            checkout_timeout: config.checkout_timeout(),
            _budget: budget,
        })
    }

    /// Opens one connection, sends it a `PING`, and puts it back in the pool.
    ///
    /// The `PING` is what tells a server that needs a password from one that
    /// takes the connection: with no password in the configuration, the
    /// connection opens and every command then fails with `NOAUTH`. Without it
    /// such a pool would be cached and fail every caller.
    pub(crate) async fn connect_once(&self) -> Result<(), deadpool_redis::PoolError> {
        async fn ping<C: deadpool_redis::redis::aio::ConnectionLike + Send>(
            connection: &mut C,
        ) -> Result<(), deadpool_redis::PoolError> {
            deadpool_redis::redis::cmd("PING")
                .query_async::<()>(connection)
                .await
                .map_err(managed::PoolError::Backend)
        }
        match &self.kind {
            OwnedKind::Standalone(pool) => ping(&mut *pool.get().await?).await,
            #[cfg(feature = "cluster")]
            OwnedKind::Cluster(pool) => ping(&mut *pool.get().await?).await,
            #[cfg(feature = "sentinel")]
            OwnedKind::Sentinel(pool) => ping(&mut *pool.get().await?).await,
        }
    }

    pub(crate) fn status(&self) -> managed::Status {
        match &self.kind {
            OwnedKind::Standalone(pool) => pool.status(),
            #[cfg(feature = "cluster")]
            OwnedKind::Cluster(pool) => pool.status(),
            #[cfg(feature = "sentinel")]
            OwnedKind::Sentinel(pool) => pool.status(),
        }
    }
}

impl Close for OwnedRedisPool {
    async fn close(self, closing: &Closing) {
        match self.kind {
            OwnedKind::Standalone(pool) => pool.close(closing).await,
            #[cfg(feature = "cluster")]
            OwnedKind::Cluster(pool) => pool.close(closing).await,
            #[cfg(feature = "sentinel")]
            OwnedKind::Sentinel(pool) => pool.close(closing).await,
        }
        // The budget token is dropped here, after the pool is closed.
    }
}

impl std::fmt::Debug for OwnedRedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedRedisPool")
            .field("status", &self.status())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::RedisConfig;

    #[test]
    fn max_connections_is_honoured() {
        let config = RedisConfig::builder("redis://127.0.0.1:1/0")
            .max_connections(3)
            .build()
            .unwrap();
        let pool = config.create_pool().unwrap();
        let status = pool.status();
        assert_eq!(status.max_size, 3);
        assert_eq!(status.size, 0, "the pool is lazy");
    }
}
