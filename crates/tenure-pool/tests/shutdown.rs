//! Shutdown completes on whichever runtime calls it, and its report names every
//! entry not closed yet, and why. (Log output is tested in `close_logs.rs`.)
//!
//! "Idle runtime" below is a current-thread runtime that is built and never
//! driven: tasks spawned on it never run, exactly like one whose thread is not
//! inside `block_on`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{
    future::IntoFuture,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, Close, Closing, Owned, PendingState};
use tokio::runtime::Runtime;

/// A bound on every test here, so a regression fails instead of hanging.
const TEST_LIMIT: Duration = Duration::from_secs(600);

fn idle_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Drops a runtime where blocking is allowed (not inside the test's own runtime).
fn drop_elsewhere(runtime: Runtime) {
    std::thread::spawn(move || drop(runtime)).join().unwrap();
}

async fn bounded<F: IntoFuture>(future: F) -> F::Output {
    tokio::time::timeout(TEST_LIMIT, future)
        .await
        .expect("hung: it should have finished long before the test's limit")
}

/// A close that starts, counts its start, and never finishes.
struct Hangs(Arc<AtomicUsize>);

impl Close for Hangs {
    async fn close(self, _: &Closing) {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }
}

/// The entry's runtime is alive but idle: `shutdown()` without a deadline still
/// completes, running the close once, on the caller's runtime.
#[tokio::test(start_paused = true)]
async fn shutdown_closes_on_the_callers_runtime_when_the_entrys_runtime_is_idle() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    let idle = idle_runtime();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    {
        let _entered = idle.enter(); // inserted on the idle runtime: its close goes there
        drop(cache.insert(1, Owned::new(probe)).unwrap());
    }

    let report = bounded(cache.shutdown()).await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(watch.closes(), 1);
    let stats = report.stats;
    assert_eq!(
        (
            stats.closes,
            stats.closes_taken_over,
            stats.closes_abandoned,
            stats.draining
        ),
        (1, 1, 0, 0)
    );

    // The idle runtime's own close task is dropped with it: it finds nothing to do.
    drop_elsewhere(idle);
    let stats = cache.stats();
    assert_eq!((stats.closes, stats.closes_abandoned), (1, 0));
    assert_eq!(watch.closes(), 1, "closed exactly once");
}

/// The grace period `shutdown`'s rustdoc gives: a close already queued on an
/// idle runtime when the shutdown starts is taken over after a tick and a half,
/// a tick being 1 s, or a quarter of a deadline shorter than 4 s.
#[tokio::test(start_paused = true)]
async fn a_close_queued_when_the_shutdown_starts_is_taken_over_after_a_tick_and_a_half() {
    for (deadline, tick) in [
        (None, Duration::from_secs(1)),
        (Some(Duration::from_millis(400)), Duration::from_millis(100)),
    ] {
        let log = Arc::new(Log::default());
        let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
        let idle = idle_runtime();
        let probe = Probe::new(1, &log);
        let watch = probe.watch();
        {
            let _entered = idle.enter();
            drop(cache.insert(1, Owned::new(probe)).unwrap());
        }
        let started = tokio::time::Instant::now();
        let report = match deadline {
            Some(deadline) => bounded(cache.shutdown().deadline(deadline)).await,
            None => bounded(cache.shutdown()).await,
        };
        let took = started.elapsed();
        assert!(report.is_complete(), "{report:?}");
        assert_eq!((watch.closes(), report.stats.closes_taken_over), (1, 1));
        // Tokio's timers round up to the next millisecond, once per wait.
        let (low, high) = (tick * 3 / 2, tick * 3 / 2 + Duration::from_millis(2));
        assert!(low <= took && took <= high, "{deadline:?}: taken over after {took:?}");
        drop_elsewhere(idle);
    }
}

/// The same, with the lease dropped only after the shutdown started: the close is
/// queued on the idle runtime mid-shutdown and still taken over.
#[tokio::test(start_paused = true)]
async fn a_lease_dropped_during_shutdown_is_closed_though_its_runtime_is_idle() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    let idle = idle_runtime();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    let lease = {
        let _entered = idle.enter();
        cache.insert(1, Owned::new(probe)).unwrap()
    };
    let holder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(lease.request(), Ok(1), "usable right up to its drop");
    });

    let report = bounded(cache.shutdown()).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(holder.is_finished());
    holder.await.unwrap(); // its assertion held
    assert_eq!(watch.closes(), 1);
    assert_eq!((report.stats.closes, report.stats.closes_taken_over), (1, 1));
    drop_elsewhere(idle);
    assert_eq!(watch.closes(), 1, "closed exactly once");
}

