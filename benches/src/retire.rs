//! The retirement workload: 10,000 owned entries, no lease outstanding, retired
//! at once; time until every one is closed. tenure's two ways (`shutdown`, and
//! `invalidate_all` then polling `stats`) and the hand-written baseline on a
//! `Mutex<LruCache>` of owned clients. Shared by `caches` (criterion) and
//! `retire` (the same runs paired round by round).

use std::{
    num::NonZeroUsize,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tenure_pool::{ClientCache, Owned};

use crate::{Key, OwnedClient};

/// Owned entries retired at once.
pub const RETIRED: usize = 10_000;

/// A tenure cache of `RETIRED` unleased owned entries, each counting its close in `closed`.
fn owned_cache(closed: Option<&Arc<AtomicUsize>>) -> ClientCache<Key, Owned<OwnedClient>> {
    let cache = ClientCache::<Key, Owned<OwnedClient>>::builder()
        .max_capacity(4 * RETIRED as u64)
        .build()
        .expect("cache");
    for key in 0..RETIRED as u64 {
        drop(
            cache
                .insert(key, Owned::new(OwnedClient::new(key, closed.map(Arc::clone))))
                .expect("insert"),
        );
    }
    assert_eq!(cache.len(), RETIRED);
    cache
}

/// tenure: `shutdown().await` (retires every entry, waits for every close).
async fn tenure_shutdown() -> Duration {
    let closed = Arc::new(AtomicUsize::new(0));
    let cache = owned_cache(Some(&closed));
    let began = Instant::now();
    cache.shutdown().await;
    let took = began.elapsed();
    assert_eq!(closed.load(Ordering::Relaxed), RETIRED);
    took
}

/// tenure: `invalidate_all()`, then polling `stats()` until every close is counted.
async fn tenure_invalidate_all() -> Duration {
    let cache = owned_cache(None);
    let began = Instant::now();
    cache.invalidate_all();
    while cache.stats().closes < RETIRED as u64 {
        tokio::task::yield_now().await;
    }
    began.elapsed()
}

/// The hand-written equivalent on a `Mutex<LruCache>` of owned clients: pop
/// every entry and spawn its close, then await them all.
async fn spawn_loop() -> Duration {
    let closed = Arc::new(AtomicUsize::new(0));
    let capacity = NonZeroUsize::new(RETIRED).expect("non-zero");
    let cache = Mutex::new(lru::LruCache::<Key, OwnedClient>::new(capacity));
    for key in 0..RETIRED as u64 {
        cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(key, OwnedClient::new(key, Some(Arc::clone(&closed))));
    }
    let began = Instant::now();
    let drained: Vec<OwnedClient> = {
        let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
        std::iter::from_fn(|| cache.pop_lru().map(|(_, v)| v)).collect()
    };
    let closes: Vec<_> = drained
        .into_iter()
        .map(|client| tokio::spawn(client.shut_down()))
        .collect();
    for close in closes {
        close.await.expect("close");
    }
    let took = began.elapsed();
    assert_eq!(closed.load(Ordering::Relaxed), RETIRED);
    took
}

/// One way of retiring: builds its cache, retires it, returns the time taken.
pub type Run = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Duration>>>;

/// The three ways of retiring `RETIRED` owned entries, by name; the loop last.
pub const RUNS: [(&str, Run); 3] = [
    ("tenure (shutdown)", || Box::pin(tenure_shutdown())),
    ("tenure (invalidate_all, poll stats)", || {
        Box::pin(tenure_invalidate_all())
    }),
    ("Mutex<LruCache> (pop all, spawn closes)", || Box::pin(spawn_loop())),
];
