// The positive control of tests/ui/close_copy_value_path.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use tenure::{Close, Closing};

#[derive(Clone, Copy)]
struct Handle(u32);
impl Close for Handle {
    async fn close(self, _: &Closing) {}
}

async fn close_a_copy(handle: &Handle) {
    let copy = *handle;
    let _ = copy.0;
}

fn main() {}
