// A lease is not the owner: `EvictClose` is for `Owned<T>`, and only the cache holds that.
use tenure::{Close, Closing, EvictClose, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

async fn done(pool: Lease<RedisPool>) {
    pool.evict_close().await;
}

fn main() {}
