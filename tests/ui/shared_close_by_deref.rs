// Reaching the client's own `Close::close` through `Deref` needs it by value,
// which a `Shared` handle cannot give.
use tenure::{Close, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self) {}
}

async fn retire(client: Shared<HttpClient>) {
    Close::close(*client).await;
}

fn main() {}
