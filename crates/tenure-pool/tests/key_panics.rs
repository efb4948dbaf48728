//! Keys whose `Hash`, `Eq` or `Clone` panics: the panic goes on through the
//! call, and the cache is left working, its entries accounted for (closed, or
//! never taken), and no key wedged.
//!
//! Which call panics is set per thread (`panic_next`), so the tests of this file
//! can run side by side; each runs its cache on a current-thread runtime, on
//! the test's own thread.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{
    cell::Cell,
    hash::{Hash, Hasher},
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use support::{Log, Probe, paused_runtime, settle};
use tenure_pool::{CacheStats, ClientCache, Owned};

/// A trait method of `Key` that can be made to panic.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Hash,
    Eq,
    Clone,
}

thread_local! {
    /// The next call of this operation on this thread panics (once).
    static PANIC_NEXT: Cell<Option<Op>> = const { Cell::new(None) };
}

fn panic_next(op: Op) {
    PANIC_NEXT.with(|next| next.set(Some(op)));
}

fn maybe_panic(op: Op) {
    if PANIC_NEXT.with(|next| next.get()) == Some(op) {
        PANIC_NEXT.with(|next| next.set(None));
        panic!("the key's {op:?} panics (as the test asked)");
    }
}

#[derive(Debug)]
struct Key(u32);

