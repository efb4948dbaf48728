//! Shutdown, drop, panicking closes, refused inserts, builder rules.
//! (Tracing output is tested in `tracing.rs`, a binary of its own.)

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{
    future::{Future, IntoFuture},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use support::{Log, Probe, assert_serves_a_live_entry, settle};
use tenure_pool::{ClientCache, Close, Closing, ErrorKind, Owned, Shared};

/// `shutdown` waits for the last lease, then every owned entry is closed; twice is fine.
#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_leases_and_closes_everything() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    let watches: Vec<_> = (0..5)
        .map(|id| {
            let probe = Probe::new(id, &log);
            let watch = probe.watch();
            drop(cache.insert(id, Owned::new(probe)).unwrap());
            watch
        })
        .collect();
    let lease = cache.get(&3).unwrap();
    let holder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(lease.request(), Ok(3), "usable right up to its drop");
    });

    let report = cache.shutdown().await;
    assert!(report.is_complete(), "{report:?}");
    assert!(
        holder.is_finished(),
        "shutdown returned only after the lease was dropped"
    );
    holder.await.unwrap(); // its assertion held
    assert!(watches.iter().all(|w| w.closes() == 1));
    assert_eq!((report.stats.closes, report.stats.draining, cache.len()), (5, 0, 0));

    let again = cache.shutdown().await;
    assert!(again.is_complete());
    assert_eq!(again.stats.closes, 5, "nothing closed twice");
}

/// With a deadline, shutdown reports what is still leased and does not force-close it.
#[tokio::test(start_paused = true)]
async fn shutdown_deadline_reports_what_is_still_leased() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
    let kept = Probe::new(1, &log);
    let kept_watch = kept.watch();
    let lease = cache.insert("kept", Owned::new(kept)).unwrap();
    drop(cache.insert("free", Owned::new(Probe::new(2, &log))).unwrap());

    let report = cache.shutdown().deadline(Duration::from_secs(5)).await;
    assert!(!report.is_complete());
    assert_eq!(report.still_leased().collect::<Vec<_>>(), vec![&"kept"]);
    assert_eq!((report.stats.closes, report.stats.draining), (1, 1));
    assert_eq!(kept_watch.closes(), 0, "never force-closed");
    assert_eq!(lease.request(), Ok(1));

    drop(lease);
    settle().await;
    assert_eq!(kept_watch.closes(), 1);
    assert!(cache.shutdown().await.is_complete());
}

/// After shutdown, inserts are refused and the entry is closed, not leaked.
#[tokio::test]
async fn insert_after_shutdown_is_refused_and_closed() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
    cache.shutdown().await;
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    let error = cache.insert("late", Owned::new(probe)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ShutDown);
    let error = cache
        .get_or_try_insert_with("late", || async {
            Ok::<_, std::io::Error>(Owned::new(Probe::new(2, &log)))
        })
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("shut down"), "{error}");
    // The refused call counts as one lookup, a miss.
    assert_eq!((cache.stats().hits, cache.stats().misses), (0, 1));
    settle().await;
    assert_eq!(watch.closes(), 1);
    assert!(cache.is_empty());
}

/// Dropping the cache without shutdown: nothing is force-closed, nothing leaks.
#[tokio::test]
async fn dropping_the_cache_closes_unleased_entries_and_leased_ones_later() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    let free = Probe::new(1, &log);
    let free_watch = free.watch();
    drop(cache.insert(1, Owned::new(free)).unwrap());
    let leased = Probe::new(2, &log);
    let leased_watch = leased.watch();
    let lease = cache.insert(2, Owned::new(leased)).unwrap();

    drop(cache);
    settle().await;
    assert_eq!(free_watch.closes(), 1, "unleased: closed on the runtime");
    assert_eq!(leased_watch.closes(), 0, "leased: not force-closed");
    assert_eq!(lease.request(), Ok(2));

    drop(lease);
    settle().await;
    assert_eq!(
        leased_watch.closes(),
        1,
        "closed after its last lease, cache or no cache"
    );
}

