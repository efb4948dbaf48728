use std::{fmt, future::Future, sync::Arc, time::Duration};

use tenure_core::{Close, Entry, Owned};

use crate::{
    CachePolicy, ClientCache, Error,
    cache::{CacheKey, Inner, Refresher, Settings},
    clock::nanos,
};

/// Each shard keeps at least this many entries, so eviction stays close to the
/// policy's global choice; caches under twice this get one shard. Every shard
/// spends an entry on its small queue and keys never split evenly over shards,
/// which a loop slightly larger than the cache shows: over 1,100 keys at
/// capacity 1,000, 16 shards of 62 hit 0.895, 4 of 250 0.906 and 2 of 500 0.907
/// (no cache that keeps every insert can pass 0.909).
const MIN_SHARD_CAPACITY: u64 = 256;
/// The least margin a hit keeps between `recent` and a deadline; see `clock.rs`.
const MIN_SLACK: Duration = Duration::from_millis(100);

/// Configures a [`ClientCache`].
///
/// Its setters are those of every tenure cache builder: each records a
/// [`CachePolicy`] setting (documented there), and [`build`](Self::build)
/// checks them all. [`policy`](Self::policy) takes a whole policy at once.
///
/// | setting | default |
/// |---|---|
/// | `max_capacity` | 200 |
/// | `time_to_live` | 10 minutes |
/// | `time_to_idle` | none |
/// | refresh ahead | none (owned caches: [`refresh_after`](Self::refresh_after)) |
/// | `scope_by_runtime` | off |
/// | `drain_warning_after` | 60 seconds |
/// | `name` | `"tenure"` |
/// | `eviction_listener` | none |
///
/// # Zero and out-of-range settings
///
/// `max_capacity` must be at least 1 (a cache that holds nothing would retire every
/// entry as it is inserted) and at most 2²⁰ (1,048,576). `time_to_live`, `time_to_idle`
/// and `drain_warning_after` must be greater than zero (an entry that expires as
/// it is inserted is never served). [`build`](Self::build) reports the first
/// setting that breaks a rule, by name and value (see [`CachePolicy`]'s rules).
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
    policy: CachePolicy<K, E::Handle>,
    refresher: Option<Refresher<K, E>>,
}

// Here rather than in `cache.rs`, so the cache does not depend on its builder.
impl<K: CacheKey, E: Entry> ClientCache<K, E> {
    /// Starts configuring a cache: capacity 200, time-to-live 10 minutes.
    pub fn builder() -> ClientCacheBuilder<K, E> {
        ClientCacheBuilder {
            policy: CachePolicy::new(),
            refresher: None,
        }
    }
}

impl<K: CacheKey, E: Entry> ClientCacheBuilder<K, E> {
    crate::__cache_policy_setters!(pool: crate, key: K, handle: E::Handle);

