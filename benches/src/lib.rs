//! Shared pieces of tenure's benchmarks: the value type, the workloads (fixed
//! seeds, so every run and every cache sees the same trace) and one adapter per
//! cache, so that each benchmark runs the same code against tenure's
//! `ClientCache`, moka (`sync` and `future`), quick_cache and a hand-written
//! `Mutex<lru::LruCache>`.
//!
//! Every cache is used as its users would use it: default hasher, default
//! features, values handed out as `Arc`-like handles (tenure's `Shared<T>` is an
//! `Arc<T>`), keys `u64`. See `docs/benchmarks.md` for what is measured and why.

use std::{
    future::Future,
    hint::black_box,
    num::NonZeroUsize,
    pin::pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll, Waker},
};

use tenure_pool::{ClientCache, Close, Closing, Owned, Shared};

pub mod retire;
pub mod single_flight;
pub mod workloads;

/// The key every cache is keyed by.
pub type Key = u64;

/// What a cached "client" is in these benchmarks: a small struct behind an `Arc`.
#[derive(Debug)]
pub struct Client {
    /// Which client this is.
    pub id: u64,
    /// Stands for a client's configuration and state (64 bytes).
    pub payload: [u64; 8],
}

impl Client {
    /// A new client handle.
    pub fn new(id: u64) -> Arc<Self> {
        Arc::new(Self { id, payload: [id; 8] })
    }
}

/// The value every cache stores: a shared handle to a client.
pub type Value = Arc<Client>;

/// An owned client for tenure's `Owned<T>` entries: closing it only counts.
#[derive(Debug)]
pub struct OwnedClient {
    /// Which client this is.
    pub id: u64,
    /// Same size as [`Client::payload`].
    pub payload: [u64; 8],
    /// Counts closes, for the retirement benchmark.
    pub closed: Option<Arc<std::sync::atomic::AtomicUsize>>,
}

impl OwnedClient {
    /// A new owned client.
    pub fn new(id: u64, closed: Option<Arc<std::sync::atomic::AtomicUsize>>) -> Self {
        Self {
            id,
            payload: [id; 8],
            closed,
        }
    }
}

impl OwnedClient {
    /// What closing it does (counts); also what the hand-written baseline of the
    /// retirement benchmark spawns, since only tenure can call `Close::close`.
    pub async fn shut_down(self) {
        if let Some(closed) = &self.closed {
            closed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        black_box(self);
    }
}

impl Close for OwnedClient {
    async fn close(self, _: &Closing) {
        self.shut_down().await;
    }
}

/// Runs a future that is expected to complete without waiting on I/O (moka's
/// `future::Cache` lookups and inserts): polls it with a no-op waker, spinning
/// if it is ever pending on a lock held by another thread.
pub fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::hint::spin_loop();
    }
}

/// One cache under test, behind the operations the workloads need.
pub trait BenchCache: Send + Sync + 'static {
    /// The name in tables.
    const NAME: &'static str;
    /// A cache holding at most `capacity` entries.
    fn with_capacity(capacity: u64) -> Self;
    /// Looks `key` up; the handle is taken and dropped. Returns whether it hit.
    fn get(&self, key: &Key) -> bool;
    /// Inserts (or replaces) `key`.
    fn insert(&self, key: Key, value: &Value);
    /// Entries held now (after any pending maintenance).
    fn len(&self) -> usize;
    /// Whether the cache holds nothing.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// tenure's `ClientCache` with `Shared` entries (a hit clones an `Arc`).
#[derive(Debug)]
pub struct TenureShared(pub ClientCache<Key, Shared<Client>>);

impl BenchCache for TenureShared {
    const NAME: &'static str = "tenure";

    fn with_capacity(capacity: u64) -> Self {
        Self(
            ClientCache::builder()
                .max_capacity(capacity)
                .build()
                .expect("valid capacity"),
        )
    }

    #[inline]
    fn get(&self, key: &Key) -> bool {
        black_box(self.0.get(key)).is_some()
    }

