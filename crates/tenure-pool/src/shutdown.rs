//! `ClientCache::shutdown`: retire everything, see every close through, and say
//! exactly what was left when it returns.

use std::{
    fmt,
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use tenure_core::Entry;
use tokio::{runtime::Handle, time::Instant};

use crate::{
    CacheStats, ClientCache,
    cache::CacheKey,
    close_slot::Waiting,
    closer::{Drains, StallWatch, TAKEOVER_AFTER},
    log_key::LogKey,
};

/// At most this many pending entries are named one by one in the warning a
/// shutdown logs when its deadline passes; the warning gives the total.
const NAMED_IN_WARNING: usize = 32;

impl<K: CacheKey, E: Entry> ClientCache<K, E> {
    /// Retires every entry and waits until no owned entry is draining: each is
    /// closed, its close panicked (caught), or was abandoned (no runtime left to
    /// run it).
    ///
    /// Afterwards the cache is empty and refuses new entries. An entry that
    /// another thread was retiring when the shutdown started is waited for too;
    /// an insert refused because of the shutdown closes its entry on its own,
    /// and a shutdown that has already returned does not wait for that close.
    /// A refresh building when the shutdown starts is waited for, its new entry
    /// closed, and one not yet building builds nothing (see [`refresh_after`](crate::ClientCacheBuilder::refresh_after)). Await the result
    /// directly to wait for every lease, or set a [`deadline`](Shutdown::deadline)
    /// to stop waiting and get a report naming every entry not closed yet, and
    /// why. Calling it again is safe.
    ///
    /// A close still waits, as always, for the entry's last lease to be dropped,
    /// then runs on the entry's runtime. If that runtime has not started it
    /// within a grace period (it is a current-thread runtime outside `block_on`,
    /// or stalled), the shutdown runs it on its own runtime instead. The grace
    /// period is one to two ticks (a tick and a half for a close already queued
    /// when the shutdown starts), measured on the shutdown's runtime's clock: a
    /// tick is 1 s, or a quarter of a deadline shorter than 4 s, but at least
    /// 1 ms (tokio's timers round up to whole milliseconds, so with deadlines of
    /// a few milliseconds a takeover may come after the deadline, that is,
    /// not at all). A close whose runtime has
    /// shut down is abandoned (the value dropped unclosed, counted in
    /// `closes_abandoned`). So without leases held, a shutdown awaited on a
    /// runtime returns once every close has finished, whichever runtime each
    /// entry came from; a close that never finishes is waited for (without a
    /// deadline) and reported as [`PendingState::CloseRunning`] (with one).
    ///
    /// A close that has started is never moved: it is a task of its runtime.
    /// One that started on a current-thread runtime and is waiting at an
    /// `.await` when that runtime's `block_on` returns goes on only when the
    /// runtime is driven again, and is abandoned (counted) when the runtime is
    /// dropped. Until then it is draining: a shutdown without a deadline waits
    /// for it, and one with a deadline reports it as
    /// [`PendingState::CloseRunning`].
    ///
    /// # Panics
    ///
    /// On a tokio runtime built without timers (`enable_time`): it waits with
    /// tokio's timer. (Polled outside any tokio runtime it does not panic, but it cannot
    /// take closes over: it only waits, up to the deadline if one is set, timed
    /// by a helper thread.)
    ///
    /// If the key or shared value of an entry panics when the cache drops it
    /// (its `Drop`, user code), the returned future panics with it once every
    /// other entry has been retired too, before it waits for the closes: they
    /// run all the same, and a second `shutdown` waits for them.
    pub fn shutdown(&self) -> Shutdown<'_, K, E> {
        Shutdown::new(self)
    }
}

/// The future of [`ClientCache::shutdown`]; set a deadline before awaiting it.
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// # use tenure_pool::{ClientCache, Shared};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache = ClientCache::<u32, Shared<String>>::builder().build().unwrap();
/// let report = cache.shutdown().deadline(Duration::from_secs(5)).await;
/// assert!(report.is_complete());
/// # });
/// ```
#[must_use = "a shutdown does nothing until it is awaited"]
pub struct Shutdown<'a, K: CacheKey, E: Entry> {
    cache: &'a ClientCache<K, E>,
    deadline: Option<Duration>,
}

impl<'a, K: CacheKey, E: Entry> Shutdown<'a, K, E> {
    fn new(cache: &'a ClientCache<K, E>) -> Self {
        Self { cache, deadline: None }
    }

