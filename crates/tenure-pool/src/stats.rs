/// Why an entry left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Evicted to make room: the cache was at `max_capacity`.
    Capacity,
    /// Its `time_to_live` had passed.
    Expired,
    /// Unused for longer than its `time_to_idle`.
    Idle,
    /// Removed by `invalidate`, `invalidate_all`, `shutdown` or dropping the cache.
    Explicit,
    /// Replaced by an `insert` under the same key.
    Replaced,
    /// The tokio runtime that created it has shut down (runtime-scoped caches).
    RuntimeGone,
    /// Replaced by its refreshed successor (`refresh_after`); it drains, then closes.
    Refreshed,
}

impl RemovalCause {
    /// The cause in snake case (`"capacity"`, `"runtime_gone"`...), as metrics
    /// labels and logs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalCause::Capacity => "capacity",
            RemovalCause::Expired => "expired",
            RemovalCause::Idle => "idle",
            RemovalCause::Explicit => "explicit",
            RemovalCause::Replaced => "replaced",
            RemovalCause::RuntimeGone => "runtime_gone",
            RemovalCause::Refreshed => "refreshed",
        }
    }
}

/// Evictions counted by [`RemovalCause`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Evictions {
    /// [`RemovalCause::Capacity`].
    pub capacity: u64,
    /// [`RemovalCause::Expired`].
    pub expired: u64,
    /// [`RemovalCause::Idle`].
    pub idle: u64,
    /// [`RemovalCause::Explicit`].
    pub explicit: u64,
    /// [`RemovalCause::Replaced`].
    pub replaced: u64,
    /// [`RemovalCause::RuntimeGone`].
    pub runtime_gone: u64,
    /// [`RemovalCause::Refreshed`]: refreshes that swapped in a new entry.
    pub refreshed: u64,
}

impl Evictions {
    /// Every eviction, whatever its cause.
    pub fn total(&self) -> u64 {
        self.capacity + self.expired + self.idle + self.explicit + self.replaced + self.runtime_gone + self.refreshed
    }

    pub(crate) fn count(&mut self, cause: RemovalCause) {
        let counter = match cause {
            RemovalCause::Capacity => &mut self.capacity,
            RemovalCause::Expired => &mut self.expired,
            RemovalCause::Idle => &mut self.idle,
            RemovalCause::Explicit => &mut self.explicit,
            RemovalCause::Replaced => &mut self.replaced,
            RemovalCause::RuntimeGone => &mut self.runtime_gone,
            RemovalCause::Refreshed => &mut self.refreshed,
        };
        *counter += 1;
    }

    fn add(&mut self, other: &Self) {
        self.capacity += other.capacity;
        self.expired += other.expired;
        self.idle += other.idle;
        self.explicit += other.explicit;
        self.replaced += other.replaced;
        self.runtime_gone += other.runtime_gone;
        self.refreshed += other.refreshed;
    }
}

/// A snapshot of a cache's counters, from [`ClientCache::stats`](crate::ClientCache::stats).
///
/// Counters only grow, except `draining`, which is a current level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that found nothing, or only an expired entry. A
    /// `get_or_try_insert_with` call counts as one lookup however many times it
    /// looks: a hit if any look finds the entry, else one miss (whether it ran
    /// `init`, got a waited-for leader's entry, was cancelled, or failed before
    /// looking: outside a runtime for a scoped cache, or after `shutdown`). It
    /// is counted when the call returns or its future is dropped, so a call
    /// under way is in neither count.
    pub misses: u64,
    /// Entries inserted (by `insert`, a successful `get_or_try_insert_with`, or
    /// a refresh whose new value was swapped in).
    pub inserts: u64,
    /// Entries that left the cache, by cause.
    pub evictions: Evictions,
    /// Owned entries closed (close finished without panicking).
    pub closes: u64,
    /// Closes that panicked; the panic was caught and the cache carried on.
    pub close_panics: u64,
    /// Closes that could not run: their runtime shut down before running or
    /// finishing them, or there was no runtime at all. The value was dropped
    /// unclosed and a warning logged.
    pub closes_abandoned: u64,
    /// Closes that the entry's own runtime did not start within a grace period
    /// (about 1 s; see `ClientCache::shutdown`), run instead on the runtime of a
    /// `shutdown` or of the reaper. Also
    /// counted in `closes`, `close_panics` or `closes_abandoned` by how they ended.
    pub closes_taken_over: u64,
    /// Owned entries *draining*: retired from the cache and not yet closed. An
    /// entry drains from its retirement until its close has finished, panicked or
    /// been abandoned: while leases are held, while its close waits for a runtime,
    /// and while its close runs. Shared entries never drain.
    /// [`ShutdownReport::pending`](crate::ShutdownReport::pending) lists the same
    /// entries, each with why it is not closed yet.
    pub draining: u64,
    /// Refreshes (`refresh_after`) whose new entry could not be built; the entry
    /// they would have replaced kept serving. Successful refreshes are counted in
    /// `evictions.refreshed`.
    pub refresh_failures: u64,
    /// Refreshed entries built after the entry they were to replace had left
    /// (evicted, invalidated, or the cache shut down): retired, so closed, at
    /// once.
    pub refreshes_discarded: u64,
    /// Inserts refused because the cache had been shut down (`insert`, or a
    /// `get_or_try_insert_with` whose `init` finished after `shutdown`): the
    /// entry was retired at once, so an owned one is closed. Also counted: an
    /// insert whose key's `Eq` panicked once the cache held the entry (the
    /// entry is dropped as the panic unwinds, so an owned one is closed; see
    /// [`ClientCache::insert`](crate::ClientCache::insert)). Every owned entry
    /// the cache takes is inserted, discarded after a refresh, or refused,
    /// so once nothing drains, `closes + closes_abandoned + close_panics`
    /// equals `inserts + refreshes_discarded + inserts_refused` (for a cache of
    /// owned entries). An entry handed to `insert` that the cache does not take
    /// is in none of these counters: one refused with `NoRuntime` (a
    /// runtime-scoped cache used outside a runtime), or whose key's `Hash` or
    /// `Clone` panicked first; it is dropped unclosed, as an `Owned` no cache
    /// holds is.
    pub inserts_refused: u64,
    /// Calls of the eviction listener that panicked. The panic was caught and
    /// logged; the entry was retired all the same.
    pub listener_panics: u64,
}

/// A shard's insert and eviction counts, kept under its write lock (hits and
/// misses are counted per thread, see `read_counters.rs`).
#[derive(Debug, Default)]
pub(crate) struct ShardCounters {
    pub(crate) inserts: u64,
    pub(crate) evictions: Evictions,
}

impl CacheStats {
    pub(crate) fn add_shard(&mut self, shard: &ShardCounters) {
        self.inserts += shard.inserts;
        self.evictions.add(&shard.evictions);
    }
}
