//! Where owned entries are closed: on a tokio runtime, counted, traced, never on
//! the thread that dropped the last lease, and never waited on forever because
//! their own runtime stopped running tasks.
//!
//! [`Drains`] is the one registry of draining entries. An owned entry is
//! *draining* from the moment the cache retires it until its close has finished,
//! panicked, or been abandoned: while it is still leased, while its close waits
//! for a runtime, and while its close runs. `stats().draining`, the stuck-entry
//! warnings and the shutdown report all read this registry.
//!
//! A close is queued in the entry's [`CloseSlot`] and a task is spawned on the
//! entry's runtime to take it. If that runtime does not take it within
//! [`TAKEOVER_AFTER`] (a current-thread runtime outside `block_on` never will),
//! a [`StallWatch`] run by `shutdown` or the reaper takes it and runs it on its
//! own runtime. The slot hands the close to exactly one taker.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tenure_core::{Closer, PendingClose};
use tokio::{runtime::Handle, sync::Notify, time::Instant};
use tracing::Instrument;

use crate::{
    catch_unwind::CatchUnwind,
    close_batch::{self, CloseTask, StartClose},
    close_slot::{CloseSlot, Waiting},
    log_key::LogKey,
    stats::CacheStats,
    sync::Mutex,
};

/// How long a queued close waits for its own runtime before `shutdown` or the
/// reaper runs it on theirs.
pub(crate) const TAKEOVER_AFTER: Duration = Duration::from_secs(1);

/// Every draining entry of one cache, and the counts of how closes ended.
pub(crate) struct Drains<K> {
    /// The cache's name, for the close span.
    name: Arc<str>,
    /// By entry id (ids are handed out as entries are stored); snapshots sort
    /// by id, so reports list the oldest entries first. A hash map: a large
    /// retirement registers and unregisters every entry, and a B-tree's
    /// rebalancing was a tenth of that work.
    entries: Mutex<HashMap<u64, Arc<EntryCloser<K>>, foldhash::fast::RandomState>>,
    next_id: AtomicU64,
    closes: AtomicU64,
    close_panics: AtomicU64,
    closes_abandoned: AtomicU64,
    closes_taken_over: AtomicU64,
    /// Woken whenever `entries` becomes empty.
    drained: Notify,
    /// The zero of every stage's `since`.
    base: Instant,
    /// The reaper's stall watch (only the reaper uses it).
    reaper_watch: Mutex<StallWatch>,
}

