// A cache of owned entries closes what it retires: a shared client cannot go in.
use tenure::{ClientCache, Close, Closing, Owned, Shared};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn insert(cache: ClientCache<String, Owned<RedisPool>>, pool: RedisPool) {
    let _ = cache.insert("primary".to_string(), Shared::new(pool));
}

fn main() {}
