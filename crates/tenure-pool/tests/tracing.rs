//! Tracing output: lifecycle events name keys by their `Debug`, a stuck lease
//! is warned about once, and secrets stay out.
//!
//! Why a binary of its own, with one global subscriber: tracing caches, per
//! callsite and for the whole process, whether any subscriber wants its events.
//! A subscriber set for one thread (`set_default`) while sibling tests hit the
//! same callsites races that cache: a callsite first hit by another test while
//! no subscriber was alive is cached as uninteresting, and the capturing test
//! silently misses its events (issue 14's flake). Here the global subscriber is
//! installed before anything in this binary emits an event (every test starts
//! with `Capture::start` from `support/capture.rs`, which blocks until it is installed) and is never
//! replaced, so the cache is computed once, against it. It routes each event to
//! the capture of the thread that emitted it; the tests here run the cache on a
//! current-thread runtime, so all of a test's events come from its own thread.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::{fmt, sync::Arc, time::Duration};

use capture::Capture;
use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, Owned};

/// A key that knows its secret must not be logged.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ApiKeyed {
    endpoint: &'static str,
    api_key: &'static str,
}

impl fmt::Debug for ApiKeyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyed")
            .field("endpoint", &self.endpoint)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// Every lifecycle event is traced with the key's own representation, a stuck
/// lease is warned about once, and the secret never appears.
#[tokio::test(start_paused = true)]
async fn tracing_names_keys_by_their_debug_and_warns_about_stuck_leases() {
    let capture = Capture::start();

    let log = Arc::new(Log::default());
    let cache = ClientCache::<ApiKeyed, Owned<Probe>>::builder()
        .drain_warning_after(Duration::from_secs(30))
        .build()
        .unwrap();
    let key = ApiKeyed {
        endpoint: "https://llm.example",
        api_key: "sk-live-SECRET",
    };
    let lease = cache.insert(key.clone(), Owned::new(Probe::new(1, &log))).unwrap();
    cache.invalidate(&key);
    tokio::time::sleep(Duration::from_secs(45)).await;
    drop(lease);
    settle().await;

    let output = capture.output();
    for event in [
        "entry inserted",
        "entry retired",
        "draining",
        "still leased",
        "closing",
        "entry closed",
    ] {
        assert!(output.contains(event), "no {event:?} event in:\n{output}");
    }
    assert_eq!(output.matches("still leased").count(), 1, "warned once");
    assert!(output.contains("llm.example"));
    assert!(!output.contains("SECRET"), "secret logged:\n{output}");
}

/// A capture holds the events of its own thread and none of another's, so
/// tests in this binary that capture at the same time cannot see each other's.
#[tokio::test]
async fn a_capture_holds_only_its_own_threads_events() {
    let capture = Capture::start();
    let log = Arc::new(Log::default());

    let other_log = Arc::clone(&log);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
            drop(
                cache
                    .insert("other-thread", Owned::new(Probe::new(2, &other_log)))
                    .unwrap(),
            );
        });
    })
    .join()
    .unwrap();
    let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
    drop(cache.insert("this-thread", Owned::new(Probe::new(1, &log))).unwrap());

    let output = capture.output();
    assert!(output.contains("\"this-thread\""), "own event missing:\n{output}");
    assert!(
        !output.contains("other-thread"),
        "another thread's event captured:\n{output}"
    );
}

/// On a runtime built without timers no reaper can run: the first insert
/// warns once, and later inserts do not spawn reaper after reaper (each of
/// which would panic making its timer).
#[test]
fn a_runtime_without_timers_gets_one_warning_not_a_reaper_per_insert() {
    let capture = Capture::start();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap(); // no `enable_time`
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    runtime.block_on(async {
        for key in 0..3 {
            drop(cache.insert(key, Owned::new(Probe::new(key, &log))).unwrap());
            settle().await;
        }
    });
    let output = capture.output();
    assert_eq!(
        output
            .matches("reaper cannot run on a tokio runtime built without timers")
            .count(),
        1,
        "{output}"
    );
    assert_eq!(cache.len(), 3);
}

/// Lookups and inserts made where the current runtime has shut down (a thread
/// that entered it, code running while it is dropped) start no reaper after
/// reaper: tokio drops each new task at once, so the cache remembers that
/// runtime after the first attempt. Nor do lookups on a runtime without
/// timers, once its reaper found it could not run there.
#[test]
fn a_shut_down_runtime_gets_one_reaper_attempt_not_one_per_lookup() {
    let capture = Capture::start();
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .without_time_to_live()
        .build()
        .unwrap();
    let live = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    live.block_on(async {
        drop(cache.insert(1, Owned::new(Probe::new(1, &log))).unwrap());
        settle().await;
    });
    let dead = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = dead.handle().clone();
    drop(live); // the reaper's runtime: no reaper runs now
    drop(dead);
    {
        let _entered = handle.enter();
        for _ in 0..100 {
            assert!(cache.get(&1).is_some());
            assert!(cache.get(&2).is_none());
        }
    }
    let output = capture.output();
    assert_eq!(output.matches("starting the cache's reaper").count(), 2, "{output}");

    // A runtime without timers: its reaper refuses at its first poll; then
    // lookups and inserts there start no other.
    let timerless = tokio::runtime::Builder::new_current_thread().build().unwrap();
    timerless.block_on(async {
        for key in 10..20 {
            drop(cache.insert(key, Owned::new(Probe::new(key, &log))).unwrap());
            assert!(cache.get(&key).is_some());
            settle().await;
        }
    });
    let output = capture.output();
    assert_eq!(output.matches("starting the cache's reaper").count(), 3, "{output}");
}