    /// Builds the cache.
    ///
    /// May be called outside a runtime; the background reaper starts on the first
    /// insert made on one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSetting`](crate::ErrorKind::InvalidSetting), naming the
    /// setting and its value (see [`CachePolicy`]'s rules).
    pub fn build(self) -> Result<ClientCache<K, E>, Error> {
        let policy = self.policy.resolve(self.refresher.is_some())?;
        let reap_interval = reap_interval(policy.shortest_expiry);
        let refresher = self.refresher.filter(|_| policy.expiry.refresh.is_some());
        let settings = Settings {
            expiry: policy.expiry,
            scoped: policy.scoped,
            name: policy.name,
            max_capacity: policy.max_capacity,
            drain_warning: nanos(policy.drain_warning),
            reap_interval,
            // Two reaper ticks (how far `recent` may lag under paused time), and at
            // least 100 ms (how late the heartbeat thread may wake without a hit
            // trusting a stale `recent`).
            slack: (nanos(reap_interval) * 2).max(nanos(MIN_SLACK)),
            // Two missed passes plus the slack, in heartbeat beats.
            reaper_stall_beats: ((reap_interval * 2 + MIN_SLACK).as_nanos() / crate::heartbeat::PERIOD.as_nanos())
                as u64,
        };
        let listener = policy.listener.map(crate::EvictionListener::into_fn);
        let inner = Inner::new(&shard_capacities(policy.max_capacity), settings, listener, refresher);
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
    /// the current entry meanwhile. The same as
    /// [`CachePolicy::refresh_after`]`(after)` with
    /// [`refresh_with`](Self::refresh_with)`(refresh)`.
    ///
    /// One refresh runs per entry at a time (later lookups do not start another).
    /// When the new entry is ready it takes the old one's place (same key, same
    /// place in the eviction policy, times restarted), and the old one is retired
    /// as [`RemovalCause::Refreshed`](crate::RemovalCause::Refreshed): it drains, then closes, like any retired
    /// owned entry. So a hot entry rotates without a cold start and without a
    /// failed call. A failed refresh is counted
    /// ([`CacheStats::refresh_failures`](crate::CacheStats::refresh_failures)) and
    /// logged; the old entry serves on until it expires, and the next lookup one
    /// period later tries again. An entry that is not looked up is not refreshed:
    /// it expires as usual.
    ///
    /// The refresh runs on the runtime of the lookup that starts it (else the
    /// runtime the cache was built on), starting one tick of its timer (1 ms)
    /// after that lookup, so that it does not compete with the caller's own
    /// command. Only owned caches have this setting:
    /// rebuilding a shared client would only cool its pool.
    ///
    /// While it builds, a refresh holds the entry it replaces as a lease
    /// would, so that entry, once retired, closes only after the refresh has
    /// ended; an entry that left before its refresh started building (the tick
    /// after the lookup) is not rebuilt at all. A
    /// [`shutdown`](crate::ClientCache::shutdown) that starts during a
    /// refresh's build therefore waits for it: the new entry, built after the shutdown
    /// began, is refused (counted in
    /// [`refreshes_discarded`](crate::CacheStats::refreshes_discarded)) and
    /// closed before the shutdown returns; with a deadline that passes first,
    /// the report names the entry being replaced as
    /// [`Leased`](crate::PendingState::Leased). A refresh that never finishes
    /// (its build hangs, or its runtime is a current-thread one no longer
    /// driven during the build) holds a shutdown without a deadline as a lease never dropped
    /// does, until its task is dropped with its runtime. A build does not hold
    /// the cache itself: dropping its last handle during a build retires every
    /// entry at once; the one being replaced closes when the build ends, and
    /// the new entry, built for a cache that is gone, is dropped unclosed.
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
        self.policy = self.policy.refresh_after(after);
        self.refresh_with(refresh)
    }

    /// The function that builds a refreshed entry, for the refresh-ahead
    /// setting of the [`CachePolicy`] ([`CachePolicy::refresh_after`] or
    /// [`CachePolicy::refresh_after_ttl_percent`]); see
    /// [`refresh_after`](Self::refresh_after). Without a refresh setting it is
    /// never called. The error is logged by its `Display`.
    pub fn refresh_with<F, Fut, Err>(mut self, refresh: F) -> Self
    where
        F: Fn(&K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Owned<T>, Err>> + Send + 'static,
        Err: fmt::Display + Send + 'static,
    {
        let refresher: Refresher<K, Owned<T>> = Arc::new(move |key: &K| {
            let building = refresh(key);
            Box::pin(async move { building.await.map_err(|error| error.to_string()) })
        });
        self.refresher = Some(refresher);
        self
    }
}

/// Splits the capacity over a power-of-two number of shards: 64 per core rounded
/// up to a power of two (so fewer than 128 per core), fewer when that would
/// leave shards with under `MIN_SHARD_CAPACITY` entries.
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
            .field("policy", &self.policy)
            .field("refresh_with", &self.refresher.is_some())
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
