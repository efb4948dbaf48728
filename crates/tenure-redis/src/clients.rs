//! [`RedisClients`]: the cache of Redis pools, owned or shared.

use std::{
    collections::HashMap,
    sync::{
        Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tenure_pool::{
    CachePolicy, CacheStats, ClientCache, EvictionListener, Lease, Owned, RemovalCause, Shared, ShutdownReport,
};

use crate::{
    ConnectionBudget, Error, ExternalPool, RedisConfig, RedisPool,
    budget::{BudgetCounters, BudgetToken},
    connection_error::ConnectionError,
    pool::OwnedRedisPool,
    scrub::Secrets,
};

/// A cache of Redis connection pools, keyed by [`RedisConfig`].
///
/// It holds two kinds of pool, and treats them differently when it retires one
/// (capacity eviction, time-to-live expiry, invalidation, shutdown):
///
/// - **owned** pools, which [`get`](Self::get) creates from a configuration. The
///   cache is their only owner. A retired owned pool is closed once the last
///   [`RedisPool`] handle and the last [`RedisConnection`](crate::RedisConnection)
///   lent from it are dropped: in-flight commands complete, and no pool is left
///   open once they all are (a handle passed to `mem::forget` keeps it open).
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
/// ```
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::{RedisClients, RedisConfig};
/// use tenure::redis::deadpool_redis::redis::AsyncCommands;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = tenure_test_support::RedisServer::start()?; // private, never 6379
/// # let url = server.url();
/// let clients = RedisClients::new()?;
/// let config = RedisConfig::builder(&url) // e.g. "redis://127.0.0.1:6390/0"
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
}

/// The handed-in pools: pinned, so a plain map rather than a cache with eviction.
#[derive(Debug, Default)]
struct SharedPools {
    pools: RwLock<HashMap<RedisConfig, HandedIn>>,
    hits: AtomicU64,
    inserts: AtomicU64,
    explicit: AtomicU64,
    replaced: AtomicU64,
    /// Panics of the eviction listener, caught (as every tenure cache catches them).
    listener_panics: AtomicU64,
    /// Set by shutdown, read under the map's write lock by `insert_shared`.
    shut_down: AtomicBool,
    /// The caller's eviction listener, told of every handed-in pool removed.
    listener: Option<EvictionListener<RedisConfig, RedisPool>>,
}

/// A pool handed in, with its configuration's secrets, taken once when it is
/// handed in rather than at each lookup (errors of its connections are
/// scrubbed of them).
#[derive(Clone, Debug)]
struct HandedIn {
    pool: Shared<ExternalPool>,
    secrets: Secrets,
}

impl HandedIn {
    fn handle(self, config: &RedisConfig) -> RedisPool {
        RedisPool::shared(self.pool, config.target().into(), self.secrets)
    }
}

impl SharedPools {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<RedisConfig, HandedIn>> {
        self.pools.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<RedisConfig, HandedIn>> {
        self.pools.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, config: &RedisConfig) -> Option<HandedIn> {
        let found = self.peek(config);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// The pool handed in for `config`, if any, without counting a lookup.
    fn peek(&self, config: &RedisConfig) -> Option<HandedIn> {
        self.read().get(config).cloned()
    }

    /// Registers `pool` for `config`, unless the cache is shut down.
    fn insert(&self, config: &RedisConfig, pool: HandedIn) -> Result<(), Error> {
        let replaced = {
            let mut pools = self.write();
            if self.shut_down.load(Ordering::Acquire) {
                return Err(Error::shut_down());
            }
            pools.insert(config.clone(), pool)
        };
        self.inserts.fetch_add(1, Ordering::Relaxed);
        if let Some(replaced) = replaced {
            self.replaced.fetch_add(1, Ordering::Relaxed);
            self.notify(config, replaced, RemovalCause::Replaced);
        }
        Ok(())
    }

    fn remove(&self, config: &RedisConfig) {
        let removed = self.write().remove(config);
        if let Some(removed) = removed {
            self.explicit.fetch_add(1, Ordering::Relaxed);
            self.notify(config, removed, RemovalCause::Explicit);
        }
    }

    fn clear(&self) {
        let removed = std::mem::take(&mut *self.write());
        self.explicit.fetch_add(removed.len() as u64, Ordering::Relaxed);
        for (config, pool) in removed {
            self.notify(&config, pool, RemovalCause::Explicit);
        }
    }

    /// Tells the listener, outside the map's lock, as the owned pools' cache
    /// does: a panic in the listener is caught, logged and counted
    /// (`listener_panics`), and the pool is forgotten all the same.
    fn notify(&self, config: &RedisConfig, pool: HandedIn, cause: RemovalCause) {
        if let Some(listener) = &self.listener {
            let handle = pool.handle(config);
            let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                listener.notify(config, &handle, cause);
            }));
            if told.is_err() {
                self.listener_panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    config = %config,
                    ?cause,
                    "the eviction listener panicked; the handed-in pool is forgotten all the same"
                );
            }
        }
    }

    fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        stats.hits = self.hits.load(Ordering::Relaxed);
        stats.inserts = self.inserts.load(Ordering::Relaxed);
        stats.evictions.explicit = self.explicit.load(Ordering::Relaxed);
        stats.evictions.replaced = self.replaced.load(Ordering::Relaxed);
        stats.listener_panics = self.listener_panics.load(Ordering::Relaxed);
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

    /// Configures a cache, starting from the defaults (see [`RedisClientsBuilder`]).
    pub fn builder() -> RedisClientsBuilder {
        RedisClientsBuilder {
            policy: CachePolicy::new(),
        }
    }

    /// The pool for `config`: the shared pool handed in for it, else the owned
    /// pool the cache has for it, else a new owned pool.
    ///
    /// Creating a pool is single-flight (concurrent callers for one configuration
    /// wait for one creation) and opens one connection and sends it a `PING`, so
    /// that an unreachable server, or one that refuses the configuration's
    /// credentials or needs a password it lacks (`NOAUTH`), is reported here
    /// rather than cached. That connection stays in the
    /// pool. A failed creation is not cached: the next call tries again.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) naming `host:port` if
    /// the server cannot be reached within the configuration's timeouts, or its
    /// first connection's `PING` fails (wrong or missing credentials),
    /// [`ErrorKind::Build`](crate::ErrorKind::Build) if the pool cannot be built,
    /// [`ErrorKind::ShutDown`](crate::ErrorKind::ShutDown) after [`shutdown`](Self::shutdown),
    /// [`ErrorKind::Runtime`](crate::ErrorKind::Runtime) if polled outside a tokio
    /// runtime, or on one built without its timer or its IO driver (creating a
    /// pool needs its timers and its sockets; see
    /// [`check_runtime_drivers`](tenure_pool::check_runtime_drivers), which
    /// checks each runtime once per thread).
    pub async fn get(&self, config: &RedisConfig) -> Result<RedisPool, Error> {
        // deadpool's tokio timers, and tokio's sockets, panic outside a runtime
        // or on one without their driver: refuse first, whether or not a pool
        // would be created.
        tenure_pool::check_runtime_drivers().map_err(|missing| Error::runtime("RedisClients::get", missing))?;
        if let Some(pool) = self.shared.get(config) {
            return Ok(pool.handle(config));
        }
        let lease = self
            .owned
            .get_or_try_insert_with(config.clone(), || create_owned(config, &self.budget))
            .await?;
        // A pool handed in while this one was being created wins, so that one
        // configuration never has two pools: `insert_shared` retired the owned
        // pools it found, and this one was not cached yet.
        if let Some(pool) = self.shared.peek(config) {
            drop(lease);
            self.owned.invalidate(config);
            return Ok(pool.handle(config));
        }
        Ok(RedisPool::owned(lease, config.target().into()))
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
    /// `deadpool_redis::sentinel::Pool` (see [`ExternalPool`]). Only its
    /// topology is checked: a pool that connects elsewhere is served for
    /// `config` all the same. Any holder of this `RedisClients` (or a clone) can
    /// call this, so hand it only to code you would let choose where a
    /// config's commands go.
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
        let pool = HandedIn {
            pool: Shared::new(pool),
            secrets: Secrets::of(&config),
        };
        self.shared.insert(&config, pool.clone())?;
        // After registering, so that a concurrent `get` finds the handed-in pool
        // rather than creating an owned one anew.
        self.owned.invalidate(&config);
        Ok(pool.handle(&config))
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

    /// How many pools the cache holds (owned and shared; expired owned ones not
    /// yet purged included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.owned.len() + self.shared.read().len()
    }

    /// [`len`](Self::len) as a `u64`, under the name moka users know.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.len() as u64
    }

    /// Whether the cache holds no pool.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.owned.is_empty() && self.shared.read().is_empty()
    }

    /// A read-only snapshot of the cache's counters, owned and handed-in pools
    /// together, with the meaning [`CacheStats`] gives them for every tenure
    /// cache: `hits` counts the lookups that found a pool (owned or handed in),
    /// `misses` those that found neither, `inserts` the owned pools cached plus
    /// the pools handed in, `evictions` both kinds by cause; `closes`,
    /// `draining` and the refresh counters concern owned pools only.
    /// [`owned_stats`](Self::owned_stats) and [`shared_stats`](Self::shared_stats)
    /// are the two parts.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        let mut stats = self.owned.stats();
        let shared = self.shared.stats();
        stats.hits += shared.hits;
        stats.inserts += shared.inserts;
        stats.evictions.explicit += shared.evictions.explicit;
        stats.evictions.replaced += shared.evictions.replaced;
        stats.listener_panics += shared.listener_panics;
        stats
    }

    /// Counters of the owned pools alone: hits, misses, evictions by cause, closes,
    /// pools retired but still draining.
    pub fn owned_stats(&self) -> CacheStats {
        self.owned.stats()
    }

    /// Counters of the handed-in pools: hits, inserts, removals (`explicit` by
    /// invalidation or shutdown, `replaced` by a later `insert_shared`), and
    /// the eviction listener's caught panics (`listener_panics`). Handed-in
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
        self.budget
            .snapshot(self.owned.max_capacity(), self.shared.read().len() as u64)
    }

    /// Retires every pool and waits until every owned pool is closed; takes no
    /// new pools afterwards.
    ///
    /// What is awaited, precisely: for each owned pool, the last [`RedisPool`]
    /// handle and the last [`RedisConnection`](crate::RedisConnection) lent from it
    /// are dropped, then the pool is closed, which drops its idle connections; at
    /// that point the pool holds no connection (`status().size == 0`). Each
    /// dropped connection's socket is then closed by its connection task on the
    /// runtime, right after. A pool being built to refresh one ahead
    /// ([`refresh_after`](RedisClientsBuilder::refresh_after)) when the
    /// shutdown starts is awaited too: it holds the pool it replaces until it is
    /// built (up to its creation bound), then is closed in turn. Shared pools
    /// are only forgotten.
    ///
    /// With handles held forever this waits forever; use
    /// [`shutdown_within`](Self::shutdown_within) for a bound. Calling it again
    /// is safe: a second call (of either method) waits for the pools the first
    /// left draining (a `shutdown_within` whose deadline passed under held
    /// handles, or a `shutdown` future dropped before it finished), and returns
    /// at once only when nothing is left.
    pub async fn shutdown(&self) -> ShutdownReport<RedisConfig> {
        self.shut_down_shared();
        let report = self.owned.shutdown().await;
        tracing::debug!(closes = report.stats.closes, "Redis client cache shut down");
        report
    }

    /// [`shutdown`](Self::shutdown), waiting at most `deadline` for handles to be
    /// dropped. The report lists the configurations whose pools were still in use
    /// (held by a handle, a connection, or a refresh still building the pool's
    /// replacement); each is closed when its last handle is dropped, whether or
    /// not the cache is asked again. A later `shutdown` or `shutdown_within`
    /// waits for them (the latter up to its own deadline) and reports those
    /// still open.
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
        // Dropping the pool (never lent out) drops its connections. The server's
        // reply may quote the credentials: only the scrubbed error is shown.
        let e = ConnectionError::new(e, &pool.secrets);
        tracing::debug!(target_server = %config.target(), error = %e, "Redis pool creation failed");
        return Err(Error::connection(&config.target(), e));
    }
    Ok(Owned::new(pool))
}

