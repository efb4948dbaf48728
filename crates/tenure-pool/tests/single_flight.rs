//! Single flight: concurrent misses for one key run `init` once.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use support::{Log, Probe};
use tenure_pool::{ClientCache, GetError, Owned, Shared};
use tokio::sync::Barrier;

#[derive(Debug, PartialEq)]
struct InitFailed(u32);

/// 100 concurrent misses for one key: one `init`, one entry, every caller served.
///
/// Paused time makes the pile-up certain: the clock only moves once every task
/// is waiting, so all 100 have joined the flight before `init` finishes.
#[tokio::test(start_paused = true)]
async fn hundred_concurrent_misses_run_init_once() {
    let log = Arc::new(Log::default());
    let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
    let inits = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, inits, start, log) = (cache.clone(), Arc::clone(&inits), Arc::clone(&start), Arc::clone(&log));
            tokio::spawn(async move {
                start.wait().await;
                let lease = cache
                    .get_or_try_insert_with("k", || async move {
                        inits.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, InitFailed>(Owned::new(Probe::new(7, &log)))
                    })
                    .await
                    .unwrap();
                lease.id
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 7);
    }
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    let stats = cache.stats();
    assert_eq!((stats.inserts, cache.len()), (1, 1));
    assert_eq!(
        stats.misses, 100,
        "every caller missed: they all waited on the one flight"
    );
    assert_eq!(
        stats.hits, 0,
        "a waiter's look at the leader's entry counts nothing more"
    );
}

/// Errors reach every waiter, are not cached, and the next call runs `init` again.
#[tokio::test(start_paused = true)]
async fn errors_reach_every_waiter_and_are_not_cached() {
    let cache = ClientCache::<&str, Shared<u32>>::builder().build().unwrap();
    let inits = Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let (cache, inits) = (cache.clone(), Arc::clone(&inits));
            tokio::spawn(async move {
                cache
                    .get_or_try_insert_with("k", || async move {
                        let n = inits.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Err::<Shared<u32>, _>(InitFailed(n as u32))
                    })
                    .await
            })
        })
        .collect();
    let mut errors = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Err(GetError::Init(error)) => errors.push(error),
            other => panic!("expected the init error, got {:?}", other.map(|v| *v)),
        }
    }
    assert_eq!(inits.load(Ordering::SeqCst), 1, "one init for ten callers");
    assert!(
        errors.iter().all(|e| Arc::ptr_eq(e, &errors[0])),
        "the same error for all"
    );
    assert_eq!(*errors[0], InitFailed(0));

    let value = cache
        .get_or_try_insert_with("k", || async { Ok::<_, InitFailed>(Shared::new(5)) })
        .await
        .unwrap();
    assert_eq!(
        (*value, inits.load(Ordering::SeqCst)),
        (5, 1),
        "not cached: this call ran its own init"
    );
}

/// A cancelled leader hands over: a waiter runs its own `init` and everyone is served.
#[tokio::test(start_paused = true)]
async fn a_cancelled_leader_hands_over_to_a_waiter() {
    let cache = ClientCache::<&str, Shared<u32>>::builder().build().unwrap();
    let leader = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_try_insert_with("k", || async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, InitFailed>(Shared::new(1))
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(1)).await; // the leader is in flight
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_try_insert_with("k", || async { Ok::<_, InitFailed>(Shared::new(2)) })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(1)).await; // the waiter is waiting
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    let value = tokio::time::timeout(Duration::from_secs(1), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(*value, 2, "the waiter took over");
    let stats = cache.stats();
    assert_eq!(
        (stats.misses, stats.hits),
        (2, 0),
        "two calls, one miss each: the waiter's second look counts with its first"
    );
    assert_eq!(*cache.get(&"k").unwrap(), 2);
}

