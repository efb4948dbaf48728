// Class 1: `OwnedPool::get` hands out tenure's `PoolGuard`, never deadpool's `Object`.
// control: tests/ui_pass/control_owned_pool_get_object.rs
#![allow(unused_imports)]
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
    let _object: Object<Conns> = pool.get().await.unwrap();
    let _ = Pool::<Conns>::builder;
}

fn main() {}
