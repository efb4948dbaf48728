//! A closeable test resource that records how often it was closed and whether
//! anybody was using it at that moment.

#![allow(dead_code, unreachable_pub)]

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use tenure_pool::{ClientCache, Close, Closing, Entry};

/// What every probe of one test reports to.
#[derive(Debug, Default)]
pub struct Log {
    pub closes: AtomicUsize,
}

/// A resource: usable until closed; closing twice is counted.
#[derive(Debug)]
pub struct Probe {
    pub id: u32,
    pub closes: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
    log: Arc<Log>,
}

impl Probe {
    pub fn new(id: u32, log: &Arc<Log>) -> Self {
        Self {
            id,
            closes: Arc::default(),
            closed: Arc::default(),
            log: Arc::clone(log),
        }
    }

    /// A view of this probe's close count that outlives it.
    pub fn watch(&self) -> Watch {
        Watch {
            closes: Arc::clone(&self.closes),
        }
    }

    /// What a client does: fails if it was closed under its user.
    pub fn request(&self) -> Result<u32, &'static str> {
        if self.closed.load(Ordering::SeqCst) {
            Err("closed under its user")
        } else {
            Ok(self.id)
        }
    }
}

impl Close for Probe {
    async fn close(self, _: &Closing) {
        self.closed.store(true, Ordering::SeqCst);
        self.closes.fetch_add(1, Ordering::SeqCst);
        self.log.closes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Watches one probe's closes after the probe has moved into the cache.
#[derive(Debug, Clone)]
pub struct Watch {
    closes: Arc<AtomicUsize>,
}

impl Watch {
    pub fn closes(&self) -> usize {
        self.closes.load(Ordering::SeqCst)
    }
}

/// A current-thread runtime with timers on tokio's paused clock, for tests
/// that drive several runtimes by hand (else `#[tokio::test(start_paused = true)]`).
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

/// Lets spawned close tasks run on a current-thread runtime.
pub async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// The control of a real-time expiry test: the cache serves a live entry, so
/// that "never served past its time-to-live" is not vacuous. Each of ten
/// attempts inserts a fresh key (100 and up, made by `entry`) and looks it up
/// at once; only a stall of a whole time-to-live between the two makes one
/// miss (no wall-clock bound), so one is served unless serving is broken.
/// Returns how many of the control's keys were retired as expired; every
/// other control key leaves as invalidated.
pub fn assert_serves_a_live_entry<E: Entry>(cache: &ClientCache<u32, E>, entry: impl Fn(u32) -> E) -> u64 {
    let expired_before = cache.stats().evictions.expired;
    let served = (100..110).any(|key| {
        drop(cache.insert(key, entry(key)).unwrap());
        let hit = cache.get(&key).is_some();
        cache.invalidate(&key);
        hit
    });
    assert!(served, "a live entry is never served");
    cache.stats().evictions.expired - expired_before
}
