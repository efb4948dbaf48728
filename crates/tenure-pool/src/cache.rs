use std::{
    fmt,
    future::Future,
    hash::{BuildHasher, Hash},
    sync::{
        Arc, OnceLock, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tenure_core::{Closer, Entry};
use tokio::runtime::Handle;
use tracing::Instrument;

use crate::{
    CacheStats, Error, GetError, RemovalCause,
    catch_unwind::CatchUnwind,
    clock::{Clock, Reading},
    close_batch,
    closer::{Drains, EntryCloser},
    expiry::Expiry,
    heartbeat,
    log_key::LogKey,
    read_counters::ReadCounters,
    reaper::{self, Reap},
    runtime_scope::{self, Scope},
    shard::{EntryId, FIBONACCI, Lookup, Removed, Shard},
    single_flight::{self, Flights, Outcome, Role},
    sync::ReadMostly,
};

/// The bounds a cache key needs. `Debug` is how a key appears in tracing events,
/// so a key holding a secret must redact it there.
pub trait CacheKey: Hash + Eq + Clone + fmt::Debug + Send + Sync + 'static {}

impl<K: Hash + Eq + Clone + fmt::Debug + Send + Sync + 'static> CacheKey for K {}

/// An eviction listener: told of every entry that leaves the cache.
pub(crate) type Listener<K, E> = Arc<dyn Fn(&K, &<E as Entry>::Handle, RemovalCause) + Send + Sync>;

/// Builds an owned entry's replacement (`refresh_after`); the error is rendered
/// for the log.
/// How long after the lookup that triggers it a refresh starts building (see
/// `Inner::start_refresh`): one tick of tokio's timer, whose resolution is a
/// millisecond.
pub(crate) const REFRESH_START_DELAY: Duration = Duration::from_millis(1);

pub(crate) type Refresher<K, E> =
    Arc<dyn Fn(&K) -> std::pin::Pin<Box<dyn Future<Output = Result<E, String>> + Send>> + Send + Sync>;

/// A bounded, expiring client cache whose entries are typed by ownership.
///
/// `E` is [`Owned<T>`](crate::Owned) (lookups hand out [`Lease<T>`](crate::Lease)s;
/// a retired entry is closed once, after its last lease is dropped, or dropped
/// unclosed and counted if its runtime is gone) or
/// [`Shared<T>`](crate::Shared) (lookups hand out clones; a retired entry is only
/// dropped by the cache, never closed). The cache cannot close anything else.
///
/// Cloning a `ClientCache` gives another handle to the same cache.
///
/// - **Capacity**: at most `max_capacity` entries. When full, an expired entry goes
///   first, then the S3-FIFO policy's victim (see the crate docs for why S3-FIFO).
/// - **Expiry**: `time_to_live` from insertion and `time_to_idle` from last use,
///   checked on every lookup and by a background reaper task, which also purges
///   entries of runtimes that shut down and holds no strong reference to the cache.
/// - **Single flight**: [`get_or_try_insert_with`](Self::get_or_try_insert_with)
///   runs `init` once for concurrent misses of one key.
/// - **Closes** run on a tokio runtime, never inside `get` or `insert`.
///
/// # Examples
///
/// ```
/// # use tenure_pool as tenure; // the facade re-exports these under the same names
/// use tenure::{ClientCache, Close, Closing, Owned};
///
/// struct Pool(u32);
/// impl Close for Pool {
///     async fn close(self, _: &Closing) { println!("pool {} closed", self.0); }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache = ClientCache::<&str, Owned<Pool>>::builder().max_capacity(10).build()?;
/// let pool = cache
///     .get_or_try_insert_with("primary", || async { Ok::<_, std::io::Error>(Owned::new(Pool(1))) })
///     .await?;
/// assert_eq!(pool.0, 1);
/// cache.invalidate(&"primary"); // retired, but not closed: `pool` is still leased
/// drop(pool);                   // the last lease: now it is closed, on the runtime
/// cache.shutdown().await;
/// assert_eq!(cache.stats().closes, 1);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
///
/// # Dropping without `shutdown`
///
/// Dropping the last handle retires every entry, as `invalidate_all` does: unleased
/// owned entries are closed on their runtime, leased ones when their last lease is
/// dropped. Nothing is force-closed; the drop does not wait for the closes. A
/// close runs on the runtime current when its entry was inserted, else the
/// cache's own (the one it was built on), else the runtime current where the
/// entry's last reference is dropped. If the runtime so chosen has shut down,
/// or none of the three exists, the value is dropped unclosed and a warning is
/// logged (counted as `closes_abandoned`), even if another runtime is alive.
/// Call [`shutdown`](Self::shutdown) to wait for every close.
pub struct ClientCache<K: CacheKey, E: Entry> {
    pub(crate) inner: Arc<Inner<K, E>>,
}

/// Keeps shards on separate cache lines, so a write to one does not invalidate
/// the lines of its neighbours.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// Lookups take it to read, on any number of threads at once (see `sync.rs`).
type ShardLock<K, E> = ReadMostly<Shard<K, Held<K, E>>>;

/// An entry as the cache holds it.
pub(crate) struct Held<K, E: Entry> {
    stored: E::Stored,
    /// The close path of an owned entry; `None` for shared entries.
    closer: Option<Arc<EntryCloser<K>>>,
}

impl<K: CacheKey, E: Entry> Held<K, E> {
    /// Registers an owned entry as draining. Called under the write lock of the
    /// shard it leaves (or would have entered), before the lock is released: a
    /// `shutdown` that clears that shard afterwards then finds the entry in the
    /// drain registry even though another thread is still retiring it (telling
    /// the listener, say). Idempotent.
    fn start_drain(&self) {
        if let Some(closer) = &self.closer {
            closer.retire();
        }
    }
}

/// Resolved builder settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) expiry: Expiry,
    pub(crate) scoped: bool,
    pub(crate) drain_warning: u64,
    pub(crate) reap_interval: Duration,
    /// How far before a deadline a hit stops trusting `recent` (see `clock.rs`).
    pub(crate) slack: u64,
    /// The cache's name, in metrics labels and tracing spans.
    pub(crate) name: Arc<str>,
    /// The most entries the cache holds (the sum of its shards' capacities).
    pub(crate) max_capacity: u64,
    /// Heartbeat beats without a reaper pass after which the reaper counts as
    /// stalled (its runtime idle) and a lookup starts a new one where it runs.
    pub(crate) reaper_stall_beats: u64,
}

pub(crate) struct Inner<K: CacheKey, E: Entry> {
    shards: Box<[Padded<ShardLock<K, E>>]>,
    /// log2 of the shard count (a power of two).
    shard_bits: u32,
    hasher: foldhash::fast::RandomState,
    pub(crate) settings: Settings,
    clock: Clock,
    /// Every draining owned entry: the one source of `draining`, the stuck-entry
    /// warnings and the shutdown report.
    pub(crate) drains: Arc<Drains<K>>,
    flights: Flights<K>,
    /// Hits and misses, per thread (see `read_counters.rs`).
    reads: ReadCounters,
    listener: Option<Listener<K, E>>,
    refresher: Option<Refresher<K, E>>,
    refresh_failures: AtomicU64,
    refreshes_discarded: AtomicU64,
    /// Inserts refused because the cache was shut down (their entries retired).
    inserts_refused: AtomicU64,
    /// Eviction listener calls that panicked (caught, see `retire`).
    listener_panics: AtomicU64,
    shut_down: AtomicBool,
    /// The runtime the cache was built on, for closes and the reaper when the
    /// caller is not on one.
    runtime: OnceLock<Handle>,
    reaper_running: AtomicBool,
    /// Whether the reaper is being polled, so `recent` lags by under two ticks.
    reaper_ticking: AtomicBool,
    /// Which reaper is the current one: a stalled one that wakes up later sees a
    /// newer generation and stops.
    reaper_generation: AtomicU64,
    /// The heartbeat beat of the current reaper's last pass (or start).
    reaper_beat: AtomicU64,
    /// The last runtime a reaper stopped on before its first tick
    /// ([`reaper::runtime_key`]; 0: none): one shutting down (it drops a new
    /// task at once) or one without timers. No reaper is started there again,
    /// so lookups and inserts on it do not spawn one reaper after another.
    reaper_refused_by: AtomicU64,
}

impl<K: CacheKey, E: Entry> Inner<K, E> {
    pub(crate) fn new(
        shard_capacities: &[usize],
        settings: Settings,
        listener: Option<Listener<K, E>>,
        refresher: Option<Refresher<K, E>>,
    ) -> Self {
        debug_assert!(shard_capacities.len().is_power_of_two());
        let runtime = OnceLock::new();
        if let Ok(handle) = Handle::try_current() {
            let _ = runtime.set(handle);
        }
        let drains = Arc::new(Drains::new(Arc::clone(&settings.name), settings.reap_interval));
        Self {
            shards: shard_capacities
                .iter()
                .map(|&capacity| Padded(ReadMostly::new(Shard::new(capacity))))
                .collect(),
            shard_bits: shard_capacities.len().trailing_zeros(),
            hasher: foldhash::fast::RandomState::default(),
            settings,
            clock: Clock::new(),
            drains,
            flights: parking_lot::Mutex::default(),
            reads: ReadCounters::default(),
            listener,
            refresher,
            refresh_failures: AtomicU64::new(0),
            refreshes_discarded: AtomicU64::new(0),
            inserts_refused: AtomicU64::new(0),
            listener_panics: AtomicU64::new(0),
            shut_down: AtomicBool::new(false),
            runtime,
            reaper_running: AtomicBool::new(false),
            reaper_ticking: AtomicBool::new(false),
            reaper_generation: AtomicU64::new(0),
            reaper_beat: AtomicU64::new(0),
            reaper_refused_by: AtomicU64::new(0),
        }
    }

    fn hash(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    fn shard(&self, hash: u64) -> &ShardLock<K, E> {
        &self.shards[shard_index(hash, self.shard_bits)].0
    }

    fn scope(&self) -> Result<Scope, Error> {
        if !self.settings.scoped {
            return Ok(Scope::NONE);
        }
        runtime_scope::current().map(Scope::of).ok_or_else(Error::no_runtime)
    }

    /// A lookup counted as one hit or one miss ([`ClientCache::get`]'s).
    #[inline]
    fn lookup(self: &Arc<Self>, key: &K, tag: u64) -> Option<E::Handle> {
        self.lookup_counting(key, tag, true)
    }

    /// A look that counts nothing: one of a `get_or_try_insert_with` call's,
    /// which counts the whole call once when it ends ([`CallLookup`]).
    fn lookup_uncounted(self: &Arc<Self>, key: &K, tag: u64) -> Option<E::Handle> {
        self.lookup_counting(key, tag, false)
    }

    /// One lookup, under the shard's read lock, counted as a hit or a miss if
    /// `counted` (on the hit path, where the other branch folds away).
    #[inline]
    fn lookup_counting(self: &Arc<Self>, key: &K, tag: u64, counted: bool) -> Option<E::Handle> {
        let hash = self.hash(key);
        let mut time = Reading::new(
            &self.clock,
            self.reaper_ticking.load(Ordering::Relaxed),
            self.settings.slack,
        );
        let shard = self.shard(hash).read();
        let lookup = shard.get(hash, key, tag, &mut time, self.settings.expiry);
        if counted {
            if matches!(lookup, Lookup::Hit(_) | Lookup::Refresh(_)) {
                self.reads.hit();
            } else {
                self.reads.miss();
            }
        }
        let found = match lookup {
            Lookup::Hit(index) => Some(E::__handle(&shard.stored(index).stored)),
            Lookup::Miss => None,
            Lookup::Stale(id, cause) => {
                drop(shard);
                // Unless another caller took or replaced it in between.
                self.retire_from(self.shard(hash), &mut Vec::new(), |shard, removed| {
                    removed.extend(shard.take_stale(id, cause));
                });
                None
            }
            Lookup::Refresh(id) => {
                let handle = E::__handle(&shard.stored(id.index).stored);
                drop(shard);
                // This lookup took the entry's refresh time: a key whose
                // `Clone` panics here gives it back as a failed attempt, so
                // the entry is tried again a period later, not never.
                let owned_key = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| key.clone())) {
                    Ok(owned_key) => owned_key,
                    Err(panic) => {
                        self.refresh_failed(key, hash, id, "the key's Clone panicked");
                        std::panic::resume_unwind(panic);
                    }
                };
                self.start_refresh(owned_key, hash, id);
                Some(handle)
            }
        };
        // Not on the fast path: only a lookup that read the clock (about once per
        // heartbeat, or near a deadline) or missed, or one that finds the reaper
        // gone (its runtime shut down): a cache without expiry whose lookups all
        // hit would otherwise never start one again, and a scoped cache's
        // entries of runtimes that shut down would never be purged. (A cache
        // that never had a reaper, used off any runtime, does not look.)
        if time.read_clock()
            || found.is_none()
            || (!self.reaper_running.load(Ordering::Relaxed) && self.reaper_generation.load(Ordering::Relaxed) != 0)
        {
            self.restart_stalled_reaper();
        }
        found
    }

    /// Builds the replacement of the entry `id` in the background, on the current
    /// runtime (else the cache's); the current entry keeps serving meanwhile.
    ///
    /// The build starts one timer tick ([`REFRESH_START_DELAY`]) after the lookup
    /// that asked for it, not at once. Spawned at once, it ran beside the command
    /// of the very caller that triggered it, and on a 2-core machine (the one of
    /// docs/benchmarks.md, each command of the refresh bench timed in parts) that
    /// command took about 200 µs longer, though building and closing a Redis pool
    /// take about 35 µs of CPU together. Spawning the build from another thread
    /// (so it ran on the other worker) did not help; waiting one tick did. Why
    /// exactly was not pinned down. A refresh starts well before the entry
    /// expires (at four fifths of its time-to-live by default), so a tick does
    /// not matter to it.
    ///
    /// However the attempt ends, the entry's next refresh is set: by
    /// `finish_refresh` (swapped in, or failed: one period later), or, if the
    /// refresher or its future panics, or the task is dropped unfinished (its
    /// runtime shut down), by [`RefreshAttempt`], counted in `refresh_failures`.
    fn start_refresh(self: &Arc<Self>, key: K, hash: u64, id: EntryId) {
        let mut attempt = RefreshAttempt {
            inner: Arc::downgrade(self),
            key: Some(key),
            hash,
            id,
        };
        let Some(runtime) = self.runtime_for_reaper() else {
            attempt.failed("there is no tokio runtime to build it on");
            return;
        };
        let span = tracing::debug_span!("tenure.refresh", cache = %self.settings.name, key = ?LogKey(attempt.key()));
        tracing::debug!(key = ?LogKey(attempt.key()), "refresh started");
        drop(
            runtime.spawn(
                async move {
                    // A runtime without a timer cannot make a `Sleep` (it panics);
                    // the build then starts at once.
                    if let Ok(tick) = std::panic::catch_unwind(|| tokio::time::sleep(REFRESH_START_DELAY)) {
                        tick.await;
                    }
                    attempt.run().await;
                }
                .instrument(span),
            ),
        );
    }

    /// A refresh of the entry `id` failed, or ended without a result: counted,
    /// logged, and the entry's next refresh set a period from now (it serves on).
    fn refresh_failed(&self, key: &K, hash: u64, id: EntryId, error: &str) {
        self.refresh_failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(key = ?LogKey(key), error, "refresh failed; the current entry serves on until it expires");
        self.shard(hash)
            .write()
            .refresh_failed(id, self.clock.now(), self.settings.expiry);
    }

    fn finish_refresh(&self, key: K, hash: u64, id: EntryId, outcome: Result<Held<K, E>, String>) {
        let expiry = self.settings.expiry;
        let held = match outcome {
            Ok(held) => held,
            Err(error) => return self.refresh_failed(&key, hash, id, &error),
        };
        let now = self.clock.now();
        let mut shard = self.shard(hash).write();
        let swapped = if self.shut_down.load(Ordering::SeqCst) {
            Err(held)
        } else {
            shard.swap_refreshed(id, held, now, expiry)
        };
        match &swapped {
            Ok(old) | Err(old) => old.start_drain(),
        }
        drop(shard);
        match swapped {
            Ok(old) => {
                tracing::debug!(key = ?LogKey(&key), "refreshed: the new entry serves, the old one drains");
                self.retire(Removed {
                    key,
                    stored: old,
                    cause: RemovalCause::Refreshed,
                });
            }
            // The entry it would replace is gone (retired meanwhile, or shutdown):
            // the new one is retired in its turn, so it is closed, not leaked.
            Err(held) => {
                self.refreshes_discarded.fetch_add(1, Ordering::Relaxed);
                self.discard(&key, held, "the entry it would replace is gone");
            }
        }
    }

    /// Starts a new reaper where this lookup runs if there is none (the last
    /// one's runtime shut down, and no insert has started one since) or the
    /// current one has not passed for a while (its runtime is alive but idle).
    #[cold]
    fn restart_stalled_reaper(self: &Arc<Self>) {
        if !self.reaper_running.load(Ordering::Acquire) {
            // Only where this lookup runs: the cache's own runtime may be the
            // one that shut down. (This may run under the shard's read lock:
            // it takes no lock.)
            self.start_reaper_if_none(|| Handle::try_current().ok());
            return;
        }
        let beat = heartbeat::beat();
        let last = self.reaper_beat.load(Ordering::Acquire);
        if beat.saturating_sub(last) <= self.settings.reaper_stall_beats {
            return;
        }
        let Ok(runtime) = Handle::try_current() else {
            return;
        };
        // One restarter per stall: whoever moves the beat forward.
        if self
            .reaper_beat
            .compare_exchange(last, beat, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::debug!("the reaper's runtime is not running; starting a new reaper here");
            self.start_reaper(&runtime);
        }
    }

    /// Starts a reaper on the runtime `runtime` names unless one is running
    /// (never started, or its runtime shut down) or that runtime could not run
    /// one before; of callers racing here, one starts it. `runtime` is called
    /// only when no reaper runs.
    fn start_reaper_if_none(self: &Arc<Self>, runtime: impl FnOnce() -> Option<Handle>) {
        if self.reaper_running.load(Ordering::Acquire) {
            return;
        }
        let Some(runtime) = runtime() else {
            return;
        };
        if self.reaper_refused_by.load(Ordering::Relaxed) == reaper::runtime_key(&runtime) {
            return;
        }
        if self
            .reaper_running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.start_reaper(&runtime);
        }
    }

    fn start_reaper(self: &Arc<Self>, runtime: &Handle) {
        let generation = self.reaper_generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.reaper_beat.store(heartbeat::beat(), Ordering::Release);
        self.reaper_running.store(true, Ordering::Release);
        tracing::debug!(generation, "starting the cache's reaper");
        reaper::spawn(self, generation, self.settings.reap_interval, runtime);
    }

    fn insert(&self, key: K, entry: E, scope: Scope) -> Result<E::Handle, Error> {
        // The key's `Hash` (here) and `Clone` (in `hold`) run before the cache
        // takes the entry: if either panics, the entry was never the cache's
        // and is dropped as any unused `Owned` is.
        let hash = self.hash(&key);
        let held = self.hold(&key, entry);
        // From here the cache holds the entry, and the key's `Eq` (in the
        // shard's insert) may still panic (its `Debug` in a log line cannot:
        // `LogKey` catches that, guarded here all the same): the
        // entry is then dropped in the unwind (an owned one is closed) and
        // counted as refused, so the stats still balance.
        let refused_if_unwinding = CountOnUnwind(&self.inserts_refused);
        // Without time-to-live, time-to-idle or refresh, no entry time is ever
        // read: skip the clock. Otherwise read it about once per heartbeat, not
        // per insert (`Clock::insertion_time`): precise readings, two clock
        // reads each, were about a quarter of a churn operation in a profile.
        let now = if self.settings.expiry.is_timeless() {
            0
        } else {
            self.clock.insertion_time(self.reaper_ticking.load(Ordering::Relaxed))
        };
        let mut shard = self.shard(hash).write();
        // Checked under the shard lock: `shutdown` sets the flag before it clears
        // the shards, so an entry is either refused here or cleared there.
        if self.shut_down.load(Ordering::SeqCst) {
            std::mem::forget(refused_if_unwinding); // counted here
            held.start_drain();
            drop(shard);
            self.inserts_refused.fetch_add(1, Ordering::Relaxed);
            self.discard(&key, held, "the cache is shut down");
            return Err(Error::shut_down());
        }
        tracing::debug!(key = ?LogKey(&key), "entry inserted");
        let (index, displaced) = shard.insert(hash, key, scope, held, now, self.settings.expiry);
        std::mem::forget(refused_if_unwinding);
        let handle = E::__handle(&shard.stored(index).stored);
        if let Some(entry) = &displaced {
            entry.stored.start_drain();
        }
        drop(shard);
        if let Some(entry) = displaced {
            self.retire(entry);
        }
        Ok(handle)
    }

    fn hold(&self, key: &K, entry: E) -> Held<K, E> {
        // Made before `__store` takes the entry, since it clones the key (user
        // code, which may panic): see `insert`.
        let mut closer = E::CLOSES_ON_RETIRE.then(|| self.closer_for(key));
        let stored = E::__store(entry, || {
            // Made above for every entry that asks for a closer.
            let typed = closer.get_or_insert_with(|| self.closer_for(key));
            Arc::clone(typed) as Arc<dyn Closer>
        });
        Held { stored, closer }
    }

    fn closer_for(&self, key: &K) -> Arc<EntryCloser<K>> {
        let runtime = Handle::try_current().ok().or_else(|| self.runtime.get().cloned());
        EntryCloser::new(key.clone(), runtime, &self.drains)
    }

    /// Takes an entry out of service: tells the listener and drops the cache's
    /// reference. Never called under a shard lock; the caller has started the
    /// drain of an owned entry ([`Held::start_drain`]) under the lock of the
    /// shard it left (or, refused by a shutdown, would have entered).
    ///
    /// A panic in the listener is caught, logged and counted
    /// (`listener_panics`): the entry is retired all the same, and so are the
    /// others of a batch (`invalidate_all`, `shutdown`, a reaper pass).
    pub(crate) fn retire(&self, removed: Removed<K, Held<K, E>>) {
        let Removed {
            key,
            stored: held,
            cause,
        } = removed;
        tracing::debug!(key = ?LogKey(&key), ?cause, "entry retired");
        if let Some(listener) = &self.listener {
            let handle = E::__handle(&held.stored);
            let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener(&key, &handle, cause)));
            if told.is_err() {
                self.listener_panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(key = ?LogKey(&key), ?cause, "the eviction listener panicked; the entry is retired all the same");
            }
        }
        self.let_go(&key, held);
    }

    /// Lets go of an entry that never entered the cache (an insert refused
    /// after `shutdown`, a refresh's new entry whose predecessor was gone) as
    /// a retired one is let go of (an owned one closes after its last lease),
    /// without telling the eviction listener: it hears of entries that leave
    /// the cache, and of nothing else.
    fn discard(&self, key: &K, held: Held<K, E>, why: &'static str) {
        tracing::debug!(key = ?LogKey(key), why, "entry discarded");
        self.let_go(key, held);
    }

    /// Drops the cache's reference to a retired or discarded entry.
    fn let_go(&self, key: &K, held: Held<K, E>) {
        if held.closer.is_some() {
            let leases = E::__leases(&held.stored);
            if leases > 0 {
                tracing::debug!(key = ?LogKey(key), leases, "retired entry draining: it closes after its last lease");
            }
        }
        // For an unleased owned entry this reference is the last: its close is spawned now.
        drop(held);
    }

    /// Retires what `take` removes from `shard` (into `removed`, empty, and left
    /// empty): under the shard's write lock each owned entry starts to drain
    /// ([`Held::start_drain`]); after it, each is retired.
    ///
    /// A panic while retiring one entry (in user code the cache runs as it
    /// lets go of it: the key's `Drop`, a shared value's `Drop`) does not stop
    /// the others: it is resumed once all of them are retired.
    fn retire_from(
        &self,
        shard: &ShardLock<K, E>,
        removed: &mut Vec<Removed<K, Held<K, E>>>,
        take: impl FnOnce(&mut Shard<K, Held<K, E>>, &mut Vec<Removed<K, Held<K, E>>>),
    ) {
        resume(self.retire_from_catching(shard, removed, take));
    }

    /// [`retire_from`](Self::retire_from), returning the first panic instead of resuming it.
    fn retire_from_catching(
        &self,
        shard: &ShardLock<K, E>,
        removed: &mut Vec<Removed<K, Held<K, E>>>,
        take: impl FnOnce(&mut Shard<K, Held<K, E>>, &mut Vec<Removed<K, Held<K, E>>>),
    ) -> Option<Panic> {
        let mut shard = shard.write();
        take(&mut shard, removed);
        for entry in removed.iter() {
            entry.stored.start_drain();
        }
        drop(shard);
        // One catch for the whole batch (nothing per entry on the usual path);
        // after a panic, the rest are retired one catch each.
        let mut entries = removed.drain(..);
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for entry in &mut entries {
                self.retire(entry);
            }
        }))
        .err()?;
        for entry in entries {
            // Only the first panic is resumed; a later one was reported by the panic hook.
            drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.retire(entry)
            })));
        }
        Some(first)
    }

    /// Retires what `take` removes from each shard in turn (under its write
    /// lock, retired after it); the closes start as one batch (`close_batch.rs`).
    /// Every shard is visited even if retiring an entry panics; the first such
    /// panic is resumed at the end.
    fn retire_from_every_shard(&self, take: impl FnMut(&mut Shard<K, Held<K, E>>, &mut Vec<Removed<K, Held<K, E>>>)) {
        resume(self.retire_from_every_shard_catching(take));
    }

    /// [`retire_from_every_shard`](Self::retire_from_every_shard), returning
    /// the first panic instead of resuming it (for the reaper, which has no
    /// caller to hand it to).
    fn retire_from_every_shard_catching(
        &self,
        mut take: impl FnMut(&mut Shard<K, Held<K, E>>, &mut Vec<Removed<K, Held<K, E>>>),
    ) -> Option<Panic> {
        close_batch::batch(|| {
            let mut removed = Vec::new();
            let mut first = None;
            for shard in self.shards.iter() {
                if let Some(panic) = self.retire_from_catching(&shard.0, &mut removed, &mut take) {
                    first.get_or_insert(panic);
                }
            }
            first
        })
    }

    /// Retires every entry.
    fn remove_all(&self) {
        self.retire_from_every_shard(Shard::clear);
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shut_down.store(true, Ordering::SeqCst);
        self.remove_all();
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        for shard in self.shards.iter() {
            stats.add_shard(shard.0.read().counters());
        }
        stats.hits = self.reads.hits();
        stats.misses = self.reads.misses();
        self.drains.add_to(&mut stats);
        stats.refresh_failures = self.refresh_failures.load(Ordering::Relaxed);
        stats.refreshes_discarded = self.refreshes_discarded.load(Ordering::Relaxed);
        stats.inserts_refused = self.inserts_refused.load(Ordering::Relaxed);
        stats.listener_panics = self.listener_panics.load(Ordering::Relaxed);
        stats
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.0.read().len()).sum()
    }

    #[cfg(feature = "metrics")]
    fn publish_metrics(&self) {
        crate::metrics::publish(&self.settings.name, &self.stats(), self.len());
    }

    fn runtime_for_reaper(&self) -> Option<Handle> {
        Handle::try_current().ok().or_else(|| self.runtime.get().cloned())
    }
}

