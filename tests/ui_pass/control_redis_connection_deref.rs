// The positive control of tests/ui/redis_connection_deref.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use tenure_redis::RedisPool;
use tenure_redis::deadpool_redis::{Connection, redis};

async fn object(pool: &RedisPool) {
    let mut conn = pool.get().await.unwrap();
    let _: Option<&Connection> = None;
    let _pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
}

fn main() {}
