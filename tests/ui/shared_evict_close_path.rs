// The fully qualified spelling is refused the same way.
use tenure::{Close, EvictClose, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self) {}
}

async fn retire(client: Shared<HttpClient>) {
    EvictClose::evict_close(client).await;
}

fn main() {}
