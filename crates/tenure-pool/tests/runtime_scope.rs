//! Runtime scoping with real runtimes: each runtime gets its own entry, and a
//! runtime's entries die with it.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tenure_pool::{ClientCache, ErrorKind, Shared};

/// A client bound to the runtime that made it, as hyper's clients are.
#[derive(Debug)]
struct Bound {
    runtime: tokio::runtime::Id,
    serial: usize,
}

/// Polls `future` once with a no-op waker (on the current runtime, if any).
fn poll_now<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    match future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// Polls `future` once, off any runtime: the calls here fail at once.
fn poll_once<F: std::future::Future>(future: F) -> F::Output {
    poll_now(std::pin::pin!(future)).expect("expected to fail at once, off any runtime")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

async fn client_for(cache: &ClientCache<&'static str, Shared<Bound>>, made: &Arc<AtomicUsize>) -> Shared<Bound> {
    let here = tokio::runtime::Handle::current().id();
    let client = cache
        .get_or_try_insert_with("config", || async {
            let serial = made.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::convert::Infallible>(Shared::new(Bound { runtime: here, serial }))
        })
        .await
        .unwrap();
    assert_eq!(client.runtime, here, "never another runtime's client");
    client
}

#[test]
fn two_runtimes_get_different_clients_and_a_dead_runtimes_client_is_never_served() {
    let cache = ClientCache::<&'static str, Shared<Bound>>::builder()
        .scope_by_runtime()
        .build()
        .unwrap();
    let made = Arc::new(AtomicUsize::new(0));

    let first = runtime();
    let second = runtime();
    let a = first.block_on(async { client_for(&cache, &made).await });
    let b = second.block_on(async { client_for(&cache, &made).await });
    assert!(!Shared::ptr_eq(&a, &b));
    assert_ne!(a.runtime, b.runtime);
    let a_again = first.block_on(async { client_for(&cache, &made).await });
    assert!(Shared::ptr_eq(&a, &a_again), "each runtime keeps its own client");
    assert_eq!(cache.len(), 2);

    drop(first);
    let third = runtime();
    let c = third.block_on(async { client_for(&cache, &made).await });
    assert!(!Shared::ptr_eq(&a, &c) && !Shared::ptr_eq(&b, &c));
    assert_eq!(c.serial, 2, "a fresh client for the new runtime");
    assert_eq!(made.load(Ordering::SeqCst), 3);
}

#[test]
fn a_scoped_cache_outside_a_runtime_refuses_inserts_and_misses_lookups() {
    let cache = ClientCache::<&'static str, Shared<u32>>::builder()
        .scope_by_runtime()
        .build()
        .unwrap();
    let error = cache.insert("k", Shared::new(1)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoRuntime);
    assert!(error.to_string().contains("runtime"), "{error}");
    assert!(cache.get(&"k").is_none());
    // The lookup counts, as a miss; so does a `get_with`, which fails.
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (0, 1));
    let error = poll_once(cache.get_with("k", || async { Shared::new(2) })).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoRuntime);
    assert_eq!(cache.stats().misses, 2);
}

