//! loom models of drain-then-close and of the read path: the real shard, slot
//! and closer code, with loom's locks, atomics and reference counts, under every
//! interleaving loom explores. Lookups run under the shard's read lock, as in
//! the cache (loom's `RwLock` stands in for the striped lock: one reader-writer
//! lock, the same exclusion).
//!
//! Run: `RUSTFLAGS="--cfg tenure_loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p tenure-pool --release --lib loom`

use std::{
    future::Future,
    sync::Arc as StdArc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use loom::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
};
use tenure_core::{Close, Closer, Closing, Entry, Owned, PendingClose};

use crate::{
    CacheStats, Scope,
    clock::{Clock, Reading},
    closer::{Drains, EntryCloser, StallWatch},
    expiry::Expiry,
    shard::{Lookup, Shard},
    sync::ReadMostly,
};

#[derive(Default)]
struct State {
    closes: AtomicUsize,
    leases: AtomicUsize,
}

struct Resource(Arc<State>);

impl Close for Resource {
    async fn close(self, _: &Closing) {
        self.0.closes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs the close at once, checking that no lease is alive.
struct CheckingCloser(Arc<State>);

impl Closer for CheckingCloser {
    fn close(&self, mut close: PendingClose) {
        assert_eq!(self.0.leases.load(Ordering::SeqCst), 0, "closed under a live lease");
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(close.as_mut().poll(&mut cx), Poll::Ready(())));
    }
}

type Stored = <Owned<Resource> as Entry>::Stored;

type ShardLock = ReadMostly<Shard<u32, Stored>>;

/// A shard holding `stored` under key 1 (hash 0, unscoped), inserted at time 0.
fn shard_with_one_entry<S>(stored: S, expiry: Expiry) -> Arc<ReadMostly<Shard<u32, S>>> {
    let mut shard = Shard::new(4);
    shard.insert(0, 1, Scope::NONE, stored, 0, expiry);
    Arc::new(ReadMostly::new(shard))
}

/// [`shard_with_one_entry`], and a clock built after it: `Clock::new` waits
/// 20 µs of real time, so the entry (inserted at 0) is at least 20 µs old by
/// this clock, past any deadline of a few nanoseconds.
fn aged_entry_and_clock<S>(stored: S, expiry: Expiry) -> (Arc<ReadMostly<Shard<u32, S>>>, Arc<Clock>) {
    (shard_with_one_entry(stored, expiry), Arc::new(Clock::new()))
}

/// Looks key 1 up as the cache does (the clock read, not `recent`).
fn look_up<S>(shard: &Shard<u32, S>, clock: &Clock, expiry: Expiry) -> Lookup {
    shard.get(0, &1, 0, &mut Reading::new(clock, false, 0), expiry)
}

fn cache_with_one_entry(state: &Arc<State>) -> Arc<ShardLock> {
    let closer_state = Arc::clone(state);
    let stored = Owned::new(Resource(Arc::clone(state))).__store(move || StdArc::new(CheckingCloser(closer_state)));
    shard_with_one_entry(stored, Expiry::default())
}

/// What a lookup does: a lease taken under the shard's read lock.
fn lease(shard: &ShardLock, state: &State) -> Option<<Owned<Resource> as Entry>::Handle> {
    let shard = shard.read();
    match look_up(&shard, &Clock::new(), Expiry::default()) {
        Lookup::Hit(index) => {
            state.leases.fetch_add(1, Ordering::SeqCst);
            Some(<Owned<Resource> as Entry>::__handle(shard.stored(index)))
        }
        _ => None,
    }
}

/// What dropping a lease does, with the test's count of live leases kept exact:
/// the count drops first, so a close that sees it above zero ran under a lease.
fn give_back(state: &State, held: <Owned<Resource> as Entry>::Handle) {
    state.leases.fetch_sub(1, Ordering::SeqCst);
    drop(held);
}

/// What retiring does: out of the map under the write lock, the reference dropped after it.
fn retire(shard: &ShardLock) {
    let mut removed = Vec::new();
    shard.write().remove_all_scopes(0, &1, &mut removed);
    drop(removed);
}

#[test]
fn loom_last_lease_dropped_while_the_entry_is_retired() {
    loom::model(|| {
        let state = Arc::new(State::default());
        let shard = cache_with_one_entry(&state);
        let held = lease(&shard, &state).expect("the entry is present");
        let user = {
            let state = Arc::clone(&state);
            thread::spawn(move || give_back(&state, held))
        };
        retire(&shard);
        user.join().unwrap();
        assert_eq!(state.closes.load(Ordering::SeqCst), 1, "closed exactly once");
    });
}

#[test]
fn loom_lease_taken_while_the_entry_is_retired() {
    loom::model(|| {
        let state = Arc::new(State::default());
        let shard = cache_with_one_entry(&state);
        let user = {
            let (shard, state) = (Arc::clone(&shard), Arc::clone(&state));
            thread::spawn(move || {
                if let Some(held) = lease(&shard, &state) {
                    give_back(&state, held);
                }
            })
        };
        retire(&shard);
        user.join().unwrap();
        assert_eq!(state.closes.load(Ordering::SeqCst), 1, "closed exactly once");
    });
}

#[test]
fn loom_two_leases_dropped_concurrently_after_retirement() {
    loom::model(|| {
        let state = Arc::new(State::default());
        let shard = cache_with_one_entry(&state);
        let first = lease(&shard, &state).expect("present");
        let second = lease(&shard, &state).expect("present");
        retire(&shard);
        let users: Vec<_> = [first, second]
            .into_iter()
            .map(|held| {
                let state = Arc::clone(&state);
                thread::spawn(move || give_back(&state, held))
            })
            .collect();
        for user in users {
            user.join().unwrap();
        }
        assert_eq!(state.closes.load(Ordering::SeqCst), 1, "closed exactly once");
    });
}

/// Polls a future that cannot pend (every close in these models is ready at once).
fn run_now(future: impl Future<Output = ()>) {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(())));
}

