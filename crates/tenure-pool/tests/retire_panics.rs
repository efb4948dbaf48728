//! User code that panics while the cache lets go of entries: a key's or a
//! shared value's `Drop`, a key's `Debug` in a log line. A batch of
//! retirements (`invalidate_all`, `shutdown`, a reaper pass, the cache's drop)
//! retires every entry of every shard all the same and then resumes the first
//! panic (a reaper pass logs it and goes on); a close's accounting is never cut
//! short by a log line.
//!
//! Each test runs its cache on a current-thread runtime on its own thread, and
//! marks what panics per value, so the tests run side by side.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::{
    fmt,
    future::IntoFuture,
    hash::{Hash, Hasher},
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use support::paused_runtime;
use tenure_pool::{ClientCache, Close, Closing, Owned, Shared};

/// More than one shard's worth (shards hold at least 256 entries each), so a
/// batch crosses shards.
const ENTRIES: u32 = 2_000;

/// The text of a caught panic.
fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast::<&str>()
            .map_or_else(|_| "?".to_owned(), |text| (*text).to_owned()),
    }
}

/// A value whose `Drop` counts, and panics if asked.
#[derive(Debug)]
struct Value {
    panics: bool,
    dropped: Arc<AtomicUsize>,
}

/// A shared value whose `Drop` adds to `dropped`, and panics if `panics`.
fn shared(panics: bool, dropped: &Arc<AtomicUsize>) -> Shared<Value> {
    Shared::new(Value {
        panics,
        dropped: Arc::clone(dropped),
    })
}

impl Drop for Value {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
        assert!(!self.panics, "this value's Drop panics (as the test asked)");
    }
}

/// A key whose `Debug` panics if asked, and whose `Drop` panics once the
/// shared flag is armed (the first drop of any of its clones after that).
#[derive(Clone)]
struct Key {
    id: u32,
    drop_panics: Option<Arc<AtomicBool>>,
    debug_panics: bool,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        assert!(!self.debug_panics, "this key's Debug panics (as the test asked)");
        write!(f, "Key({})", self.id)
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if let Some(armed) = &self.drop_panics
            && armed.swap(false, Ordering::SeqCst)
        {
            panic!("this key's Drop panics (as the test asked)");
        }
    }
}

/// Closes count; the close of a marked resource panics.
#[derive(Debug)]
struct Resource {
    close_panics: bool,
    closed: Arc<AtomicUsize>,
}

impl Close for Resource {
    async fn close(self, _: &Closing) {
        self.closed.fetch_add(1, Ordering::SeqCst);
        assert!(!self.close_panics, "this close panics (as the test asked)");
    }
}

fn owned(closed: &Arc<AtomicUsize>, close_panics: bool) -> Owned<Resource> {
    Owned::new(Resource {
        close_panics,
        closed: Arc::clone(closed),
    })
}

#[test]
fn a_shared_value_whose_drop_panics_does_not_stop_invalidate_all_or_shutdown() {
    for how in ["invalidate_all", "shutdown", "drop"] {
        let dropped = Arc::new(AtomicUsize::new(0));
        let cache = ClientCache::<u32, Shared<Value>>::builder()
            .max_capacity(4_096)
            .build()
            .unwrap();
        let rt = paused_runtime();
        rt.block_on(async {
            for id in 0..ENTRIES {
                drop(cache.insert(id, shared(id == 7, &dropped)).unwrap());
            }
        });
        // The first element runs first: `len` is read after the call (not
        // at all once the cache is dropped: every value's drop shows it then).
        let (outcome, left) = match how {
            "invalidate_all" => (
                catch_unwind(AssertUnwindSafe(|| cache.invalidate_all())),
                Some(cache.len()),
            ),
            "shutdown" => (
                catch_unwind(AssertUnwindSafe(|| drop(rt.block_on(cache.shutdown().into_future())))),
                Some(cache.len()),
            ),
            _ => (catch_unwind(AssertUnwindSafe(move || drop(cache))), None),
        };
        let message = message(outcome.unwrap_err());
        assert!(message.contains("this value's Drop panics"), "{how}: {message}");
        if let Some(left) = left {
            assert_eq!(left, 0, "{how}: every shard emptied");
        }
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            ENTRIES as usize,
            "{how}: every value let go of"
        );
    }
}

#[test]
fn a_key_whose_drop_panics_does_not_keep_owned_entries_from_closing_at_shutdown() {
    let closed = Arc::new(AtomicUsize::new(0));
    let cache = ClientCache::<Key, Owned<Resource>>::builder()
        .max_capacity(4_096)
        .build()
        .unwrap();
    let rt = paused_runtime();
    let armed = Arc::new(AtomicBool::new(false));
    rt.block_on(async {
        for id in 0..ENTRIES {
            let key = Key {
                id,
                drop_panics: (id == 11).then(|| Arc::clone(&armed)),
                debug_panics: false,
            };
            drop(cache.insert(key, owned(&closed, false)).unwrap());
        }
    });
    // The next drop of key 11 (or of a clone of it) panics: the cache's, at shutdown.
    armed.store(true, Ordering::SeqCst);
    let first = catch_unwind(AssertUnwindSafe(|| rt.block_on(cache.shutdown().into_future())));
    let message = message(first.unwrap_err());
    assert!(message.contains("this key's Drop panics"), "{message}");
    assert_eq!(cache.len(), 0, "every shard emptied");
    // The closes were started all the same; a second shutdown waits for them.
    let report = rt.block_on(cache.shutdown().deadline(Duration::from_secs(60)).into_future());
    assert!(report.is_complete(), "{report:?}");
    let stats = cache.stats();
    assert!(!armed.load(Ordering::SeqCst), "the key's Drop did panic");
    assert_eq!(closed.load(Ordering::SeqCst), ENTRIES as usize);
    assert_eq!(
        (stats.closes, stats.inserts, stats.draining),
        (u64::from(ENTRIES), u64::from(ENTRIES), 0)
    );
}

