// The positive control of tests/ui/redis_clients_cache_field.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use tenure_redis::RedisClients;

fn inner(clients: &RedisClients) -> usize {
    let _ = clients.owned_stats().hits;
    clients.len()
}

fn main() {}
