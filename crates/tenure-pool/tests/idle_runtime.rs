//! Expiry holds whatever the reaper's runtime is doing: a runtime that stays
//! alive but idle (its reaper never polled again) neither gets expired entries
//! served to other runtimes nor keeps expired entries in the cache.
//!
//! These tests use real time, because the point is two runtimes with one idle:
//! tokio's paused clock belongs to one runtime. Every sleep is a lower bound
//! (a sleep of 150 ms lasts at least 150 ms, however loaded the machine). One
//! wait has an upper bound: `look_up_key_1_on_another_runtime_until_both_expire`
//! polls for at most 200 rounds of at least 25 ms (5 s or more) for the reaper
//! to have run at all, where about 250 ms is needed.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{sync::Arc, time::Duration};

use support::{Log, Probe, assert_serves_a_live_entry};
use tenure_pool::{ClientCache, Owned};
use tokio::runtime::{Builder, Runtime};

const TTL: Duration = Duration::from_millis(100);

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

/// Inserts on `r1` and lets its reaper be polled once, then leaves `r1` idle.
fn insert_on_idle_runtime(r1: &Runtime, cache: &ClientCache<u32, Owned<Probe>>, log: &Arc<Log>, keys: &[u32]) {
    r1.block_on(async {
        for &key in keys {
            drop(cache.insert(key, Owned::new(Probe::new(key, log))).unwrap());
        }
        // The reaper task starts (and marks itself as ticking), then sleeps.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    });
}

/// On a new runtime, looks up key 1 only, past the time-to-live and the stall
/// threshold (two reaper passes plus the 100 ms slack), until keys 1 and 2
/// have both expired (bounded: 200 rounds of 25 ms); asserts they have. Key 2
/// is never looked up: only a reaper can retire it.
fn look_up_key_1_on_another_runtime_until_both_expire(cache: &ClientCache<u32, Owned<Probe>>) {
    current_thread().block_on(async {
        for _ in 0..200 {
            let _ = cache.get(&1);
            tokio::time::sleep(Duration::from_millis(25)).await;
            if cache.stats().evictions.expired == 2 {
                break;
            }
        }
    });
    assert_eq!(
        cache.stats().evictions.expired,
        2,
        "the entry nobody looked up was retired too"
    );
    assert_eq!(cache.len(), 0);
}

#[test]
fn an_entry_past_its_ttl_is_never_served_to_another_runtime_while_the_reapers_runtime_idles() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .time_to_live(TTL)
        .build()
        .unwrap();
    let r1 = current_thread();
    insert_on_idle_runtime(&r1, &cache, &log, &[1]);
    let start = std::time::Instant::now();

    let r2 = current_thread();
    // Control: a live entry is served on r2.
    let control_expired =
        r2.block_on(async { assert_serves_a_live_entry(&cache, |key| Owned::new(Probe::new(key, &log))) });
    for after in [150, 500, 1_500] {
        let after = Duration::from_millis(after);
        std::thread::sleep(after.saturating_sub(start.elapsed()));
        r2.block_on(async {
            assert!(
                cache.get(&1).is_none(),
                "an entry past its time-to-live was served {after:?} after insertion"
            );
        });
    }
    assert_eq!(
        cache.stats().evictions.expired - control_expired,
        1,
        "retired once, as expired"
    );
    drop(r1);
}

#[test]
fn expired_entries_are_retired_while_any_runtime_uses_the_cache() {
    // Key 1 is looked up from r2; key 2 never is: only a reaper can retire it,
    // and the first one sits on the idle r1. A lookup on r2 starts a new one.
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .time_to_live(TTL)
        .build()
        .unwrap();
    let r1 = current_thread();
    insert_on_idle_runtime(&r1, &cache, &log, &[1, 2]);

    look_up_key_1_on_another_runtime_until_both_expire(&cache);
    drop(r1);
}

#[tokio::test(start_paused = true)]
async fn a_paused_clock_moved_by_hand_never_gets_an_expired_entry_served() {
    // Under paused time the clock jumps with no real time passing, and the
    // reaper may not have run yet when the next lookup comes.
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .time_to_live(Duration::from_secs(600))
        .build()
        .unwrap();
    drop(cache.insert(1, Owned::new(Probe::new(1, &log))).unwrap());
    for _ in 0..8 {
        tokio::task::yield_now().await; // the reaper starts ticking
    }
    tokio::time::advance(Duration::from_secs(599)).await;
    assert!(cache.get(&1).is_some(), "one second before its time-to-live, it serves");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(cache.get(&1).is_none(), "at its time-to-live, it is gone");
    assert_eq!(cache.stats().evictions.expired, 1);
}

#[test]
fn expired_entries_are_retired_after_the_reapers_runtime_shut_down() {
    // As the test of an idle r1, but r1 is dropped: its reaper is gone, not stalled. Lookups on
    // r2 (key 1 only) start a new one there, which retires key 2.
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .time_to_live(TTL)
        .build()
        .unwrap();
    let r1 = current_thread();
    insert_on_idle_runtime(&r1, &cache, &log, &[1, 2]);
    drop(r1);

    look_up_key_1_on_another_runtime_until_both_expire(&cache);
}

/// A cache built outside any runtime (a static, a test fixture) and then used
/// in a runtime whose clock is paused notices that clock when the runtime's
/// first insert starts the reaper there: an entry past its time-to-live or
/// time-to-idle, after `advance`, is not served. (Paused time, so no real
/// time is involved here.)
#[test]
fn a_cache_built_outside_a_paused_runtime_notices_its_clock() {
    for tti in [false, true] {
        for round in 0..20 {
            let builder = ClientCache::<u32, tenure_pool::Shared<u32>>::builder();
            let builder = if tti {
                builder.without_time_to_live().time_to_idle(Duration::from_secs(10))
            } else {
                builder.time_to_live(Duration::from_secs(10))
            };
            let cache = builder.build().unwrap();
            let paused = Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            let served = paused.block_on(async {
                drop(cache.insert(1, tenure_pool::Shared::new(round)).unwrap());
                tokio::time::advance(Duration::from_secs(11)).await;
                cache.get(&1).is_some()
            });
            assert!(
                !served,
                "served past its {} (round {round})",
                if tti { "time-to-idle" } else { "time-to-live" }
            );
        }
    }
}
