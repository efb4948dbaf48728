// A lease only borrows the entry; the cache closes it after the last lease.
use tenure::{Close, Closing, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

async fn done(pool: Lease<RedisPool>) {
    pool.close();
}

fn main() {}
