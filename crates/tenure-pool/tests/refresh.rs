//! Refresh ahead (`refresh_after`): a hot owned entry is replaced in the
//! background before it expires, with no cold start and no failed call; the old
//! one drains, then closes. On tokio's paused clock.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    time::Duration,
};

use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, ErrorKind, Owned};
use tokio::sync::Semaphore;

const TTL: Duration = Duration::from_secs(10);

/// Lets spawned work run, past the tick a refresh waits before it starts
/// building (a millisecond; paused time advances by itself while the runtime
/// is idle).
async fn settle_refresh() {
    tokio::time::sleep(Duration::from_millis(5)).await;
    settle().await;
}
const REFRESH: Duration = Duration::from_secs(8);

/// A refresher that counts its calls, numbers its probes from 100, waits for a
/// permit when `gate` is given, and fails while `failing` is non-zero.
#[derive(Clone, Default)]
struct Builds {
    calls: Arc<AtomicUsize>,
    next_id: Arc<AtomicU32>,
    failing: Arc<AtomicUsize>,
    gate: Option<Arc<Semaphore>>,
}

impl Builds {
    /// Builds whose every build waits for a permit of the returned gate.
    fn gated() -> (Self, Arc<Semaphore>) {
        let gate = Arc::new(Semaphore::new(0));
        let builds = Self {
            gate: Some(Arc::clone(&gate)),
            ..Self::default()
        };
        (builds, gate)
    }
}

fn cache(log: &Arc<Log>, builds: &Builds) -> ClientCache<&'static str, Owned<Probe>> {
    let (log, builds) = (Arc::clone(log), builds.clone());
    ClientCache::builder()
        .time_to_live(TTL)
        .refresh_after(REFRESH, move |_key: &&'static str| {
            let (log, builds) = (Arc::clone(&log), builds.clone());
            async move {
                builds.calls.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = &builds.gate {
                    gate.acquire().await.unwrap().forget();
                }
                if builds.failing.load(Ordering::SeqCst) > 0 {
                    builds.failing.fetch_sub(1, Ordering::SeqCst);
                    return Err("backend unreachable");
                }
                let id = 100 + builds.next_id.fetch_add(1, Ordering::SeqCst);
                Ok(Owned::new(Probe::new(id, &log)))
            }
        })
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_hot_entry_is_replaced_before_it_expires_and_the_old_one_drains_then_closes() {
    let log = Arc::new(Log::default());
    let builds = Builds::default();
    let cache = cache(&log, &builds);
    let first = cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap();

    // Before `refresh_after`, hits refresh nothing.
    tokio::time::advance(REFRESH - Duration::from_secs(1)).await;
    assert_eq!(cache.get(&"db").unwrap().id, 1);
    settle_refresh().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 0);

    // Past it, the next hit is served the current entry and starts one refresh.
    tokio::time::advance(Duration::from_secs(2)).await;
    let during = cache.get(&"db").unwrap();
    assert_eq!(during.id, 1, "the current entry serves while its successor is built");
    settle_refresh().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 1);
    let after = cache.get(&"db").unwrap();
    assert_eq!(after.id, 100, "the refreshed entry serves");
    assert_eq!(cache.stats().evictions.refreshed, 1);

    // The old entry drains: held leases keep working, then it closes once.
    assert_eq!(first.request(), Ok(1));
    assert_eq!(during.request(), Ok(1));
    assert_eq!(log.closes.load(Ordering::SeqCst), 0);
    drop((first, during));
    settle_refresh().await;
    assert_eq!(log.closes.load(Ordering::SeqCst), 1);

    // The refreshed entry's times restarted: it outlives the old deadline and
    // is itself refreshed one period later, never expiring while hot.
    for _ in 0..5 {
        tokio::time::advance(REFRESH / 2).await;
        assert!(cache.get(&"db").is_some());
        settle_refresh().await;
    }
    assert_eq!(cache.stats().evictions.expired, 0, "a hot entry never expires");
    assert!(cache.stats().evictions.refreshed >= 2);
    drop(after);
    cache.shutdown().await;
    let stats = cache.stats();
    assert_eq!(
        stats.inserts,
        1 + stats.evictions.refreshed,
        "a refreshed entry counts as inserted"
    );
    assert_eq!(
        log.closes.load(Ordering::SeqCst) as u64,
        stats.inserts,
        "every entry ever inserted or refreshed in was closed exactly once"
    );
}

