// Nor into a second `Owned<T>`, which could be inserted again and closed twice.
use tenure::{Close, Closing, Lease, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn reown(pool: Lease<RedisPool>) -> Owned<RedisPool> {
    pool.into()
}

fn main() {}
