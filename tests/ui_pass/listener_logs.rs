// An eviction listener may look at the retired entry (log it, count it); it does not close it.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tenure::{ClientCache, Close, Closing, Owned, RemovalCause, Shared};

struct HttpClient {
    base: &'static str,
}
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seen = Arc::new(AtomicUsize::new(0));

    let counter = Arc::clone(&seen);
    let clients = ClientCache::<String, Shared<HttpClient>>::builder()
        .eviction_listener(move |key, client, cause| {
            tracing::info!(%key, base = client.base, ?cause, "http client left the cache");
            let kept = client.clone(); // a clone is just another reference: fine
            assert_eq!(kept.base, "https://a");
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    clients.insert("a".to_string(), Shared::new(HttpClient { base: "https://a" })).unwrap();
    clients.invalidate(&"a".to_string());
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    let counter = Arc::clone(&seen);
    let pools = ClientCache::<String, Owned<RedisPool>>::builder()
        .eviction_listener(move |key, _pool, cause| {
            assert_eq!(cause, RemovalCause::Explicit);
            tracing::info!(%key, "redis pool retired; the cache closes it after its last lease");
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    drop(pools.insert("p".to_string(), Owned::new(RedisPool)).unwrap());
    pools.invalidate(&"p".to_string());
    bounded(pools.shutdown()).await;
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

/// A pass case must fail, not hang, if a close never comes.
async fn bounded<F: std::future::IntoFuture>(shutdown: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown did not finish within 10 s: an owned entry was never closed")
}
