// docs/adopting.md, step 6: the moka listener moved over as it was. Pinned here
// because a `compile_fail` doctest passes on any error.
use tenure::{ClientCache, Close, Closing, Shared};

struct HttpClient;

impl Close for HttpClient {
    async fn close(self, _: &Closing) { /* shut the connection pool down */ }
}

fn main() {
    // The moka listener, moved over as it was: close whatever leaves the cache.
    let _clients = ClientCache::<String, Shared<HttpClient>>::builder()
        .eviction_listener(|_key, client, _cause| {
            let client = client.clone();
            tokio::spawn(async move { client.close().await });
        })
        .build();
}
