// The same listener, handing the retired shared client to code that needs a
// value the cache may close (`EvictClose`).
use tenure::{ClientCache, Close, Closing, EvictClose, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

fn closeable_by_the_cache<E: EvictClose>(entry: E) {
    drop(entry);
}

fn build() {
    let _cache = ClientCache::<String, Shared<HttpClient>>::builder()
        .eviction_listener(|_key, client, _cause| {
            closeable_by_the_cache(client.clone());
        })
        .build();
}

fn main() {}
