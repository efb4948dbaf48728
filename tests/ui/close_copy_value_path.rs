// Class 2: the same for a `Copy` type, through the trait path.
// control: tests/ui_pass/control_close_copy_value_path.rs
#![allow(unused_imports)]
use tenure::{Close, Closing};

#[derive(Clone, Copy)]
struct Handle(u32);
impl Close for Handle {
    async fn close(self, _: &Closing) {}
}

async fn close_a_copy(handle: &Handle) {
    Close::close(*handle).await;
}

fn main() {}
