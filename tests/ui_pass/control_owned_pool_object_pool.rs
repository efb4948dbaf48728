// The positive control of tests/ui/owned_pool_object_pool.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
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

async fn keep_the_pool(cache: &ClientCache<&'static str, Owned<OwnedPool<Conns>>>) -> Option<u32> {
    let lease = cache.get(&"db")?;
    let conn = lease.get().await.ok()?;
    let _: Option<fn(&Object<Conns>) -> Option<Pool<Conns>>> = Some(Object::pool);
    Some(*conn)
}

fn main() {}
