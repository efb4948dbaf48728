// A lease never gives its value back: taking `T` out would let a caller close it.
use tenure::{Close, Closing, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn take(pool: Lease<RedisPool>) -> RedisPool {
    *pool
}

fn main() {}
