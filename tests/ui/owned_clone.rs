// Two `Owned` handles to one value would both close it.
use tenure::{Close, Closing, Owned};

struct RedisPool;
impl Close for RedisPool {
    async fn close(self, _: &Closing) {}
}

fn two_owners() {
    let entry = Owned::new(RedisPool);
    let _second = entry.clone();
}

fn main() {}
