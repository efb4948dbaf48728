// Class 3: `HttpClients` does not hand out its inner cache (which would let any
// borrower insert a client under another tenant's config, or retire entries behind
// the adapter's API); it has read-only views, and its own typed API on `&self`.
// control: tests/ui_pass/control_http_clients_cache.rs
#![allow(unused_imports)]
use tenure_http::HttpClients;

fn inner(clients: &HttpClients) -> usize {
    clients.cache().len()
}

fn main() {}
