//! A client cache whose entries are typed by ownership.
//!
//! [`ClientCache<K, E>`] caches expensive clients (connection pools, HTTP
//! clients, SDK clients) under a key, bounded by capacity and expiry, with
//! single-flight creation. Its entries are [`Owned<T>`] or [`Shared<T>`]
//! (from `tenure-core`, re-exported here), and the entry type decides what
//! retiring one does:
//!
//! - an `Owned<T>` is closed exactly once, after its last [`Lease`] is dropped
//!   (if no tokio runtime is left to run the close, it is dropped unclosed and
//!   counted in `closes_abandoned`);
//! - a `Shared<T>` is only dropped by the cache; whoever holds a clone keeps a
//!   working value. Calling a close on it does not compile.
//!
//! [`OwnedPool`] makes any deadpool pool an owned entry.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use tenure_pool::{ClientCache, Shared};
//!
//! #[derive(Debug)]
//! struct HttpClient { base: String }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let clients = ClientCache::<String, Shared<HttpClient>>::builder()
//!     .max_capacity(1)
//!     .time_to_live(Duration::from_secs(600))
//!     .build()?;
//! let a = clients.insert("a".into(), Shared::new(HttpClient { base: "https://a".into() }))?;
//! clients.insert("b".into(), Shared::new(HttpClient { base: "https://b".into() }))?; // evicts "a"
//! assert!(clients.get(&"a".to_string()).is_none());
//! assert_eq!(a.base, "https://a"); // whoever held "a" still has a working client
//! # Ok::<_, tenure_pool::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Eviction policy
//!
//! Expired entries go first. Otherwise the cache evicts by S3-FIFO, per shard: a
//! small FIFO admits new entries, entries read again graduate to a main FIFO with
//! up to three second chances, and a ghost list readmits recently evicted keys
//! to main; once main is full, a key gets there only if a frequency sketch has
//! seen it more often lately than main's next victim. Compared with LRU, a hit only bumps a counter (no list
//! surgery, and no write lock: lookups share their shard), and scans of one-off keys cannot flush the hot
//! clients: the benchmark in `docs/benchmarks.md` compares hit ratios with LRU,
//! moka and quick_cache.
//!
//! # Feature flags
//!
//! | Feature   | Default | What it enables |
//! |-----------|---------|-----------------|
//! | `metrics` | off     | Every cache publishes its [`CacheStats`] through the [`metrics`](https://docs.rs/metrics) facade, labelled `cache = <name>` ([`ClientCacheBuilder::name`]): counters `tenure_cache_hits_total`, `tenure_cache_misses_total`, `tenure_cache_inserts_total`, `tenure_cache_retirements_total` (label `cause`), `tenure_cache_closes_total`, `tenure_cache_closes_abandoned_total`, `tenure_cache_close_panics_total`, `tenure_cache_closes_taken_over_total`, `tenure_cache_refresh_failures_total`, `tenure_cache_refreshes_discarded_total`, `tenure_cache_inserts_refused_total`, `tenure_cache_listener_panics_total`; gauges `tenure_cache_draining`, `tenure_cache_entries`. The reaper publishes at every pass (at least once a second while it runs: from the cache's first insert or lookup on a tokio runtime with timers, as long as that runtime is driven); what happens after its last pass (a cache dropped, say) is not published; nothing is recorded on the hit path. |
//!
//! Building with `RUSTFLAGS="--cfg tenure_loom"` swaps its locks and the
//! entries' atomics for [loom](https://docs.rs/loom)'s, for model checking.
//!
//! # Supported Rust versions
//!
//! Rust 1.88 or newer (the workspace's `rust-version`).

mod builder;
mod cache;
mod cache_policy;
mod catch_unwind;
mod clock;
mod close_batch;
mod close_slot;
mod closer;
#[doc(hidden)]
pub mod config_file;
#[cfg(feature = "serde")]
#[doc(hidden)]
pub mod duration_text;
mod error;
mod expiry;
mod heartbeat;
mod log_key;
#[cfg(all(test, tenure_loom))]
mod loom_tests;
#[cfg(feature = "metrics")]
mod metrics;
mod owned_pool;
mod pool_guard;
mod read_counters;
mod reaper;
mod runtime_drivers;
mod runtime_scope;
mod shard;
mod shutdown;
mod single_flight;
mod stats;
mod sync;

pub use builder::ClientCacheBuilder;
pub use cache::{CacheKey, ClientCache};
pub use cache_policy::{CachePolicy, EvictionListener};
pub use error::{Error, ErrorKind, GetError};
pub use owned_pool::OwnedPool;
pub use pool_guard::PoolGuard;
pub use runtime_drivers::{MissingDriver, check_runtime_drivers};
pub use shutdown::{Pending, PendingState, Shutdown, ShutdownReport};
pub use stats::{CacheStats, Evictions, RemovalCause};
pub use tenure_core::{Close, Closing, Entry, EvictClose, Lease, Owned, Shared};

/// The deadpool crate, re-exported so [`OwnedPool`] users need no second dependency.
pub use deadpool;

pub(crate) use runtime_scope::Scope;
