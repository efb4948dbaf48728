//! Single-flight initialisation: concurrent misses for one key run `init` once.
//!
//! The first caller to miss becomes the leader and registers a watch channel
//! under the key; later callers subscribe and wait. The leader publishes the
//! handle or the error. If the leader is cancelled, its guard removes the flight
//! and drops the sender unpublished: waiters see the channel close and retry, and
//! one of them becomes the new leader.

use std::{any::Any, collections::HashMap, hash::Hash, sync::Arc};

use tokio::sync::watch;

use crate::Error;

/// A published outcome; the init error is type-erased because flights are keyed by
/// cache key, not by the caller's error type.
#[derive(Clone)]
pub(crate) enum Outcome<H> {
    Ready(H),
    InitFailed(Arc<dyn Any + Send + Sync>),
    Refused(Error),
}

/// What a flight's channel holds: `None` until the leader publishes.
type Published<H> = Option<Outcome<H>>;

/// The flights under way, by (key, runtime tag).
pub(crate) type Flights<K, H> =
    parking_lot::Mutex<HashMap<(K, u64), watch::Receiver<Published<H>>, foldhash::fast::RandomState>>;

/// What a caller that missed should do.
pub(crate) enum Role<'a, K: Hash + Eq + Clone, H> {
    Lead(Leader<'a, K, H>),
    Wait(watch::Receiver<Published<H>>),
}

/// Joins the flight under `key`, or starts one.
pub(crate) fn join<'a, K: Hash + Eq + Clone, H>(flights: &'a Flights<K, H>, key: &K, tag: u64) -> Role<'a, K, H> {
    let mut map = flights.lock();
    let flight_key = (key.clone(), tag);
    if let Some(rx) = map.get(&flight_key) {
        return Role::Wait(rx.clone());
    }
    let (tx, rx) = watch::channel(None);
    map.insert(flight_key.clone(), rx.clone());
    Role::Lead(Leader {
        tx,
        guard: FlightGuard {
            flights,
            key: flight_key,
            rx,
        },
    })
}

/// Waits for the leader; `None` if it was cancelled (the caller should retry).
pub(crate) async fn wait<H: Clone>(mut rx: watch::Receiver<Published<H>>) -> Option<Outcome<H>> {
    let published = rx
        .wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|outcome| outcome.clone());
    // Closed: published-then-closed still counts; unpublished means cancelled.
    published.or_else(|| rx.borrow().clone())
}

/// The right to run `init` for a key.
pub(crate) struct Leader<'a, K: Hash + Eq + Clone, H> {
    // Field order matters: the guard unregisters before the sender closes.
    guard: FlightGuard<'a, K, H>,
    tx: watch::Sender<Published<H>>,
}

impl<K: Hash + Eq + Clone, H> Leader<'_, K, H> {
    pub(crate) fn publish(self, outcome: Outcome<H>) {
        self.tx.send_replace(Some(outcome));
        drop(self.guard);
    }
}

struct FlightGuard<'a, K: Hash + Eq + Clone, H> {
    flights: &'a Flights<K, H>,
    key: (K, u64),
    rx: watch::Receiver<Published<H>>,
}

impl<K: Hash + Eq + Clone, H> Drop for FlightGuard<'_, K, H> {
    fn drop(&mut self) {
        let mut map = self.flights.lock();
        if map.get(&self.key).is_some_and(|rx| rx.same_channel(&self.rx)) {
            map.remove(&self.key);
        }
    }
}
