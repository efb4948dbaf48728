//! [`RedisClients`]: the cache of Redis pools, owned or shared.

use std::{
    collections::HashMap,
    sync::{
        Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tenure_pool::{CacheStats, ClientCache, Owned, Shared, ShutdownReport};

use crate::{
    ConnectionBudget, Error, ExternalPool, RedisConfig, RedisPool,
    budget::{BudgetCounters, BudgetToken},
    pool::OwnedRedisPool,
};

/// A cache of Redis connection pools, keyed by [`RedisConfig`].
///
/// It holds two kinds of pool, and treats them differently when it retires one
/// (capacity eviction, time-to-live expiry, invalidation, shutdown):
///
/// - **owned** pools, which [`get`](Self::get) creates from a configuration. The
///   cache is their only owner. A retired owned pool is closed once the last
///   [`RedisPool`] handle and the last [`RedisConnection`](crate::RedisConnection)
///   lent from it are dropped: in-flight commands complete, and no pool leaks.
/// - **shared** pools, which the caller hands in with
///   [`insert_shared`](Self::insert_shared) (pool passthrough). [`get`](Self::get)
///   returns them as they are, without creating a duplicate, and the cache never
///   closes them. A handed-in pool is **pinned**: it is never evicted by capacity
///   and never expires, so `get` keeps returning it (never a pool of its own built
///   from the configuration) until the caller removes it with
///   [`invalidate`](Self::invalidate), [`invalidate_all`](Self::invalidate_all) or
///   [`shutdown`](Self::shutdown), which only drop the cache's reference.
///
/// Pools exist for each [`Topology`](crate::Topology): standalone, Redis Cluster
/// (feature `cluster`) and Sentinel (feature `sentinel`); the configuration says
/// which. [`connection_budget`](Self::connection_budget) reports how many
/// connections the owned pools may hold to one node.
///
/// Cloning a `RedisClients` is cheap and shares the cache.
///
/// # Examples
///
/// ```no_run
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::{RedisClients, RedisConfig};
/// use tenure::redis::deadpool_redis::redis::AsyncCommands;
///
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let clients = RedisClients::new()?;
/// let config = RedisConfig::builder("redis://127.0.0.1:6390/0")
///     .max_connections(8)
///     .build()?;
///
/// let pool = clients.get(&config).await?; // creates the pool, or finds it
/// let mut conn = pool.get().await?;
/// let () = conn.set("k", "v").await?;
///
/// drop((conn, pool));
/// clients.shutdown().await; // closes every owned pool
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisClients {
    owned: ClientCache<RedisConfig, Owned<OwnedRedisPool>>,
    shared: Arc<SharedPools>,
    budget: Arc<BudgetCounters>,
    max_capacity: u64,
}

/// The handed-in pools: pinned, so a plain map rather than a cache with eviction.
#[derive(Debug, Default)]
struct SharedPools {
    pools: RwLock<HashMap<RedisConfig, Shared<ExternalPool>>>,
    hits: AtomicU64,
    inserts: AtomicU64,
    explicit: AtomicU64,
    replaced: AtomicU64,
    /// Set by shutdown, read under the map's write lock by `insert_shared`.
    shut_down: AtomicBool,
}

impl SharedPools {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<RedisConfig, Shared<ExternalPool>>> {
        self.pools.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<RedisConfig, Shared<ExternalPool>>> {
        self.pools.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, config: &RedisConfig) -> Option<Shared<ExternalPool>> {
        let found = self.read().get(config).cloned();
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Registers `pool` for `config`, unless the cache is shut down.
    fn insert(&self, config: RedisConfig, pool: Shared<ExternalPool>) -> Result<(), Error> {
        let mut pools = self.write();
        if self.shut_down.load(Ordering::Acquire) {
            return Err(Error::shut_down());
        }
        if pools.insert(config, pool).is_some() {
            self.replaced.fetch_add(1, Ordering::Relaxed);
        }
        self.inserts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn remove(&self, config: &RedisConfig) {
        if self.write().remove(config).is_some() {
            self.explicit.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn clear(&self) {
        let removed = std::mem::take(&mut *self.write()).len() as u64;
        self.explicit.fetch_add(removed, Ordering::Relaxed);
    }

    fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        stats.hits = self.hits.load(Ordering::Relaxed);
        stats.inserts = self.inserts.load(Ordering::Relaxed);
        stats.evictions.explicit = self.explicit.load(Ordering::Relaxed);
        stats.evictions.replaced = self.replaced.load(Ordering::Relaxed);
        stats
    }
}

impl RedisClients {
    /// Default [`max_capacity`](RedisClientsBuilder::max_capacity).
    pub const DEFAULT_MAX_CAPACITY: u64 = 200;
    /// Default [`time_to_live`](RedisClientsBuilder::time_to_live) of owned pools.
    pub const DEFAULT_TIME_TO_LIVE: Duration = Duration::from_secs(600);

    /// A cache with the defaults: at most 200 owned pools, each retired 10
    /// minutes after creation, and refreshed ahead at 8 minutes if it is in use
    /// then (a new pool takes over, the old one drains: no cold start at the
    /// boundary); handed-in pools kept until invalidated.
    ///
    /// # Errors
    ///
    /// Never with the defaults; see [`RedisClientsBuilder::build`].
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// Configures a cache.
    pub fn builder() -> RedisClientsBuilder {
        RedisClientsBuilder {
            max_capacity: Self::DEFAULT_MAX_CAPACITY,
            time_to_live: Some(Self::DEFAULT_TIME_TO_LIVE),
            time_to_idle: None,
            scope_by_runtime: false,
            refresh: Refresh::Default,
        }
    }

    /// The pool for `config`: the shared pool handed in for it, else the owned
    /// pool the cache has for it, else a new owned pool.
    ///
    /// Creating a pool is single-flight (concurrent callers for one configuration
    /// wait for one creation) and opens one connection, so that an unreachable
    /// server is reported here rather than cached. That connection stays in the
    /// pool. A failed creation is not cached: the next call tries again.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) naming `host:port` if
    /// the server cannot be reached within the configuration's timeouts,
    /// [`ErrorKind::Build`](crate::ErrorKind::Build) if the pool cannot be built,
    /// [`ErrorKind::ShutDown`](crate::ErrorKind::ShutDown) after [`shutdown`](Self::shutdown).
    pub async fn get(&self, config: &RedisConfig) -> Result<RedisPool, Error> {
        let target: Arc<str> = config.target().into();
        if let Some(pool) = self.shared.get(config) {
            return Ok(RedisPool::shared(pool, target));
        }
        let lease = self
            .owned
            .get_or_try_insert_with(config.clone(), || create_owned(config, &self.budget))
            .await?;
        Ok(RedisPool::owned(lease, target))
    }

    /// Hands in a pool for `config` (pool passthrough): from now on,
    /// [`get`](Self::get) returns this very pool for `config` instead of creating
    /// one. The cache never closes it; the caller keeps owning it.
    ///
    /// The pool is pinned: neither capacity nor time evicts it (it does not count
    /// against [`max_capacity`](RedisClientsBuilder::max_capacity)), so the cache
    /// never replaces it with a pool of its own behind the caller's back. It stays
    /// until [`invalidate`](Self::invalidate), [`invalidate_all`](Self::invalidate_all)
    /// or [`shutdown`](Self::shutdown); after one of those, `get` creates an owned
    /// pool for `config` again.
    ///
    /// An owned pool the cache already had for `config` is retired (and closed once
    /// its handles are dropped), so that one configuration never has two pools. A
    /// shared pool already registered for `config` is replaced (and not closed).
    ///
    /// `pool` is a `deadpool_redis::Pool`, `deadpool_redis::cluster::Pool` or
    /// `deadpool_redis::sentinel::Pool` (see [`ExternalPool`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TopologyMismatch`](crate::ErrorKind::TopologyMismatch) if the pool's
    /// topology is not the configuration's, [`ErrorKind::ShutDown`](crate::ErrorKind::ShutDown)
    /// after [`shutdown`](Self::shutdown). The
    /// pool is not closed either way.
    pub fn insert_shared(&self, config: RedisConfig, pool: impl Into<ExternalPool>) -> Result<RedisPool, Error> {
        let pool = pool.into();
        if pool.topology() != config.topology() {
            return Err(Error::topology_mismatch(config.topology(), pool.topology()));
        }
        let target: Arc<str> = config.target().into();
        let pool = Shared::new(pool);
        self.shared.insert(config.clone(), pool.clone())?;
        // After registering, so that a concurrent `get` finds the handed-in pool
        // rather than creating an owned one anew.
        self.owned.invalidate(&config);
        Ok(RedisPool::shared(pool, target))
    }

    /// Retires the pools for `config`: an owned one is closed after its last
    /// handle is dropped; a shared one is only forgotten.
    pub fn invalidate(&self, config: &RedisConfig) {
        self.owned.invalidate(config);
        self.shared.remove(config);
    }

    /// Retires every pool, as [`invalidate`](Self::invalidate) does.
    pub fn invalidate_all(&self) {
        self.owned.invalidate_all();
        self.shared.clear();
    }

    /// How many pools the cache holds (owned and shared).
    pub fn len(&self) -> usize {
        self.owned.len() + self.shared.read().len()
    }

    /// Whether the cache holds no pool.
    pub fn is_empty(&self) -> bool {
        self.owned.is_empty() && self.shared.read().is_empty()
    }

    /// Counters of the owned pools: hits, misses, evictions by cause, closes,
    /// pools retired but still draining.
    pub fn owned_stats(&self) -> CacheStats {
        self.owned.stats()
    }

    /// Counters of the handed-in pools: hits, inserts, removals (`explicit` by
    /// invalidation or shutdown, `replaced` by a later `insert_shared`). Handed-in
    /// pools are pinned, so capacity, expiry and idle evictions and `closes` are
    /// always 0.
    pub fn shared_stats(&self) -> CacheStats {
        self.shared.stats()
    }

    /// How many connections this cache's owned pools may hold to any one Redis
    /// node, now and at most so far; see [`ConnectionBudget`].
    ///
    /// ```
    /// # use tenure_redis::RedisClients;
    /// let clients = RedisClients::builder().max_capacity(2).build()?;
    /// let budget = clients.connection_budget();
    /// assert_eq!(budget.max_pools, 2);
    /// assert_eq!(budget.open_pools, 0);
    /// assert_eq!(budget.steady_state_bound(16), 32);
    /// # Ok::<(), tenure_redis::Error>(())
    /// ```
    pub fn connection_budget(&self) -> ConnectionBudget {
        self.budget.snapshot(self.max_capacity, self.shared.read().len() as u64)
    }

    /// Retires every pool and waits until every owned pool is closed; takes no
    /// new pools afterwards.
    ///
    /// What is awaited, precisely: for each owned pool, the last [`RedisPool`]
    /// handle and the last [`RedisConnection`](crate::RedisConnection) lent from it
    /// are dropped, then the pool is closed, which drops its idle connections; at
    /// that point the pool holds no connection (`status().size == 0`). Each
    /// dropped connection's socket is then closed by its connection task on the
    /// runtime, right after. Shared pools are only forgotten.
    ///
    /// With handles held forever this waits forever; use
    /// [`shutdown_within`](Self::shutdown_within) for a bound. Calling it again
    /// returns at once.
    pub async fn shutdown(&self) -> ShutdownReport<RedisConfig> {
        self.shut_down_shared();
        let report = self.owned.shutdown().await;
        tracing::debug!(closes = report.stats.closes, "Redis client cache shut down");
        report
    }

    /// [`shutdown`](Self::shutdown), waiting at most `deadline` for handles to be
    /// dropped. The report lists the configurations whose pools were still in use;
    /// each is closed when its last handle is dropped.
    pub async fn shutdown_within(&self, deadline: Duration) -> ShutdownReport<RedisConfig> {
        self.shut_down_shared();
        self.owned.shutdown().deadline(deadline).await
    }

    /// Forgets every handed-in pool (never closing it) and refuses new ones.
    fn shut_down_shared(&self) {
        self.shared.shut_down.store(true, Ordering::Release);
        self.shared.clear();
    }
}

/// Builds an owned pool and opens its first connection.
async fn create_owned(config: &RedisConfig, budget: &Arc<BudgetCounters>) -> Result<Owned<OwnedRedisPool>, Error> {
    tracing::debug!(config = %config, "creating a Redis pool");
    let pool = OwnedRedisPool::build(config, BudgetToken::new(budget, config.max_connections()))?;
    if let Err(e) = pool.connect_once().await {
        // Dropping the pool (never lent out) drops its connections.
        tracing::debug!(target_server = %config.target(), error = %e, "Redis pool creation failed");
        return Err(Error::connection(&config.target(), e));
    }
    Ok(Owned::new(pool))
}

/// Configures [`RedisClients`]; see [`RedisClients::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisClientsBuilder {
    max_capacity: u64,
    time_to_live: Option<Duration>,
    time_to_idle: Option<Duration>,
    scope_by_runtime: bool,
    refresh: Refresh,
}

/// When owned pools are rebuilt ahead of their expiry.
#[derive(Debug, Clone, Copy)]
enum Refresh {
    /// At four fifths of the time-to-live; none without one.
    Default,
    After(Duration),
    Off,
}

impl RedisClientsBuilder {
    /// The most owned pools the cache holds (default 200). Handed-in pools are
    /// pinned and not counted.
    pub fn max_capacity(mut self, max_capacity: u64) -> Self {
        self.max_capacity = max_capacity;
        self
    }

    /// How long an owned pool lives after creation (default 10 minutes).
    pub fn time_to_live(mut self, time_to_live: Duration) -> Self {
        self.time_to_live = Some(time_to_live);
        self
    }

    /// Owned pools live until evicted, idle or invalidated: no time-to-live.
    pub fn without_time_to_live(mut self) -> Self {
        self.time_to_live = None;
        self
    }

    /// How long an owned pool lives after its last lookup (default: no limit).
    pub fn time_to_idle(mut self, time_to_idle: Duration) -> Self {
        self.time_to_idle = Some(time_to_idle);
        self
    }

    /// Refresh ahead: the first lookup of an owned pool older than `after` builds
    /// its replacement in the background (opening its first connection), and
    /// serves the current pool meanwhile; the new pool then takes its place and
    /// the old one drains, then closes. So a pool in steady use rotates at its
    /// time-to-live without a cold start or a failed command.
    ///
    /// Default: four fifths of the time-to-live (8 minutes with the default 10);
    /// none without a time-to-live. It must be shorter than the time-to-live. A
    /// failed refresh is counted (`owned_stats().refresh_failures`) and the
    /// current pool serves until it expires. See `ClientCacheBuilder::refresh_after`.
    pub fn refresh_after(mut self, after: Duration) -> Self {
        self.refresh = Refresh::After(after);
        self
    }

    /// No refresh ahead: an owned pool is dropped at its time-to-live, and the
    /// next lookup builds a new one.
    pub fn without_refresh(mut self) -> Self {
        self.refresh = Refresh::Off;
        self
    }

    /// Keys owned pools by the tokio runtime too, so that a pool whose connection
    /// tasks run on one runtime is never handed to another. Off by default: a pool
    /// used from another runtime still works while the first one runs, and
    /// replaces connections that died with it.
    pub fn scope_by_runtime(mut self) -> Self {
        self.scope_by_runtime = true;
        self
    }

    /// Builds the cache.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Cache`](crate::ErrorKind::Cache) naming the setting that is out of range (a capacity of 0,
    /// a zero duration).
    pub fn build(self) -> Result<RedisClients, Error> {
        let mut owned = ClientCache::builder().max_capacity(self.max_capacity);
        owned = match self.time_to_live {
            Some(ttl) => owned.time_to_live(ttl),
            None => owned.without_time_to_live(),
        };
        if let Some(tti) = self.time_to_idle {
            owned = owned.time_to_idle(tti);
        }
        if self.scope_by_runtime {
            owned = owned.scope_by_runtime();
        }
        let refresh_after = match self.refresh {
            Refresh::Default => self
                .time_to_live
                .map(|ttl| ttl / 5 * 4)
                .filter(|after| !after.is_zero()),
            Refresh::After(after) => Some(after),
            Refresh::Off => None,
        };
        let budget = Arc::<BudgetCounters>::default();
        if let Some(after) = refresh_after {
            let budget = Arc::clone(&budget);
            owned = owned.refresh_after(after, move |config: &RedisConfig| {
                let (config, budget) = (config.clone(), Arc::clone(&budget));
                async move { create_owned(&config, &budget).await }
            });
        }
        Ok(RedisClients {
            owned: owned.build().map_err(Error::cache)?,
            shared: Arc::default(),
            budget,
            max_capacity: self.max_capacity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_defaults_and_invalid_settings() {
        let clients = RedisClients::new().unwrap();
        assert!(clients.is_empty());
        assert_eq!(clients.len(), 0);
        let err = RedisClients::builder().max_capacity(0).build().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Cache, "{err:?}");
        assert!(err.to_string().contains("max_capacity"), "{err}");
        let err = RedisClients::builder()
            .time_to_live(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("time_to_live"), "{err}");
    }
}
