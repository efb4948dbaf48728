// The positive control of tests/ui/close_forged_token_new.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use tenure::{ClientCache, Close, Closing, Lease, Owned};

// A `Close` type that is `Clone`: a lease holder can copy the value out through `Deref`.
#[derive(Clone)]
struct Pool;
impl Close for Pool {
    async fn close(self, _: &Closing) {}
}

async fn close_a_copy(lease: Lease<Pool>) {
    let _: Option<&Closing> = None;
    drop((*lease).clone());
}

fn main() {}
