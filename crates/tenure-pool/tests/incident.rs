//! The incident's two cases in generic form, and their owned twins.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{sync::Arc, time::Duration};

use support::{Log, Probe, paused_runtime, settle};
use tenure_pool::{ClientCache, Lease, Owned, RemovalCause, Shared};

/// Capacity eviction of a shared client: whoever holds it keeps a working client.
#[tokio::test]
async fn shared_entry_evicted_by_capacity_is_still_usable() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Shared<Probe>>::builder()
        .max_capacity(1)
        .build()
        .unwrap();
    let a = cache.insert("a", Shared::new(Probe::new(1, &log))).unwrap();
    cache.insert("b", Shared::new(Probe::new(2, &log))).unwrap();
    settle().await;

    assert!(cache.get(&"a").is_none(), "a was evicted");
    assert_eq!(cache.stats().evictions.capacity, 1);
    assert_eq!(a.request(), Ok(1));
    assert_eq!(log.closes.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// TTL expiry of a shared client, seen by a lookup and by the reaper.
#[tokio::test(start_paused = true)]
async fn shared_entry_expired_by_ttl_is_still_usable() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Shared<Probe>>::builder()
        .time_to_live(Duration::from_secs(600))
        .build()
        .unwrap();
    let a = cache.insert("a", Shared::new(Probe::new(1, &log))).unwrap();
    let b = cache.insert("b", Shared::new(Probe::new(2, &log))).unwrap();
    tokio::time::advance(Duration::from_secs(599)).await;
    assert!(cache.get(&"a").is_some(), "alive before its TTL");

    tokio::time::sleep(Duration::from_secs(2)).await;
    settle().await;
    assert!(cache.get(&"a").is_none());
    assert_eq!(cache.len(), 0, "the reaper removed b with no lookup");
    assert_eq!(cache.stats().evictions.expired, 2);
    assert_eq!(a.request(), Ok(1));
    assert_eq!(b.request(), Ok(2));
    assert_eq!(log.closes.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// An owned entry retired while leased is not closed until the last lease drops, then once.
#[tokio::test]
async fn owned_entry_retired_while_leased_closes_after_last_lease() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder()
        .max_capacity(1)
        .build()
        .unwrap();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    let lease = cache.insert("a", Owned::new(probe)).unwrap();
    let second = cache.get(&"a").unwrap();

    drop(cache.insert("b", Owned::new(Probe::new(2, &log))).unwrap()); // evicts a
    settle().await;
    assert_eq!(watch.closes(), 0, "never closed under a lease");
    assert_eq!(lease.request(), Ok(1));
    assert_eq!(cache.stats().draining, 1);

    drop(lease);
    settle().await;
    assert_eq!(watch.closes(), 0, "one lease still out");
    assert_eq!(second.request(), Ok(1));

    drop(second);
    settle().await;
    assert_eq!(watch.closes(), 1, "closed after the last lease");
    let stats = cache.stats();
    assert_eq!((stats.closes, stats.draining), (1, 0));

    settle().await;
    assert_eq!(watch.closes(), 1, "exactly once");
}

/// An idle owned entry past its TTL is closed by the reaper, with no cache traffic.
#[tokio::test(start_paused = true)]
async fn owned_entry_past_ttl_is_closed_by_the_reaper() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder()
        .time_to_live(Duration::from_millis(100))
        .build()
        .unwrap();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    drop(cache.insert("a", Owned::new(probe)).unwrap());

    tokio::time::sleep(Duration::from_millis(99)).await;
    settle().await;
    assert_eq!(watch.closes(), 0);

    tokio::time::sleep(Duration::from_millis(60)).await;
    settle().await;
    assert_eq!(watch.closes(), 1, "closed with no lookup, insert or shutdown");
    let stats = cache.stats();
    assert_eq!(
        (stats.evictions.expired, stats.closes, stats.hits, stats.misses),
        (1, 1, 0, 0)
    );
}

/// The same, by time-to-idle: an entry in use stays, an unused one goes.
#[tokio::test(start_paused = true)]
async fn time_to_idle_keeps_used_entries_and_retires_unused_ones() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder()
        .without_time_to_live()
        .time_to_idle(Duration::from_secs(10))
        .build()
        .unwrap();
    drop(cache.insert("hot", Owned::new(Probe::new(1, &log))).unwrap());
    let cold = Probe::new(2, &log);
    let cold_watch = cold.watch();
    drop(cache.insert("cold", Owned::new(cold)).unwrap());

    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(cache.get(&"hot").is_some(), "used every 5 s, so never idle for 10 s");
    }
    settle().await;
    assert!(cache.get(&"cold").is_none());
    assert_eq!(cold_watch.closes(), 1);
    assert_eq!(cache.stats().evictions.idle, 1);
}