    /// Stops waiting after `deadline`; the report names every entry not closed
    /// by then, and why.
    ///
    /// Nothing is force-closed: a leased entry closes when its last lease is
    /// dropped, and a close that is running goes on running.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

impl<K: CacheKey, E: Entry> fmt::Debug for Shutdown<'_, K, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<'a, K: CacheKey, E: Entry> IntoFuture for Shutdown<'a, K, E> {
    type Output = ShutdownReport<K>;
    type IntoFuture = Pin<Box<dyn Future<Output = ShutdownReport<K>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let inner = &self.cache.inner;
            inner.begin_shutdown();
            let drains = &*inner.drains;
            let warn_after = Duration::from_nanos(inner.settings.drain_warning);
            let complete = match Handle::try_current() {
                Ok(runtime) => see_through(drains, self.deadline, warn_after, &runtime).await,
                Err(_) => match self.deadline {
                    Some(deadline) => drained_within_off_runtime(drains, deadline).await,
                    None => {
                        drains.drained().await;
                        true
                    }
                },
            };
            let now = drains.now();
            let pending: Vec<_> = if complete {
                Vec::new()
            } else {
                drains
                    .pending()
                    .into_iter()
                    .map(|(key, waiting)| Pending {
                        key,
                        state: PendingState::new(waiting, now),
                    })
                    .collect()
            };
            if !pending.is_empty() {
                tracing::warn!(
                    entries = pending.len(),
                    "shutdown deadline passed with entries not yet closed"
                );
                for entry in pending.iter().take(NAMED_IN_WARNING) {
                    tracing::warn!(
                        key = ?LogKey(&entry.key),
                        state = %entry.state,
                        "not closed at the shutdown deadline"
                    );
                }
            }
            ShutdownReport {
                pending,
                stats: self.cache.stats(),
            }
        })
    }
}

/// Waits (until `deadline`, if any) for every draining entry to close, taking
/// over closes their own runtime leaves queued and warning about stuck entries.
/// Returns whether none is left.
async fn see_through<K: CacheKey>(
    drains: &Drains<K>,
    deadline: Option<Duration>,
    warn_after: Duration,
    runtime: &Handle,
) -> bool {
    // Check at least four times within a deadline, so a short one still takes over.
    let tick = deadline
        .map_or(TAKEOVER_AFTER, |deadline| TAKEOVER_AFTER.min(deadline / 4))
        .max(Duration::from_millis(1));
    // A deadline too far to represent (`Duration::MAX`) is no deadline.
    let stop = deadline.and_then(|deadline| Instant::now().checked_add(deadline));
    // Checks a tick apart, the first half a tick in: a close is taken over at
    // the second check that finds it queued, so one queued when the shutdown
    // starts after a tick and a half, one queued later after one to two ticks.
    // Not checking at once spares a shutdown whose closes all finish within
    // half a tick (10,000 of them right after a large cache retires) a walk
    // over every draining entry; half a tick, not a whole one, keeps a close
    // queued at the start inside two ticks, timer rounding included.
    let mut watch = StallWatch::new(1);
    let mut wait = tick / 2;
    loop {
        let next = Instant::now() + wait;
        wait = tick;
        let until = stop.map_or(next, |stop| stop.min(next));
        if drains.drained_or(until).await {
            return true;
        }
        if stop.is_some_and(|stop| Instant::now() >= stop) {
            return false;
        }
        let stalled = watch.stalled(drains);
        drains.take_over(stalled, runtime);
        drains.warn_stuck(warn_after);
    }
}

/// Waits for every draining entry to close, or `deadline`, off any tokio
/// runtime (where tokio's timers cannot be used): a helper thread wakes the
/// wait at the deadline, and exits as soon as the wait ends. Returns whether
/// none is left.
async fn drained_within_off_runtime<K: CacheKey>(drains: &Drains<K>, deadline: Duration) -> bool {
    let (timed_out, timeout) = tokio::sync::oneshot::channel::<()>();
    let (done, done_rx) = std::sync::mpsc::channel::<()>();
    let timer = std::thread::Builder::new()
        .name("tenure-shutdown-deadline".to_owned())
        .spawn(move || {
            // Returns at the deadline, or at once when `done` is dropped.
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(deadline) {
                let _ = timed_out.send(());
            }
        });
    if timer.is_err() {
        // No thread to time it: wait without a deadline rather than not at all.
        drains.drained().await;
        return true;
    }
    let drained = std::pin::pin!(drains.drained());
    let finished = std::future::poll_fn({
        let mut drained = drained;
        let mut timeout = timeout;
        move |cx| {
            if drained.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
            // A dropped sender (the thread exited early) also ends the wait.
            std::pin::Pin::new(&mut timeout).poll(cx).map(|_| ())
        }
    });
    finished.await;
    drop(done);
    drains.len() == 0
}

