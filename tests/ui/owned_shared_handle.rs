// A deadpool `Pool` is itself a shared handle (its clones close together), so it
// cannot be an `Owned` entry as is: `OwnedPool` builds one that nobody else holds.
use tenure::Owned;
use tenure::deadpool::managed::{Manager, Metrics, Pool, RecycleResult};

struct Conns;
impl Manager for Conns {
    type Type = u32;
    type Error = std::convert::Infallible;
    async fn create(&self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    async fn recycle(&self, _: &mut u32, _: &Metrics) -> RecycleResult<Self::Error> {
        Ok(())
    }
}

fn wrap(pool: Pool<Conns>) {
    let _entry = Owned::new(pool);
}

fn main() {}
