// Class 2: `Close` implemented for a reference type still cannot be called from outside.
// control: tests/ui_pass/control_close_reference_type.rs
#![allow(unused_imports)]
use tenure::{Close, Closing};

struct Client;
impl Close for &'static Client {
    async fn close(self, _: &Closing) {}
}

static CLIENT: Client = Client;

async fn close_the_static() {
    (&CLIENT).close().await;
}

fn main() {}