/// Adds one to a counter if dropped, which only happens if the code it is
/// forgotten after unwinds.
struct CountOnUnwind<'a>(&'a AtomicU64);

impl Drop for CountOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// One `get_or_try_insert_with` call, counted as one lookup when it ends (it
/// returns, or its future is dropped): a hit if one of its looks found the
/// entry ([`hit`](Self::hit)), else a miss. Counted at the end rather than at
/// the first look, so that no count is ever taken back: a miss counted early
/// and taken back when a later look hit made `misses` go down (against
/// "counters only grow", and a metrics exporter's counters keep their
/// highest value), and a snapshot summing the per-thread counters between the
/// two could read one without the other.
struct CallLookup<'a> {
    reads: &'a ReadCounters,
    hit: bool,
}

impl<'a> CallLookup<'a> {
    fn new(reads: &'a ReadCounters) -> Self {
        Self { reads, hit: false }
    }

    /// The call got the entry that one of its looks found.
    fn hit(&mut self) {
        self.hit = true;
    }
}

impl Drop for CallLookup<'_> {
    fn drop(&mut self) {
        if self.hit {
            self.reads.hit();
        } else {
            self.reads.miss();
        }
    }
}

/// One refresh of an entry, from its lookup to `finish_refresh`. Dropped
/// without finishing (the refresher panicked, or the task running it was
/// dropped because its runtime shut down), it counts a failed refresh and sets
/// the entry's next one, so the entry is refreshed again a period later instead
/// of never.
struct RefreshAttempt<K: CacheKey, E: Entry> {
    /// Weak: a refresh under way does not keep a cache that nobody holds (its
    /// entries are retired when the last handle goes, as without a refresh).
    inner: Weak<Inner<K, E>>,
    /// `None` once the attempt has ended.
    key: Option<K>,
    hash: u64,
    id: EntryId,
}

