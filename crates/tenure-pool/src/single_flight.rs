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
//! Each flight has an id, and a leader runs `init` with its id in a task-local
//! list (an `init` that leads a flight of its own adds to it). A caller about to
//! wait for a flight in its own task's list would wait for itself: it is refused
//! instead ([`Waiting::is_own`]). A task that `init` spawns does not inherit the
//! list, so a wait through one is not detected.

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

impl Waiting {
    /// Whether this task runs the flight's `init` (directly, or under another
    /// `init` it runs): waiting for it would wait for itself.
    pub(crate) fn is_own(&self) -> bool {
        LEADING
            .try_with(|leading| leading.contains(&self.0.id))
            .unwrap_or(false)
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
pub(crate) async fn wait(Waiting(Flight { mut rx, .. }): Waiting) -> Option<Outcome> {
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
