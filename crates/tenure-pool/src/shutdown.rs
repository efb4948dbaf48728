use std::{
    fmt,
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use tenure_core::Entry;

use crate::{CacheStats, ClientCache, cache::CacheKey};

/// The future of [`ClientCache::shutdown`]; set a deadline before awaiting it.
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// # use tenure_pool::{ClientCache, Shared};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache = ClientCache::<u32, Shared<String>>::builder().build().unwrap();
/// let report = cache.shutdown().deadline(Duration::from_secs(5)).await;
/// assert!(report.is_complete());
/// # });
/// ```
#[must_use = "a shutdown does nothing until it is awaited"]
pub struct Shutdown<'a, K: CacheKey, E: Entry> {
    cache: &'a ClientCache<K, E>,
    deadline: Option<Duration>,
}

impl<'a, K: CacheKey, E: Entry> Shutdown<'a, K, E> {
    pub(crate) fn new(cache: &'a ClientCache<K, E>) -> Self {
        Self { cache, deadline: None }
    }

    /// Stops waiting for leases after `deadline`; the report lists what was still leased.
    ///
    /// Entries still leased are not force-closed: each closes when its last lease
    /// is dropped, as ever.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

impl<K: CacheKey, E: Entry> fmt::Debug for Shutdown<'_, K, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<'a, K: CacheKey, E: Entry> IntoFuture for Shutdown<'a, K, E> {
    type Output = ShutdownReport<K>;
    type IntoFuture = Pin<Box<dyn Future<Output = ShutdownReport<K>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let inner = &self.cache.inner;
            inner.begin_shutdown();
            let complete = match self.deadline {
                Some(deadline) => tokio::time::timeout(deadline, inner.drained()).await.is_ok(),
                None => {
                    inner.drained().await;
                    true
                }
            };
            let still_leased = if complete { Vec::new() } else { inner.still_leased() };
            if !still_leased.is_empty() {
                tracing::warn!(
                    entries = still_leased.len(),
                    "shutdown deadline passed with entries still leased"
                );
            }
            ShutdownReport {
                still_leased,
                stats: self.cache.stats(),
            }
        })
    }
}

/// What [`ClientCache::shutdown`] left behind.
#[non_exhaustive]
pub struct ShutdownReport<K> {
    /// Keys of retired owned entries whose leases had not all been dropped by the
    /// deadline. Each will still close when its last lease is dropped.
    pub still_leased: Vec<K>,
    /// The cache's counters when the shutdown returned.
    pub stats: CacheStats,
}

impl<K> ShutdownReport<K> {
    /// Whether every owned entry was closed before the shutdown returned.
    pub fn is_complete(&self) -> bool {
        self.still_leased.is_empty() && self.stats.draining == 0
    }
}

impl<K: fmt::Debug> fmt::Debug for ShutdownReport<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownReport")
            .field("still_leased", &self.still_leased)
            .field("stats", &self.stats)
            .finish()
    }
}
