// A client that does not say how to close cannot be an owned entry.
use tenure::Owned;

struct HttpClient;

fn wrap() {
    let _entry = Owned::new(HttpClient);
}

fn main() {}