/// The reaper holds no strong reference: dropping the cache ends it.
#[tokio::test(start_paused = true)]
async fn the_reaper_stops_when_the_cache_is_dropped() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let cache = ClientCache::<u32, Shared<u32>>::builder()
        .time_to_live(Duration::from_millis(40))
        .build()
        .unwrap();
    cache.insert(1, Shared::new(1)).unwrap();
    assert_eq!(metrics.num_alive_tasks(), baseline + 1, "the reaper runs");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(cache.is_empty(), "and reaps");

    drop(cache);
    tokio::time::sleep(Duration::from_millis(20)).await;
    settle().await;
    assert_eq!(metrics.num_alive_tasks(), baseline, "and stops");
}

struct Panicky;

impl Close for Panicky {
    async fn close(self, _: &Closing) {
        panic!("close failed");
    }
}

/// A panicking close is caught and counted; the cache keeps working.
#[tokio::test]
async fn a_panicking_close_is_caught_and_counted() {
    let cache = ClientCache::<u32, Owned<Panicky>>::builder().build().unwrap();
    drop(cache.insert(1, Owned::new(Panicky)).unwrap());
    cache.invalidate(&1);
    settle().await;
    let stats = cache.stats();
    assert_eq!((stats.close_panics, stats.closes, stats.draining), (1, 0, 0));
    drop(cache.insert(2, Owned::new(Panicky)).unwrap());
    assert!(cache.get(&2).is_some(), "not poisoned");
    assert!(cache.shutdown().await.is_complete());
    assert_eq!(cache.stats().close_panics, 2);
}

/// The zero rule and the other range checks name the setting and its value.
#[test]
fn invalid_settings_are_typed_errors_naming_the_setting() {
    type Cache = ClientCache<u32, Shared<u32>>;
    let cases = [
        (Cache::builder().max_capacity(0).build(), "max_capacity", "0"),
        (
            Cache::builder().max_capacity(1 << 40).build(),
            "max_capacity",
            "1099511627776",
        ),
        (
            Cache::builder().time_to_live(Duration::ZERO).build(),
            "time_to_live",
            "0ns",
        ),
        (
            Cache::builder().time_to_idle(Duration::ZERO).build(),
            "time_to_idle",
            "0ns",
        ),
        (
            Cache::builder().drain_warning_after(Duration::ZERO).build(),
            "drain_warning_after",
            "0ns",
        ),
    ];
    for (result, setting, value) in cases {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidSetting);
        let message = error.to_string();
        assert!(message.contains(setting) && message.contains(value), "{message}");
    }
    assert!(
        Cache::builder().max_capacity(1).build().is_ok(),
        "1 is the smallest capacity"
    );
}

/// Retiring a shared entry, whatever retires it (capacity, replacement,
/// expiry, invalidation, shutdown, an insert refused after it), only drops the cache's
/// reference: the holder's clone is the same live value, with the cache's
/// reference gone (no leak), and the value is dropped once, when the holder
/// lets go. (That the cache cannot close a shared value is a compile-time
/// matter: `tests/ui/shared_*.rs`.)
#[tokio::test(start_paused = true)]
async fn retiring_a_shared_entry_only_drops_the_caches_reference() {
    let drops = Arc::new(AtomicUsize::new(0));
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let cache = ClientCache::<u32, Shared<Tracked>>::builder()
        .max_capacity(2)
        .time_to_live(Duration::from_secs(1))
        .build()
        .unwrap();
    let mut held = Vec::new();
    for key in 0..5 {
        held.push(cache.insert(key, Shared::new(Tracked(Arc::clone(&drops)))).unwrap());
    }
    held.push(cache.insert(4, Shared::new(Tracked(Arc::clone(&drops)))).unwrap());
    tokio::time::sleep(Duration::from_secs(2)).await;
    held.push(cache.insert(9, Shared::new(Tracked(Arc::clone(&drops)))).unwrap());
    cache.invalidate_all();
    held.push(cache.insert(10, Shared::new(Tracked(Arc::clone(&drops)))).unwrap());
    cache.shutdown().await;
    // Refused after the shutdown: the cache drops the clone it was given at once.
    let refused = Shared::new(Tracked(Arc::clone(&drops)));
    assert!(cache.insert(11, refused.clone()).is_err());
    held.push(refused);
    let stats = cache.stats();
    let evictions = stats.evictions;
    assert_eq!(
        (
            evictions.capacity,
            evictions.replaced,
            evictions.expired,
            evictions.explicit
        ),
        (3, 1, 2, 2),
        "every way of retiring ran: {stats:?}"
    );
    assert_eq!((stats.inserts, stats.inserts_refused), (8, 1), "{stats:?}");
    drop(cache);
    settle().await;
    assert_eq!(held.len(), 9);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "no value dropped while held");
    for handle in &held {
        assert_eq!(
            Arc::strong_count(Shared::as_arc(handle)),
            1,
            "the cache let go of its reference"
        );
    }
    drop(held);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        9,
        "each value dropped once, with its holder"
    );
}

