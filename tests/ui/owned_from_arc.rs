// An `Arc` is shared by definition: closing through one clone breaks the others.
use std::sync::Arc;

use tenure::{Close, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self) {}
}

fn wrap() {
    let _entry = Owned::new(Arc::new(RedisPool));
}

fn main() {}