/// Different keys do not wait for each other.
#[tokio::test(start_paused = true)]
async fn different_keys_fly_separately() {
    let cache = ClientCache::<u32, Shared<u32>>::builder().build().unwrap();
    let slow = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_try_insert_with(1, || async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok::<_, InitFailed>(Shared::new(1))
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    let fast = cache
        .get_or_try_insert_with(2, || async { Ok::<_, InitFailed>(Shared::new(2)) })
        .await
        .unwrap();
    assert_eq!(*fast, 2);
    assert!(!slow.is_finished());
    slow.abort();
}

/// A call counts once, when it ends, so no count ever goes down: here a
/// waiter's leader is cancelled after the key was inserted meanwhile, and the
/// waiter's next look finds the entry. Counted at its first look, that call
/// would have shown a miss and then taken it back for the hit.
#[test]
fn hits_and_misses_never_go_down_and_a_call_under_way_counts_in_neither() {
    use std::{
        future::Future,
        task::{Context, Waker},
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let cache = ClientCache::<&str, Shared<u32>>::builder().build().unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut leader =
        Box::pin(cache.get_or_try_insert_with("k", std::future::pending::<Result<Shared<u32>, InitFailed>>));
    assert!(leader.as_mut().poll(&mut cx).is_pending(), "the leader runs init");
    let mut waiter = Box::pin(cache.get_or_try_insert_with("k", || async { Ok::<_, InitFailed>(Shared::new(2)) }));
    assert!(waiter.as_mut().poll(&mut cx).is_pending(), "the waiter waits for it");
    let under_way = cache.stats();
    assert_eq!((under_way.hits, under_way.misses), (0, 0), "two calls under way");

    drop(cache.insert("k", Shared::new(1)).unwrap());
    let mut seen = vec![(under_way.hits, under_way.misses)];
    drop(leader); // cancelled: one miss
    let stats = cache.stats();
    seen.push((stats.hits, stats.misses));
    let std::task::Poll::Ready(found) = waiter.as_mut().poll(&mut cx) else {
        panic!("the waiter's next look finds the inserted entry");
    };
    assert_eq!(*found.unwrap(), 1);
    drop(waiter);
    let stats = cache.stats();
    seen.push((stats.hits, stats.misses));
    assert_eq!(seen, [(0, 0), (0, 1), (1, 1)], "(hits, misses) after each step");
}

/// A caller that starts after `invalidate(k)` returned never gets the entry it
/// retired. The leader inserts its entry and only then hands it to its
/// waiters; here the entry is invalidated in between (the leader's insert is
/// held up in an eviction listener, as a preempted thread would be), and a
/// caller that starts then must not be given it: it builds a new one.
#[test]
fn a_caller_that_starts_after_an_invalidate_never_gets_the_retired_entry() {
    use std::{
        future::Future,
        sync::{Mutex, mpsc},
        task::{Context, Waker},
    };
    use tenure_pool::{Lease, RemovalCause};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let log = Arc::new(Log::default());
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let hold = Mutex::new(Some((entered_tx, go_rx)));
    let cache = {
        let _entered = runtime.enter();
        ClientCache::<u32, Owned<Probe>>::builder()
            .max_capacity(1)
            .eviction_listener(move |&key, _: &Lease<Probe>, cause| {
                // Inside the leader's insert of key 1, which evicts key 0.
                if key == 0
                    && cause == RemovalCause::Capacity
                    && let Some((entered, go)) = hold.lock().unwrap().take()
                {
                    entered.send(()).unwrap();
                    go.recv_timeout(Duration::from_secs(30)).unwrap();
                }
            })
            .build()
            .unwrap()
    };
    drop(cache.insert(0, Owned::new(Probe::new(0, &log))).unwrap());

    let leader = {
        let (cache, log) = (cache.clone(), Arc::clone(&log));
        runtime.spawn(async move {
            cache
                .get_or_try_insert_with(
                    1,
                    || async move { Ok::<_, InitFailed>(Owned::new(Probe::new(10, &log))) },
                )
                .await
                .unwrap()
        })
    };
    entered_rx.recv_timeout(Duration::from_secs(30)).unwrap(); // inserted, not yet handed out
    cache.invalidate(&1);
    assert!(cache.get(&1).is_none(), "retired");

    // A caller that starts now: polled once by hand, it misses and joins the
    // leader's flight (still open: the leader is inside its insert).
    let caller = {
        let (cache, log) = (cache.clone(), Arc::clone(&log));
        async move {
            cache
                .get_or_try_insert_with(
                    1,
                    || async move { Ok::<_, InitFailed>(Owned::new(Probe::new(11, &log))) },
                )
                .await
                .unwrap()
        }
    };
    let mut caller = std::pin::pin!(caller);
    {
        let _entered = runtime.enter();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(caller.as_mut().poll(&mut cx).is_pending(), "waiting for the leader");
    }
    go_tx.send(()).unwrap();
    let (from_leader, from_caller) = runtime.block_on(async { (leader.await.unwrap(), caller.await) });
    assert_eq!(from_leader.id, 10, "the leader gets the entry it built");
    assert_eq!(from_caller.id, 11, "the later caller never gets the retired entry");
    assert!(!Lease::ptr_eq(&from_leader, &from_caller));
    assert_eq!(cache.get(&1).map(|lease| lease.id), Some(11));
    drop((from_leader, from_caller));
    let report = runtime.block_on(async { cache.shutdown().await });
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(log.closes.load(Ordering::SeqCst), 3, "0, 10 and 11, each once");
}

type Clients = ClientCache<&'static str, Shared<String>>;

/// `get_or_try_insert_with` of `key`, whose `init` makes `value` at once.
async fn get_or_make(cache: &Clients, key: &'static str, value: &str) -> Result<Shared<String>, GetError<InitFailed>> {
    let value = value.to_owned();
    cache
        .get_or_try_insert_with(key, || async { Ok(Shared::new(value)) })
        .await
}

/// Awaits `call`, failing the test if it still waits after a minute (paused
/// time): a call that waits for itself never ends.
async fn within_a_minute<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the call ended, not waiting for itself")
}

/// Whether `result` is the refusal of a call that would wait for its own `init`.
fn refused_as_waiting_for_itself<T>(result: &Result<T, GetError<InitFailed>>) -> bool {
    matches!(result, Err(GetError::Cache(error)) if error.kind() == tenure_pool::ErrorKind::InitWaitsForItself)
}

/// An `init` that calls `get_or_try_insert_with` of its own key, in its own
/// task, would wait for itself: the inner call is refused with
/// `InitWaitsForItself`, and the outer one goes on. The same key in another
/// cache is another flight, led as usual.
#[tokio::test(start_paused = true)]
async fn an_init_that_waits_for_its_own_key_is_refused_not_stuck() {
    let cache = Clients::builder().build().unwrap();
    let other = Clients::builder().build().unwrap();
    let (inner_cache, other_cache) = (cache.clone(), other.clone());
    let outer = cache.get_or_try_insert_with("k", || async move {
        let inner = get_or_make(&inner_cache, "k", "inner").await;
        assert!(refused_as_waiting_for_itself(&inner), "{inner:?}");
        let Err(GetError::Cache(error)) = inner else {
            unreachable!()
        };
        assert!(error.to_string().contains("`init`"), "{error}");
        assert_eq!(get_or_make(&other_cache, "k", "other").await.unwrap().as_str(), "other");
        Ok::<_, InitFailed>(Shared::new("outer".to_owned()))
    });
    assert_eq!(within_a_minute(outer).await.unwrap().as_str(), "outer");
    assert_eq!(cache.get(&"k").unwrap().as_str(), "outer");
    let stats = cache.stats();
    assert_eq!((stats.inserts, stats.misses), (1, 2), "one insert; both calls missed");
}

/// A cycle of keys in one task: `init` of "a" waits for "b", whose `init` waits
/// for "a". The innermost call is refused; "b" and then "a" are inserted.
#[tokio::test(start_paused = true)]
async fn a_cycle_of_inits_in_one_task_is_refused_where_it_closes() {
    let cache = Clients::builder().build().unwrap();
    let for_a = cache.clone();
    let a = cache.get_or_try_insert_with("a", || async move {
        let for_b = for_a.clone();
        let b = for_a
            .get_or_try_insert_with("b", || async move {
                let back = get_or_make(&for_b, "a", "a, inner").await;
                assert!(refused_as_waiting_for_itself(&back), "{back:?}");
                Ok::<_, InitFailed>(Shared::new("b".to_owned()))
            })
            .await;
        assert_eq!(b.unwrap().as_str(), "b");
        Ok::<_, InitFailed>(Shared::new("a".to_owned()))
    });
    assert_eq!(within_a_minute(a).await.unwrap().as_str(), "a");
    assert_eq!(cache.get(&"b").unwrap().as_str(), "b");
}

/// What is not detected, as documented: `init` waiting for a task it spawned,
/// which calls `get_or_try_insert_with` of the same key. The spawned task does
/// not run `init`, so it joins the flight and waits; bounded here by a timeout.
#[tokio::test(start_paused = true)]
async fn a_wait_through_a_spawned_task_is_not_detected() {
    let cache = Clients::builder().build().unwrap();
    let inner_cache = cache.clone();
    let outer = cache.get_or_try_insert_with("k", || async move {
        let spawned = tokio::spawn(async move { get_or_make(&inner_cache, "k", "inner").await.is_ok() });
        let waited = tokio::time::timeout(Duration::from_secs(5), spawned).await;
        assert!(waited.is_err(), "the spawned call should still be waiting: {waited:?}");
        Ok::<_, InitFailed>(Shared::new("outer".to_owned()))
    });
    assert_eq!(outer.await.unwrap().as_str(), "outer");
}

/// `init` of `mine` waits (after `ready`) for `other`; whether that inner call
/// was refused as waiting for itself is counted in `refused`, and `init`
/// succeeds either way (its cycle broken where it was refused).
async fn get_mine_asking_for(
    cache: &Clients,
    mine: &'static str,
    other: (&Clients, &'static str),
    ready: &Barrier,
    refused: &AtomicUsize,
) -> String {
    let (other_cache, other_key) = other;
    let made = cache
        .get_or_try_insert_with(mine, || async move {
            // Every flight of the cycle is led before any of them waits.
            ready.wait().await;
            let inner = get_or_make(other_cache, other_key, "from inside").await;
            if refused_as_waiting_for_itself(&inner) {
                refused.fetch_add(1, Ordering::SeqCst);
            } else {
                inner.unwrap();
            }
            Ok::<_, InitFailed>(Shared::new(mine.to_owned()))
        })
        .await;
    made.unwrap().as_str().to_owned()
}

/// [`get_mine_asking_for`] in a task of its own.
fn spawn_asking(
    (cache, mine): (&Clients, &'static str),
    (other, other_key): (&Clients, &'static str),
    ready: &Arc<Barrier>,
    refused: &Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<String> {
    let (cache, other) = (cache.clone(), other.clone());
    let (ready, refused) = (Arc::clone(ready), Arc::clone(refused));
    tokio::spawn(async move { get_mine_asking_for(&cache, mine, (&other, other_key), &ready, &refused).await })
}

/// A cycle of two keys whose flights are led by two tasks: the `init` of "a"
/// (task 1) waits for "b", whose `init` (task 2) waits for "a". Neither task
/// runs the other's `init`, yet the second wait would close the cycle: it is
/// refused, and both calls end.
#[tokio::test(start_paused = true)]
async fn a_cycle_of_inits_across_two_tasks_is_refused_not_stuck() {
    let cache = Clients::builder().build().unwrap();
    let ready = Arc::new(Barrier::new(2));
    let refused = Arc::new(AtomicUsize::new(0));
    let spawn = |mine, other| spawn_asking((&cache, mine), (&cache, other), &ready, &refused);
    let (a, b) = (spawn("a", "b"), spawn("b", "a"));
    let (a, b) = within_a_minute(async { (a.await.unwrap(), b.await.unwrap()) }).await;
    assert_eq!((a.as_str(), b.as_str()), ("a", "b"));
    assert_eq!(
        refused.load(Ordering::SeqCst),
        1,
        "the wait that closed the cycle, only"
    );
    assert_eq!(cache.len(), 2);
}

/// The same cycle in one task, its two calls polled side by side (`join!`):
/// each runs inside its own `init` only, and the cycle is still found.
#[tokio::test(start_paused = true)]
async fn a_cycle_of_inits_polled_side_by_side_in_one_task_is_refused() {
    let cache = Clients::builder().build().unwrap();
    let ready = Barrier::new(2);
    let refused = AtomicUsize::new(0);
    let both = async {
        tokio::join!(
            get_mine_asking_for(&cache, "a", (&cache, "b"), &ready, &refused),
            get_mine_asking_for(&cache, "b", (&cache, "a"), &ready, &refused),
        )
    };
    let (a, b) = within_a_minute(both).await;
    assert_eq!((a.as_str(), b.as_str()), ("a", "b"));
    assert_eq!(refused.load(Ordering::SeqCst), 1);
}

/// A cycle of three flights in two caches, led by three tasks: "a" (cache
/// one) waits for "b" (cache two), which waits for "c" (cache one), which
/// waits for "a". One wait is refused; the other two are served.
#[tokio::test(start_paused = true)]
async fn a_cycle_through_two_caches_and_three_tasks_is_refused_once() {
    let (one, two) = (Clients::builder().build().unwrap(), Clients::builder().build().unwrap());
    let ready = Arc::new(Barrier::new(3));
    let refused = Arc::new(AtomicUsize::new(0));
    let spawn = |mine, other| spawn_asking(mine, other, &ready, &refused);
    let tasks = [
        spawn((&one, "a"), (&two, "b")),
        spawn((&two, "b"), (&one, "c")),
        spawn((&one, "c"), (&one, "a")),
    ];
    let made = within_a_minute(async {
        let mut made = Vec::new();
        for task in tasks {
            made.push(task.await.unwrap());
        }
        made
    })
    .await;
    assert_eq!(made, ["a", "b", "c"]);
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    assert_eq!((one.len(), two.len()), (2, 1));
}

/// No cycle, no refusal: a chain of `init`s in three tasks ("a" waits for "b",
/// which waits for "c", whose `init` waits for nothing) is served in order,
/// and a second call of "c" from inside another `init` afterwards is served too.
#[tokio::test(start_paused = true)]
async fn a_chain_of_inits_across_tasks_is_not_refused() {
    let cache = Clients::builder().build().unwrap();
    let ready = Arc::new(Barrier::new(3));
    let refused = Arc::new(AtomicUsize::new(0));
    let chain = |mine, other| spawn_asking((&cache, mine), (&cache, other), &ready, &refused);
    let (a, b) = (chain("a", "b"), chain("b", "c"));
    let last = {
        let (cache, ready) = (cache.clone(), Arc::clone(&ready));
        tokio::spawn(async move {
            cache
                .get_or_try_insert_with("c", || async move {
                    ready.wait().await;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Ok::<_, InitFailed>(Shared::new("c".to_owned()))
                })
                .await
                .unwrap()
                .as_str()
                .to_owned()
        })
    };
    let made = within_a_minute(async { [a.await.unwrap(), b.await.unwrap(), last.await.unwrap()] }).await;
    assert_eq!(made, ["a", "b", "c"]);
    assert_eq!(refused.load(Ordering::SeqCst), 0, "a chain is not a cycle");
    let again = cache.get_or_try_insert_with("d", || async {
        get_or_make(&cache, "c", "unused").await.unwrap();
        Ok::<_, InitFailed>(Shared::new("d".to_owned()))
    });
    assert_eq!(within_a_minute(again).await.unwrap().as_str(), "d");
}
