// `EvictClose` is sealed: a type outside tenure cannot opt into being closed by the cache.
use tenure::EvictClose;

struct HttpClient;

impl EvictClose for HttpClient {
    async fn evict_close(self, _: &tenure::Closing) {}
}

fn main() {}
