//! Captures tracing output without racing sibling tests (see `tracing.rs` for why):
//! one global subscriber per test binary, installed before any event, routing each
//! event to the capture of the thread that emitted it. Tests that capture run the
//! cache on a current-thread runtime, so all of a test's events come from its thread.
//!
//! Include with `#[path = "support/capture.rs"] mod capture;` in a binary of its own.

#![allow(dead_code, unreachable_pub)]

use std::{
    cell::RefCell,
    io::Write,
    sync::{Arc, OnceLock},
};

type Buffer = Arc<parking_lot::Mutex<Vec<u8>>>;

thread_local! {
    /// Where events emitted on this thread go; `None`: nowhere.
    static CAPTURE: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

/// The events this test's thread emits, from [`Capture::start`] until drop.
pub struct Capture(Buffer);

impl Capture {
    /// Installs the binary's subscriber (once) and captures this thread's events.
    /// Call it before the test does anything that may emit an event.
    pub fn start() -> Self {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("this binary installs its only subscriber once, here");
        });
        let buffer = Buffer::default();
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(Arc::clone(&buffer)));
        Self(buffer)
    }

    pub fn output(&self) -> String {
        String::from_utf8(self.0.lock().clone()).expect("tracing output is UTF-8")
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = CAPTURE.try_with(|capture| capture.borrow_mut().take());
    }
}

/// Appends to the emitting thread's capture, if it has one.
struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let _ = CAPTURE.try_with(|capture| {
            if let Some(buffer) = &*capture.borrow() {
                buffer.lock().extend_from_slice(data);
            }
        });
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