impl<K: fmt::Debug + Send + Sync + 'static> Drains<K> {
    /// `reap_interval`: how often the reaper will call [`reap`](Self::reap).
    pub(crate) fn new(name: Arc<str>, reap_interval: Duration) -> Self {
        let interval = reap_interval.max(Duration::from_millis(1));
        let passes = TAKEOVER_AFTER.as_nanos().div_ceil(interval.as_nanos()).max(1);
        Self {
            name,
            entries: Mutex::new(HashMap::default()),
            next_id: AtomicU64::new(0),
            closes: AtomicU64::new(0),
            close_panics: AtomicU64::new(0),
            closes_abandoned: AtomicU64::new(0),
            closes_taken_over: AtomicU64::new(0),
            drained: Notify::new(),
            base: Instant::now(),
            reaper_watch: Mutex::new(StallWatch::new(u32::try_from(passes).unwrap_or(u32::MAX))),
        }
    }

    /// Time since the registry was made, on tokio's clock (read once per batch
    /// of closes, see `close_batch::now`).
    pub(crate) fn now(&self) -> Duration {
        close_batch::now().saturating_duration_since(self.base)
    }

    /// How many entries are draining.
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Fills in the close counters and `draining` of a stats snapshot.
    pub(crate) fn add_to(&self, stats: &mut CacheStats) {
        stats.closes = self.closes.load(Ordering::Relaxed);
        stats.close_panics = self.close_panics.load(Ordering::Relaxed);
        stats.closes_abandoned = self.closes_abandoned.load(Ordering::Relaxed);
        stats.closes_taken_over = self.closes_taken_over.load(Ordering::Relaxed);
        stats.draining = self.len() as u64;
    }

    /// Returns once no entry is draining.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Waits until no entry is draining or `until`, whichever comes first;
    /// returns whether none is draining.
    pub(crate) async fn drained_or(&self, until: Instant) -> bool {
        let notified = self.drained.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.len() == 0 {
            return true;
        }
        let _ = tokio::time::timeout_at(until, notified).await;
        self.len() == 0
    }

    /// Every draining entry's key and why it is not closed yet, oldest entry first.
    pub(crate) fn pending(&self) -> Vec<(K, Waiting)>
    where
        K: Clone,
    {
        self.snapshot()
            .into_iter()
            .filter_map(|closer| Some((closer.slot.key().clone(), closer.slot.waiting()?)))
            .collect()
    }

    /// One reaper pass: warns about stuck entries and takes over stalled closes,
    /// running them on the reaper's runtime.
    pub(crate) fn reap(&self, warn_after: Duration) {
        self.warn_stuck(warn_after);
        let stalled = self.reaper_watch.lock().stalled(self);
        if let Ok(runtime) = Handle::try_current() {
            self.take_over(stalled, &runtime);
        }
    }

    /// Logs, once per entry and stage, every entry stuck in a stage for `limit` or longer.
    pub(crate) fn warn_stuck(&self, limit: Duration) {
        let now = self.now();
        for closer in self.snapshot() {
            let Some(waiting) = closer.slot.stuck_for_the_first_time(now, limit) else {
                continue;
            };
            let key = LogKey(closer.slot.key());
            let limit_ms = limit.as_millis();
            match waiting {
                Waiting::Leased { .. } => tracing::warn!(
                    key = ?key,
                    waited_ms = limit_ms,
                    "retired entry still leased: it will be closed when its last lease is dropped"
                ),
                Waiting::Queued { .. } => tracing::warn!(
                    key = ?key,
                    waited_ms = limit_ms,
                    "the entry's close is waiting for a runtime to run it"
                ),
                Waiting::Running { .. } => tracing::warn!(
                    key = ?key,
                    running_ms = limit_ms,
                    "the entry's close has been running a long time and has not finished"
                ),
            }
        }
    }

    /// Runs each stalled close on `runtime`, if nobody took it meanwhile.
    pub(crate) fn take_over(&self, stalled: Vec<Arc<EntryCloser<K>>>, runtime: &Handle) {
        for closer in stalled {
            let Some(close) = closer.take() else {
                continue;
            };
            self.closes_taken_over.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                key = ?LogKey(closer.slot.key()),
                "the entry's runtime did not run its close in time; closing it on another runtime"
            );
            drop(runtime.spawn(Arc::clone(&closer).run(close)));
        }
    }

    /// Every draining entry, oldest first.
    fn snapshot(&self) -> Vec<Arc<EntryCloser<K>>> {
        let mut entries: Vec<_> = self.entries.lock().values().cloned().collect();
        entries.sort_unstable_by_key(|closer| closer.id);
        entries
    }

    fn register(&self, closer: Arc<EntryCloser<K>>) {
        self.entries.lock().insert(closer.id, closer);
    }

    fn unregister(&self, id: u64) {
        let mut entries = self.entries.lock();
        if entries.remove(&id).is_some() && entries.is_empty() {
            drop(entries);
            self.drained.notify_waiters();
        }
    }
}

impl<K> fmt::Debug for Drains<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drains")
            .field("draining", &self.entries.lock().len())
            .finish_non_exhaustive()
    }
}

/// Finds closes that stayed queued through `passes` checks in a row. Whoever
/// calls [`stalled`](Self::stalled) at an interval measures the grace period
/// with its own clock, so runtimes whose (paused) clocks differ cannot cut it short.
#[derive(Debug)]
pub(crate) struct StallWatch {
    /// Entry id -> consecutive checks it was found queued in.
    seen: HashMap<u64, u32>,
    passes: u32,
}

impl StallWatch {
    pub(crate) fn new(passes: u32) -> Self {
        Self {
            seen: HashMap::new(),
            passes,
        }
    }

    /// The entries found queued in this check and the `passes` before it.
    pub(crate) fn stalled<K: fmt::Debug + Send + Sync + 'static>(
        &mut self,
        drains: &Drains<K>,
    ) -> Vec<Arc<EntryCloser<K>>> {
        let mut seen = HashMap::new();
        let mut stalled = Vec::new();
        for closer in drains.snapshot() {
            if !matches!(closer.slot.waiting(), Some(Waiting::Queued { .. })) {
                continue;
            }
            let checks = self.seen.get(&closer.id).copied().unwrap_or(0) + 1;
            if checks > self.passes {
                stalled.push(closer);
            } else {
                seen.insert(closer.id, checks);
            }
        }
        self.seen = seen;
        stalled
    }
}