/// A retired entry whose last lease is dropped while a shutdown (or the reaper)
/// takes stalled closes over and the entry's runtime shuts down: whoever takes
/// the close, it runs or is abandoned exactly once, and the registry ends empty.
#[test]
fn loom_a_queued_close_is_taken_exactly_once() {
    loom::model(|| {
        let drains = StdArc::new(Drains::<u32>::new(StdArc::from("loom"), Duration::from_secs(1)));
        let state = Arc::new(State::default());
        let closer = EntryCloser::new(1, None, &drains);
        closer.retire();

        // The last lease is dropped, then the task on the entry's runtime takes the close.
        let own_runtime = {
            let (closer, state) = (StdArc::clone(&closer), Arc::clone(&state));
            thread::spawn(move || {
                let close = Box::pin(async move {
                    state.closes.fetch_add(1, Ordering::SeqCst);
                });
                closer.queue(close);
                if let Some(close) = closer.take() {
                    run_now(closer.run(close));
                }
            })
        };
        // A shutdown's check that finds the close queued takes it over at once.
        let takeover = {
            let drains = StdArc::clone(&drains);
            thread::spawn(move || {
                for stalled in StallWatch::new(0).stalled(&drains) {
                    if let Some(close) = stalled.take() {
                        run_now(stalled.run(close));
                    }
                }
            })
        };
        // The entry's runtime shuts down, dropping its task unpolled.
        closer.abandon("model: runtime shut down");
        own_runtime.join().unwrap();
        takeover.join().unwrap();

        let mut stats = CacheStats::default();
        drains.add_to(&mut stats);
        let ran = state.closes.load(Ordering::SeqCst) as u64;
        assert!(ran <= 1, "closed twice");
        assert_eq!(ran, stats.closes);
        assert_eq!(stats.closes + stats.closes_abandoned, 1, "closed or abandoned, once");
        assert_eq!(stats.draining, 0, "the registry is empty once the close ended");
    });
}

/// Two lookups race, under the read lock, on an entry that is due for a
/// refresh: exactly one of them is told to build the replacement, and both get
/// the entry.
#[test]
fn loom_two_lookups_of_an_entry_due_for_refresh_start_one_refresh() {
    loom::model(|| {
        let refresh = Expiry {
            refresh: Some(1),
            ..Expiry::default()
        };
        // The refresh time (1 ns) has passed.
        let (shard, clock) = aged_entry_and_clock(7, refresh);
        let lookups: Vec<_> = (0..2)
            .map(|_| {
                let (shard, clock) = (Arc::clone(&shard), Arc::clone(&clock));
                thread::spawn(move || look_up(&shard.read(), &clock, refresh))
            })
            .collect();
        let outcomes: Vec<Lookup> = lookups.into_iter().map(|t| t.join().unwrap()).collect();
        let refreshes = outcomes.iter().filter(|l| matches!(l, Lookup::Refresh(_))).count();
        let hits = outcomes.iter().filter(|l| matches!(l, Lookup::Hit(_))).count();
        assert_eq!((refreshes, hits), (1, 1), "one refresh, one plain hit: {outcomes:?}");
    });
}

/// A lookup that found the entry stale races an insert that replaces it: the
/// stale entry is taken only if it is still the one the lookup saw, so the new
/// value is never retired in its place.
#[test]
fn loom_a_stale_entry_replaced_before_it_is_taken_is_left_alone() {
    loom::model(|| {
        let ttl = Expiry {
            ttl: Some(1),
            ..Expiry::default()
        };
        // "old" expired at 1 ns.
        let (shard, clock) = aged_entry_and_clock("old", ttl);
        let lookup = {
            let (shard, clock) = (Arc::clone(&shard), Arc::clone(&clock));
            thread::spawn(move || {
                let found = look_up(&shard.read(), &clock, ttl);
                match found {
                    Lookup::Stale(id, cause) => shard.write().take_stale(id, cause).map(|r| r.stored),
                    // The insert came first: the lookup found the new value.
                    Lookup::Hit(_) => None,
                    other => panic!("expected the old value stale or the new one live: {other:?}"),
                }
            })
        };
        let replaced = {
            // Inserted at the clock's far future: live for the lookup's clock.
            let (_, old) = shard.write().insert(0, 1, Scope::NONE, "new", u64::MAX / 2, ttl);
            old.into_iter().map(|r| r.stored).collect::<Vec<_>>()
        };
        let taken = lookup.join().unwrap();
        // Either the lookup took "old" (then the insert found nothing to replace)
        // or the insert replaced "old" (then the lookup took nothing).
        match taken {
            Some(value) => {
                assert_eq!(value, "old");
                assert!(replaced.is_empty());
            }
            None => assert_eq!(replaced, ["old"]),
        }
        assert_eq!(shard.read().len(), 1, "the new value stays");
    });
}
