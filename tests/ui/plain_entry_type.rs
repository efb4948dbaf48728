// A cache must know whether it owns its entries: a bare client is neither.
use tenure::ClientCache;

struct HttpClient;

fn build() {
    let _cache = ClientCache::<String, HttpClient>::builder().build();
}

fn main() {}
