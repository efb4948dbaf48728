// For an owned entry the listener gets a `Lease`: the cache closes the entry itself,
// after the last lease is dropped, so the listener cannot close it either.
use tenure::{ClientCache, Close, Closing, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn build() {
    let _cache = ClientCache::<String, Owned<RedisPool>>::builder()
        .eviction_listener(|_key, pool, _cause| {
            let _ = pool.clone().close();
        })
        .build();
}

fn main() {}
