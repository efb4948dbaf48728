// Using a lease: `&T` through `Deref`, another loan by `Clone`, moved into a task.
use tenure::{ClientCache, Close, Closing, Lease, Owned};

struct RedisPool {
    name: String,
}
impl RedisPool {
    fn ping(&self) -> bool {
        true
    }
}
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn use_pool(pool: &RedisPool) -> bool {
    pool.ping()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cache = ClientCache::<&str, Owned<RedisPool>>::builder().build().unwrap();
    let lease: Lease<RedisPool> = cache.insert("db", Owned::new(RedisPool { name: "db".into() })).unwrap();
    assert!(lease.ping());
    assert!(use_pool(&lease));
    assert_eq!(lease.name.len(), 2);

    let another = lease.clone();
    assert!(Lease::ptr_eq(&lease, &another));
    let task = tokio::spawn(async move { another.ping() });
    assert!(task.await.unwrap());

    drop(lease);
    bounded(cache.shutdown()).await;
}

/// A pass case must fail, not hang, if a close never comes.
async fn bounded<F: std::future::IntoFuture>(shutdown: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown did not finish within 10 s: an owned entry was never closed")
}