/// While any runtime runs the reaper, a close queued on an idle runtime is run
/// there within a bounded delay, with no shutdown at all.
#[tokio::test(start_paused = true)]
async fn the_reaper_closes_entries_whose_runtime_is_idle() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    drop(cache.insert(0, Owned::new(Probe::new(0, &log))).unwrap()); // the reaper starts here
    let idle = idle_runtime();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    {
        let _entered = idle.enter();
        drop(cache.insert(1, Owned::new(probe)).unwrap());
    }
    cache.invalidate(&1);
    settle().await;
    assert_eq!(watch.closes(), 0, "queued on the idle runtime");
    assert_eq!(cache.stats().draining, 1);

    // The takeover waits 1 s; the reaper passes every second here.
    tokio::time::sleep(Duration::from_secs(3)).await;
    settle().await;
    assert_eq!(watch.closes(), 1);
    let stats = cache.stats();
    assert_eq!((stats.closes, stats.closes_taken_over, stats.draining), (1, 1, 0));
    assert!(cache.get(&0).is_some(), "the live entry is untouched");
    drop_elsewhere(idle);
    assert_eq!(watch.closes(), 1, "closed exactly once");
}

/// A close on the entry's own, running runtime is not taken over.
#[tokio::test(start_paused = true)]
async fn a_running_runtime_keeps_its_closes() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap();
    for id in 0..3 {
        drop(cache.insert(id, Owned::new(Probe::new(id, &log))).unwrap());
    }
    let report = bounded(cache.shutdown()).await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.stats.closes, report.stats.closes_taken_over), (3, 0));
}

/// A close that never finishes: a shutdown with a deadline returns, and names it
/// as closing, for as long as it has run.
#[tokio::test(start_paused = true)]
async fn a_close_that_never_finishes_is_reported_as_closing() {
    let started = Arc::new(AtomicUsize::new(0));
    let cache = ClientCache::<&str, Owned<Hangs>>::builder().build().unwrap();
    drop(cache.insert("stuck", Owned::new(Hangs(Arc::clone(&started)))).unwrap());
    cache.invalidate(&"stuck");
    settle().await;
    assert_eq!(started.load(Ordering::SeqCst), 1, "the close started");

    let report = bounded(cache.shutdown().deadline(Duration::from_secs(30))).await;
    assert!(!report.is_complete());
    assert_eq!(report.pending.len(), 1, "{report:?}");
    assert_eq!(report.pending[0].key, "stuck");
    assert_eq!(
        report.pending[0].state,
        PendingState::CloseRunning {
            running_for: Duration::from_secs(30)
        }
    );
    assert_eq!(report.pending[0].state.to_string(), "closing for 30s");
    assert_eq!((report.stats.draining, report.stats.closes), (1, 0));
    assert_eq!(report.still_leased().count(), 0);
    assert_eq!(started.load(Ordering::SeqCst), 1, "started once, never restarted");
}

/// The report names every entry not closed, each with why, and the `draining`
/// count is the same set: one still leased, one closing forever, one queued on a
/// runtime that is not running.
#[tokio::test(start_paused = true)]
async fn the_report_names_every_entry_not_closed_and_why() {
    let log = Arc::new(Log::default());
    let started = Arc::new(AtomicUsize::new(0));
    let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
    let hanging = ClientCache::<&str, Owned<Hangs>>::builder().build().unwrap();
    let idle = idle_runtime();

    let leased = cache.insert("leased", Owned::new(Probe::new(1, &log))).unwrap();
    let late = {
        let _entered = idle.enter();
        cache.insert("idle-runtime", Owned::new(Probe::new(2, &log))).unwrap()
    };
    drop(cache.insert("closed", Owned::new(Probe::new(3, &log))).unwrap());
    drop(
        hanging
            .insert("hangs", Owned::new(Hangs(Arc::clone(&started))))
            .unwrap(),
    );
    hanging.invalidate(&"hangs");
    // The last lease of the idle runtime's entry goes 1 ms before the deadline:
    // too late for any takeover.
    let dropper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(999)).await;
        drop(late);
    });

    let report = bounded(cache.shutdown().deadline(Duration::from_secs(1))).await;
    dropper.await.unwrap();
    let states: Vec<_> = report.pending.iter().map(|p| (p.key, p.state)).collect();
    assert_eq!(
        states,
        vec![
            (
                "leased",
                PendingState::Leased {
                    retired_for: Duration::from_secs(1)
                }
            ),
            (
                "idle-runtime",
                PendingState::RuntimeNotRunning {
                    queued_for: Duration::from_millis(1)
                }
            ),
        ],
        "oldest entry first; the closed entry is not named"
    );
    assert_eq!(report.stats.draining, 2, "the same set as the report");
    assert_eq!(report.stats.closes, 1);
    assert_eq!(report.still_leased().collect::<Vec<_>>(), vec![&"leased"]);

    let report = bounded(hanging.shutdown().deadline(Duration::from_secs(5))).await;
    assert!(matches!(
        report.pending.as_slice(),
        [p] if p.key == "hangs" && matches!(p.state, PendingState::CloseRunning { .. })
    ));
    assert_eq!(report.stats.draining, 1);

    // Without a deadline, the idle runtime's close is taken over; the leased entry
    // closes once its lease goes.
    drop(leased);
    let report = bounded(cache.shutdown()).await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.stats.closes, report.stats.closes_taken_over), (3, 1));
    drop_elsewhere(idle);
    assert_eq!(log.closes.load(Ordering::SeqCst), 3, "each closed exactly once");
}

