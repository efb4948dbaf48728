// A generic eviction hook that closes what it is given asks for `EvictClose`;
// a shared client does not qualify.
use tenure::{EvictClose, Shared};

struct HttpClient;

// Only the cache can call `evict_close`; a hook can still ask that what it is
// given be closeable by the cache.
async fn on_evict<E: EvictClose>(entry: E) {
    drop(entry);
}

async fn retire(client: Shared<HttpClient>) {
    on_evict(client).await;
}

fn main() {}