    #[inline]
    fn insert(&self, key: Key, value: &Value) {
        drop(black_box(self.0.insert(key, Shared::from_arc(Arc::clone(value)))));
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// tenure's `ClientCache` with `Owned` entries (a hit takes a lease).
#[derive(Debug)]
pub struct TenureOwned(pub ClientCache<Key, Owned<OwnedClient>>);

impl TenureOwned {
    /// A cache of owned clients holding at most `capacity` entries.
    pub fn with_capacity(capacity: u64) -> Self {
        Self(
            ClientCache::builder()
                .max_capacity(capacity)
                .build()
                .expect("valid capacity"),
        )
    }

    /// The same, with refresh ahead set (`refresh_after` 9 minutes of the default
    /// 10-minute time-to-live), for the hits that do not trigger a refresh.
    pub fn with_refresh(capacity: u64) -> Self {
        Self(
            ClientCache::builder()
                .max_capacity(capacity)
                .refresh_after(std::time::Duration::from_secs(540), |key: &Key| {
                    let key = *key;
                    async move { Ok::<_, std::convert::Infallible>(Owned::new(OwnedClient::new(key, None))) }
                })
                .build()
                .expect("valid settings"),
        )
    }

    /// Looks `key` up; the lease is taken and dropped.
    #[inline]
    pub fn get(&self, key: &Key) -> bool {
        black_box(self.0.get(key)).is_some()
    }

    /// Inserts a new owned client under `key`.
    pub fn insert(&self, key: Key) {
        drop(black_box(self.0.insert(key, Owned::new(OwnedClient::new(key, None)))));
    }
}

/// moka's `sync::Cache` (defaults: SipHash, TinyLFU admission, LRU eviction).
#[derive(Debug)]
pub struct MokaSync(pub moka::sync::Cache<Key, Value>);

impl BenchCache for MokaSync {
    const NAME: &'static str = "moka::sync";

    fn with_capacity(capacity: u64) -> Self {
        Self(moka::sync::Cache::new(capacity))
    }

    #[inline]
    fn get(&self, key: &Key) -> bool {
        black_box(self.0.get(key)).is_some()
    }

    #[inline]
    fn insert(&self, key: Key, value: &Value) {
        self.0.insert(key, Arc::clone(value));
    }

    fn len(&self) -> usize {
        self.0.run_pending_tasks();
        usize::try_from(self.0.entry_count()).unwrap_or(usize::MAX)
    }
}

/// moka's `future::Cache`; its `async` operations are polled to completion in place.
#[derive(Debug)]
pub struct MokaFuture(pub moka::future::Cache<Key, Value>);

impl BenchCache for MokaFuture {
    const NAME: &'static str = "moka::future";

    fn with_capacity(capacity: u64) -> Self {
        Self(moka::future::Cache::new(capacity))
    }

    #[inline]
    fn get(&self, key: &Key) -> bool {
        black_box(run_ready(self.0.get(key))).is_some()
    }

    #[inline]
    fn insert(&self, key: Key, value: &Value) {
        run_ready(self.0.insert(key, Arc::clone(value)));
    }

    fn len(&self) -> usize {
        run_ready(self.0.run_pending_tasks());
        usize::try_from(self.0.entry_count()).unwrap_or(usize::MAX)
    }
}

/// quick_cache's `sync::Cache` (defaults: foldhash, CLOCK-Pro-like policy, sharded).
#[derive(Debug)]
pub struct QuickCache(pub quick_cache::sync::Cache<Key, Value>);

impl BenchCache for QuickCache {
    const NAME: &'static str = "quick_cache";

    fn with_capacity(capacity: u64) -> Self {
        Self(quick_cache::sync::Cache::new(
            usize::try_from(capacity).expect("capacity fits in usize"),
        ))
    }

    #[inline]
    fn get(&self, key: &Key) -> bool {
        black_box(self.0.get(key)).is_some()
    }

    #[inline]
    fn insert(&self, key: Key, value: &Value) {
        self.0.insert(key, Arc::clone(value));
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// What a user writes by hand: `std::sync::Mutex<lru::LruCache>` (hashbrown's default hasher).
#[derive(Debug)]
pub struct MutexLru(pub Mutex<lru::LruCache<Key, Value>>);

impl BenchCache for MutexLru {
    const NAME: &'static str = "Mutex<LruCache>";

    fn with_capacity(capacity: u64) -> Self {
        let capacity = NonZeroUsize::new(usize::try_from(capacity).expect("capacity fits in usize"))
            .expect("capacity is at least 1");
        Self(Mutex::new(lru::LruCache::new(capacity)))
    }

    #[inline]
    fn get(&self, key: &Key) -> bool {
        let value = self.0.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned();
        black_box(value).is_some()
    }

    #[inline]
    fn insert(&self, key: Key, value: &Value) {
        drop(
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(key, Arc::clone(value)),
        );
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// SplitMix64: a tiny, seedable generator, so traces are the same everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Zipf(`s`) over ranks `0..n` (rank 0 the most popular), by inverse CDF.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` keys with exponent `s`.
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 1..=n {
            total += 1.0 / (rank as f64).powf(s);
            cdf.push(total);
        }
        for p in &mut cdf {
            *p /= total;
        }
        Self { cdf }
    }

    /// A rank drawn with `rng`.
    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        let u = rng.next_f64();
        let rank = self.cdf.partition_point(|&p| p < u).min(self.cdf.len() - 1);
        rank as u64
    }
}

/// One operation of the churn workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// The key.
    pub key: Key,
    /// `true`: insert (put); `false`: get, and insert on a miss.
    pub insert: bool,
}

/// Churn workload parameters from the issue.
pub mod churn {
    /// Cache capacity.
    pub const CAPACITY: u64 = 200;
    /// Distinct keys.
    pub const KEYS: usize = 10_000;
    /// Zipf exponent.
    pub const EXPONENT: f64 = 1.0;
    /// Share of operations that are inserts.
    pub const INSERT_SHARE: f64 = 0.10;
    /// Seed of the trace.
    pub const SEED: u64 = 0x7E4E_0001;
}

/// The churn trace: `len` operations, keys Zipf-distributed, `insert_share` of them puts.
///
/// Ranks are scattered over the key space (rank r is key `r * 7919 mod n` plus a
/// salt) so that the hot keys are not the small integers.
pub fn churn_trace(len: usize, seed: u64) -> Vec<Op> {
    let zipf = Zipf::new(churn::KEYS, churn::EXPONENT);
    let mut rng = SplitMix64::new(seed);
    (0..len)
        .map(|_| {
            let rank = zipf.sample(&mut rng);
            let key = (rank * 7919) % churn::KEYS as u64 + 1_000_000;
            let insert = rng.next_f64() < churn::INSERT_SHARE;
            Op { key, insert }
        })
        .collect()
}

/// One churn operation against `cache`; returns `Some(hit)` for a get, `None` for a put.
#[inline]
pub fn churn_step<C: BenchCache>(cache: &C, op: Op, value: &Value) -> Option<bool> {
    if op.insert {
        cache.insert(op.key, value);
        None
    } else {
        let hit = cache.get(&op.key);
        if !hit {
            cache.insert(op.key, value);
        }
        Some(hit)
    }
}

/// Hits and gets of a whole churn trace, counting only after the first `warmup` operations.
pub fn churn_hit_ratio<C: BenchCache>(cache: &C, trace: &[Op], warmup: usize) -> (u64, u64) {
    let value = Client::new(0);
    let (mut hits, mut gets) = (0, 0);
    for (i, &op) in trace.iter().enumerate() {
        if let Some(hit) = churn_step(cache, op, &value)
            && i >= warmup
        {
            gets += 1;
            hits += u64::from(hit);
        }
    }
    (hits, gets)
}

/// A cache of `capacity` holding every key of `keys` (each with its own
/// `Client`), checked to find each one: the hit-path and read-heavy benchmarks
/// measure hits only.
pub fn filled<C: BenchCache>(keys: &[Key], capacity: u64) -> C {
    let cache = C::with_capacity(capacity);
    for &key in keys {
        cache.insert(key, &Client::new(key));
    }
    assert_eq!(cache.len(), keys.len(), "{}: every key present", C::NAME);
    for key in keys {
        assert!(cache.get(key), "{}: present", C::NAME);
    }
    cache
}

/// `n` keys for the hit-path and read-heavy benchmarks (scattered, not 0..n).
pub fn present_keys(n: usize) -> Vec<Key> {
    (0..n as u64).map(|i| i.wrapping_mul(0x9E37_79B9) ^ 0x5555).collect()
}

/// A lookup sequence over `keys`, uniform, from `seed`; its length is a power of two.
pub fn lookup_sequence(keys: &[Key], len_pow2: usize, seed: u64) -> Vec<Key> {
    assert!(len_pow2.is_power_of_two());
    let mut rng = SplitMix64::new(seed);
    (0..len_pow2)
        .map(|_| keys[rng.below(keys.len() as u64) as usize])
        .collect()
}

/// A runtime for caches that need one (tenure's reaper and closes).
pub fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Median and spread of a sample: (median, min, max).
pub fn median_min_max(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

/// "**median** (min – max)" of `a[i] / b[i]`: ratios paired round by round.
pub fn paired(a: &[f64], b: &[f64]) -> String {
    let mut ratios: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
    let (median, min, max) = median_min_max(&mut ratios);
    format!("**{median:.2}** ({min:.2} – {max:.2})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_is_skewed_and_reproducible() {
        let a = churn_trace(10_000, churn::SEED);
        let b = churn_trace(10_000, churn::SEED);
        assert_eq!(a, b);
        let hot = a.iter().filter(|op| op.key == 1_000_000).count();
        // Rank 0 of Zipf(1.0) over 10,000 keys has probability 1/H(10000) ~ 0.102.
        assert!((800..1300).contains(&hot), "{hot}");
        let inserts = a.iter().filter(|op| op.insert).count();
        assert!((800..1200).contains(&inserts), "{inserts}");
    }
}