/// A close whose runtime has shut down is abandoned (counted, the value dropped),
/// and the shutdown completes instead of waiting for it.
#[test]
fn a_close_whose_runtime_is_dead_is_abandoned_and_shutdown_completes() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder().build().unwrap(); // no runtime here
    let dead = idle_runtime();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    let lease = dead.block_on(async { cache.insert(1, Owned::new(probe)).unwrap() });
    drop(dead);

    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let report = caller.block_on(async {
        let shutdown = tokio::spawn({
            let cache = cache.clone();
            async move { bounded(cache.shutdown()).await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(lease); // the last lease: its close has nowhere to run
        shutdown.await.unwrap()
    });
    assert!(report.is_complete(), "{report:?}");
    let stats = report.stats;
    assert_eq!(
        (
            stats.closes_abandoned,
            stats.closes,
            stats.closes_taken_over,
            stats.draining
        ),
        (1, 0, 0, 0)
    );
    assert_eq!(watch.closes(), 0);
    assert_eq!(Arc::strong_count(&log), 1, "the probe was dropped, not leaked");
}

struct Panicky;

impl Close for Panicky {
    async fn close(self, _: &Closing) {
        panic!("close failed");
    }
}

/// A close taken over from an idle runtime that panics is caught and counted like
/// any other, and the shutdown still completes.
#[tokio::test(start_paused = true)]
async fn a_taken_over_close_that_panics_is_caught_and_counted() {
    let cache = ClientCache::<u32, Owned<Panicky>>::builder().build().unwrap();
    let idle = idle_runtime();
    {
        let _entered = idle.enter();
        drop(cache.insert(1, Owned::new(Panicky)).unwrap());
    }
    let report = bounded(cache.shutdown()).await;
    assert!(report.is_complete(), "{report:?}");
    let stats = report.stats;
    assert_eq!(
        (
            stats.close_panics,
            stats.closes,
            stats.closes_taken_over,
            stats.draining
        ),
        (1, 0, 1, 0)
    );
    drop_elsewhere(idle);
    assert_eq!(cache.stats().close_panics, 1, "run once");
}

/// A close waiting on a gate; says when it has started.
struct Gated {
    started: Arc<std::sync::atomic::AtomicBool>,
    gate: tokio::sync::oneshot::Receiver<()>,
    closed: Arc<AtomicUsize>,
}

impl Close for Gated {
    async fn close(self, _: &Closing) {
        self.started.store(true, Ordering::SeqCst);
        let _ = self.gate.await;
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

/// A close that has started is never moved: one that started on a
/// current-thread runtime and is waiting when that runtime's `block_on`
/// returns stays draining (reported as running) until the runtime is driven
/// again, even once what it waits for is ready; then it finishes there, once.
#[test]
fn a_started_close_on_a_runtime_no_longer_driven_finishes_when_it_is_driven_again() {
    let current = idle_runtime();
    let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let closed = Arc::new(AtomicUsize::new(0));
    let (open_gate, gate) = tokio::sync::oneshot::channel();
    let cache = ClientCache::<&str, Owned<Gated>>::builder().build().unwrap();
    current.block_on(async {
        let value = Gated {
            started: Arc::clone(&started),
            gate,
            closed: Arc::clone(&closed),
        };
        drop(cache.insert("parked", Owned::new(value)).unwrap());
        cache.invalidate(&"parked");
        for _ in 0..1_000 {
            if started.load(Ordering::SeqCst) {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(started.load(Ordering::SeqCst), "the close started on this runtime");
    }); // `current` is no longer driven; the close waits at its gate

    let other = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let report = other.block_on(cache.shutdown().deadline(Duration::from_millis(200)).into_future());
    assert!(
        matches!(report.pending.as_slice(), [p] if p.key == "parked" && matches!(p.state, PendingState::CloseRunning { .. })),
        "{report:?}"
    );
    assert_eq!(report.stats.closes_taken_over, 0, "a started close is not taken over");
    open_gate.send(()).unwrap();
    assert_eq!(
        (cache.stats().draining, closed.load(Ordering::SeqCst)),
        (1, 0),
        "ready, but its runtime is not driven"
    );

    current.block_on(async {
        for _ in 0..1_000 {
            if closed.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(closed.load(Ordering::SeqCst), 1, "finished where it started, once");
    let report = other.block_on(cache.shutdown().into_future());
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.stats.closes, report.stats.draining), (1, 0));
    drop_elsewhere(other);
}