/// Hits skip the clock only while the reaper ticks; with a runtime that is never
/// driven (so no reaper runs), expiry is still exact.
#[test]
fn expiry_is_exact_when_no_reaper_ticks() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _entered = runtime.enter(); // the reaper is spawned but never polled
    let cache = ClientCache::<u32, Shared<u32>>::builder()
        .time_to_live(Duration::from_millis(30))
        .build()
        .unwrap();
    let control_expired = assert_serves_a_live_entry(&cache, Shared::new);
    cache.insert(1, Shared::new(1)).unwrap();
    std::thread::sleep(Duration::from_millis(40)); // at least 40 ms pass: past the TTL
    assert!(cache.get(&1).is_none(), "served past its TTL");
    assert_eq!(cache.stats().evictions.expired, 1 + control_expired);
}

/// A close is spawned, never run inside the `insert` (or `get`) that retired the entry.
#[tokio::test]
async fn closes_never_run_inside_the_call_that_retires() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .max_capacity(1)
        .build()
        .unwrap();
    let first = Probe::new(1, &log);
    let watch = first.watch();
    drop(cache.insert(1, Owned::new(first)).unwrap());
    drop(cache.insert(2, Owned::new(Probe::new(2, &log))).unwrap()); // evicts 1, unleased
    assert_eq!(
        watch.closes(),
        0,
        "not closed inside insert: this thread has not yielded"
    );
    assert_eq!(cache.stats().draining, 1);
    settle().await;
    assert_eq!(watch.closes(), 1);
}

/// A holder that keeps a lease for hours (the deferred-close regression failed every
/// such request ~75 minutes after boot): the lease keeps working through every TTL,
/// and the entry closes only after it is dropped.
#[tokio::test(start_paused = true)]
async fn a_lease_held_for_hours_keeps_working() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder()
        .time_to_live(Duration::from_secs(600))
        .build()
        .unwrap();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    let lease = cache.insert("long-lived", Owned::new(probe)).unwrap();
    for _ in 0..18 {
        tokio::time::sleep(Duration::from_secs(600)).await; // three hours in all
        assert_eq!(lease.request(), Ok(1));
        assert_eq!(watch.closes(), 0);
    }
    assert!(cache.get(&"long-lived").is_none(), "expired from the cache long ago");
    assert_eq!(cache.stats().draining, 1);
    drop(lease);
    settle().await;
    assert_eq!(watch.closes(), 1);
}

