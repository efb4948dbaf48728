//! Single-flight initialisation: concurrent misses for one key run `init` once.
//!
//! The first caller to miss becomes the leader and registers a watch channel
//! under the key; later callers subscribe and wait. The leader unregisters the
//! flight, then publishes the handle or the error; a waiter given a handle
//! takes what the cache holds under the key at that moment instead (the
//! leader's entry may have been retired since its insert). If the leader is cancelled, its guard removes the flight
//! and drops the sender unpublished: waiters see the channel close and retry, and
//! one of them becomes the new leader. A flight left registered with its sender
//! gone (the guard's removal panicked in the key's `Hash` or `Eq`) is replaced
//! by the next caller that joins it, who leads.
//!
//! Each flight has an id (unique in the process, across caches), and a leader
//! runs `init` with its id in a task-local list (an `init` that leads a flight
//! of its own adds to it). A call made inside such an `init` that is about to
//! wait for a flight registers an edge of the process's wait-for graph from
//! each flight in its list to the one it waits for, for as long as it waits
//! (`Edges::enter`). If the flight it would wait for already reaches one of
//! its own flights through the graph (its own key; or a cycle of keys, in one
//! task, in futures polled side by side, across tasks or across caches), the
//! wait would never end: the call is refused instead. Only waits made by calls
//! inside an `init` are edges: a task that `init` spawns does not inherit the
//! list, so a wait through one (`init` awaiting a spawned task that waits for
//! the key) is not detected.

use std::{
    any::Any,
    collections::HashMap,
    hash::Hash,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::watch;

use crate::Error;

/// A published outcome; the init error is type-erased because flights are keyed by
/// cache key, not by the caller's error type. `Ready` carries no handle: a
/// waiter looks the entry up (see the module docs), and a lease parked in the
/// channel would keep an owned entry open for as long as the channel lives.
#[derive(Clone)]
pub(crate) enum Outcome {
    Ready,
    InitFailed(Arc<dyn Any + Send + Sync>),
    Refused(Error),
}

/// What a flight's channel holds: `None` until the leader publishes.
type Published = Option<Outcome>;

/// The flights under way, by (key, runtime tag).
pub(crate) type Flights<K> = parking_lot::Mutex<HashMap<(K, u64), Flight, foldhash::fast::RandomState>>;

/// One flight under way: its id (unique in the process) and its channel.
#[derive(Clone)]
pub(crate) struct Flight {
    id: u64,
    rx: watch::Receiver<Published>,
}

tokio::task_local! {
    /// The ids of the flights whose `init` this task is running, outermost first.
    static LEADING: Vec<u64>;
}

/// What a caller that missed should do.
pub(crate) enum Role<'a, K: Hash + Eq + Clone> {
    Lead(Leader<'a, K>),
    Wait(Waiting),
}

/// A flight another caller leads, to wait for.
pub(crate) struct Waiting(Flight);

/// The edges of the wait-for graph: (a flight whose `init` is waiting, the
/// flight it waits for), one per wait under way, in every cache of the process.
/// Only calls made inside an `init` add edges, and they are few; no user code
/// runs under the lock.
static WAITS: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

fn waits() -> std::sync::MutexGuard<'static, Vec<(u64, u64)>> {
    WAITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether `goal` holds a flight reachable from `from` (itself included)
/// through `edges`.
fn reaches(edges: &[(u64, u64)], from: u64, goal: &[u64]) -> bool {
    let mut seen = vec![from];
    let mut next = 0;
    while let Some(&at) = seen.get(next) {
        if goal.contains(&at) {
            return true;
        }
        for &(waiting, awaited) in edges {
            if waiting == at && !seen.contains(&awaited) {
                seen.push(awaited);
            }
        }
        next += 1;
    }
    false
}

/// The wait-for graph's edges of one wait (none for a call outside an
/// `init`), removed when the wait ends or is dropped.
struct Edges {
    from: Vec<u64>,
    to: u64,
}

impl Edges {
    /// Registers a wait for flight `to` in the wait-for graph (see the module
    /// docs), or returns `None` if `to` reaches, through the graph, a flight
    /// whose `init` this call runs inside: waiting would wait for itself.
    fn enter(to: u64) -> Option<Self> {
        let from = LEADING.try_with(Clone::clone).unwrap_or_default();
        // Outside an `init` nothing waits for this call: it adds no edge.
        if !from.is_empty() {
            let mut edges = waits();
            if reaches(&edges, to, &from) {
                return None;
            }
            edges.extend(from.iter().map(|&waiting| (waiting, to)));
        }
        Some(Self { from, to })
    }
}

impl Drop for Edges {
    fn drop(&mut self) {
        if self.from.is_empty() {
            return;
        }
        let mut edges = waits();
        for &from in &self.from {
            if let Some(at) = edges.iter().position(|&edge| edge == (from, self.to)) {
                edges.swap_remove(at);
            }
        }
    }
}

/// Joins the flight under `key`, or starts one.
pub(crate) fn join<'a, K: Hash + Eq + Clone>(flights: &'a Flights<K>, key: &K, tag: u64) -> Role<'a, K> {
    let mut map = flights.lock();
    let flight_key = (key.clone(), tag);
    // A flight whose sender is gone was not unregistered (its leader's guard
    // panicked in the key's `Hash` or `Eq`): joining it would only see it
    // closed and come back here, for ever. Take its place instead.
    if let Some(flight) = map.get(&flight_key)
        && flight.rx.has_changed().is_ok()
    {
        return Role::Wait(Waiting(flight.clone()));
    }
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = watch::channel(None);
    map.insert(flight_key.clone(), Flight { id, rx });
    Role::Lead(Leader {
        tx,
        guard: FlightGuard {
            flights,
            key: flight_key,
            id,
        },
    })
}

