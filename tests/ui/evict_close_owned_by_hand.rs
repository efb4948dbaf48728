// Class 2: wrapping a copy in `Owned` does not let you close it by hand: `evict_close` needs a `Closing` too (short of the hidden `__` plumbing, not API).
// control: tests/ui_pass/control_evict_close_owned_by_hand.rs
#![allow(unused_imports)]
use tenure::{Close, Closing, EvictClose, Lease, Owned};

// A `Close` type that is `Clone`: a lease holder can copy the value out through `Deref`.
#[derive(Clone)]
struct Pool;
impl Close for Pool {
    async fn close(self, _: &Closing) {}
}

async fn close_a_copy(lease: Lease<Pool>) {
    Owned::new((*lease).clone()).evict_close().await;
}

fn main() {}
