// A lease is not an owned entry: a hook that closes what it is given refuses it.
use tenure::{Close, EvictClose, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self) {}
}

async fn on_evict<E: EvictClose>(entry: E) {
    entry.evict_close().await;
}

async fn done(pool: Lease<RedisPool>) {
    on_evict(pool).await;
}

fn main() {}
