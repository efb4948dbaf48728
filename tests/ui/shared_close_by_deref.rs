// A wrapper's own `close` is handed a `Closing` by its cache and passes it on to
// the client it holds through a `Shared`: reaching the client's `Close::close`
// through `Deref` needs the client by value, which a `Shared` cannot give
// (E0507), so the token closes the wrapper, never the shared client.
// control: tests/ui_pass/control_shared_close_by_deref.rs
use tenure::{Close, Closing, Shared};

struct HttpClient;
impl Close for HttpClient {
    async fn close(self, _: &Closing) {}
}

struct Tenant {
    client: Shared<HttpClient>,
}
impl Close for Tenant {
    async fn close(self, closing: &Closing) {
        Close::close(*self.client, closing).await;
    }
}

fn main() {}