impl Clone for Key {
    fn clone(&self) -> Self {
        maybe_panic(Op::Clone);
        Self(self.0)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        maybe_panic(Op::Eq);
        self.0 == other.0
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        maybe_panic(Op::Hash);
        self.0.hash(state);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The stats identity the docs give for owned entries, once nothing drains:
/// (closed one way or another, handed over and accounted for).
fn balance(stats: &CacheStats) -> (u64, u64) {
    (
        stats.closes + stats.closes_abandoned + stats.close_panics,
        stats.inserts + stats.refreshes_discarded + stats.inserts_refused,
    )
}

/// `Hash` and `Clone` run before the cache takes the entry: it is dropped
/// unclosed, as an `Owned` no cache holds, and nothing is counted; the cache
/// goes on working.
#[test]
fn a_key_whose_hash_or_clone_panics_in_insert_leaves_the_entry_untaken() {
    let runtime = runtime();
    runtime.block_on(async {
        let log = Arc::new(Log::default());
        let cache = ClientCache::<Key, Owned<Probe>>::builder().build().unwrap();
        for (id, op) in [(1, Op::Hash), (2, Op::Clone)] {
            let probe = Probe::new(id, &log);
            let closes = probe.watch();
            panic_next(op);
            let inserted = catch_unwind(AssertUnwindSafe(|| cache.insert(Key(id), Owned::new(probe))));
            assert!(inserted.is_err(), "{op:?}: the panic goes on through insert");
            support::settle().await;
            assert_eq!(closes.closes(), 0, "{op:?}: never the cache's, so not closed");
            let stats = cache.stats();
            assert_eq!(
                (stats.inserts, stats.inserts_refused, stats.closes),
                (0, 0, 0),
                "{op:?}: {stats:?}"
            );
            assert_eq!((cache.len(), stats.draining), (0, 0), "{op:?}");
        }
        let lease = cache.insert(Key(3), Owned::new(Probe::new(3, &log))).unwrap();
        assert_eq!(cache.get(&Key(3)).unwrap().id, lease.id, "the cache works on");
        drop(lease);
        cache.shutdown().await;
        let stats = cache.stats();
        assert_eq!(balance(&stats), (1, 1), "{stats:?}");
    });
}

/// `Eq` runs once the cache holds the entry (an insert that replaces compares
/// keys under the shard lock): the entry is dropped as the panic unwinds, so it
/// is closed, and counted as refused, so the stats still balance. The entry it
/// would have replaced stays, unclosed and served.
#[test]
fn a_key_whose_eq_panics_in_insert_closes_the_entry_and_counts_it_refused() {
    let runtime = runtime();
    runtime.block_on(async {
        let log = Arc::new(Log::default());
        let cache = ClientCache::<Key, Owned<Probe>>::builder().build().unwrap();
        let first = Probe::new(1, &log);
        let first_closes = first.watch();
        drop(cache.insert(Key(7), Owned::new(first)).unwrap());
        let second = Probe::new(2, &log);
        let second_closes = second.watch();
        panic_next(Op::Eq);
        let inserted = catch_unwind(AssertUnwindSafe(|| cache.insert(Key(7), Owned::new(second))));
        assert!(inserted.is_err(), "the panic goes on through insert");
        let stats = cache.stats();
        assert_eq!((stats.inserts, stats.inserts_refused), (1, 1), "{stats:?}");
        assert_eq!(
            cache.get(&Key(7)).unwrap().id,
            1,
            "the entry it would have replaced is served"
        );
        support::settle().await;
        assert_eq!(second_closes.closes(), 1, "the entry it took is closed");
        assert_eq!(first_closes.closes(), 0, "the entry it would have replaced is not");
        cache.shutdown().await;
        let stats = cache.stats();
        assert_eq!((first_closes.closes(), second_closes.closes()), (1, 1));
        assert_eq!(balance(&stats), (2, 2), "{stats:?}");
    });
}

/// A single-flight leader whose flight's removal panics (the key's `Hash`,
/// when its `init` failed) leaves a flight with no leader. The next caller for
/// that key takes its place and runs `init`, instead of joining it, seeing it
/// closed and joining it again, for ever.
#[test]
fn a_flight_whose_removal_panicked_does_not_wedge_its_key() {
    let runtime = runtime();
    runtime.block_on(async {
        let log = Arc::new(Log::default());
        let cache = ClientCache::<Key, Owned<Probe>>::builder().build().unwrap();
        let failed = tokio::spawn({
            let cache = cache.clone();
            async move {
                cache
                    .get_or_try_insert_with(Key(1), || async {
                        panic_next(Op::Hash); // the next hash: the flight's removal
                        Err::<Owned<Probe>, _>("init failed")
                    })
                    .await
            }
        })
        .await;
        assert!(failed.unwrap_err().is_panic(), "the panic went on through the call");
        // A hang guard only: with the flight replaced, this call returns at its
        // first poll; without, it never would.
        let next = tokio::time::timeout(
            Duration::from_secs(60),
            cache.get_or_try_insert_with(Key(1), || async { Ok::<_, &str>(Owned::new(Probe::new(2, &log))) }),
        )
        .await
        .expect("the key is not wedged");
        assert_eq!(next.unwrap().id, 2, "this call ran its own init");
        cache.shutdown().await;
    });
}

/// A refresh whose key's `Clone` panics, in the lookup that starts it or in
/// its task, when it stores the new entry, is counted as a failed refresh, and
/// the entry is refreshed a period later: the refresh time the lookup took is
/// given back, not lost for the rest of the entry's life.
#[test]
fn a_refresh_whose_key_clone_panics_is_counted_failed_and_tried_again() {
    for in_task in [false, true] {
        paused_runtime().block_on(async {
            let log = Arc::new(Log::default());
            let builds = Arc::new(AtomicU32::new(0));
            let (build_log, counted) = (Arc::clone(&log), Arc::clone(&builds));
            let cache = ClientCache::<Key, Owned<Probe>>::builder()
                .time_to_live(Duration::from_secs(100))
                .refresh_after(Duration::from_secs(10), move |_: &Key| {
                    let id = 100 + counted.fetch_add(1, Ordering::SeqCst);
                    let log = Arc::clone(&build_log);
                    async move { Ok::<_, std::convert::Infallible>(Owned::new(Probe::new(id, &log))) }
                })
                .build()
                .unwrap();
            drop(cache.insert(Key(1), Owned::new(Probe::new(1, &log))).unwrap());
            tokio::time::advance(Duration::from_secs(11)).await;
            if in_task {
                // The lookup starts the refresh; its task's clone of the key panics.
                assert!(cache.get(&Key(1)).is_some());
                panic_next(Op::Clone);
            } else {
                panic_next(Op::Clone);
                let lookup = catch_unwind(AssertUnwindSafe(|| cache.get(&Key(1))));
                assert!(lookup.is_err(), "the key's Clone panicked in the lookup");
            }
            // Past the tick a refresh waits before it builds.
            tokio::time::sleep(Duration::from_millis(5)).await;
            settle().await;
            assert_eq!(PANIC_NEXT.with(Cell::get), None, "the clone ran (in task: {in_task})");
            let stats = cache.stats();
            assert_eq!(stats.refresh_failures, 1, "in task: {in_task}: {stats:?}");
            assert_eq!(stats.evictions.refreshed, 0);
            assert_eq!(builds.load(Ordering::SeqCst), u32::from(in_task));
            assert_eq!(cache.get(&Key(1)).unwrap().request(), Ok(1), "the entry serves on");

            // A period later, the next lookup refreshes it.
            tokio::time::advance(Duration::from_secs(11)).await;
            assert!(cache.get(&Key(1)).is_some());
            tokio::time::sleep(Duration::from_millis(5)).await;
            settle().await;
            let stats = cache.stats();
            assert_eq!(stats.evictions.refreshed, 1, "in task: {in_task}: {stats:?}");
            assert_eq!(stats.refresh_failures, 1);
            assert_eq!(cache.get(&Key(1)).unwrap().request(), Ok(100 + u32::from(in_task)));
        });
    }
}

/// A key whose `Eq` panics every time it runs.
#[derive(Debug, Clone)]
struct EqAlwaysPanics(u32);

impl PartialEq for EqAlwaysPanics {
    fn eq(&self, _: &Self) -> bool {
        panic!("this key's Eq always panics (as the test asked)");
    }
}

impl Eq for EqAlwaysPanics {}

impl Hash for EqAlwaysPanics {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// A single-flight leader whose insert meets the key's `Eq` panic unwinds
/// through the flight's removal, which runs `Eq` again: that second panic is
/// caught there (it would otherwise abort the process), the first goes on
/// through the call, and the entry `init` made is closed, counted as refused.
#[test]
fn a_leader_whose_keys_eq_panics_twice_unwinds_without_aborting() {
    paused_runtime().block_on(async {
        let log = Arc::new(Log::default());
        let cache = ClientCache::<EqAlwaysPanics, Owned<Probe>>::builder().build().unwrap();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let made = Probe::new(1, &log);
        let made_watch = made.watch();
        let leader = tokio::spawn({
            let cache = cache.clone();
            async move {
                cache
                    .get_or_try_insert_with(EqAlwaysPanics(1), || async move {
                        released.await.unwrap();
                        Ok::<_, std::io::Error>(Owned::new(made))
                    })
                    .await
                    .map(|_| ())
            }
        });
        settle().await; // the leader waits in `init`
        // Inserted meanwhile: nothing to compare it with, so no `Eq` runs.
        drop(
            cache
                .insert(EqAlwaysPanics(1), Owned::new(Probe::new(2, &log)))
                .unwrap(),
        );
        release.send(()).unwrap();
        let outcome = leader.await;
        assert!(outcome.unwrap_err().is_panic(), "the Eq panic went on through the call");
        settle().await;
        assert_eq!(made_watch.closes(), 1, "init's entry was closed as the panic unwound");
        let stats = cache.stats();
        assert_eq!((stats.inserts, stats.inserts_refused, cache.len()), (1, 1, 1));
    });
}