#[tokio::test(start_paused = true)]
async fn one_refresh_at_a_time_however_many_lookups() {
    let log = Arc::new(Log::default());
    let (builds, gate) = Builds::gated();
    let cache = cache(&log, &builds);
    drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
    tokio::time::advance(REFRESH).await;
    for _ in 0..50 {
        assert_eq!(cache.get(&"db").unwrap().id, 1);
        settle_refresh().await;
    }
    assert_eq!(builds.calls.load(Ordering::SeqCst), 1, "single flight");
    gate.add_permits(1);
    settle_refresh().await;
    assert_eq!(cache.get(&"db").unwrap().id, 100);
    assert_eq!(builds.calls.load(Ordering::SeqCst), 1);
    cache.shutdown().await;
    assert_eq!(log.closes.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_keeps_the_entry_until_it_expires_and_is_counted() {
    let log = Arc::new(Log::default());
    let builds = Builds::default();
    builds.failing.store(usize::MAX, Ordering::SeqCst);
    let cache = cache(&log, &builds);
    drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
    tokio::time::advance(REFRESH).await;
    assert_eq!(cache.get(&"db").unwrap().id, 1);
    settle_refresh().await;
    assert_eq!(cache.stats().refresh_failures, 1);
    assert_eq!(cache.get(&"db").unwrap().id, 1, "the entry serves on");
    settle_refresh().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 1, "not retried on every hit");
    assert_eq!(log.closes.load(Ordering::SeqCst), 0);
    // At its time-to-live it expires as usual, and closes.
    tokio::time::advance(TTL - REFRESH).await;
    assert!(cache.get(&"db").is_none());
    settle_refresh().await;
    assert_eq!(log.closes.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().evictions.expired, 1);
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_finishes_after_its_entry_left_is_closed_not_leaked() {
    let log = Arc::new(Log::default());
    let (builds, gate) = Builds::gated();
    let cache = cache(&log, &builds);
    drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
    tokio::time::advance(REFRESH).await;
    assert!(cache.get(&"db").is_some());
    settle_refresh().await;
    cache.invalidate(&"db");
    gate.add_permits(1);
    settle_refresh().await;
    assert!(cache.get(&"db").is_none(), "a refresh never resurrects a retired entry");
    cache.shutdown().await;
    assert_eq!(
        log.closes.load(Ordering::SeqCst),
        2,
        "the old entry and the orphaned new one"
    );
    assert_eq!(cache.stats().refreshes_discarded, 1);
    assert_eq!(cache.stats().draining, 0);
}

/// A shutdown that starts while a refresh is building waits for it: when the
/// shutdown returns, the new entry has been built, refused and closed, so
/// nothing the cache made is still open, or opened, after it. With a deadline
/// that passes first, the entry being replaced is reported (the refresh holds
/// it as a lease would).
#[tokio::test(start_paused = true)]
async fn a_shutdown_waits_for_a_refresh_under_way() {
    let log = Arc::new(Log::default());
    let (builds, gate) = Builds::gated();
    let cache = cache(&log, &builds);
    drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
    tokio::time::advance(REFRESH).await;
    assert!(cache.get(&"db").is_some());
    settle_refresh().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 1, "the refresh is building");

    let early = cache.shutdown().deadline(Duration::from_secs(1)).await;
    assert!(!early.is_complete(), "the refresh is still building: {early:?}");
    assert_eq!(early.still_leased().collect::<Vec<_>>(), [&"db"]);
    assert_eq!(log.closes.load(Ordering::SeqCst), 0);

    let builder = tokio::spawn({
        let gate = Arc::clone(&gate);
        async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            gate.add_permits(1);
        }
    });
    let report = cache.shutdown().await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(
        (log.closes.load(Ordering::SeqCst), report.stats.refreshes_discarded),
        (2, 1),
        "the old entry and the new one, built after the shutdown began, are closed"
    );
    builder.await.unwrap();
}

