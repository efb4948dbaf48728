// Class 2: nor with a struct literal: its field is private.
// control: tests/ui_pass/control_close_forged_token_literal.rs
#![allow(unused_imports)]
use tenure::{ClientCache, Close, Closing, Lease, Owned};

// A `Close` type that is `Clone`: a lease holder can copy the value out through `Deref`.
#[derive(Clone)]
struct Pool;
impl Close for Pool {
    async fn close(self, _: &Closing) {}
}

async fn close_a_copy(lease: Lease<Pool>) {
    (*lease).clone().close(&Closing { _only_tenure: () }).await;
}

fn main() {}
