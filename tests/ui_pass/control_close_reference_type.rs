// The positive control of tests/ui/close_reference_type.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use tenure::{Close, Closing};

struct Client;
impl Close for &'static Client {
    async fn close(self, _: &Closing) {}
}

static CLIENT: Client = Client;

async fn close_the_static() {
    let _: &'static Client = &CLIENT;
}

fn main() {}