/// A refresh whose entry left before its build started (a shutdown right
/// after the lookup that asked for it) builds nothing: no new entry is made for
/// a cache that is shut down.
#[tokio::test(start_paused = true)]
async fn a_refresh_whose_entry_left_before_it_started_builds_nothing() {
    // The control: the same lookup without the shutdown builds once.
    let control_log = Arc::new(Log::default());
    let control_builds = Builds::default();
    let control = cache(&control_log, &control_builds);
    drop(control.insert("db", Owned::new(Probe::new(1, &control_log))).unwrap());
    tokio::time::advance(REFRESH).await;
    assert!(control.get(&"db").is_some());
    settle_refresh().await;
    assert_eq!(
        control_builds.calls.load(Ordering::SeqCst),
        1,
        "the lookup asked for a refresh"
    );
    assert!(control.shutdown().await.is_complete());

    let log = Arc::new(Log::default());
    let builds = Builds::default();
    let cache = cache(&log, &builds);
    drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
    tokio::time::advance(REFRESH).await;
    assert!(cache.get(&"db").is_some(), "served; a refresh is due one tick later");
    assert!(cache.shutdown().await.is_complete());
    settle_refresh().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 0, "nothing built");
    let stats = cache.stats();
    assert_eq!(
        (stats.closes, stats.refresh_failures, stats.refreshes_discarded),
        (1, 0, 0),
        "{stats:?}"
    );
}

#[test]
fn refresh_after_must_be_shorter_than_the_time_to_live() {
    let build = |after: Duration| {
        ClientCache::<u32, Owned<Probe>>::builder()
            .time_to_live(TTL)
            .refresh_after(after, |_: &u32| async { Err::<Owned<Probe>, _>("unused") })
            .build()
    };
    let err = build(TTL).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSetting);
    assert!(err.to_string().contains("refresh_after"), "{err}");
    let err = build(Duration::ZERO).unwrap_err();
    assert!(err.to_string().contains("refresh_after"), "{err}");
    assert!(build(REFRESH).is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_refresh_starts_building_one_tick_after_the_lookup_that_triggers_it() {
    let log = Arc::new(Log::default());
    let builds = Builds::default();
    let cache = cache(&log, &builds);
    drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
    tokio::time::advance(REFRESH + Duration::from_secs(1)).await;

    let during = cache.get(&"db").unwrap();
    // Spawned work runs, but the build waits for the timer's next tick, so it
    // does not run beside the triggering caller's own command.
    settle().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 0);
    drop(during);
    tokio::time::sleep(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get(&"db").unwrap().id, 100);
}

/// A cache whose refresher panics on its first call: in the future it returns
/// (`in_future`), or before returning one.
fn panicking_once(
    log: &Arc<Log>,
    calls: &Arc<AtomicUsize>,
    in_future: bool,
) -> ClientCache<&'static str, Owned<Probe>> {
    let (log, calls) = (Arc::clone(log), Arc::clone(calls));
    ClientCache::builder()
        .time_to_live(Duration::from_secs(100))
        .refresh_after(Duration::from_secs(10), move |_key: &&'static str| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            assert!(in_future || call > 0, "the refresher panicked");
            let log = Arc::clone(&log);
            async move {
                assert!(!in_future || call > 0, "the refresh panicked");
                Ok::<_, &str>(Owned::new(Probe::new(100, &log)))
            }
        })
        .build()
        .unwrap()
}

/// A refresh that panics (in the refresher, or in the future it returns) is a
/// failed refresh: the lookup that triggered it is not affected, the failure is
/// counted, and the refresh is tried again one period later.
#[tokio::test(start_paused = true)]
async fn a_panicking_refresh_is_counted_and_tried_again_a_period_later() {
    for in_future in [true, false] {
        let log = Arc::new(Log::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = panicking_once(&log, &calls, in_future);
        drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(cache.get(&"db").unwrap().id, 1, "the lookup that triggers it is served");
        settle_refresh().await;
        assert_eq!((calls.load(Ordering::SeqCst), cache.stats().refresh_failures), (1, 1));
        assert_eq!(cache.get(&"db").unwrap().id, 1, "the entry serves on");
        settle_refresh().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "not retried before a period has passed"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(cache.get(&"db").unwrap().id, 1);
        settle_refresh().await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "tried again");
        assert_eq!(cache.get(&"db").unwrap().id, 100, "refreshed");
        cache.shutdown().await;
        assert_eq!(log.closes.load(Ordering::SeqCst), 2);
    }
}

