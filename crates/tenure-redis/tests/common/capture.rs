//! Captures everything a test binary logs through `tracing`, at every level,
//! on any thread. Include with `#[path = "common/capture.rs"] mod capture;`.

#![allow(dead_code, unreachable_pub)]

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

/// Everything any test in this binary logs through `tracing`, at every level.
///
/// One global subscriber, installed by the first call and never replaced: a
/// per-thread subscriber (`set_default`) would race tracing's process-wide
/// per-callsite interest cache with sibling tests and miss events. The cache is
/// only computed against this subscriber if nothing in the binary emits an
/// event before it is installed, so **every test of a binary that uses it calls `captured()`
/// first** (a concurrent caller blocks until it is installed). The buffer is
/// shared on purpose: the redaction check covers what every test logged, on
/// any thread.
pub fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buf);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&writer)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
