// A lease never gives its value back: taking `T` out would let a caller close it.
use tenure::{Close, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self) {}
}

fn take(pool: Lease<RedisPool>) -> RedisPool {
    *pool
}

fn main() {}