/// A refresh whose task is dropped unfinished (its runtime shut down while it
/// was building) counts as failed, so the entry is refreshed again later.
#[test]
fn a_refresh_dropped_with_its_runtime_counts_as_failed() {
    let log = Arc::new(Log::default());
    let (builds, _gate) = Builds::gated(); // never opened: the build never ends
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let cache = runtime.block_on(async {
        let cache = cache(&log, &builds);
        drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
        tokio::time::advance(REFRESH).await;
        assert!(cache.get(&"db").is_some());
        settle_refresh().await;
        cache
    });
    assert_eq!(
        (builds.calls.load(Ordering::SeqCst), cache.stats().refresh_failures),
        (1, 0)
    );
    drop(runtime); // drops the refresh task mid-build
    assert_eq!(cache.stats().refresh_failures, 1);
}

/// A refresh under way does not keep a dropped cache alive: when the last
/// handle goes, every other entry is retired (an unleased owned one closed) at
/// once, even while the build hangs; the entry being refreshed closes when
/// the build ends (the build holds it as a lease would), and the entry built
/// for a cache that is gone, never in it, is dropped as an unused `Owned` is.
#[tokio::test(start_paused = true)]
async fn dropping_the_cache_during_a_refresh_retires_its_entries_at_once() {
    let log = Arc::new(Log::default());
    let (builds, gate) = Builds::gated();
    let cache = cache(&log, &builds);
    let refreshed = Probe::new(1, &log);
    let (refreshed_watch, other) = (refreshed.watch(), Probe::new(2, &log));
    let other_watch = other.watch();
    drop(cache.insert("refreshed", Owned::new(refreshed)).unwrap());
    drop(cache.insert("other", Owned::new(other)).unwrap());
    tokio::time::advance(REFRESH).await;
    assert!(cache.get(&"refreshed").is_some());
    settle_refresh().await;
    assert_eq!(builds.calls.load(Ordering::SeqCst), 1, "the refresh is building");
    drop(cache);
    tokio::time::sleep(Duration::from_secs(60)).await;
    settle().await;
    assert_eq!(other_watch.closes(), 1, "retired and closed while the refresh hangs");
    assert_eq!(refreshed_watch.closes(), 0, "held by the build, as by a lease");
    gate.add_permits(1);
    settle_refresh().await;
    assert_eq!(refreshed_watch.closes(), 1, "closed once the build ended");
    assert_eq!(
        log.closes.load(Ordering::SeqCst),
        2,
        "the new entry was never the cache's"
    );
}

/// The eviction listener hears of every entry that leaves the cache, and of
/// nothing else: not of a refresh's new entry discarded because its
/// predecessor left during the build, nor of an insert refused after
/// `shutdown`. Its calls match `evictions` one for one.
#[tokio::test(start_paused = true)]
async fn the_listener_hears_only_of_entries_that_were_in_the_cache() {
    let log = Arc::new(Log::default());
    let (builds, gate) = Builds::gated();
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let cache: ClientCache<&'static str, Owned<Probe>> = {
        let (log, builds, heard) = (Arc::clone(&log), builds.clone(), Arc::clone(&heard));
        ClientCache::builder()
            .time_to_live(TTL)
            .refresh_after(REFRESH, move |_key: &&'static str| {
                let (log, gate) = (Arc::clone(&log), builds.gate.clone().unwrap());
                async move {
                    gate.acquire().await.unwrap().forget();
                    Ok::<_, std::convert::Infallible>(Owned::new(Probe::new(100, &log)))
                }
            })
            .eviction_listener(move |key, lease, cause| heard.lock().unwrap().push((*key, lease.id, cause)))
            .build()
            .unwrap()
    };
    drop(cache.insert("db", Owned::new(Probe::new(1, &log))).unwrap());
    tokio::time::advance(REFRESH).await;
    assert!(cache.get(&"db").is_some());
    settle_refresh().await;
    cache.invalidate(&"db"); // leaves during the build
    gate.add_permits(1);
    settle_refresh().await;
    cache.shutdown().await;
    let refused = cache.insert("late", Owned::new(Probe::new(7, &log)));
    assert_eq!(refused.err().map(|error| error.kind()), Some(ErrorKind::ShutDown));
    settle().await;
    let stats = cache.stats();
    assert_eq!((stats.refreshes_discarded, stats.inserts_refused), (1, 1));
    assert_eq!(
        *heard.lock().unwrap(),
        [("db", 1, tenure_pool::RemovalCause::Explicit)],
        "only the entry that was in the cache"
    );
    assert_eq!(stats.evictions.total(), 1);
    assert_eq!(log.closes.load(Ordering::SeqCst), 3, "all three closed all the same");
}