impl<K: CacheKey, E: Entry> RefreshAttempt<K, E> {
    fn key(&self) -> &K {
        self.key
            .as_ref()
            .unwrap_or_else(|| unreachable!("read before the attempt ends"))
    }

    /// Builds the new entry (the refresher runs here, on the runtime, not on the
    /// lookup that triggered it) and swaps it in, or records the failure.
    async fn run(mut self) {
        let Some((refresher, _replacing)) = self.begin() else {
            return;
        };
        let building = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| refresher(self.key())));
        let outcome = match building {
            Ok(building) => CatchUnwind::new(building).await,
            Err(_) => Err(()),
        };
        let outcome = outcome.unwrap_or_else(|()| Err("the refresh panicked (caught)".to_owned()));
        let Some(inner) = self.inner.upgrade() else {
            // The cache was dropped during the build (its entries retired
            // then): the new entry, never in it, is dropped as an unused
            // `Owned` is.
            self.key = None;
            return;
        };
        // Stored while the attempt still has its key: storing clones the key
        // (user code, which may panic), and a panic here ends the attempt as
        // failed when it is dropped (the new entry, not yet stored, is
        // dropped unclosed, as an `Owned` no cache holds is).
        let outcome = outcome.map(|entry| inner.hold(self.key(), entry));
        let Some(key) = self.key.take() else {
            return;
        };
        inner.finish_refresh(key, self.hash, self.id, outcome);
    }

    /// What the build needs, if it is to start: the refresher, and a handle to
    /// the entry it replaces. That entry is held, as a lease holds it, while
    /// the new one is built: once retired (by a `shutdown`, say), it drains
    /// until the refresh has ended and its new entry, discarded, is draining
    /// in turn, so a shutdown that waits for every drain waits for the build
    /// too. An entry that left before the build starts is not rebuilt:
    /// nothing is built for a cache that is shut down or dropped. The cache
    /// itself is not held during the build.
    fn begin(&mut self) -> Option<(Refresher<K, E>, E::Handle)> {
        let Some(inner) = self.inner.upgrade() else {
            self.key = None; // ended: the cache is gone, nothing to replace
            return None;
        };
        let Some(refresher) = inner.refresher.clone() else {
            self.failed("the cache has no refresher");
            return None;
        };
        let replacing = inner
            .shard(self.hash)
            .read()
            .stored_if_holds(self.id)
            .map(|held| E::__handle(&held.stored));
        let Some(replacing) = replacing else {
            self.key = None; // ended: nothing to replace, nothing failed
            return None;
        };
        Some((refresher, replacing))
    }

    /// Ends the attempt as failed (unless it has ended): counted, logged, and
    /// the next one set a period from now (nothing, if the cache is gone).
    fn failed(&mut self, why: &str) {
        if let Some(key) = self.key.take()
            && let Some(inner) = self.inner.upgrade()
        {
            inner.refresh_failed(&key, self.hash, self.id, why);
        }
    }
}

