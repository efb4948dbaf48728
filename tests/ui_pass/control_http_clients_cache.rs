// The positive control of tests/ui/http_clients_cache.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use tenure_http::HttpClients;

fn inner(clients: &HttpClients) -> usize {
    let _ = clients.stats().hits;
    clients.len()
}

fn main() {}
