// `shared.close().await`, as the incident's code would be written in async Rust.
use tenure::{Close, Closing, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

async fn retire(client: Shared<HttpClient>) {
    client.close().await;
}

fn main() {}
