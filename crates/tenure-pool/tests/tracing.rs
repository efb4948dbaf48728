//! Tracing output: lifecycle events name keys by their `Debug`, a stuck lease
//! is warned about once, and secrets stay out.
//!
//! Why a binary of its own, with one global subscriber: tracing caches, per
//! callsite and for the whole process, whether any subscriber wants its events.
//! A subscriber set for one thread (`set_default`) while sibling tests hit the
//! same callsites races that cache: a callsite first hit by another test while
//! no subscriber was alive is cached as uninteresting, and the capturing test
//! silently misses its events (issue 14's flake). Here the global subscriber is
//! installed before anything in this binary emits an event (every test starts
//! with [`Capture::start`], which blocks until it is installed) and is never
//! replaced, so the cache is computed once, against it. It routes each event to
//! the capture of the thread that emitted it; the tests here run the cache on a
//! current-thread runtime, so all of a test's events come from its own thread.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{
    cell::RefCell,
    fmt,
    io::Write,
    sync::{Arc, OnceLock},
    time::Duration,
};

use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, Owned};

type Buffer = Arc<parking_lot::Mutex<Vec<u8>>>;

thread_local! {
    /// Where events emitted on this thread go; `None`: nowhere.
    static CAPTURE: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

/// The events this test's thread emits, from [`Capture::start`] until drop.
struct Capture(Buffer);

impl Capture {
    /// Installs the binary's subscriber (once) and captures this thread's events.
    /// Call it before the test does anything that may emit an event.
    fn start() -> Self {
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

    fn output(&self) -> String {
        String::from_utf8(self.0.lock().clone()).unwrap()
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

/// A key that knows its secret must not be logged.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ApiKeyed {
    endpoint: &'static str,
    api_key: &'static str,
}

impl fmt::Debug for ApiKeyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyed")
            .field("endpoint", &self.endpoint)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// Every lifecycle event is traced with the key's own representation, a stuck
/// lease is warned about once, and the secret never appears.
#[tokio::test(start_paused = true)]
async fn tracing_names_keys_by_their_debug_and_warns_about_stuck_leases() {
    let capture = Capture::start();

    let log = Arc::new(Log::default());
    let cache = ClientCache::<ApiKeyed, Owned<Probe>>::builder()
        .drain_warning_after(Duration::from_secs(30))
        .build()
        .unwrap();
    let key = ApiKeyed {
        endpoint: "https://llm.example",
        api_key: "sk-live-SECRET",
    };
    let lease = cache.insert(key.clone(), Owned::new(Probe::new(1, &log))).unwrap();
    cache.invalidate(&key);
    tokio::time::sleep(Duration::from_secs(45)).await;
    drop(lease);
    settle().await;

    let output = capture.output();
    for event in [
        "entry inserted",
        "entry retired",
        "draining",
        "still leased",
        "closing",
        "entry closed",
    ] {
        assert!(output.contains(event), "no {event:?} event in:\n{output}");
    }
    assert_eq!(output.matches("still leased").count(), 1, "warned once");
    assert!(output.contains("llm.example"));
    assert!(!output.contains("SECRET"), "secret logged:\n{output}");
}

/// A capture holds the events of its own thread and none of another's, so
/// tests in this binary that capture at the same time cannot see each other's.
#[tokio::test]
async fn a_capture_holds_only_its_own_threads_events() {
    let capture = Capture::start();
    let log = Arc::new(Log::default());

    let other_log = Arc::clone(&log);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
            drop(
                cache
                    .insert("other-thread", Owned::new(Probe::new(2, &other_log)))
                    .unwrap(),
            );
        });
    })
    .join()
    .unwrap();
    let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
    drop(cache.insert("this-thread", Owned::new(Probe::new(1, &log))).unwrap());

    let output = capture.output();
    assert!(output.contains("\"this-thread\""), "own event missing:\n{output}");
    assert!(
        !output.contains("other-thread"),
        "another thread's event captured:\n{output}"
    );
}
