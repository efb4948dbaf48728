// A wrapper's own `close` is handed a `Closing` by its cache and passes it on to
// the pool it borrowed through a `Lease` from another cache: reaching the pool's
// `Close::close` through `Deref` needs the pool by value, which a `Lease` cannot
// give (E0507); the pool's own cache closes it, after its last lease.
// control: tests/ui_pass/control_lease_close_by_deref.rs
use tenure::{Close, Closing, Lease};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

struct Tenant {
    pool: Lease<RedisPool>,
}
impl Close for Tenant {
    async fn close(self, closing: &Closing) {
        Close::close(*self.pool, closing).await;
    }
}

fn main() {}
