// A deadpool pool goes into the cache as `Owned<OwnedPool<_>>`: built by the entry
// from a `PoolBuilder`; `get` lends a `PoolGuard`, from which the pool cannot be reached.
use tenure::deadpool::managed::{Manager, Metrics, Pool, RecycleResult};
use tenure::{ClientCache, Owned, OwnedPool};

struct Conns;
impl Manager for Conns {
    type Type = u32;
    type Error = std::convert::Infallible;
    async fn create(&self) -> Result<u32, Self::Error> {
        Ok(7)
    }
    async fn recycle(&self, _: &mut u32, _: &Metrics) -> RecycleResult<Self::Error> {
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cache = ClientCache::<&str, Owned<OwnedPool<Conns>>>::builder().build().unwrap();
    let pool = OwnedPool::from_builder(Pool::builder(Conns).max_size(2)).unwrap();
    let lease = cache.insert("db", Owned::new(pool)).unwrap();
    assert_eq!(*lease.get().await.unwrap(), 7);
    drop(lease);
    bounded(cache.shutdown()).await;
    assert_eq!(cache.stats().closes, 1);
}

/// A pass case must fail, not hang, if a close never comes.
async fn bounded<F: std::future::IntoFuture>(shutdown: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown did not finish within 10 s: an owned entry was never closed")
}