/// The close path of one owned entry: what the core calls when its last holder lets go.
pub(crate) struct EntryCloser<K> {
    id: u64,
    slot: CloseSlot<K>,
    /// The runtime current when the entry was inserted: runtime-bound resources
    /// are closed where they were made, unless that runtime does not run them.
    runtime: Option<Handle>,
    drains: Arc<Drains<K>>,
    me: Weak<Self>,
}

impl<K: fmt::Debug + Send + Sync + 'static> EntryCloser<K> {
    pub(crate) fn new(key: K, runtime: Option<Handle>, drains: &Arc<Drains<K>>) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            id: drains.next_id.fetch_add(1, Ordering::Relaxed),
            slot: CloseSlot::new(key),
            runtime,
            drains: Arc::clone(drains),
            me: Weak::clone(me),
        })
    }

    /// Called by the cache as it retires the entry, before it drops its reference:
    /// from here until its close ends, the entry is draining.
    pub(crate) fn retire(&self) {
        if self.slot.retire(self.drains.now()) {
            self.register();
        }
    }

    /// The last lease is gone: the close waits in the slot for a runner.
    pub(crate) fn queue(&self, close: PendingClose) {
        if self.slot.queue(close, self.drains.now()) {
            // Closed without being retired first (the cache never lets this
            // happen, but the books must balance if it ever does).
            self.register();
        }
    }

    fn register(&self) {
        if let Some(me) = self.me.upgrade() {
            self.drains.register(me);
        }
    }

    /// The queued close, for exactly one caller however many race (see [`CloseSlot::take`]).
    pub(crate) fn take(&self) -> Option<PendingClose> {
        self.slot.take(self.drains.now())
    }

    /// Takes the close if still queued and drops it unrun: counted and warned.
    /// Dropping it drops the value, whose own `Drop` may panic: the panic is
    /// caught (and logged), so the entry still leaves the drain registry and the
    /// code that dropped the last lease (`invalidate`, a lease's drop...) does
    /// not unwind.
    pub(crate) fn abandon(&self, why: &'static str) {
        if let Some(close) = self.take() {
            self.drop_unclosed(close);
            self.abandoned(why);
        }
    }

    /// Drops a close that will not run, and with it the value; a panic in the
    /// value's `Drop` is caught (this may run inside a lease's drop or a task's).
    fn drop_unclosed(&self, close: PendingClose) {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(close))).is_err() {
            tracing::error!(
                key = ?LogKey(self.slot.key()),
                "dropping the value of an abandoned close panicked (caught)"
            );
        }
    }

    fn abandoned(&self, why: &'static str) {
        self.slot.finish();
        self.drains.closes_abandoned.fetch_add(1, Ordering::Relaxed);
        // Accounted for before the log line, which runs the subscriber's code.
        self.drains.unregister(self.id);
        tracing::warn!(
            key = ?LogKey(self.slot.key()),
            why,
            "the entry's close could not run; the value was dropped without closing"
        );
    }

    /// Runs a close this runner took, catching a panic; counted however it ends.
    ///
    /// Not an `async fn`: the close is accounted for from this call on, so a
    /// task spawned with the returned future and dropped before its first poll
    /// (its runtime shut down with the task still queued, as a takeover's task
    /// can be) abandons the close and counts it, instead of dropping the value
    /// uncounted and leaving the entry draining for good.
    pub(crate) fn run(self: Arc<Self>, close: PendingClose) -> impl Future<Output = ()> + Send + 'static {
        let mut running = Running {
            closer: self,
            close: Some(close),
            finished: false,
        };
        async move {
            let Some(close) = running.close.take() else {
                return; // unreachable: only this future takes it
            };
            let span = tracing::debug_span!(
                "tenure.close",
                cache = %running.closer.drains.name,
                key = ?LogKey(running.closer.slot.key()),
            );
            let outcome = CatchUnwind::new(close).instrument(span).await;
            running.finish(outcome.is_ok());
        }
    }
}

