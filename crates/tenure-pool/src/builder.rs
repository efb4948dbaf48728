use std::{fmt, future::Future, marker::PhantomData, sync::Arc, time::Duration};

use tenure_core::{Close, Entry, Owned};

use crate::{
    ClientCache, Error, RemovalCause,
    cache::{CacheKey, Inner, Listener, Refresher, Settings},
    clock::nanos,
    expiry::Expiry,
};

const DEFAULT_CAPACITY: u64 = 200;
const DEFAULT_TTL: Duration = Duration::from_secs(600);
const DEFAULT_DRAIN_WARNING: Duration = Duration::from_secs(60);
/// Each shard keeps at least this many entries, so eviction stays close to the
/// policy's global choice; caches under twice this get one shard. Every shard
/// spends an entry on its small queue and keys never split evenly over shards,
/// which a loop slightly larger than the cache shows: over 1,100 keys at
/// capacity 1,000, 16 shards of 62 hit 0.895, 4 of 250 0.906 and 2 of 500 0.907
/// (no cache that keeps every insert can pass 0.909).
const MIN_SHARD_CAPACITY: u64 = 256;
const MAX_CAPACITY: u64 = u32::MAX as u64;
/// The least margin a hit keeps between `recent` and a deadline; see `clock.rs`.
const MIN_SLACK: Duration = Duration::from_millis(100);

/// Configures a [`ClientCache`].
///
/// Defaults: `max_capacity` 200, `time_to_live` 10 minutes, no `time_to_idle`,
/// not scoped by runtime, drain warning after 60 seconds.
///
/// # Zero and out-of-range settings
///
/// `max_capacity` must be at least 1 (a cache that holds nothing would retire every
/// entry as it is inserted) and at most 2³²−1. `time_to_live`, `time_to_idle`
/// and `drain_warning_after` must be greater than zero (an entry that expires as
/// it is inserted is never served). [`build`](Self::build) reports the first
/// setting that breaks a rule, by name and value.
///
/// # Examples
///
/// ```
/// # use tenure_pool as tenure; // the facade re-exports these under the same names
/// use std::time::Duration;
/// use tenure::{ClientCache, ErrorKind, Shared};
///
/// let cache = ClientCache::<String, Shared<String>>::builder()
///     .max_capacity(50)
///     .time_to_idle(Duration::from_secs(300))
///     .build()
///     .unwrap();
/// # drop(cache);
///
/// let err = ClientCache::<String, Shared<String>>::builder().max_capacity(0).build().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidSetting);
/// assert!(err.to_string().contains("max_capacity"));
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientCacheBuilder<K, E: Entry> {
    max_capacity: u64,
    time_to_live: Option<Duration>,
    time_to_idle: Option<Duration>,
    scoped: bool,
    drain_warning: Duration,
    listener: Option<Listener<K, E>>,
    refresh: Option<(Duration, Refresher<K, E>)>,
    name: Arc<str>,
    _key: PhantomData<fn(K)>,
}

// Here rather than in `cache.rs`, so the cache does not depend on its builder.
impl<K: CacheKey, E: Entry> ClientCache<K, E> {
    /// Starts configuring a cache: capacity 200, time-to-live 10 minutes.
    pub fn builder() -> ClientCacheBuilder<K, E> {
        ClientCacheBuilder::new()
    }
}

impl<K: CacheKey, E: Entry> ClientCacheBuilder<K, E> {
    fn new() -> Self {
        Self {
            max_capacity: DEFAULT_CAPACITY,
            time_to_live: Some(DEFAULT_TTL),
            time_to_idle: None,
            scoped: false,
            drain_warning: DEFAULT_DRAIN_WARNING,
            listener: None,
            refresh: None,
            name: Arc::from("tenure"),
            _key: PhantomData,
        }
    }

    /// The most entries the cache holds (default 200).
    pub fn max_capacity(mut self, max_capacity: u64) -> Self {
        self.max_capacity = max_capacity;
        self
    }

    /// How long an entry lives after insertion (default 10 minutes).
    pub fn time_to_live(mut self, time_to_live: Duration) -> Self {
        self.time_to_live = Some(time_to_live);
        self
    }

    /// Entries live until evicted or idle: no time-to-live.
    ///
    /// Pair it with [`time_to_idle`](Self::time_to_idle) for clients that should
    /// stay warm while in use and go when unused.
    pub fn without_time_to_live(mut self) -> Self {
        self.time_to_live = None;
        self
    }

    /// How long an entry lives after its last lookup (default: no limit).
    pub fn time_to_idle(mut self, time_to_idle: Duration) -> Self {
        self.time_to_idle = Some(time_to_idle);
        self
    }

