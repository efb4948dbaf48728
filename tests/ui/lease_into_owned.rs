// Nor into a second `Owned<T>`, which could be inserted again and closed twice.
use tenure::{Close, Lease, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self) {}
}

fn reown(pool: Lease<RedisPool>) -> Owned<RedisPool> {
    pool.into()
}

fn main() {}
