// Reaching the client's own `Close::close` through `Deref` needs it by value,
// which a `Shared` handle cannot give.
use tenure::{Close, Closing, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

async fn retire(client: Shared<HttpClient>) {
    Close::close(*client).await;
}

fn main() {}