impl<K: CacheKey, E: Entry> Drop for RefreshAttempt<K, E> {
    fn drop(&mut self) {
        self.failed("its task was dropped before it finished (its runtime shut down)");
    }
}

impl<K: CacheKey, E: Entry> Reap for Inner<K, E> {
    fn reap(&self) {
        self.reaper_beat.fetch_max(heartbeat::beat(), Ordering::AcqRel);
        let now = self.clock.now();
        let expiry = self.settings.expiry;
        // A key's or shared value's `Drop` that panics here must not end the
        // reaper (a cache without traffic would never retire, nor close,
        // anything again): every expired entry is retired first, then the
        // panic, already reported by the panic hook, is logged and dropped.
        let panic = self.retire_from_every_shard_catching(|shard, removed| shard.remove_expired(now, expiry, removed));
        self.drains.reap(Duration::from_nanos(self.settings.drain_warning));
        #[cfg(feature = "metrics")]
        self.publish_metrics();
        if panic.is_some() {
            tracing::error!(
                cache = %self.settings.name,
                "a key's or a shared value's `Drop` panicked as the reaper let go of an expired entry; \
                 every expired entry was retired, and the reaper goes on"
            );
        }
    }

    fn is_current_reaper(&self, generation: u64) -> bool {
        self.reaper_generation.load(Ordering::Acquire) == generation
    }

