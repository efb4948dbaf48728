//! The incident's two cases in generic form, and their owned twins.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{sync::Arc, time::Duration};

use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, Owned, RemovalCause, Shared};

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

/// Every cause reaches the eviction listener, with a usable handle.
#[tokio::test]
async fn the_listener_sees_every_cause() {
    let log = Arc::new(Log::default());
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let cache = ClientCache::<&str, Shared<Probe>>::builder()
        .max_capacity(2)
        .eviction_listener(move |key, client, cause| {
            assert!(client.request().is_ok());
            record.lock().push((*key, cause));
        })
        .build()
        .unwrap();
    cache.insert("a", Shared::new(Probe::new(1, &log))).unwrap();
    cache.insert("a", Shared::new(Probe::new(2, &log))).unwrap();
    cache.insert("b", Shared::new(Probe::new(3, &log))).unwrap();
    cache.insert("c", Shared::new(Probe::new(4, &log))).unwrap();
    cache.invalidate(&"c");
    cache.invalidate_all();
    let seen = seen.lock().clone();
    assert_eq!(seen[0], ("a", RemovalCause::Replaced));
    assert_eq!(seen[1].1, RemovalCause::Capacity);
    assert!(seen.contains(&("c", RemovalCause::Explicit)));
    assert_eq!(seen.len(), 4);
    assert_eq!(cache.stats().evictions.total(), 4);
}
