// A generic eviction hook that closes what it is given asks for `EvictClose`;
// a shared client does not qualify.
use tenure::{EvictClose, Shared};

struct HttpClient;

async fn on_evict<E: EvictClose>(entry: E) {
    entry.evict_close().await;
}

async fn retire(client: Shared<HttpClient>) {
    on_evict(client).await;
}

fn main() {}