impl<K: fmt::Debug + Send + Sync + 'static> Closer for EntryCloser<K> {
    fn close(&self, close: PendingClose) {
        self.queue(close);
        let Some(me) = self.me.upgrade() else {
            return; // unreachable: the core holds a reference while it calls us
        };
        match self.runtime.clone().or_else(|| Handle::try_current().ok()) {
            Some(runtime) => {
                tracing::debug!(key = ?LogKey(self.slot.key()), "last lease returned; closing");
                // Spawned, never run here: this may be inside `get`, `insert`, a
                // listener or the drop of a lease. On a runtime that has shut down
                // the task is dropped at once, and the close, never started, is
                // abandoned. Inside a batch (`shutdown`, `invalidate_all`, the
                // reaper) it joins others in one spawn (see `close_batch.rs`).
                close_batch::submit(runtime, me);
            }
            None => self.abandon("there is no tokio runtime to run it on"),
        }
    }
}

impl<K> fmt::Debug for EntryCloser<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryCloser")
            .field("id", &self.id)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl<K: fmt::Debug + Send + Sync + 'static> StartClose for EntryCloser<K> {
    fn start(self: Arc<Self>) -> CloseTask {
        Box::pin(async move {
            // Unless a shutdown took it over meanwhile.
            if let Some(close) = self.take() {
                self.run(close).await;
            }
        })
    }

    fn never_started(self: Arc<Self>) {
        self.abandon("its runtime shut down before running it");
    }
}

/// Accounts for a close that was taken, however it ends: finished, panicked,
/// dropped mid-way because the runtime running it shut down, or dropped before
/// it started.
struct Running<K: fmt::Debug + Send + Sync + 'static> {
    closer: Arc<EntryCloser<K>>,
    /// The close until it starts; dropped with this if it never does.
    close: Option<PendingClose>,
    finished: bool,
}

impl<K: fmt::Debug + Send + Sync + 'static> Running<K> {
    fn finish(mut self, ok: bool) {
        self.finished = true;
        let closer = &self.closer;
        closer.slot.finish();
        let key = LogKey(closer.slot.key());
        let counter = if ok {
            &closer.drains.closes
        } else {
            &closer.drains.close_panics
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // Accounted for before the log line, which runs the subscriber's code.
        closer.drains.unregister(closer.id);
        if ok {
            tracing::debug!(key = ?key, "entry closed");
        } else {
            tracing::error!(key = ?key, "closing the entry panicked; the panic was caught");
        }
    }
}

impl<K: fmt::Debug + Send + Sync + 'static> Drop for Running<K> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        match self.close.take() {
            Some(close) => {
                self.closer.drop_unclosed(close);
                self.closer
                    .abandoned("the runtime given its close shut down before running it");
            }
            None => self
                .closer
                .abandoned("the runtime running it shut down before it finished"),
        }
    }
}

#[cfg(all(test, not(tenure_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;

    /// Counts its drops; the close below counts whether it ran.
    struct Value(Arc<AtomicUsize>);

    impl Drop for Value {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// A close taken over onto a runtime that shuts down before polling the
    /// task (a current-thread runtime whose `block_on` returned, say): the
    /// value is dropped once, unclosed, and counted as abandoned; the entry
    /// no longer drains, so a later `shutdown` does not wait for it.
    #[test]
    fn a_takeover_whose_task_never_runs_is_abandoned_and_counted() {
        let drains = Arc::new(Drains::<u32>::new(Arc::from("test"), Duration::from_secs(1)));
        let (drops, closes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let closer = EntryCloser::new(7, None, &drains);
        closer.retire();
        let (value, ran) = (Value(Arc::clone(&drops)), Arc::clone(&closes));
        closer.queue(Box::pin(async move {
            ran.fetch_add(1, SeqCst);
            drop(value);
        }));
        assert_eq!(drains.len(), 1);

        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        drains.take_over(vec![Arc::clone(&closer)], runtime.handle());
        // Never driven: its queued task is dropped unpolled.
        drop(runtime);

        let mut stats = CacheStats::default();
        drains.add_to(&mut stats);
        assert_eq!((closes.load(SeqCst), drops.load(SeqCst)), (0, 1));
        assert_eq!(
            (
                stats.closes,
                stats.closes_abandoned,
                stats.closes_taken_over,
                stats.draining
            ),
            (0, 1, 1, 0)
        );
    }
}
