// Calling the value's own `Close::close` through the lease needs it by value.
use tenure::{Close, Closing, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

async fn done(pool: Lease<RedisPool>) {
    Close::close(*pool).await;
}

fn main() {}
