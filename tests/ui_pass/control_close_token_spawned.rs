// The positive control of tests/ui/close_token_spawned.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
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
        part.close(closing).await; // passing the token on to a part is how composites close
        tokio::spawn(async move {});
    }
}

fn main() {}
