//! A model test: random sequences of insert, get (keeping the lease), drop-lease,
//! clock advance and invalidation, run against the cache and a reference model.
//!
//! After every step: the capacity holds; a lookup finds exactly what the model
//! says is present and fresh; every retired owned entry is closed exactly once,
//! and only after its last lease; no lease ever sees its value closed; and in a
//! twin cache of shared entries, nothing is ever closed.
//!
//! `PROPTEST_CASES` sets the number of sequences (default 256).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{collections::HashMap, sync::Arc, time::Duration};

use proptest::prelude::*;
use support::{Log, Probe, Watch, settle};
use tenure_pool::{ClientCache, Entry, Lease, Owned, RemovalCause, Shared};

const CAPACITY: u64 = 3;
const TTL_MS: u64 = 100;

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
        4 => (0u8..6).prop_map(Op::Insert),
        5 => (0u8..6).prop_map(Op::Get),
        2 => any::<usize>().prop_map(Op::DropLease),
        3 => (1u64..=120).prop_map(Op::Advance),
        1 => (0u8..6).prop_map(Op::Invalidate),
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

type Events = Arc<parking_lot::Mutex<Vec<(u8, u32, RemovalCause)>>>;

/// One cache under test, owned or shared, with its model.
struct Run<E: Entry> {
    cache: ClientCache<u8, E>,
    events: Events,
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

    fn fresh(&self, known: &Known, now: u64) -> bool {
        now < known.inserted + TTL_MS && self.tti.is_none_or(|tti| now < known.used + tti)
    }

    /// Applies the evictions the cache reported to the model.
    fn absorb_events(&mut self) {
        for (key, id, cause) in self.events.lock().drain(..) {
            self.retired.push(id);
            if self.model.get(&key).is_some_and(|known| known.id == id) {
                self.model.remove(&key);
            } else {
                assert_eq!(
                    cause,
                    RemovalCause::Replaced,
                    "evicted {key}/{id} that the model did not hold"
                );
            }
        }
    }

    /// A lookup must agree with the model; returns the handle.
    fn get(&mut self, key: u8, now: u64) -> Option<E::Handle> {
        let expected = self.model.get(&key).copied();
        let found = self.cache.get(&key);
        match (expected, &found) {
            (Some(known), Some(handle)) => {
                assert!(
                    self.fresh(&known, now),
                    "served {key} past its expiry at {now}: {known:?}"
                );
                assert_eq!(handle.id, known.id, "wrong entry for {key}");
                self.model.insert(key, Known { used: now, ..known });
            }
            (Some(known), None) => assert!(!self.fresh(&known, now), "lost fresh {key} at {now}: {known:?}"),
            (None, Some(handle)) => panic!("served {key}/{} that the model says is gone", handle.id),
            (None, None) => {}
        }
        found
    }

    fn check_capacity(&self) {
        assert!(self.cache.len() as u64 <= CAPACITY, "{} entries", self.cache.len());
    }
}

fn run(ops: Vec<Op>, tti: Option<u64>) {
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
            match op {
                Op::Insert(key) => {
                    next_id += 1;
                    let probe = Probe::new(next_id, &log);
                    watches.insert(next_id, probe.watch());
                    drop(owned.cache.insert(key, Owned::new(probe)).unwrap());
                    owned.model.insert(
                        key,
                        Known {
                            id: next_id,
                            inserted: now,
                            used: now,
                        },
                    );
                    let twin = Probe::new(next_id, &log);
                    shared_watches.push(twin.watch());
                    drop(shared.cache.insert(key, Shared::new(twin)).unwrap());
                    shared.model.insert(
                        key,
                        Known {
                            id: next_id,
                            inserted: now,
                            used: now,
                        },
                    );
                }
                Op::Get(key) => {
                    if let Some(lease) = owned.get(key, now) {
                        assert_eq!(lease.request(), Ok(lease.id));
                        leases.push(lease);
                    }
                    if let Some(client) = shared.get(key, now) {
                        assert_eq!(client.request(), Ok(client.id));
                    }
                }
                Op::DropLease(index) => {
                    if !leases.is_empty() {
                        let index = index % leases.len();
                        drop(leases.swap_remove(index));
                    }
                }
                Op::Advance(ms) => {
                    tokio::time::advance(Duration::from_millis(ms)).await;
                    now += ms;
                }
                Op::Invalidate(key) => {
                    owned.cache.invalidate(&key);
                    shared.cache.invalidate(&key);
                }
                Op::InvalidateAll => {
                    owned.cache.invalidate_all();
                    shared.cache.invalidate_all();
                }
            }
            settle().await;
            for run_events in [&mut owned as &mut dyn Absorb, &mut shared] {
                run_events.absorb();
            }
            owned.check_capacity();
            shared.check_capacity();

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
        owned.absorb_events();
        for (id, watch) in &watches {
            assert_eq!(watch.closes(), 1, "probe {id} not closed exactly once after shutdown");
        }
        assert!(shared_watches.iter().all(|w| w.closes() == 0));
    });
}

/// Lets one loop treat both runs alike.
trait Absorb {
    fn absorb(&mut self);
}

impl<E: Entry> Absorb for Run<E>
where
    E::Handle: std::ops::Deref<Target = Probe>,
{
    fn absorb(&mut self) {
        self.absorb_events();
    }
}

proptest! {
    #[test]
    fn cache_matches_the_model_with_ttl(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, None);
    }

    #[test]
    fn cache_matches_the_model_with_ttl_and_tti(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, Some(60));
    }
}