/// Configures [`RedisClients`]; see [`RedisClients::builder`].
///
/// Its setters are those of every tenure cache builder: each records a
/// [`CachePolicy`] setting (documented there), and [`build`](Self::build) checks
/// them all, with the same messages as any other cache. Capacity, expiry and
/// refresh apply to the owned pools; handed-in pools are pinned (see
/// [`RedisClients::insert_shared`]). The eviction listener is told of both:
/// its [`RedisPool`] says which ([`RedisPool::ownership`]).
///
/// | setting | default |
/// |---|---|
/// | `max_capacity` | 200 owned pools (handed-in pools are not counted) |
/// | `time_to_live` | 10 minutes |
/// | `time_to_idle` | none |
/// | refresh ahead | at 80 % of the time-to-live (8 minutes with the default 10), if the pool is looked up then; none without a time-to-live |
/// | `scope_by_runtime` | off |
/// | `drain_warning_after` | 60 seconds |
/// | `name` | `"RedisClients"` (the metrics label and the span field) |
/// | `eviction_listener` | none |
///
/// Refresh ahead builds the replacement in the background (opening its first
/// connection) and serves the current pool meanwhile; the new pool then takes
/// its place and the old one drains, then closes. So a pool in steady use
/// rotates at its time-to-live without a cold start or a failed command. A
/// failed refresh is counted (`stats().refresh_failures`) and the current pool
/// serves until it expires.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::RedisClients;
///
/// let retired = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&retired);
/// let clients = RedisClients::builder()
///     .max_capacity(50)
///     .time_to_live(Duration::from_secs(300)) // refreshed ahead at 4 minutes
///     .eviction_listener(move |config, pool, cause| {
///         log.lock().unwrap().push((config.clone(), pool.ownership(), cause));
///     })
///     .build()?;
/// assert_eq!(clients.connection_budget().max_pools, 50);
/// # Ok::<(), tenure_redis::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisClientsBuilder {
    policy: CachePolicy<RedisConfig, RedisPool>,
}