/// Waits for the leader; `None` if it was cancelled (the caller should retry).
/// A wait that would wait for itself (see the module docs) is refused at once,
/// as the cache refuses an entry: [`Outcome::Refused`]. The wait's edges leave
/// the wait-for graph when it ends.
pub(crate) async fn wait(Waiting(Flight { id, mut rx }): Waiting) -> Option<Outcome> {
    let Some(_edges) = Edges::enter(id) else {
        return Some(Outcome::Refused(Error::init_waits_for_itself()));
    };
    let published = rx
        .wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|outcome| outcome.clone());
    // Closed: published-then-closed still counts; unpublished means cancelled.
    published.or_else(|| rx.borrow().clone())
}

/// The right to run `init` for a key.
pub(crate) struct Leader<'a, K: Hash + Eq + Clone> {
    // Field order matters: the guard unregisters before the sender closes.
    guard: FlightGuard<'a, K>,
    tx: watch::Sender<Published>,
}

impl<K: Hash + Eq + Clone> Leader<'_, K> {
    /// Runs `init`'s future with this flight's id in the task's leading list
    /// (see the module docs).
    pub(crate) fn run<F: Future>(&self, init: F) -> impl Future<Output = F::Output> {
        let mut leading = LEADING.try_with(Clone::clone).unwrap_or_default();
        leading.push(self.guard.id);
        LEADING.scope(leading, init)
    }

    /// Unregisters the flight, then hands `outcome` to its waiters. In that
    /// order: a caller that misses once the outcome is out starts a flight of
    /// its own instead of joining this finished one (whose entry may already
    /// be retired), and a waiter that looks again finds no stale flight to
    /// rejoin.
    pub(crate) fn publish(self, outcome: Outcome) {
        let Self { guard, tx } = self;
        drop(guard);
        tx.send_replace(Some(outcome));
    }
}

struct FlightGuard<'a, K: Hash + Eq + Clone> {
    flights: &'a Flights<K>,
    key: (K, u64),
    /// The flight's id: the key may be under another flight by then.
    id: u64,
}

impl<K: Hash + Eq + Clone> Drop for FlightGuard<'_, K> {
    fn drop(&mut self) {
        // Finding the flight runs the key's `Hash` and `Eq`, which may panic;
        // this drop may run while the leader unwinds (its `init` or its insert
        // panicked), where a second panic escaping it would abort the process.
        // So the panic is caught: the flight stays registered with its sender
        // about to close, and the next caller to join it takes its place (see
        // the module docs). Outside an unwind it goes on once the lock is free.
        let mut map = self.flights.lock();
        let removal = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if map.get(&self.key).is_some_and(|flight| flight.id == self.id) {
                map.remove_entry(&self.key)
            } else {
                None
            }
        }));
        drop(map);
        match removal {
            // The removed key is dropped here, off the lock.
            Ok(removed) => drop(removed),
            Err(panic) if !std::thread::panicking() => std::panic::resume_unwind(panic),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flight_reaches_itself_and_what_it_waits_for_through_any_chain() {
        let edges = [(1, 2), (2, 3), (3, 4), (7, 8), (2, 5)];
        assert!(reaches(&edges, 1, &[1]), "a flight reaches itself");
        assert!(reaches(&edges, 1, &[4]));
        assert!(reaches(&edges, 1, &[9, 5]));
        assert!(!reaches(&edges, 1, &[7, 8]));
        assert!(!reaches(&edges, 4, &[1, 2, 3]), "edges are one way");
        let cycle = [(1, 2), (2, 1)];
        assert!(!reaches(&cycle, 1, &[3]), "a cycle in the graph ends the search");
    }

    /// A wait's edges stay in the graph while it waits and leave it when the
    /// wait is dropped (a cancelled waiter leaves nothing behind).
    #[tokio::test]
    async fn a_dropped_wait_takes_its_edges_out_of_the_graph() {
        let flights: Flights<u32> = parking_lot::Mutex::default();
        let Role::Lead(outer) = join(&flights, &1, 0) else {
            panic!("the first caller leads")
        };
        let Role::Lead(awaited) = join(&flights, &2, 0) else {
            panic!("the first caller leads")
        };
        let edge = (outer.guard.id, awaited.guard.id);
        outer
            .run(async {
                let edges = Edges::enter(edge.1).expect("no cycle");
                assert!(waits().contains(&edge));
                drop(edges);
                assert!(!waits().contains(&edge));
                assert!(Edges::enter(edge.0).is_none(), "a wait for its own flight is refused");
            })
            .await;
        drop((outer, awaited));
    }
}
