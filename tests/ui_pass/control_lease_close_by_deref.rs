// Control for tests/ui/lease_close_by_deref.rs: the wrapper's close returns its
// lease (drops it), which compiles; the pool's own cache then closes the pool.
use tenure::{Close, Closing, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

#[allow(dead_code)]
struct Tenant {
    pool: Lease<RedisPool>,
}
impl Close for Tenant {
    async fn close(self, _closing: &Closing) {
        drop(self.pool);
    }
}

fn main() {}
