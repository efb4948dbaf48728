// Class 1: a `RedisConnection` runs commands itself and does not deref to
// deadpool's connection object, from which the pool could be reached.
// control: tests/ui_pass/control_redis_connection_deref.rs
#![allow(unused_imports)]
use tenure_redis::RedisPool;
use tenure_redis::deadpool_redis::{Connection, redis};

async fn object(pool: &RedisPool) {
    let conn = pool.get().await.unwrap();
    let _object: &Connection = &*conn;
}

fn main() {}
