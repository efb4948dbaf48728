// Class 2: a lease holder can clone a `Clone` value out through `Deref`, but it cannot call
// tenure's close on it: `close` needs a `Closing` only a cache makes (adopting.md: a cache of its own).
// control: tests/ui_pass/control_close_cloned_value.rs
#![allow(unused_imports)]
use tenure::{ClientCache, Close, Closing, Lease, Owned};

// A `Close` type that is `Clone`: a lease holder can copy the value out through `Deref`.
#[derive(Clone)]
struct Pool;
impl Close for Pool {
    async fn close(self, _: &Closing) {}
}

async fn close_a_copy(lease: Lease<Pool>) {
    let copy: Pool = (*lease).clone();
    copy.close().await;
}

fn main() {}
