//! The single-flight workload, shared by the criterion timing (`caches`) and
//! the `init` count table (`metrics`).

use std::{
    future::Future,
    hint::black_box,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{Client, Key};

/// Tasks that miss the same key at once.
pub const TASKS: usize = 64;

/// The id of every client [`make_client`] builds.
const MADE: u64 = 7;

/// The simulated cost of creating a client: two yields around 20 µs of CPU work;
/// counts itself in `inits`.
pub async fn make_client(inits: &AtomicUsize) -> Arc<Client> {
    inits.fetch_add(1, Ordering::Relaxed);
    tokio::task::yield_now().await;
    let began = Instant::now();
    while began.elapsed() < Duration::from_micros(20) {
        std::hint::spin_loop();
    }
    tokio::task::yield_now().await;
    Client::new(MADE)
}

/// One round: [`TASKS`] tasks wait at a barrier, then all get-or-insert the same
/// key through `lookup`. Returns the time until every task is served.
///
/// # Panics
///
/// If a task panics or is served another client than [`make_client`]'s.
pub async fn round<F, Fut>(lookup: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<Client>> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let began = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let fut = lookup();
            tokio::spawn(async move {
                barrier.wait().await;
                black_box(fut.await.id)
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task"), MADE);
    }
    began.elapsed()
}

/// Get-or-insert on a `Mutex<LruCache>` as written by hand: look up, on a miss
/// create outside the lock and put. Concurrent misses each create a client.
pub async fn lru_get_or_insert(
    cache: &Mutex<lru::LruCache<Key, Arc<Client>>>,
    key: Key,
    inits: &AtomicUsize,
) -> Arc<Client> {
    let found = cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
    if let Some(client) = found {
        return client;
    }
    let client = make_client(inits).await;
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert(key, || client)
        .clone()
}