    fn set_reaper_ticking(&self, generation: u64, ticking: bool) {
        if self.is_current_reaper(generation) {
            if ticking {
                // The reaper's runtime may keep a paused clock the cache has not
                // seen yet (it was built elsewhere): look before hits trust `recent`.
                self.clock.look_for_virtual_time();
            }
            self.reaper_ticking.store(ticking, Ordering::Release);
        }
    }

    fn reaper_stopped(&self, generation: u64, refused_by: Option<u64>) {
        if self.is_current_reaper(generation) {
            if let Some(runtime) = refused_by {
                self.reaper_refused_by.store(runtime, Ordering::Relaxed);
            }
            self.reaper_ticking.store(false, Ordering::Release);
            self.reaper_running.store(false, Ordering::Release);
        }
    }
}

/// A panic caught while retiring a batch of entries.
type Panic = Box<dyn std::any::Any + Send>;

/// Resumes a panic a batch caught once the batch is done, unless this thread is
/// already unwinding (a cache dropped during another panic), where a second
/// panic would abort the process: the first one goes on unwinding instead.
fn resume(panic: Option<Panic>) {
    if let Some(panic) = panic
        && !std::thread::panicking()
    {
        std::panic::resume_unwind(panic);
    }
}

/// The shard of a key's hash, for `2^bits` shards: the top `bits` bits of
/// the hash times [`FIBONACCI`], which depend on every bit of the hash.
///
/// Not a slice of the hash's own bits: with foldhash's fast hasher, whose
/// seed is drawn per process, runs of integer keys (0, 1, 2, ...) took bits
/// 32 and up from a narrow range in about 1 process in 300 (13 and 18 of two
/// runs of 5,000 processes), so 2,000 such keys in 16 shards of 256 left one
/// shard with more than its 256, and in one process all 2,000 (the cache
/// evicted for capacity at half full: `retire_panics.rs` failed that way).
/// Mixed first, the fullest shard held at most 176 of them in 5,000
/// processes (125 on average).
/// The mixing also keeps the shard apart from the bits hashbrown uses within
/// it (the low ones to probe, the top seven to tag).
#[inline]
fn shard_index(hash: u64, bits: u32) -> usize {
    // `>> (64 - bits)` in two shifts, so that no bits (one shard) gives 0
    // instead of a shift by 64.
    ((hash.wrapping_mul(FIBONACCI) >> 1) >> (63 - bits)) as usize
}

