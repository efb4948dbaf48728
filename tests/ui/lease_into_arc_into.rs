// `.into()` is refused the same way.
use std::sync::Arc;

use tenure::{Close, Closing, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn keep(pool: Lease<RedisPool>) -> Arc<RedisPool> {
    pool.into()
}

fn main() {}
