// The same listener, spawning `EvictClose::evict_close` on the retired shared client.
use tenure::{ClientCache, Close, EvictClose, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self) {}
}

fn build() {
    let _cache = ClientCache::<String, Shared<HttpClient>>::builder()
        .eviction_listener(|_key, client, _cause| {
            tokio::spawn(EvictClose::evict_close(client.clone()));
        })
        .build();
}

fn main() {}
