// The incident: a cache closing a client that other code still uses.
// `Shared<T>` has no close; `shared.close()` must not reach `T::close` through `Deref`.
use tenure::{Close, Closing, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

async fn retire(client: Shared<HttpClient>) {
    client.close();
}

fn main() {}
