// A shared client cannot be closed through `EvictClose` either: only `Owned<T>` is.
use tenure::{Close, Closing, EvictClose, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

async fn retire(client: Shared<HttpClient>) {
    client.evict_close().await;
}

fn main() {}