impl<K: CacheKey, E: Entry> Drop for Inner<K, E> {
    fn drop(&mut self) {
        // Retire what is left so owned entries close (now, or after their leases).
        self.remove_all();
    }
}

impl<K: CacheKey, E: Entry> ClientCache<K, E> {
    /// The entry under `key`, if present and not expired.
    ///
    /// For an owned entry this is a new [`Lease`](crate::Lease); for a shared one,
    /// a clone. In a runtime-scoped cache, only the current runtime's entry is
    /// found, and outside a runtime nothing is.
    pub fn get(&self, key: &K) -> Option<E::Handle> {
        let tag = if self.inner.settings.scoped {
            let Some(tag) = runtime_scope::current_tag() else {
                // Outside a runtime a scoped cache finds nothing: a miss.
                self.inner.reads.miss();
                return None;
            };
            tag
        } else {
            Scope::NONE.tag()
        };
        self.inner.lookup(key, tag)
    }

    /// Inserts an entry and returns a handle to it.
    ///
    /// An entry already under `key` (in this runtime's scope) is retired as
    /// [`RemovalCause::Replaced`]; at capacity, a victim is retired to make room.
    ///
    /// An owned entry is closed on the runtime current here, or, called outside
    /// any runtime, on the one the cache was built on; if there is neither, on
    /// the runtime current where its last reference is dropped, and if there is
    /// none there either, the value is dropped unclosed, counted as
    /// `closes_abandoned` (see "Dropping without `shutdown`").
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ShutDown`](crate::ErrorKind::ShutDown) after
    /// [`shutdown`](Self::shutdown): the entry is retired at once (an owned one is
    /// closed), not leaked. [`ErrorKind::NoRuntime`](crate::ErrorKind::NoRuntime)
    /// in a runtime-scoped cache outside a runtime (the entry is dropped unclosed).
    ///
    /// # Panics
    ///
    /// If the key's `Hash`, `Clone` or `Eq` panics, the panic goes on through
    /// `insert`, and the cache is left as it was. `Hash` and `Clone` run before
    /// the cache takes the entry, which is then dropped unclosed, as an `Owned`
    /// no cache holds is. `Eq` runs after: the entry is dropped as the panic
    /// unwinds, so an owned one is closed, and the insert is counted in
    /// [`inserts_refused`](crate::CacheStats::inserts_refused). (A key's `Debug`
    /// that panics in a log event is caught there: the event shows
    /// `<the key's Debug panicked>`.) If the key or shared value of an entry the
    /// insert displaces (the one it replaces, or a victim evicted to make room)
    /// panics in its `Drop`, the panic goes on through `insert` after the new
    /// entry is in the cache; the new entry's handle is dropped with it.
    pub fn insert(&self, key: K, entry: E) -> Result<E::Handle, Error> {
        let scope = self.inner.scope()?;
        self.ensure_reaper();
        self.inner.insert(key, entry, scope)
    }

