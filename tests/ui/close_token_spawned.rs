// Class 2: nor moved into a spawned task, which must be `'static`.
// control: tests/ui_pass/control_close_token_spawned.rs
#![allow(unused_imports)]
use tenure::{Close, Closing};

struct Part;
impl Close for Part {
    async fn close(self, _: &Closing) {}
}

struct Whole {
    part: Part,
}

impl Close for Whole {
    async fn close(self, closing: &Closing) {
        let part = self.part;
        tokio::spawn(async move { part.close(closing).await });
    }
}

fn main() {}