    /// Keys entries by the tokio runtime that created them as well as by key.
    ///
    /// A lookup finds only the current runtime's entry, so a runtime-bound client
    /// (whose connection tasks run on its runtime) is never handed to another
    /// runtime. When a runtime shuts down, its entries are never served again, even
    /// to a new runtime that reuses its `tokio::runtime::Id`, and the reaper purges
    /// them as [`RemovalCause::RuntimeGone`]. Outside a runtime, lookups miss and
    /// inserts fail with [`ErrorKind::NoRuntime`](crate::ErrorKind::NoRuntime).
    pub fn scope_by_runtime(mut self) -> Self {
        self.scoped = true;
        self
    }

    /// How long a retired entry may stay leased before a warning is logged (default 60 s).
    ///
    /// The entry is never force-closed; the warning names its key.
    pub fn drain_warning_after(mut self, after: Duration) -> Self {
        self.drain_warning = after;
        self
    }

    /// Calls `listener` for every entry that leaves the cache, with its cause.
    ///
    /// It runs on the thread that removed the entry, outside the cache's locks,
    /// before the cache drops its reference. It receives the handle a lookup would:
    /// a lease for an owned entry, a clone for a shared one. Neither can be closed:
    /// the cache closes owned entries itself after their last lease.
    ///
    /// ```compile_fail,E0277
    /// # use tenure_pool::{ClientCache, Close, Closing, Shared};
    /// # struct HttpClient;
    /// # impl Close for HttpClient { async fn close(self, _: &Closing) {} }
    /// let cache = ClientCache::<String, Shared<HttpClient>>::builder()
    ///     .eviction_listener(|_key, client, _cause| {
    ///         // The incident: closing a client that others still hold.
    ///         let _ = client.clone().close();
    ///     })
    ///     .build();
    /// ```
    #[doc(alias = "on_retire")]
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(&K, &E::Handle, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Names the cache (default `"tenure"`): the `cache` label of its metrics
    /// (feature `metrics`) and a field of its tracing spans. Give each cache of a
    /// process its own name.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = name.into();
        self
    }

    /// Builds the cache.
    ///
    /// May be called outside a runtime; the background reaper starts on the first
    /// insert made on one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSetting`](crate::ErrorKind::InvalidSetting), naming the
    /// setting and its value (see the rules above).
    pub fn build(self) -> Result<ClientCache<K, E>, Error> {
        if self.max_capacity == 0 || self.max_capacity > MAX_CAPACITY {
            return Err(Error::invalid_setting(
                "max_capacity",
                self.max_capacity,
                "must be between 1 and 4294967295",
            ));
        }
        for (setting, value) in [
            ("time_to_live", self.time_to_live),
            ("time_to_idle", self.time_to_idle),
            ("drain_warning_after", Some(self.drain_warning)),
        ] {
            if value == Some(Duration::ZERO) {
                return Err(Error::invalid_setting(
                    setting,
                    Duration::ZERO,
                    "must be greater than zero",
                ));
            }
        }
        let refresh_after = self.refresh.as_ref().map(|(after, _)| *after);
        if refresh_after == Some(Duration::ZERO) {
            return Err(Error::invalid_setting(
                "refresh_after",
                Duration::ZERO,
                "must be greater than zero",
            ));
        }
        if let (Some(after), Some(ttl)) = (refresh_after, self.time_to_live)
            && after >= ttl
        {
            return Err(Error::invalid_setting(
                "refresh_after",
                after,
                "must be shorter than time_to_live, or no entry is ever refreshed before it expires",
            ));
        }
        let shortest = [self.time_to_live, self.time_to_idle].into_iter().flatten().min();
        let settings = Settings {
            expiry: Expiry {
                ttl: self.time_to_live.map(nanos),
                tti: self.time_to_idle.map(nanos),
                refresh: refresh_after.map(nanos),
            },
            scoped: self.scoped,
            name: self.name,
            drain_warning: nanos(self.drain_warning),
            reap_interval: reap_interval(shortest),
            // Two reaper ticks (how far `recent` may lag under paused time), and at
            // least 100 ms (how late the heartbeat thread may wake without a hit
            // trusting a stale `recent`).
            slack: (nanos(reap_interval(shortest)) * 2).max(nanos(MIN_SLACK)),
            // Two missed passes plus the slack, in heartbeat beats.
            reaper_stall_beats: ((reap_interval(shortest) * 2 + MIN_SLACK).as_nanos()
                / crate::heartbeat::PERIOD.as_nanos()) as u64,
        };
        let refresher = self.refresh.map(|(_, refresher)| refresher);
        let inner = Inner::new(&shard_capacities(self.max_capacity), settings, self.listener, refresher);
        Ok(ClientCache { inner: Arc::new(inner) })
    }
}

/// A quarter of the shortest expiry, between 1 ms and 1 s.
fn reap_interval(shortest: Option<Duration>) -> Duration {
    shortest
        .map_or(Duration::from_secs(1), |d| d / 4)
        .clamp(Duration::from_millis(1), Duration::from_secs(1))
}

