//! Retirement beside a `shutdown`, and user code that panics while entries
//! retire: an eviction listener, or the `Drop` of a value whose close is
//! abandoned. However either happens, every owned entry is closed or counted,
//! and `shutdown` reports complete only when none is left draining.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
    mpsc,
};

use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, Close, Closing, Owned, RemovalCause};

/// An entry that another thread is retiring (its listener still running) is
/// draining from the moment it left its shard: a `shutdown` that starts
/// meanwhile waits for its close instead of reporting complete without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_an_entry_another_thread_is_still_retiring() {
    let log = Arc::new(Log::default());
    let (started_tx, started) = mpsc::sync_channel::<()>(1);
    let (release, release_rx) = mpsc::sync_channel::<()>(1);
    let hooks = Mutex::new(Some((started_tx, release_rx)));
    let cache = ClientCache::<&str, Owned<Probe>>::builder()
        .eviction_listener(move |_, _, cause| {
            if cause == RemovalCause::Explicit
                && let Some((started, release)) = hooks.lock().unwrap().take()
            {
                started.send(()).unwrap();
                release.recv().unwrap(); // held here until the test says so
            }
        })
        .build()
        .unwrap();
    let probe = Probe::new(1, &log);
    let watch = probe.watch();
    drop(cache.insert("a", Owned::new(probe)).unwrap());

    let retiring = {
        let cache = cache.clone();
        std::thread::spawn(move || cache.invalidate(&"a"))
    };
    started.recv().unwrap(); // the entry has left its shard; its listener runs
    assert_eq!(cache.stats().draining, 1, "draining while its listener runs");
    let shutdown = {
        let cache = cache.clone();
        tokio::spawn(async move {
            let report = cache.shutdown().await;
            (report.is_complete(), watch.closes())
        })
    };
    release.send(()).unwrap();
    retiring.join().unwrap();
    let (complete, closes_when_shutdown_returned) = shutdown.await.unwrap();
    assert!(complete);
    assert_eq!(closes_when_shutdown_returned, 1, "shutdown returned after the close");
}

/// A listener that panics is caught and counted; the entry, and every other
/// entry of the same `shutdown`, is retired and closed all the same.
#[tokio::test]
async fn a_panicking_listener_is_counted_and_shutdown_still_retires_everything() {
    const ENTRIES: u32 = 64;
    let log = Arc::new(Log::default());
    let armed = AtomicBool::new(true);
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .max_capacity(4096) // several shards: the panic is in one of them
        .eviction_listener(move |_, _, _| {
            if armed.swap(false, Ordering::SeqCst) {
                panic!("listener panicked");
            }
        })
        .build()
        .unwrap();
    for key in 0..ENTRIES {
        drop(cache.insert(key, Owned::new(Probe::new(key, &log))).unwrap());
    }
    let report = cache.shutdown().await;
    assert!(report.is_complete());
    assert!(cache.is_empty());
    assert!((0..ENTRIES).all(|key| cache.get(&key).is_none()));
    let stats = cache.stats();
    assert_eq!(
        (stats.listener_panics, stats.closes, stats.draining),
        (1, u64::from(ENTRIES), 0)
    );
    assert_eq!(log.closes.load(Ordering::SeqCst), ENTRIES as usize);
}

/// A value whose `Drop` panics.
struct PanicsOnDrop;

impl Close for PanicsOnDrop {
    async fn close(self, _: &Closing) {}
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("drop panicked");
        }
    }
}

/// With no runtime to run its close, the value is dropped unclosed; a panic in
/// its `Drop` does not unwind out of the call that retired it, and the entry
/// leaves the drain registry (so a `shutdown` does not wait for it forever).
#[test]
fn a_value_whose_drop_panics_when_its_close_is_abandoned_is_counted_not_stuck() {
    let cache = ClientCache::<&str, Owned<PanicsOnDrop>>::builder().build().unwrap();
    drop(cache.insert("a", Owned::new(PanicsOnDrop)).unwrap());
    cache.invalidate(&"a"); // no runtime anywhere: the close is abandoned
    let stats = cache.stats();
    assert_eq!((stats.closes_abandoned, stats.draining), (1, 0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        settle().await;
        cache.shutdown().await
    });
    assert!(report.is_complete());
}
