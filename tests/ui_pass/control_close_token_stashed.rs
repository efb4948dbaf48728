// The positive control of tests/ui/close_token_stashed.rs: the same code with the refused
// line replaced by what is allowed. It must compile, so that the case fails for
// the reason it names and not another.
#![allow(dead_code, unused_imports, clippy::all)]
use std::sync::Mutex;
use tenure::{Close, Closing};

static STASH: Mutex<Option<&'static Closing>> = Mutex::new(None);

struct Thief;

impl Close for Thief {
    async fn close(self, closing: &Closing) {
        let _ = closing;
        let _ = STASH.lock().unwrap().is_some();
    }
}

fn main() {}