/// A scoped cache without expiry whose lookups all hit still purges the
/// entries of a runtime that shut down, whether the reaper ran there (and died
/// with it) or could not run there (no timers): the next lookup that finds no
/// reaper running starts one. Runtime `b`'s clock is paused, so the reaper's
/// passes take no real time.
#[test]
fn a_dead_runtimes_entries_are_purged_while_another_runtimes_lookups_all_hit() {
    for a_has_timers in [true, false] {
        let purged = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&purged);
        let cache = ClientCache::<u32, Shared<u32>>::builder()
            .scope_by_runtime()
            .without_time_to_live()
            .eviction_listener(move |_, _, cause| {
                if cause == tenure_pool::RemovalCause::RuntimeGone {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
            .unwrap();
        let a = if a_has_timers {
            runtime()
        } else {
            tokio::runtime::Builder::new_current_thread().build().unwrap()
        };
        // The first insert starts the reaper on `a` (which, without timers,
        // refuses at its first poll).
        a.block_on(async {
            for key in 0..5 {
                drop(cache.insert(key, Shared::new(key)).unwrap());
            }
            tokio::task::yield_now().await;
        });
        let b = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        b.block_on(async { drop(cache.insert(50, Shared::new(50)).unwrap()) });
        drop(a);
        b.block_on(async {
            for _ in 0..1_000 {
                assert!(cache.get(&50).is_some());
                if purged.load(Ordering::SeqCst) == 5 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        assert_eq!(purged.load(Ordering::SeqCst), 5, "timers on a: {a_has_timers}");
        assert_eq!((cache.len(), cache.stats().evictions.runtime_gone), (1, 5));
    }
}

/// A dead runtime's entries are never served, so an insert that needs room
/// takes them before any live runtime's entry, without waiting for the
/// reaper's pass. The live runtime's clock is paused and never advanced, so
/// no reaper pass runs during the test: every purge here is an insert's.
#[test]
fn an_insert_at_capacity_evicts_a_dead_runtimes_entries_before_a_live_ones() {
    // Under 512 entries the cache has one shard, so every insert competes with every entry.
    const CAPACITY: u32 = 40;
    let causes = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let record = Arc::clone(&causes);
    let cache = ClientCache::<u32, Shared<u32>>::builder()
        .scope_by_runtime()
        .max_capacity(u64::from(CAPACITY))
        .without_time_to_live()
        .eviction_listener(move |key, _, cause| record.lock().push((*key, cause)))
        .build()
        .unwrap();
    let live = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    // Half the capacity for the live runtime, each entry inserted and never
    // looked up again (a client held since), the other half for a runtime whose
    // entries are hot (the policy would keep them) and which then shuts down.
    live.block_on(async {
        for key in 0..CAPACITY / 2 {
            drop(cache.insert(key, Shared::new(key)).unwrap());
        }
    });
    let short_lived = runtime();
    short_lived.block_on(async {
        for key in 100..100 + CAPACITY / 2 {
            drop(cache.insert(key, Shared::new(key)).unwrap());
            for _ in 0..3 {
                assert!(cache.get(&key).is_some());
            }
        }
    });
    drop(short_lived);
    assert_eq!(cache.len(), CAPACITY as usize);
    assert!(causes.lock().is_empty(), "nothing left before the new inserts");

    // The live runtime fills the dead runtime's half.
    live.block_on(async {
        for key in 200..200 + CAPACITY / 2 {
            drop(cache.insert(key, Shared::new(key)).unwrap());
        }
        for key in (0..CAPACITY / 2).chain(200..200 + CAPACITY / 2) {
            assert!(cache.get(&key).is_some(), "live runtime's entry {key} kept");
        }
    });
    let mut causes = causes.lock().clone();
    causes.sort_unstable_by_key(|&(key, _)| key);
    let expected: Vec<_> = (100..100 + CAPACITY / 2)
        .map(|key| (key, tenure_pool::RemovalCause::RuntimeGone))
        .collect();
    assert_eq!(causes, expected, "only the dead runtime's entries left");
    assert_eq!(cache.stats().evictions.runtime_gone, u64::from(CAPACITY / 2));
    assert_eq!(cache.stats().evictions.capacity, 0);
}

/// `get_or_try_insert_with` of `key`, whose `init` waits for `released`, then
/// makes a client bound to the runtime it runs on.
async fn client_once_released(
    cache: ClientCache<&'static str, Shared<Bound>>,
    key: &'static str,
    released: tokio::sync::oneshot::Receiver<()>,
    serial: usize,
) -> Shared<Bound> {
    cache
        .get_or_try_insert_with(key, || async move {
            released.await.unwrap();
            let runtime = tokio::runtime::Handle::current().id();
            Ok::<_, std::convert::Infallible>(Shared::new(Bound { runtime, serial }))
        })
        .await
        .unwrap()
}

/// A `get_or_try_insert_with` future first polled on one runtime and finished
/// on another serves, and files, only the runtime it finishes on: a waiter
/// that joined runtime A's flight is not handed A's client on B (A shut down
/// in between), and a leader first polled on C whose `init` finished on B
/// files B's client under B, not under C.
#[test]
fn a_call_moved_to_another_runtime_mid_flight_serves_and_files_only_where_it_ends() {
    let cache = ClientCache::<&'static str, Shared<Bound>>::builder()
        .scope_by_runtime()
        .build()
        .unwrap();

    // A waiter joins runtime A's flight, and is finished on B after A is gone.
    let a = runtime();
    let a_id = a.handle().id();
    let (release_waiter, waiter_released) = tokio::sync::oneshot::channel();
    release_waiter.send(()).unwrap(); // its own `init`, if it runs one, goes straight on
    let mut waiter = Box::pin(client_once_released(cache.clone(), "config", waiter_released, 1));
    a.block_on(async {
        let (release, released) = tokio::sync::oneshot::channel();
        let leader = tokio::spawn(client_once_released(cache.clone(), "config", released, 0));
        tokio::task::yield_now().await; // the leader is in `init`
        assert!(poll_now(waiter.as_mut()).is_none(), "the waiter waits for A's leader");
        release.send(()).unwrap();
        assert_eq!(leader.await.unwrap().runtime, a_id);
    });
    drop(a);
    let b = runtime();
    let b_id = b.handle().id();
    let served = b.block_on(waiter);
    assert_eq!(
        (served.runtime, served.serial),
        (b_id, 1),
        "the waiter finished on B made B's own client, not A's"
    );

    // A leader first polled on C, whose `init` finishes on B: its client is B's.
    let c = runtime();
    let (release, released) = tokio::sync::oneshot::channel();
    let mut leader = Box::pin(client_once_released(cache.clone(), "other", released, 2));
    c.block_on(async { assert!(poll_now(leader.as_mut()).is_none(), "the leader waits in `init`") });
    release.send(()).unwrap();
    assert_eq!(b.block_on(leader).runtime, b_id);
    assert!(
        c.block_on(async { cache.get(&"other") }).is_none(),
        "C is never handed B's client"
    );
    assert_eq!(b.block_on(async { cache.get(&"other") }).unwrap().runtime, b_id);
}
