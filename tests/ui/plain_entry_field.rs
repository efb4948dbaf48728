// The same in a struct field.
use tenure::ClientCache;

struct HttpClient;

struct Clients {
    cache: ClientCache<String, HttpClient>,
}

fn main() {}
