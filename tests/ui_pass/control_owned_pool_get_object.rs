// The positive control of tests/ui/owned_pool_get_object.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use tenure::deadpool::managed::{Object, Manager, Metrics, Pool, RecycleResult};
use tenure::{OwnedPool, PoolGuard};

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

async fn checkout(pool: &OwnedPool<Conns>) {
    let _guard: PoolGuard<Conns> = pool.get().await.unwrap();
    let _ = Pool::<Conns>::builder;
    let _ = std::marker::PhantomData::<Object<Conns>>;
}

fn main() {}
