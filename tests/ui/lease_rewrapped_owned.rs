// Re-wrapping a lease as a new owned entry (to insert it elsewhere) is refused:
// the lease is a loan, and the entry it lends is closed by the cache that owns it.
use tenure::{Close, Closing, Lease, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn reown(pool: Lease<RedisPool>) {
    let _entry = Owned::new(pool);
}

fn main() {}
