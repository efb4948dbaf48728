// An `Arc` is shared by definition: closing through one clone breaks the others.
use std::sync::Arc;

use tenure::{Close, Closing, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn wrap() {
    let _entry = Owned::new(Arc::new(RedisPool));
}

fn main() {}