#[test]
fn a_key_whose_debug_panics_in_a_close_log_line_leaves_nothing_draining() {
    let capture = capture::Capture::start();
    let closed = Arc::new(AtomicUsize::new(0));
    let cache = ClientCache::<Key, Owned<Resource>>::builder().build().unwrap();
    let rt = paused_runtime();
    rt.block_on(async {
        let key = Key {
            id: 1,
            drop_panics: None,
            debug_panics: true,
        };
        // The insert's own debug line formats the key: no panic comes out of it.
        drop(cache.insert(key.clone(), owned(&closed, true)).unwrap());
        cache.invalidate(&key);
        let report = cache.shutdown().deadline(Duration::from_secs(60)).await;
        assert!(report.is_complete(), "{report:?}");
    });
    let stats = cache.stats();
    assert_eq!(closed.load(Ordering::SeqCst), 1);
    assert_eq!((stats.close_panics, stats.draining), (1, 0));
    let output = capture.output();
    assert!(output.contains("<the key's Debug panicked>"), "{output}");
    assert!(output.contains("closing the entry panicked"), "{output}");
}

/// A reaper pass has no caller to resume a panic to: a shared value's `Drop`
/// (or a key's) that panics as the reaper retires an expired entry is logged,
/// and the reaper goes on. Entries that expire later are retired (and owned
/// ones closed) with no traffic at all; before, the panic ended the reaper and
/// nothing expired was retired or closed again until the next lookup.
#[test]
fn a_panic_in_a_reaper_pass_is_logged_and_the_reaper_goes_on() {
    let capture = capture::Capture::start();
    let dropped = Arc::new(AtomicUsize::new(0));
    let shared_cache = ClientCache::<u32, Shared<Value>>::builder()
        .time_to_live(Duration::from_millis(100))
        .build()
        .unwrap();
    let closed = Arc::new(AtomicUsize::new(0));
    let armed = Arc::new(AtomicBool::new(false));
    let owned_cache = ClientCache::<Key, Owned<Resource>>::builder()
        .time_to_live(Duration::from_millis(100))
        .build()
        .unwrap();
    let rt = paused_runtime();
    rt.block_on(async {
        let key = |id, drop_panics: Option<&Arc<AtomicBool>>| Key {
            id,
            drop_panics: drop_panics.cloned(),
            debug_panics: false,
        };
        drop(shared_cache.insert(1, shared(true, &dropped)).unwrap());
        drop(owned_cache.insert(key(1, Some(&armed)), owned(&closed, false)).unwrap());
        // The next drop of key 1 panics: the cache's, when the reaper retires it.
        armed.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(shared_cache.insert(2, shared(false, &dropped)).unwrap());
        drop(owned_cache.insert(key(2, None), owned(&closed, false)).unwrap());
        // Entry 1 expires at 100 ms (its reaper pass panics), entry 2 at 150 ms;
        // nothing looks either cache up after this.
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    assert!(!armed.load(Ordering::SeqCst), "the key's Drop did panic");
    assert_eq!((shared_cache.len(), dropped.load(Ordering::SeqCst)), (0, 2));
    assert_eq!((owned_cache.len(), closed.load(Ordering::SeqCst)), (0, 2));
    let stats = owned_cache.stats();
    assert_eq!((stats.evictions.expired, stats.closes, stats.draining), (2, 2, 0));
    let output = capture.output();
    assert_eq!(
        output
            .matches("panicked as the reaper let go of an expired entry")
            .count(),
        2,
        "one error per pass that panicked, in each cache: {output}"
    );
}

/// An insert that displaces an entry (here: replaces it) whose value's `Drop`
/// panics: the panic goes on through `insert`, after the new entry is in.
#[test]
fn an_insert_whose_displaced_value_panics_in_drop_leaves_the_new_entry_in() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let cache = ClientCache::<u32, Shared<Value>>::builder().build().unwrap();
    let rt = paused_runtime();
    rt.block_on(async {
        drop(cache.insert(1, shared(true, &dropped)).unwrap());
        let replaced = catch_unwind(AssertUnwindSafe(|| cache.insert(1, shared(false, &dropped))));
        let message = message(replaced.unwrap_err());
        assert!(message.contains("this value's Drop panics"), "{message}");
        let now = cache.get(&1).expect("the new entry is in");
        assert!(!now.panics);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the displaced value, once");
}
