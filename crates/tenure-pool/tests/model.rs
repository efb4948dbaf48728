//! A model test: random sequences of insert, get (keeping the lease), drop-lease,
//! clock advance and invalidation, run against the cache and a reference model.
//!
//! The model is an oracle of its own, not a mirror of what the cache reports: it
//! applies each op itself (an insert adds or replaces, an invalidation removes,
//! a lookup moves the last use) and decides expiry by its own clock arithmetic.
//! Every eviction-listener event must then be one the model predicted or allows:
//!
//! - `Explicit`: exactly the entries an `invalidate`, `invalidate_all` or the
//!   final shutdown retired, each once, none missing;
//! - `Replaced`: exactly the old entry of an insert over a key the cache holds;
//! - `Capacity`: only on an insert of a new key into a full cache, one victim
//!   (any entry the cache holds but the new one: the choice is the policy's), a
//!   fresh one, and never while an entry past its time-to-live could go instead
//!   (expired entries go first);
//! - `Expired` / `Idle`: only for an entry the model says is past its deadline,
//!   with the cause the model computes (time-to-live is checked first);
//! - nothing else (`RuntimeGone`, `Refreshed`: this cache is neither scoped nor
//!   refreshing).
//!
//! After every step: the cache holds exactly as many entries as the model (an
//! entry past its deadline counts until its removal is reported, as `len` does)
//! and no more than the capacity; every key the model does not hold misses; in
//! half the cases (`look_all`) every key is looked up after every step, and one
//! the model holds fresh must be found with its id, one past its deadline must
//! miss (each `Get` op checks the same for its key in every case; looking every
//! key up moves every last use and every policy frequency, so the other half
//! leaves entries idle and cold for the eviction and idle paths); every retired
//! owned entry is closed exactly once, and only after its last lease; no lease
//! ever sees its value closed; and in a twin cache of shared entries, nothing is
//! ever closed.
//!
//! `PROPTEST_CASES` sets the number of sequences (default 256).
//!
//! # Time, and the tolerances
//!
//! Deadlines are checked exactly, in whole milliseconds of tokio's paused clock
//! (`now` below counts them from the cache's construction, as the cache's clock
//! does): an entry is fresh while `now < inserted + TTL` and `now < used + TTI`.
//!
//! - **Early: no tolerance.** An entry is served, and never reported `Expired`
//!   or `Idle`, before its deadline. The cache's tolerances are for real time
//!   only: `slack` (twice the reaper interval, at least 100 ms; `builder.rs`,
//!   `clock.rs`) is how close to a deadline a hit stops trusting `recent`, its
//!   cached lower bound on the time, and an insert stamped from `recent` may
//!   expire up to one heartbeat early (`Clock::insertion_time`). Under a paused
//!   clock, which the cache sees when it is built here (`look_for_virtual_time`),
//!   it never trusts `recent`: every insert, every lookup near a deadline and
//!   every reaper pass reads the exact clock ("under a paused clock (seen as
//!   such), every insert reads the clock, so tests keep exact times").
//! - **Late, serving: no tolerance.** A lookup at or after the deadline misses.
//! - **Late, reporting: unbounded.** The removal of an expired entry may be
//!   reported any time after its deadline: by the reaper (a pass every quarter
//!   of the shortest expiry of virtual time, but a stalled reaper is restarted
//!   by real-time heartbeat beats, so the lag has no bound the test can rely
//!   on), by a lookup, or by a capacity eviction. Until then the model keeps the
//!   entry as held but expired: it counts towards `len` and the capacity, must
//!   not be served, and an insert over its key replaces it.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{collections::HashMap, sync::Arc, time::Duration};

use proptest::prelude::*;
use support::{Log, Probe, Watch, settle};
use tenure_pool::{ClientCache, Entry, Lease, Owned, RemovalCause, Shared};

const CAPACITY: u64 = 3;
const TTL_MS: u64 = 100;
/// Keys are `0..KEYS`: twice the capacity, so inserts of new keys evict.
const KEYS: u8 = 6;

#[derive(Debug, Clone)]
enum Op {
    Insert(u8),
    Get(u8),
    DropLease(usize),
    Advance(u64),
    Invalidate(u8),
    InvalidateAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS).prop_map(Op::Insert),
        5 => (0..KEYS).prop_map(Op::Get),
        2 => any::<usize>().prop_map(Op::DropLease),
        3 => (1u64..=120).prop_map(Op::Advance),
        1 => (0..KEYS).prop_map(Op::Invalidate),
        1 => Just(Op::InvalidateAll),
    ]
}

