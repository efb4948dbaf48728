// Class 3: nor does `RedisClients`: its caches are private; it has read-only views.
// control: tests/ui_pass/control_redis_clients_cache_field.rs
#![allow(unused_imports)]
use tenure_redis::RedisClients;

fn inner(clients: &RedisClients) -> usize {
    clients.owned.len()
}

fn main() {}
