// A lease only borrows the entry; the cache closes it after the last lease.
use tenure::{Close, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self) {}
}

async fn done(pool: Lease<RedisPool>) {
    pool.close();
}

fn main() {}