impl RedisClientsBuilder {
    tenure_pool::__cache_policy_setters!(
        pool: tenure_pool,
        key: RedisConfig,
        handle: RedisPool,
        refresh: yes
    );

    /// Builds the cache.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSetting`](crate::ErrorKind::InvalidSetting) naming the
    /// setting that is out of range, with the message any tenure cache gives for it (see
    /// [`CachePolicy`]).
    pub fn build(self) -> Result<RedisClients, Error> {
        let defaults = CachePolicy::new()
            .max_capacity(RedisClients::DEFAULT_MAX_CAPACITY)
            .time_to_live(RedisClients::DEFAULT_TIME_TO_LIVE)
            .refresh_after_ttl_percent(80)
            .name("RedisClients");
        let policy = self.policy.or(defaults);
        let listener = policy.listener().cloned();
        // The owned pools' cache hands out leases; the listener is given the
        // `RedisPool` a lookup would return.
        let policy = policy.map_handle(|config: &RedisConfig, lease: &Lease<OwnedRedisPool>| {
            RedisPool::owned(lease.clone(), config.target().into())
        });
        let budget = Arc::<BudgetCounters>::default();
        let refresh_budget = Arc::clone(&budget);
        let owned = ClientCache::builder()
            .policy(policy)
            .refresh_with(move |config: &RedisConfig| {
                let (config, budget) = (config.clone(), Arc::clone(&refresh_budget));
                async move { create_owned(&config, &budget).await }
            })
            .build()
            .map_err(Error::cache)?;
        Ok(RedisClients {
            owned,
            shared: Arc::new(SharedPools {
                listener,
                ..SharedPools::default()
            }),
            budget,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_defaults_and_invalid_settings() {
        let clients = RedisClients::new().unwrap();
        assert_eq!(clients.owned.name(), "RedisClients");
        let named = RedisClients::builder().name("sessions").build().unwrap();
        assert_eq!(named.owned.name(), "sessions");
        assert!(clients.is_empty());
        assert_eq!(clients.len(), 0);
        let err = RedisClients::builder().max_capacity(0).build().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidSetting, "{err:?}");
        assert!(err.is_config());
        assert!(err.to_string().contains("max_capacity"), "{err}");
        let err = RedisClients::builder()
            .time_to_live(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("time_to_live"), "{err}");
    }

    /// Polls `future` once, outside any runtime.
    fn poll_once<F: std::future::Future>(future: F) -> std::task::Poll<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::pin::pin!(future).as_mut().poll(&mut cx)
    }

    #[test]
    fn get_outside_a_runtime_is_a_typed_error() {
        assert!(tokio::runtime::Handle::try_current().is_err());
        let clients = RedisClients::new().unwrap();
        let config = RedisConfig::from_url("redis://127.0.0.1:1/0").unwrap();
        let std::task::Poll::Ready(Err(err)) = poll_once(clients.get(&config)) else {
            panic!("`get` outside a runtime must fail at once");
        };
        assert_eq!(err.kind(), crate::ErrorKind::Runtime, "{err:?}");
        assert!(!err.is_config());
        assert!(err.to_string().contains("no tokio runtime"), "{err}");

        // A handed-in pool's `get`, likewise (deadpool's timers need a runtime).
        let pool = clients
            .insert_shared(config.clone(), config.create_pool().unwrap())
            .unwrap();
        let std::task::Poll::Ready(Err(err)) = poll_once(pool.get()) else {
            panic!("`RedisPool::get` outside a runtime must fail at once");
        };
        assert_eq!(err.kind(), crate::ErrorKind::Runtime, "{err:?}");
        // And `RedisClients::get` finding that shared pool.
        let std::task::Poll::Ready(Err(err)) = poll_once(clients.get(&config)) else {
            panic!("`get` outside a runtime must fail at once");
        };
        assert_eq!(err.kind(), crate::ErrorKind::Runtime, "{err:?}");
    }

    /// On a runtime without its timer, deadpool's timeouts panicked (in
    /// deadpool-runtime); without its IO driver, tokio's `TcpStream::connect`
    /// did. Both `get`s now refuse with a typed error naming what is missing.
    #[test]
    fn get_on_a_runtime_without_a_timer_or_io_is_a_typed_error() {
        for (runtime, missing) in [
            (
                tokio::runtime::Builder::new_current_thread().enable_io().build(),
                tenure_pool::MissingDriver::Timer,
            ),
            (
                tokio::runtime::Builder::new_current_thread().enable_time().build(),
                tenure_pool::MissingDriver::Io,
            ),
        ] {
            let runtime = runtime.expect("a runtime");
            let clients = RedisClients::new().unwrap();
            // Port 1 on the loopback: nothing listens (and nothing is reached).
            let config = RedisConfig::from_url("redis://127.0.0.1:1/0").unwrap();
            let check = |err: Error, operation: &str| {
                assert_eq!(err.kind(), crate::ErrorKind::Runtime, "{err:?}");
                assert!(!err.is_config());
                assert_eq!(err.to_string(), format!("{operation}: {missing}"));
                let source =
                    std::error::Error::source(&err).and_then(|s| s.downcast_ref::<tenure_pool::MissingDriver>());
                assert_eq!(source, Some(&missing), "{err:?}");
            };
            let err = runtime
                .block_on(clients.get(&config))
                .expect_err("no pool without the driver");
            check(err, "RedisClients::get");
            assert!(clients.is_empty(), "nothing was created");
            let pool = clients
                .insert_shared(config.clone(), config.create_pool().unwrap())
                .unwrap();
            let err = runtime
                .block_on(pool.get())
                .map(drop)
                .expect_err("no connection without the driver");
            check(err, "RedisPool::get");
            let err = runtime
                .block_on(clients.get(&config))
                .expect_err("not even a handed-in pool");
            check(err, "RedisClients::get");
        }
    }
}
