// The legitimate counterpart of the closing cases: an `Owned` entry is closed by
// the cache, its only closer, once it is retired and its last lease is dropped.
// Code outside tenure can name `EvictClose` as a bound, never call it.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tenure::{ClientCache, Close, Closing, EvictClose, Owned};

struct RedisPool {
    closed: Arc<AtomicUsize>,
}
impl Close for RedisPool {
    async fn close(self, _: &Closing) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

fn closeable<E: EvictClose>(_: &E) {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let closed = Arc::new(AtomicUsize::new(0));

    closeable(&Owned::new(RedisPool { closed: Arc::clone(&closed) }));
    assert_eq!(closed.load(Ordering::SeqCst), 0, "dropping an uninserted `Owned` closes nothing");

    let cache = ClientCache::<String, Owned<RedisPool>>::builder().build().unwrap();
    let lease = cache
        .insert("primary".to_string(), Owned::new(RedisPool { closed: Arc::clone(&closed) }))
        .unwrap();
    cache.invalidate(&"primary".to_string());
    drop(lease); // the last lease: the cache closes the entry
    bounded(cache.shutdown()).await;
    assert_eq!(closed.load(Ordering::SeqCst), 1);
}

/// A pass case must fail, not hang, if a close never comes.
async fn bounded<F: std::future::IntoFuture>(shutdown: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown did not finish within 10 s: an owned entry was never closed")
}
