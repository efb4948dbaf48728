// Control for tests/ui/shared_close_by_deref.rs: the wrapper's close drops its
// `Shared` handle (the cache's reference), which compiles.
use tenure::{Close, Closing, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

struct Tenant {
    client: Shared<HttpClient>,
}
impl Close for Tenant {
    async fn close(self, _closing: &Closing) {
        drop(self.client);
    }
}

fn main() {
    let _ = Tenant {
        client: Shared::new(HttpClient),
    };
}
