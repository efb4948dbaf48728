// `.into()` is refused the same way.
use std::sync::Arc;

use tenure::{Close, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self) {}
}

fn keep(pool: Lease<RedisPool>) -> Arc<RedisPool> {
    pool.into()
}

fn main() {}
