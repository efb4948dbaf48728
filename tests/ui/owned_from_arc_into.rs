// Nor is there a conversion from `Arc<T>` to `Owned<T>`: an `Arc` is shared by definition.
use std::sync::Arc;

use tenure::{Close, Closing, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn wrap(pool: Arc<RedisPool>) -> Owned<RedisPool> {
    pool.into()
}

fn main() {}
