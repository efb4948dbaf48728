// `Owned::new(lease)` is refused (a `Lease` is not `Close`): the lease is a loan,
// and its entry is closed by the cache that owns it (a newtype can: adopting.md).
use tenure::{Close, Closing, Lease, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn reown(pool: Lease<RedisPool>) {
    let _entry = Owned::new(pool);
}

fn main() {}
