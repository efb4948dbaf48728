//! Log output of closes and shutdown: a close that runs too long is warned about
//! by key, a shutdown that gives up names what is left, and keys are bounded.
//!
//! A binary of its own with one global subscriber, installed before any event
//! (see `support/capture.rs`), so captures cannot race sibling tests.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use capture::Capture;
use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, Close, Closing, Owned};

/// The one line of `output` that contains `text`: the event was logged once.
fn the_one_line<'a>(output: &'a str, text: &str) -> &'a str {
    let lines: Vec<_> = output.lines().filter(|line| line.contains(text)).collect();
    assert_eq!(lines.len(), 1, "{text:?} logged once:\n{output}");
    lines[0]
}

/// A close that never finishes.
struct Hangs(Arc<AtomicUsize>);

impl Close for Hangs {
    async fn close(self, _: &Closing) {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }
}

/// A close running longer than `drain_warning_after` is warned about once, by
/// key; the shutdown that gives up on it names it and says it is closing.
#[tokio::test(start_paused = true)]
async fn a_close_running_too_long_is_warned_about_by_key() {
    let capture = Capture::start();
    let started = Arc::new(AtomicUsize::new(0));
    let cache = ClientCache::<&str, Owned<Hangs>>::builder()
        .drain_warning_after(Duration::from_secs(10))
        .build()
        .unwrap();
    drop(
        cache
            .insert("never-closes", Owned::new(Hangs(Arc::clone(&started))))
            .unwrap(),
    );
    cache.invalidate(&"never-closes");
    settle().await;
    assert_eq!(started.load(Ordering::SeqCst), 1);

    let report = cache.shutdown().deadline(Duration::from_secs(30)).await;
    assert!(!report.is_complete());

    let output = capture.output();
    let long_running = the_one_line(&output, "has been running a long time");
    assert!(long_running.contains("WARN") && long_running.contains("\"never-closes\""));
    let at_deadline = the_one_line(&output, "not closed at the shutdown deadline");
    assert!(
        at_deadline.contains("\"never-closes\"") && at_deadline.contains("closing for 30s"),
        "{output}"
    );
    assert!(output.contains("shutdown deadline passed with entries not yet closed"));
}

/// A 1 MiB key is logged in well under 1 KiB, on insert and on retire: cut at
/// 256 bytes of its `Debug`, marked with its full length.
#[tokio::test]
async fn a_huge_key_is_logged_cut_to_a_bounded_length() {
    let capture = Capture::start();
    let log = Arc::new(Log::default());
    let cache = ClientCache::<String, Owned<Probe>>::builder().build().unwrap();
    let key = "k".repeat(1 << 20);
    let lease = cache.insert(key.clone(), Owned::new(Probe::new(1, &log))).unwrap();
    cache.invalidate(&key);
    drop(lease);
    settle().await;
    assert_eq!(log.closes.load(Ordering::SeqCst), 1);

    let output = capture.output();
    let marker = format!("…({} bytes)", (1 << 20) + 2); // the key's Debug has quotes
    for event in [
        "entry inserted",
        "entry retired",
        "draining",
        "last lease returned",
        "entry closed",
    ] {
        let line = output
            .lines()
            .find(|line| line.contains(event))
            .unwrap_or_else(|| panic!("no {event:?} event in:\n{output}"));
        assert!(line.len() < 1024, "{event:?} logged in {} bytes", line.len());
        assert!(line.contains(&marker), "{event:?} has no length marker: {line}");
    }
    assert!(output.len() < 8 * 1024, "{} bytes logged in all", output.len());
}

/// A resource whose init, refresh and close each log a line of their own.
struct Chatty;

impl Close for Chatty {
    async fn close(self, _: &Closing) {
        tracing::info!("chatty says goodbye");
    }
}

/// Init, refresh and close run inside spans that name the cache and the key
/// (bounded), so what a client logs while being built or closed is attributable.
#[tokio::test(start_paused = true)]
async fn lifecycle_work_runs_in_spans_naming_the_cache_and_the_key() {
    let capture = Capture::start();
    let cache = ClientCache::<String, Owned<Chatty>>::builder()
        .name("llm-proxy-pools")
        .time_to_live(Duration::from_secs(10))
        .refresh_after(Duration::from_secs(5), |_key: &String| async {
            tracing::info!("chatty is rebuilt");
            Ok::<_, std::io::Error>(Owned::new(Chatty))
        })
        .build()
        .unwrap();
    let lease = cache
        .get_or_try_insert_with("eu-west".to_owned(), || async {
            tracing::info!("chatty is built");
            Ok::<_, std::io::Error>(Owned::new(Chatty))
        })
        .await
        .unwrap();
    drop(lease);
    tokio::time::advance(Duration::from_secs(6)).await;
    drop(cache.get(&"eu-west".to_owned()).unwrap()); // starts the refresh
    tokio::time::sleep(Duration::from_millis(5)).await; // past the tick it waits
    settle().await;
    cache.shutdown().await;

    let output = capture.output();
    for (span, event) in [
        ("tenure.init", "chatty is built"),
        ("tenure.refresh", "chatty is rebuilt"),
        ("tenure.close", "chatty says goodbye"),
    ] {
        let line = output
            .lines()
            .find(|line| line.contains(event))
            .unwrap_or_else(|| panic!("no {event:?} event in:\n{output}"));
        assert!(
            line.contains(&format!("{span}{{cache=llm-proxy-pools key=\"eu-west\"}}")),
            "{event:?} is not inside {span} naming the cache and key: {line}"
        );
    }
}

/// A close whose runtime shut down before the last lease was dropped cannot
/// run: besides `closes_abandoned` (counted in `lifecycle.rs`), it is warned
/// about once, by key, on the thread that dropped the last lease.
#[test]
fn a_close_with_no_runtime_left_is_warned_about_by_key() {
    let capture = Capture::start();
    let log = Arc::new(Log::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (cache, lease) = runtime.block_on(async {
        let cache = ClientCache::<&str, Owned<Probe>>::builder().build().unwrap();
        let lease = cache.insert("orphaned", Owned::new(Probe::new(1, &log))).unwrap();
        cache.invalidate(&"orphaned");
        (cache, lease)
    });
    drop(runtime);
    drop(lease);
    assert_eq!(cache.stats().closes_abandoned, 1);

    let output = capture.output();
    let warned = the_one_line(&output, "could not run; the value was dropped without closing");
    assert!(warned.contains("WARN") && warned.contains("\"orphaned\""), "{output}");
}