/// What the model knows of one key's entry: its probe id, insert and last-use times.
#[derive(Debug, Clone, Copy)]
struct Known {
    id: u32,
    inserted: u64,
    used: u64,
}

/// What one step's listener events must contain, besides the expiries the
/// model allows at any time.
#[derive(Debug, Default)]
struct Expected {
    /// Entries the step retired explicitly: each reported `Explicit`, once.
    explicit: Vec<(u8, u32)>,
    /// The entry an insert replaced: reported `Replaced`, once.
    replaced: Option<(u8, u32)>,
    /// An insert of a new key into a full cache, by the new entry's id: it must
    /// retire one other entry first (`Capacity`, or `Expired`/`Idle` if due).
    victim_for: Option<u32>,
}

type Events = Arc<parking_lot::Mutex<Vec<(u8, u32, RemovalCause)>>>;

/// One cache under test, owned or shared, with its model.
struct Run<E: Entry> {
    cache: ClientCache<u8, E>,
    events: Events,
    /// Every entry the cache holds, by the model: fresh ones, and ones past
    /// their deadline whose removal has not been reported yet.
    model: HashMap<u8, Known>,
    retired: Vec<u32>,
    tti: Option<u64>,
}

impl<E: Entry> Run<E>
where
    E::Handle: std::ops::Deref<Target = Probe>,
{
    fn new(tti: Option<u64>) -> Self {
        let events: Events = Arc::default();
        let record = Arc::clone(&events);
        let mut builder = ClientCache::<u8, E>::builder()
            .max_capacity(CAPACITY)
            .time_to_live(Duration::from_millis(TTL_MS))
            .eviction_listener(move |key, handle, cause| record.lock().push((*key, handle.id, cause)));
        if let Some(tti) = tti {
            builder = builder.time_to_idle(Duration::from_millis(tti));
        }
        Self {
            cache: builder.build().unwrap(),
            events,
            model: HashMap::new(),
            retired: Vec::new(),
            tti,
        }
    }

    /// Why the model says this entry has expired at `now`, if it has: the
    /// time-to-live first, as the cache checks it. Exact: see the module docs.
    fn due(&self, known: &Known, now: u64) -> Option<RemovalCause> {
        if now >= known.inserted + TTL_MS {
            Some(RemovalCause::Expired)
        } else if self.tti.is_some_and(|tti| now >= known.used + tti) {
            Some(RemovalCause::Idle)
        } else {
            None
        }
    }

    /// Inserts `entry` (probe `id`) under `key` into the cache and the model.
    fn insert(&mut self, key: u8, entry: E, id: u32, now: u64) -> Expected {
        let mut expected = Expected::default();
        let known = Known {
            id,
            inserted: now,
            used: now,
        };
        match self.model.insert(key, known) {
            // Expired or not: the cache still holds it, so it is replaced.
            Some(old) => expected.replaced = Some((key, old.id)),
            None if self.model.len() as u64 > CAPACITY => expected.victim_for = Some(id),
            None => {}
        }
        let handle = self.cache.insert(key, entry).unwrap();
        assert_eq!(handle.id, id, "insert of {key} returned another entry");
        drop(handle);
        expected
    }

    fn invalidate(&mut self, key: u8) -> Expected {
        let explicit = self.model.remove(&key).map(|known| (key, known.id));
        self.cache.invalidate(&key);
        Expected {
            explicit: explicit.into_iter().collect(),
            ..Expected::default()
        }
    }

    /// `invalidate_all`, or (`shutdown`) what the caller does after this.
    fn invalidate_all(&mut self, shutdown: bool) -> Expected {
        let explicit = self.model.drain().map(|(key, known)| (key, known.id)).collect();
        if !shutdown {
            self.cache.invalidate_all();
        }
        Expected {
            explicit,
            ..Expected::default()
        }
    }

    /// The model's entry for a removal the cache reported; it must hold it.
    fn held(&self, key: u8, id: u32, cause: RemovalCause) -> Known {
        match self.model.get(&key) {
            Some(known) if known.id == id => *known,
            other => panic!("{key}/{id} reported {cause:?}, but the model holds {other:?} under {key}"),
        }
    }

    /// Checks the events reported since the last call against what the step
    /// `expected` and what the model allows at `now`, and applies them.
    fn reconcile(&mut self, mut expected: Expected, now: u64) {
        let events = std::mem::take(&mut *self.events.lock());
        for (index, (key, id, cause)) in events.into_iter().enumerate() {
            self.retired.push(id);
            // The victim of an insert into a full cache is retired inside
            // `insert`, so it is the step's first event.
            if index == 0
                && let Some(new) = expected.victim_for.take()
            {
                assert!(
                    matches!(
                        cause,
                        RemovalCause::Capacity | RemovalCause::Expired | RemovalCause::Idle
                    ),
                    "an insert into a full cache retired {key}/{id} as {cause:?}, not a victim"
                );
                assert_ne!(id, new, "an insert into a full cache evicted the new entry {key}/{id}");
                let known = self.held(key, id, cause);
                let due = self.due(&known, now);
                assert_eq!(
                    due.unwrap_or(RemovalCause::Capacity),
                    cause,
                    "victim {key}/{id} retired as {cause:?} at {now} ms: {known:?}"
                );
                if due.is_none()
                    && let Some((stale, _)) = self
                        .model
                        .iter()
                        .find(|(_, other)| other.id != new && now >= other.inserted + TTL_MS)
                {
                    panic!("evicted fresh {key}/{id} for capacity while {stale} was past its time-to-live");
                }
                self.model.remove(&key);
                continue;
            }
            match cause {
                RemovalCause::Explicit => {
                    let Some(at) = expected.explicit.iter().position(|&entry| entry == (key, id)) else {
                        panic!(
                            "{key}/{id} reported Explicit, but the step retired only {:?} explicitly",
                            expected.explicit
                        );
                    };
                    expected.explicit.swap_remove(at);
                }
                RemovalCause::Replaced => assert_eq!(
                    expected.replaced.take(),
                    Some((key, id)),
                    "{key}/{id} reported Replaced"
                ),
                RemovalCause::Expired | RemovalCause::Idle => {
                    let known = self.held(key, id, cause);
                    assert_eq!(
                        self.due(&known, now),
                        Some(cause),
                        "{key}/{id} reported {cause:?} at {now} ms: {known:?}"
                    );
                    self.model.remove(&key);
                }
                RemovalCause::Capacity => panic!("{key}/{id} evicted for capacity, but no insert needed room"),
                other => panic!("{key}/{id} reported {other:?}, which this cache never does"),
            }
        }
        assert!(
            expected.explicit.is_empty(),
            "invalidated but not reported Explicit: {:?}",
            expected.explicit
        );
        assert_eq!(expected.replaced, None, "replaced but not reported Replaced");
        assert_eq!(expected.victim_for, None, "an insert into a full cache evicted nothing");
        assert_eq!(
            self.cache.len(),
            self.model.len(),
            "the cache's entries against the model's: {:?}",
            self.model
        );
        assert!(self.cache.len() as u64 <= CAPACITY, "{} entries", self.cache.len());
    }

    /// A lookup must agree with the model; returns the handle.
    fn get(&mut self, key: u8, now: u64) -> Option<E::Handle> {
        let expected = self.model.get(&key).copied();
        let found = self.cache.get(&key);
        match (expected, &found) {
            (Some(known), Some(handle)) => {
                assert_eq!(
                    self.due(&known, now),
                    None,
                    "served {key} past its deadline at {now} ms: {known:?}"
                );
                assert_eq!(handle.id, known.id, "wrong entry for {key}");
                self.model.insert(key, Known { used: now, ..known });
            }
            // An expired one is retired by this lookup (unless reported
            // before): `reconcile` checks the event.
            (Some(known), None) => assert!(
                self.due(&known, now).is_some(),
                "lost fresh {key} at {now} ms: {known:?}"
            ),
            (None, Some(handle)) => panic!("served {key}/{} that the model says is gone", handle.id),
            (None, None) => {}
        }
        found
    }

    /// After a step: every key the model does not hold misses (a miss changes
    /// nothing); with `all`, every key is looked up and checked.
    fn look(&mut self, all: bool, now: u64) {
        for key in 0..KEYS {
            if all || !self.model.contains_key(&key) {
                drop(self.get(key, now));
            }
        }
    }
}

