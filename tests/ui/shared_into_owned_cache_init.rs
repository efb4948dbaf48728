// The same through single-flight creation.
use tenure::{ClientCache, Close, Closing, Owned, Shared};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

async fn get(cache: ClientCache<String, Owned<RedisPool>>) {
    let _ = cache
        .get_or_try_insert_with("primary".to_string(), || async {
            Ok::<_, std::io::Error>(Shared::new(RedisPool))
        })
        .await;
}

fn main() {}