    /// The entry under `key`, or the one `init` creates, with single flight.
    ///
    /// Concurrent callers that miss the same key run `init` once: the first runs
    /// it, the others wait and get a handle to the same entry, or the same error.
    /// A waiter takes the entry the cache holds once the first caller's is in: if
    /// that entry was retired in between (an `invalidate`, an eviction), the
    /// waiter runs `init` in its turn, so it is never handed a retired entry.
    /// Errors are not cached: the next call runs `init` again. If the caller running
    /// `init` is cancelled (its future dropped), a waiting caller takes over and
    /// runs its own `init`. A first caller whose future is neither polled to
    /// the end nor dropped (passed to `mem::forget`, or a task left on a
    /// current-thread runtime that is no longer driven) keeps the others waiting,
    /// on every runtime, until it is: bound a wait with a timeout where that can
    /// happen (a waiter that gives up leaves nothing behind), or use
    /// [`get`](Self::get) and [`insert`](Self::insert). Likewise, `init` must
    /// not wait for this cache's `get_or_try_insert_with` of the same key:
    /// that call would join `init`'s own flight and wait for `init`, which
    /// waits for it. The same holds for a cycle of keys (the `init` of "a"
    /// waits for "b", whose `init` waits for "a"), in one cache or across
    /// caches. A call made inside an `init` (in its own future, or in futures it
    /// polls, such as the branches of a `join!`) that would close such a cycle
    /// is refused with [`ErrorKind::InitWaitsForItself`](crate::ErrorKind::InitWaitsForItself),
    /// whichever tasks lead the other flights of the cycle: every wait of a call
    /// made inside an `init` is recorded until it ends, and the call whose wait
    /// would close the cycle is the one refused. Through a task that `init`
    /// spawns and waits for, it is not detected (the spawned task's call is
    /// not made inside `init`): both wait for good, and every later caller of
    /// that key with them. Other keys, and [`get`](Self::get) of the same key,
    /// are fine.
    ///
    /// # Errors
    ///
    /// [`GetError::Init`] with `init`'s error, shared by every waiter;
    /// [`GetError::Cache`] if the cache refused the entry (see [`insert`](Self::insert)),
    /// or refused to wait for an `init` that waits for this call
    /// ([`ErrorKind::InitWaitsForItself`](crate::ErrorKind::InitWaitsForItself), above).
    ///
    /// # Cancellation
    ///
    /// Safe to cancel: a cancelled caller leaves nothing behind, and an entry that
    /// `init` created but that was not inserted is dropped.
    pub async fn get_or_try_insert_with<F, Fut, Err>(&self, key: K, init: F) -> Result<E::Handle, GetError<Err>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<E, Err>>,
        Err: Send + Sync + 'static,
    {
        // However many times the call looks (below, and again after a leader
        // was cancelled or failed with another error type), it counts as one
        // lookup, when it ends. A call that fails before looking (outside a
        // runtime for a scoped cache, as `get` there; after `shutdown`) misses.
        let mut counted = CallLookup::new(&self.inner.reads);
        // The scope is read again on every pass, and before the insert: a
        // future may be polled on one runtime and finished on another, and a
        // runtime-scoped cache must serve (and file) entries only where the
        // call runs at that moment, never where it ran before an await.
        let leader = loop {
            let scope = self.inner.scope().map_err(GetError::Cache)?;
            if self.inner.shut_down.load(Ordering::SeqCst) {
                return Err(GetError::Cache(Error::shut_down()));
            }
            if let Some(handle) = self.inner.lookup_uncounted(&key, scope.tag()) {
                counted.hit();
                return Ok(handle);
            }
            match single_flight::join(&self.inner.flights, &key, scope.tag()) {
                Role::Lead(leader) => {
                    // Our lookup may have missed just before another leader
                    // inserted and left: look once more before building.
                    if let Some(handle) = self.inner.lookup_uncounted(&key, scope.tag()) {
                        counted.hit();
                        leader.publish(Outcome::Ready);
                        return Ok(handle);
                    }
                    break leader;
                }
                Role::Wait(waiting) => match single_flight::wait(waiting).await {
                    // The leader inserted its entry, then published; in between
                    // the entry may have been retired (`invalidate`, an eviction,
                    // expiry), even before this call began. So a waiter takes
                    // what the cache holds now, never the published handle: if
                    // the key is gone, it looks again and leads a new flight.
                    // The flight was unregistered before it was published, so
                    // the next `join` does not find it.
                    Some(Outcome::Ready) => {
                        let here = self.inner.scope().map_err(GetError::Cache)?;
                        if let Some(handle) = self.inner.lookup_uncounted(&key, here.tag()) {
                            return Ok(handle);
                        }
                    }
                    // The cache refused the leader's entry, or this wait
                    // (it would wait for an `init` that waits for this call).
                    Some(Outcome::Refused(error)) => return Err(GetError::Cache(error)),
                    Some(Outcome::InitFailed(error)) => {
                        if let Ok(error) = error.downcast::<Err>() {
                            return Err(GetError::Init(error));
                        }
                        // The leader's error type differs from ours: run our own init.
                    }
                    // The leader was cancelled: look again, and lead if nobody else does.
                    None => {}
                },
            }
        };
        let span = tracing::debug_span!("tenure.init", cache = %self.inner.settings.name, key = ?LogKey(&key));
        match leader.run(init().instrument(span)).await {
            Ok(entry) => {
                self.ensure_reaper();
                // Filed under the runtime `init` finished on (where the entry
                // was made), as `insert` there would file it. If that is not
                // the flight's runtime, the flight's waiters miss it there and
                // lead flights of their own.
                // (Finished off any runtime, the entry is dropped unclosed, as
                // `insert` there drops it, and the flight ends unpublished, as
                // a cancelled one does: its waiters look again.)
                let scope = self.inner.scope().map_err(GetError::Cache)?;
                match self.inner.insert(key, entry, scope) {
                    Ok(handle) => {
                        leader.publish(Outcome::Ready);
                        Ok(handle)
                    }
                    Err(error) => {
                        leader.publish(Outcome::Refused(error.clone()));
                        Err(GetError::Cache(error))
                    }
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                leader.publish(Outcome::InitFailed(Arc::clone(&error) as _));
                Err(GetError::Init(error))
            }
        }
    }

    /// The entry under `key`, or the one `init` creates, with single flight: for an
    /// `init` that cannot fail (moka's `get_with`).
    ///
    /// # Errors
    ///
    /// Only the cache's own: [`ErrorKind::ShutDown`](crate::ErrorKind::ShutDown)
    /// after [`shutdown`](Self::shutdown), [`ErrorKind::NoRuntime`](crate::ErrorKind::NoRuntime)
    /// in a runtime-scoped cache outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tenure_pool::{ClientCache, Shared};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clients = ClientCache::<&str, Shared<String>>::builder().build()?;
    /// let client = clients.get_with("eu", || async { Shared::new("client for eu".to_owned()) }).await?;
    /// assert_eq!(client.as_str(), "client for eu");
    /// # Ok::<_, tenure_pool::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn get_with<F, Fut>(&self, key: K, init: F) -> Result<E::Handle, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = E>,
    {
        let result = self
            .get_or_try_insert_with(key, || async { Ok::<E, std::convert::Infallible>(init().await) })
            .await;
        match result {
            Ok(handle) => Ok(handle),
            Err(GetError::Cache(error)) => Err(error),
            Err(GetError::Init(never)) => match *never {},
        }
    }

    /// Retires the entry under `key` (in every runtime's scope) as [`RemovalCause::Explicit`].
    pub fn invalidate(&self, key: &K) {
        let hash = self.inner.hash(key);
        self.inner
            .retire_from(self.inner.shard(hash), &mut Vec::new(), |shard, removed| {
                shard.remove_all_scopes(hash, key, removed);
            });
    }

    /// Retires every entry as [`RemovalCause::Explicit`].
    ///
    /// # Panics
    ///
    /// If the key or shared value of a retired entry panics when the cache
    /// drops it (its `Drop`, user code), after every other entry has been
    /// retired: the first such panic is resumed here. (The eviction listener's
    /// panics are caught and counted, never resumed.)
    pub fn invalidate_all(&self) {
        self.inner.remove_all();
    }

    /// The number of entries, expired ones not yet removed included.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// [`len`](Self::len) as a `u64`, under the name moka users know.
    pub fn entry_count(&self) -> u64 {
        self.len() as u64
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the cache's counters.
    pub fn stats(&self) -> CacheStats {
        self.inner.stats()
    }

    /// The name set with [`ClientCacheBuilder::name`](crate::ClientCacheBuilder::name)
    /// (default `"tenure"`).
    pub fn name(&self) -> &str {
        &self.inner.settings.name
    }

    /// The most entries the cache holds: its `max_capacity` setting.
    pub fn max_capacity(&self) -> u64 {
        self.inner.settings.max_capacity
    }

    /// Publishes the cache's stats through the `metrics` facade now (the reaper
    /// also does at every pass). See the crate docs' feature `metrics`.
    #[cfg(feature = "metrics")]
    pub fn publish_metrics(&self) {
        self.inner.publish_metrics();
    }

    /// Starts the reaper on the current runtime (else the cache's) if it is not
    /// running (never started, or its runtime shut down).
    fn ensure_reaper(&self) {
        // The runtime is looked up only when no reaper runs: a `Handle` is an
        // `Arc` whose count every insert on every thread would otherwise write.
        self.inner.start_reaper_if_none(|| self.inner.runtime_for_reaper());
    }
}

impl<K: CacheKey, E: Entry> Clone for ClientCache<K, E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K: CacheKey, E: Entry> fmt::Debug for ClientCache<K, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCache")
            .field("shards", &self.inner.shards.len())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::shard_index;

    /// Hashes that differ only in their low bits (bits 32 and up the same, as
    /// foldhash's fast hasher gave runs of integer keys under some seeds) still
    /// spread over every shard, about evenly.
    #[test]
    fn hashes_alike_above_bit_32_still_spread_over_the_shards() {
        let mut load = [0u32; 16];
        for low in 0..2_000_u64 {
            load[shard_index(0xABCD_0123_0000_0000 | low, 4)] += 1;
        }
        let (min, max) = (load.iter().min().unwrap(), load.iter().max().unwrap());
        assert!(*min >= 100 && *max <= 150, "{load:?}");
        for hash in [0, 1 << 63, u64::MAX] {
            assert_eq!(shard_index(hash, 0), 0, "one shard: always the first");
            assert!(shard_index(hash, 12) < 1 << 12);
        }
    }
}
