// An eviction listener is handed the retired entry's handle. For a shared entry that
// is a `Shared<C>`, which others may still be using: closing it is the incident.
use tenure::{ClientCache, Close, Closing, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

fn build() {
    let _cache = ClientCache::<String, Shared<HttpClient>>::builder()
        .eviction_listener(|_key, client, _cause| {
            let _ = client.clone().close();
        })
        .build();
}

fn main() {}
