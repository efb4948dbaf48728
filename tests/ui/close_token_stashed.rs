// Class 2: the `&Closing` a close receives cannot be kept for later: it borrows a
// value that lives only as long as the cache's close task.
// control: tests/ui_pass/control_close_token_stashed.rs
#![allow(unused_imports)]
use std::sync::Mutex;
use tenure::{Close, Closing};

static STASH: Mutex<Option<&'static Closing>> = Mutex::new(None);

struct Thief;

impl Close for Thief {
    async fn close(self, closing: &Closing) {
        *STASH.lock().unwrap() = Some(closing);
    }
}

fn main() {}