impl<K: CacheKey, T: Close + Sync> ClientCacheBuilder<K, Owned<T>> {
    /// Refresh ahead: a lookup of an owned entry older than `after` starts
    /// building its replacement with `refresh`, in the background, and is served
    /// the current entry meanwhile.
    ///
    /// One refresh runs per entry at a time (later lookups do not start another).
    /// When the new entry is ready it takes the old one's place (same key, same
    /// place in the eviction policy, times restarted), and the old one is retired
    /// as [`RemovalCause::Refreshed`]: it drains, then closes, like any retired
    /// owned entry. So a hot entry rotates without a cold start and without a
    /// failed call. A failed refresh is counted
    /// ([`CacheStats::refresh_failures`](crate::CacheStats::refresh_failures)) and
    /// logged; the old entry serves on until it expires, and the next lookup one
    /// period later tries again. An entry that is not looked up is not refreshed:
    /// it expires as usual.
    ///
    /// The refresh runs on the runtime of the lookup that starts it (else the
    /// runtime the cache was built on). Only owned caches have this setting:
    /// rebuilding a shared client would only cool its pool.
    ///
    /// `after` must be greater than zero and shorter than `time_to_live`;
    /// [`build`](Self::build) says which rule it breaks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use tenure_pool as tenure; // the facade re-exports these under the same names
    /// use tenure::{ClientCache, Close, Closing, Owned};
    ///
    /// struct Pool(String);
    /// impl Close for Pool {
    ///     async fn close(self, _: &Closing) {}
    /// }
    ///
    /// let pools = ClientCache::<String, Owned<Pool>>::builder()
    ///     .time_to_live(Duration::from_secs(600))
    ///     .refresh_after(Duration::from_secs(480), |url: &String| {
    ///         let url = url.clone();
    ///         async move { Ok::<_, std::io::Error>(Owned::new(Pool(url))) }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(pools);
    /// ```
    pub fn refresh_after<F, Fut, Err>(mut self, after: Duration, refresh: F) -> Self
    where
        F: Fn(&K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Owned<T>, Err>> + Send + 'static,
        Err: fmt::Display + Send + 'static,
    {
        let refresher: Refresher<K, Owned<T>> = Arc::new(move |key: &K| {
            let building = refresh(key);
            Box::pin(async move { building.await.map_err(|error| error.to_string()) })
        });
        self.refresh = Some((after, refresher));
        self
    }
}

/// Splits the capacity over a power-of-two number of shards: up to 64 per core,
/// fewer when that would leave shards with under `MIN_SHARD_CAPACITY` entries.
///
/// Many small shards make two threads rarely want the same lock word at once:
/// in the read-heavy benchmark (4,096 entries, 2 threads) scaling went from 0.42x
/// to 0.63x on disjoint keys, for 6 more bytes per entry.
fn shard_capacities(capacity: u64) -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(4, usize::from) as u64;
    let wanted = (cores * 64).next_power_of_two();
    let affordable = prev_power_of_two((capacity / MIN_SHARD_CAPACITY).max(1));
    let shards = wanted.min(affordable);
    (0..shards)
        .map(|i| (capacity / shards + u64::from(i < capacity % shards)) as usize)
        .collect()
}

fn prev_power_of_two(n: u64) -> u64 {
    1 << (63 - n.leading_zeros())
}

impl<K, E: Entry> fmt::Debug for ClientCacheBuilder<K, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCacheBuilder")
            .field("max_capacity", &self.max_capacity)
            .field("time_to_live", &self.time_to_live)
            .field("time_to_idle", &self.time_to_idle)
            .field("scoped", &self.scoped)
            .field("drain_warning", &self.drain_warning)
            .field("listener", &self.listener.is_some())
            .field("refresh_after", &self.refresh.as_ref().map(|(after, _)| after))
            .field("name", &self.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_capacity_exactly() {
        for capacity in [1, 2, 31, 32, 64, 200, 1000, 10_000, 123_457] {
            let shards = shard_capacities(capacity);
            assert!(shards.len().is_power_of_two());
            assert_eq!(shards.iter().sum::<usize>() as u64, capacity);
            assert!(shards.iter().all(|&c| c >= 1));
            if capacity >= MIN_SHARD_CAPACITY {
                assert!(
                    shards.iter().all(|&c| c as u64 >= MIN_SHARD_CAPACITY / 2),
                    "{capacity}: {shards:?}"
                );
            }
        }
        assert_eq!(shard_capacities(1), vec![1]);
    }

    #[test]
    fn reap_interval_is_a_quarter_of_the_shortest_expiry_within_bounds() {
        assert_eq!(reap_interval(None), Duration::from_secs(1));
        assert_eq!(reap_interval(Some(Duration::from_secs(600))), Duration::from_secs(1));
        assert_eq!(
            reap_interval(Some(Duration::from_millis(100))),
            Duration::from_millis(25)
        );
        assert_eq!(reap_interval(Some(Duration::from_micros(1))), Duration::from_millis(1));
    }
}
