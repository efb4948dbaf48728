// Class 1: an `OwnedPool` never lets its deadpool `Pool` escape. deadpool's
// `Object::pool` would give a strong clone of the pool; `get` returns tenure's
// `PoolGuard`, which is not an `Object`.
// control: tests/ui_pass/control_owned_pool_object_pool.rs
#![allow(unused_imports)]
use tenure::deadpool::managed::{Object, Manager, Metrics, Pool, RecycleResult};
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

async fn keep_the_pool(cache: &ClientCache<&'static str, Owned<OwnedPool<Conns>>>) -> Option<Pool<Conns>> {
    let lease = cache.get(&"db")?;
    let conn = lease.get().await.ok()?;
    Object::pool(&conn)
}

fn main() {}
