// The legitimate counterpart of the closing cases: an `Owned` entry is closed,
// by `EvictClose` directly and by the cache once its last lease is dropped.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tenure::{ClientCache, Close, EvictClose, Owned};

struct RedisPool {
    closed: Arc<AtomicUsize>,
}
impl Close for RedisPool {
    async fn close(self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn on_evict<E: EvictClose>(entry: E) {
    entry.evict_close().await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let closed = Arc::new(AtomicUsize::new(0));

    Owned::new(RedisPool { closed: Arc::clone(&closed) }).evict_close().await;
    EvictClose::evict_close(Owned::new(RedisPool { closed: Arc::clone(&closed) })).await;
    on_evict(Owned::new(RedisPool { closed: Arc::clone(&closed) })).await;
    assert_eq!(closed.load(Ordering::SeqCst), 3);

    let cache = ClientCache::<String, Owned<RedisPool>>::builder().build().unwrap();
    let lease = cache
        .insert("primary".to_string(), Owned::new(RedisPool { closed: Arc::clone(&closed) }))
        .unwrap();
    cache.invalidate(&"primary".to_string());
    drop(lease); // the last lease: the cache closes the entry
    bounded(cache.shutdown()).await;
    assert_eq!(closed.load(Ordering::SeqCst), 4);
}

/// A pass case must fail, not hang, if a close never comes.
async fn bounded<F: std::future::IntoFuture>(shutdown: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown did not finish within 10 s: an owned entry was never closed")
}