fn run(ops: Vec<Op>, tti: Option<u64>, look_all: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let log = Arc::new(Log::default());
        let mut owned = Run::<Owned<Probe>>::new(tti);
        let mut shared = Run::<Shared<Probe>>::new(tti);
        let mut leases: Vec<Lease<Probe>> = Vec::new();
        let mut watches: HashMap<u32, Watch> = HashMap::new();
        let mut shared_watches: Vec<Watch> = Vec::new();
        let mut next_id = 0u32;
        let mut now = 0u64;

        for op in ops {
            let (owned_expected, shared_expected) = match op {
                Op::Insert(key) => {
                    next_id += 1;
                    let probe = Probe::new(next_id, &log);
                    watches.insert(next_id, probe.watch());
                    let twin = Probe::new(next_id, &log);
                    shared_watches.push(twin.watch());
                    (
                        owned.insert(key, Owned::new(probe), next_id, now),
                        shared.insert(key, Shared::new(twin), next_id, now),
                    )
                }
                Op::Get(key) => {
                    if let Some(lease) = owned.get(key, now) {
                        assert_eq!(lease.request(), Ok(lease.id));
                        leases.push(lease);
                    }
                    if let Some(client) = shared.get(key, now) {
                        assert_eq!(client.request(), Ok(client.id));
                    }
                    (Expected::default(), Expected::default())
                }
                Op::DropLease(index) => {
                    if !leases.is_empty() {
                        let index = index % leases.len();
                        drop(leases.swap_remove(index));
                    }
                    (Expected::default(), Expected::default())
                }
                Op::Advance(ms) => {
                    tokio::time::advance(Duration::from_millis(ms)).await;
                    now += ms;
                    (Expected::default(), Expected::default())
                }
                Op::Invalidate(key) => (owned.invalidate(key), shared.invalidate(key)),
                Op::InvalidateAll => (owned.invalidate_all(false), shared.invalidate_all(false)),
            };
            settle().await;
            owned.reconcile(owned_expected, now);
            shared.reconcile(shared_expected, now);

            owned.look(look_all, now);
            shared.look(look_all, now);
            settle().await;
            owned.reconcile(Expected::default(), now);
            shared.reconcile(Expected::default(), now);

            // Drain-then-close, exactly once.
            for (id, watch) in &watches {
                let leased = leases.iter().any(|lease| lease.id == *id);
                let retired = owned.retired.contains(id);
                let expected = usize::from(retired && !leased);
                assert_eq!(
                    watch.closes(),
                    expected,
                    "probe {id}: retired={retired} leased={leased}"
                );
            }
            for lease in &leases {
                assert_eq!(lease.request(), Ok(lease.id), "a lease saw its value closed");
            }
            assert!(
                shared_watches.iter().all(|w| w.closes() == 0),
                "a shared entry was closed"
            );
        }
        drop(leases);
        // Shutdown retires every entry the cache holds, as `invalidate_all` does.
        let owned_expected = owned.invalidate_all(true);
        let shared_expected = shared.invalidate_all(true);
        // A deadline, so a leak fails the case instead of hanging it.
        let report = owned.cache.shutdown().deadline(Duration::from_secs(60)).await;
        assert!(report.is_complete(), "{report:?}");
        assert!(
            shared
                .cache
                .shutdown()
                .deadline(Duration::from_secs(60))
                .await
                .is_complete()
        );
        settle().await;
        owned.reconcile(owned_expected, now);
        shared.reconcile(shared_expected, now);
        for (id, watch) in &watches {
            assert_eq!(watch.closes(), 1, "probe {id} not closed exactly once after shutdown");
        }
        assert!(shared_watches.iter().all(|w| w.closes() == 0));
    });
}

proptest! {
    #[test]
    fn cache_matches_the_model_with_ttl(
        ops in proptest::collection::vec(op(), 1..60),
        look_all in any::<bool>(),
    ) {
        run(ops, None, look_all);
    }

    #[test]
    fn cache_matches_the_model_with_ttl_and_tti(
        ops in proptest::collection::vec(op(), 1..60),
        look_all in any::<bool>(),
    ) {
        run(ops, Some(60), look_all);
    }
}