/// What [`ClientCache::shutdown`] left behind.
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// # use tenure_pool as tenure; // the facade re-exports these under the same names
/// use tenure::{ClientCache, Close, Closing, Owned, PendingState};
/// # struct Pool;
/// # impl Close for Pool { async fn close(self, _: &Closing) {} }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache = ClientCache::<&str, Owned<Pool>>::builder().build()?;
/// let lease = cache.insert("eu", Owned::new(Pool))?;
///
/// let report = cache.shutdown().deadline(Duration::from_millis(100)).await;
/// assert!(!report.is_complete());
/// assert_eq!(report.pending[0].key, "eu");
/// assert!(matches!(report.pending[0].state, PendingState::Leased { .. }));
///
/// drop(lease); // now it closes, and a second shutdown finds nothing left
/// assert!(cache.shutdown().await.is_complete());
/// # Ok::<_, tenure_pool::Error>(())
/// # }).unwrap();
/// ```
#[non_exhaustive]
pub struct ShutdownReport<K> {
    /// Every owned entry not closed when the shutdown returned (empty unless a
    /// deadline passed), oldest entry first, each with why. Each still
    /// closes when it can: nothing is force-closed.
    pub pending: Vec<Pending<K>>,
    /// The cache's counters when the shutdown returned.
    pub stats: CacheStats,
}

impl<K> ShutdownReport<K> {
    /// Whether every owned entry was closed (or abandoned) before the shutdown returned.
    pub fn is_complete(&self) -> bool {
        self.pending.is_empty() && self.stats.draining == 0
    }

    /// The keys of the pending entries that are still leased.
    pub fn still_leased(&self) -> impl Iterator<Item = &K> {
        self.pending
            .iter()
            .filter(|entry| matches!(entry.state, PendingState::Leased { .. }))
            .map(|entry| &entry.key)
    }
}

impl<K: fmt::Debug> fmt::Debug for ShutdownReport<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownReport")
            .field("pending", &self.pending)
            .field("stats", &self.stats)
            .finish()
    }
}

/// An owned entry a shutdown left not yet closed, in [`ShutdownReport::pending`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pending<K> {
    /// The entry's key.
    pub key: K,
    /// Why it is not closed yet.
    pub state: PendingState,
}

impl<K: fmt::Debug> fmt::Debug for Pending<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("key", &self.key)
            .field("state", &self.state)
            .finish()
    }
}

/// Why an owned entry is not closed yet, and for how long, as of the report.
///
/// Durations are read from tokio's clock (so paused time in tests applies).
///
/// ```
/// # use std::time::Duration;
/// # use tenure_pool as tenure; // the facade re-exports these under the same names
/// use tenure::PendingState;
///
/// let state = PendingState::CloseRunning { running_for: Duration::from_secs(12) };
/// assert_eq!(state.to_string(), "closing for 12s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PendingState {
    /// Retired, and at least one lease is still held: it closes after the last
    /// one is dropped.
    Leased {
        /// Time since the entry was retired.
        retired_for: Duration,
    },
    /// Its last lease is gone and its close is queued on the entry's runtime,
    /// which has not started it yet. Usually that runtime is not running tasks
    /// (a current-thread runtime outside `block_on`) or is stalled, and no other
    /// runtime has taken the close over yet; a close queued moments before the
    /// report was made also shows here.
    RuntimeNotRunning {
        /// Time since the last lease was dropped.
        queued_for: Duration,
    },
    /// Its close started and has not finished.
    CloseRunning {
        /// Time since the close started.
        running_for: Duration,
    },
}

impl PendingState {
    fn new(waiting: Waiting, now: Duration) -> Self {
        match waiting {
            Waiting::Leased { since } => Self::Leased {
                retired_for: now.saturating_sub(since),
            },
            Waiting::Queued { since } => Self::RuntimeNotRunning {
                queued_for: now.saturating_sub(since),
            },
            Waiting::Running { since } => Self::CloseRunning {
                running_for: now.saturating_sub(since),
            },
        }
    }
}

impl fmt::Display for PendingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Leased { retired_for } => {
                write!(f, "still leased, {retired_for:?} after retirement")
            }
            Self::RuntimeNotRunning { queued_for } => {
                write!(f, "its runtime is not running: close queued for {queued_for:?}")
            }
            Self::CloseRunning { running_for } => write!(f, "closing for {running_for:?}"),
        }
    }
}
