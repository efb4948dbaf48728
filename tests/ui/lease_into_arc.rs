// Nor does it turn into an `Arc<T>`, which would outlive the loan.
use std::sync::Arc;

use tenure::{Close, Closing, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn keep(pool: Lease<RedisPool>) -> Arc<RedisPool> {
    Arc::from(pool)
}

fn main() {}
