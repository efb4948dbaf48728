// A lease is not an owned entry: a hook that closes what it is given refuses it.
use tenure::{Close, Closing, EvictClose, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

// Only the cache can call `evict_close`; a hook can still ask that what it is
// given be closeable by the cache.
async fn on_evict<E: EvictClose>(entry: E) {
    drop(entry);
}

async fn done(pool: Lease<RedisPool>) {
    on_evict(pool).await;
}

fn main() {}
