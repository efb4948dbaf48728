// The fully qualified spelling is refused the same way.
use tenure::{Close, Closing, EvictClose, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

async fn retire(client: Shared<HttpClient>) {
    EvictClose::evict_close(client).await;
}

fn main() {}