/// Closes started together (`invalidate_all`) are spawned in chunks on their
/// entries' runtime; a runtime that shuts down before polling them abandons
/// every one of them, counted, each value dropped unclosed and not leaked.
#[test]
fn closes_batched_on_a_runtime_that_shuts_down_unpolled_are_each_counted_as_abandoned() {
    const ENTRIES: u32 = 150; // more than two chunks of 64
    let log = Arc::new(Log::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    let watches: Vec<_> = {
        let _entered = runtime.enter(); // each entry's close goes to this runtime
        (0..ENTRIES)
            .map(|key| {
                let probe = Probe::new(key, &log);
                let watch = probe.watch();
                drop(cache.insert(key, Owned::new(probe)).unwrap());
                watch
            })
            .collect()
    };
    cache.invalidate_all(); // spawns the chunks; the runtime never polls them
    assert_eq!(cache.stats().draining, u64::from(ENTRIES));
    drop(runtime);
    let stats = cache.stats();
    assert_eq!(
        (stats.closes_abandoned, stats.closes, stats.draining),
        (u64::from(ENTRIES), 0, 0)
    );
    assert!(watches.iter().all(|watch| watch.closes() == 0));
    assert_eq!(Arc::strong_count(&log), 1, "every probe was dropped, none leaked");
}

/// A close whose runtime has shut down cannot run: it is counted (and warned
/// about by key: `close_logs.rs`), and the value is dropped, not leaked silently.
#[test]
fn a_close_whose_runtime_is_gone_is_counted_as_abandoned() {
    let log = Arc::new(Log::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (cache, lease, watch) = runtime.block_on(async {
        let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
        let probe = Probe::new(1, &log);
        let watch = probe.watch();
        let lease = cache.insert(1, Owned::new(probe)).unwrap();
        cache.invalidate(&1);
        (cache, lease, watch)
    });
    drop(runtime);
    drop(lease); // the last lease: the close goes to the dead runtime
    let stats = cache.stats();
    assert_eq!((stats.closes_abandoned, stats.closes, stats.draining), (1, 0, 0));
    assert_eq!(watch.closes(), 0);
    assert_eq!(Arc::strong_count(&log), 1, "the probe was dropped, not leaked");
}

/// An entry inserted into a cache built outside any runtime has no runtime of
/// its own to close on: its close runs on the runtime current where its last
/// reference is dropped, and only with none there is it abandoned.
#[test]
fn an_entry_with_no_runtime_closes_on_the_one_current_at_its_last_drop() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    let closed_probe = Probe::new(1, &log);
    let closed = closed_probe.watch();
    let abandoned_probe = Probe::new(2, &log);
    let abandoned = abandoned_probe.watch();
    drop(cache.insert(1, Owned::new(closed_probe)).unwrap());
    let lease = cache.insert(2, Owned::new(abandoned_probe)).unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        cache.invalidate(&1);
        settle().await;
    });
    assert_eq!(closed.closes(), 1, "closed on the runtime current at the retirement");

    cache.invalidate(&2);
    drop(lease); // the last reference, dropped outside any runtime
    assert_eq!(abandoned.closes(), 0);
    let stats = cache.stats();
    assert_eq!((stats.closes, stats.closes_abandoned, stats.draining), (1, 1, 0));
}

/// Every owned entry handed to the cache is inserted, discarded after a
/// refresh, or refused: once nothing drains, the closes balance them.
#[tokio::test]
async fn closes_balance_inserts_and_refused_inserts() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .max_capacity(2)
        .build()
        .unwrap();
    for key in 0..5 {
        drop(cache.insert(key, Owned::new(Probe::new(key, &log))).unwrap());
    }
    cache.shutdown().await;
    let error = cache.insert(9, Owned::new(Probe::new(9, &log))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ShutDown);
    settle().await;
    let stats = cache.stats();
    assert_eq!((stats.inserts, stats.inserts_refused, stats.draining), (5, 1, 0));
    assert_eq!(
        stats.closes + stats.closes_abandoned + stats.close_panics,
        stats.inserts + stats.refreshes_discarded + stats.inserts_refused
    );
    assert_eq!(log.closes.load(Ordering::SeqCst), 6);
}

/// Polls a future to completion on this thread, with no tokio runtime.
fn block_on_without_runtime<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// `shutdown` with a deadline polled outside any tokio runtime returns at the
/// deadline with a report (no tokio timer is needed), and a deadline too far
/// to represent is no deadline.
#[test]
fn shutdown_deadlines_off_runtime_and_unrepresentable_ones_do_not_panic() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
    let lease = cache.insert("held", Owned::new(Probe::new(1, &log))).unwrap();
    let report = block_on_without_runtime(cache.shutdown().deadline(Duration::from_millis(20)).into_future());
    assert!(!report.is_complete());
    assert_eq!(report.pending.len(), 1);
    drop(lease); // no runtime: abandoned, counted
    let report = block_on_without_runtime(cache.shutdown().deadline(Duration::from_millis(20)).into_future());
    assert!(report.is_complete());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
        drop(cache.insert("a", Owned::new(Probe::new(2, &log))).unwrap());
        let report = cache.shutdown().deadline(Duration::MAX).await;
        assert!(report.is_complete());
    });
    assert_eq!(log.closes.load(Ordering::SeqCst), 1);
}

/// A time-to-live near `Duration::MAX` with refresh ahead as a percentage of
/// it (as `RedisClients` sets by default) builds; no overflow.
#[test]
fn a_huge_time_to_live_with_a_refresh_percentage_builds() {
    let built = ClientCache::<&str, Owned<Probe>>::builder()
        .policy(
            tenure_pool::CachePolicy::new()
                .time_to_live(Duration::MAX)
                .refresh_after_ttl_percent(99),
        )
        .refresh_with(|_key: &&str| async { Err::<Owned<Probe>, _>("unused") })
        .build();
    assert!(built.is_ok());
}
