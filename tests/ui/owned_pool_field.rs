// Class 1: the pool inside an `OwnedPool` is private; only a status snapshot is public.
// control: tests/ui_pass/control_owned_pool_field.rs
#![allow(unused_imports)]
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

fn the_pool(cache: &ClientCache<&'static str, Owned<OwnedPool<Conns>>>) -> Option<Pool<Conns>> {
    let lease = cache.get(&"db")?;
    Some(lease.pool.clone())
}

fn main() {}