/// What an eviction listener saw: the key, the cause, and whether the handle
/// it was given still worked (an owned entry's lease must: the close waits for it).
type Seen = Arc<parking_lot::Mutex<Vec<(&'static str, RemovalCause, bool)>>>;

/// A listener that records into `seen`.
fn recorder(seen: &Seen) -> impl Fn(&&'static str, &Lease<Probe>, RemovalCause) + Send + Sync + 'static {
    let record = Arc::clone(seen);
    move |key, lease, cause| record.lock().push((*key, cause, lease.request().is_ok()))
}

/// Every cause reaches the eviction listener, with a usable handle: replaced,
/// capacity and explicit; expired (time-to-live) and idle (time-to-idle), found
/// by a lookup on paused time; refreshed (a refresh's result takes the entry's
/// place); and runtime gone (an insert at capacity takes the entry of a runtime
/// that shut down). Each cache's listener is checked right after the step that
/// retires, so a cause that skipped the listener fails here.
#[test]
fn the_listener_sees_every_cause() {
    let log = Arc::new(Log::default());
    let seen: Seen = Arc::default();
    let took = |seen: &Seen| std::mem::take(&mut *seen.lock());
    let paused = paused_runtime();
    paused.block_on(async {
        let cache = ClientCache::<&str, Owned<Probe>>::builder()
            .max_capacity(2)
            .eviction_listener(recorder(&seen))
            .build()
            .unwrap();
        drop(cache.insert("a", Owned::new(Probe::new(1, &log))).unwrap());
        drop(cache.insert("a", Owned::new(Probe::new(2, &log))).unwrap());
        assert_eq!(took(&seen), [("a", RemovalCause::Replaced, true)]);
        drop(cache.insert("b", Owned::new(Probe::new(3, &log))).unwrap());
        drop(cache.insert("c", Owned::new(Probe::new(4, &log))).unwrap());
        let capacity = took(&seen);
        assert_eq!(capacity.len(), 1, "{capacity:?}");
        assert_eq!((capacity[0].1, capacity[0].2), (RemovalCause::Capacity, true));
        cache.invalidate(&"c");
        assert_eq!(took(&seen), [("c", RemovalCause::Explicit, true)]);

        // Found past its time-to-live, then past its time-to-idle, by a lookup.
        let ten_seconds = Duration::from_secs(10);
        let expiring = [
            (ClientCache::builder().time_to_live(ten_seconds), RemovalCause::Expired),
            (
                ClientCache::builder().time_to_idle(ten_seconds).without_time_to_live(),
                RemovalCause::Idle,
            ),
        ];
        for (builder, cause) in expiring {
            let cache: ClientCache<&str, Owned<Probe>> = builder.eviction_listener(recorder(&seen)).build().unwrap();
            drop(cache.insert("expires", Owned::new(Probe::new(5, &log))).unwrap());
            tokio::time::advance(Duration::from_secs(11)).await;
            assert!(cache.get(&"expires").is_none());
            assert_eq!(took(&seen), [("expires", cause, true)]);
        }

        let refreshing_log = Arc::clone(&log);
        let refreshing = ClientCache::<&str, Owned<Probe>>::builder()
            .time_to_live(Duration::from_secs(10))
            .refresh_after(Duration::from_secs(8), move |_: &&str| {
                let log = Arc::clone(&refreshing_log);
                async move { Ok::<_, std::convert::Infallible>(Owned::new(Probe::new(8, &log))) }
            })
            .eviction_listener(recorder(&seen))
            .build()
            .unwrap();
        drop(refreshing.insert("refreshed", Owned::new(Probe::new(7, &log))).unwrap());
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(
            refreshing.get(&"refreshed").unwrap().request(),
            Ok(7),
            "served while it refreshes"
        );
        // Past the tick a refresh waits before it builds; paused time then
        // advances by itself while the runtime is idle.
        tokio::time::sleep(Duration::from_millis(5)).await;
        settle().await;
        assert_eq!(
            refreshing.get(&"refreshed").unwrap().request(),
            Ok(8),
            "the refreshed entry"
        );
        assert_eq!(took(&seen), [("refreshed", RemovalCause::Refreshed, true)]);
    });
    // The caches above were dropped at the end of the block: what they held
    // left as explicit removals.
    let dropped = took(&seen);
    assert_eq!(dropped.len(), 2, "{dropped:?}");
    assert!(
        dropped
            .iter()
            .all(|&(_, cause, usable)| cause == RemovalCause::Explicit && usable)
    );

    let scoped = ClientCache::<&str, Owned<Probe>>::builder()
        .scope_by_runtime()
        .max_capacity(1)
        .without_time_to_live()
        .eviction_listener(recorder(&seen))
        .build()
        .unwrap();
    let short_lived = tokio::runtime::Builder::new_current_thread().build().unwrap();
    short_lived.block_on(async { drop(scoped.insert("gone", Owned::new(Probe::new(9, &log))).unwrap()) });
    drop(short_lived);
    paused.block_on(async {
        drop(scoped.insert("live", Owned::new(Probe::new(10, &log))).unwrap());
    });
    assert_eq!(took(&seen), [("gone", RemovalCause::RuntimeGone, true)]);
    assert_eq!(scoped.stats().evictions.runtime_gone, 1);
}
