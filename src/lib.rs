//! A client cache for library authors whose entries are typed by ownership.
//!
//! [`Owned<T>`] entries (pools the cache created) are closed exactly once, after
//! the last [`Lease`] is dropped (or, if no tokio runtime is left to run the
//! close, dropped unclosed and counted); [`Shared<T>`] entries (clients other
//! code holds) are never closed by the cache. A [`Close`] runs only inside a
//! close a cache runs for a retired owned entry: calling a close on a shared
//! client through tenure does not compile. (The token decides who calls a
//! close, not which value: a value of a `Close` type whose clones share state
//! is closed, clones and all, by any cache it is inserted into as `Owned`; see
//! [`Closing`].)
//!
//! # Examples
//!
//! ```
//! use tenure::{ClientCache, Close, Closing, Owned};
//!
//! struct RedisPool;
//! impl Close for RedisPool {
//!     async fn close(self, _: &Closing) { /* close the connections */ }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let pools = ClientCache::<String, Owned<RedisPool>>::builder().build()?;
//! let pool = pools
//!     .get_or_try_insert_with("redis://cache-1".to_string(), || async {
//!         Ok::<_, std::io::Error>(Owned::new(RedisPool))
//!     })
//!     .await?;
//! pools.invalidate(&"redis://cache-1".to_string()); // retired: no new leases ...
//! drop(pool);                                        // ... and closed after the last one
//! pools.shutdown().await;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # The crates
//!
//! | crate | what it holds |
//! |---|---|
//! | `tenure-core` | [`Close`], [`Closing`], [`Owned`], [`Shared`], [`Lease`], [`EvictClose`], [`Entry`] |
//! | `tenure-pool` | [`ClientCache`] and its builder, stats and shutdown; [`CachePolicy`], the settings every cache's builder records; [`OwnedPool`] for deadpool |
//! | `tenure-http` | cached hyper clients (feature `http`, as `tenure::http`) |
//! | `tenure-redis` | cached deadpool-redis pools (feature `redis`, as `tenure::redis`) |
//! | `tenure-test-support` | test servers, unpublished (feature `test-util`, as `tenure::test_util`) |
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `http` | no | `tenure::http`: `HttpClients`, `HttpClient`, `HttpClientConfig` |
//! | `reqwest` | no | `tenure::http::ReqwestClients`: cached `reqwest::Client`s from the same config (turns on `http`) |
//! | `redis` | no | `tenure::redis`: `RedisClients`, `RedisConfig` |
//! | `cluster` | no | Redis Cluster pools in `tenure::redis` (turns on `redis`) |
//! | `sentinel` | no | Redis Sentinel pools in `tenure::redis` (turns on `redis`) |
//! | `metrics` | no | every cache publishes its stats through the `metrics` facade, labelled by its name |
//! | `serde` | no | `Deserialize` for `tenure::http::HttpClientConfig` and `tenure::redis::RedisConfig` (configs from files; secrets stay redacted) |
//! | `full` | no | every adapter and feature, with every Redis topology |
//! | `test-util` | no | `tenure::test_util`: test servers (an in-process HTTP server counting connections, private `redis-server`, Cluster and Sentinel processes, test certificates); for tests and examples, not production; not part of `full` |
//!
//! # Guides
//!
//! The package ships four guides in its `docs/` directory, next to the README:
//! `design.md` (the model: who owns what, the life of an entry, where closes
//! run, and why), `incident.md` (each failure of the incident that tenure was
//! built after, next to the guarantee that rules it out and the test that
//! proves it), `adopting.md` (porting a client cache, moka or hand-written,
//! step by step) and `benchmarks.md`. The examples are in `examples/`; the main
//! one replays the incident:
//! `cargo run --release --example incident --features full`.
//!
//! # Supported Rust versions
//!
//! Rust 1.88 or newer (the workspace's `rust-version`).

// Feature badges on docs.rs, which builds with `--cfg docsrs` on nightly.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use tenure_core::{Close, Closing, Entry, EvictClose, Lease, Owned, Shared};
pub use tenure_pool::{
    CacheKey, CachePolicy, CacheStats, ClientCache, ClientCacheBuilder, Error, ErrorKind, EvictionListener, Evictions,
    GetError, MissingDriver, OwnedPool, Pending, PendingState, PoolGuard, RemovalCause, Shutdown, ShutdownReport,
    check_runtime_drivers, deadpool,
};

/// Cached hyper HTTP clients: the `tenure-http` crate.
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use tenure_http as http;

/// Cached deadpool-redis pools: the `tenure-redis` crate.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use tenure_redis as redis;

/// Test servers for tests and examples, **not for production**: the
/// `tenure-test-support` crate.
///
/// [`CountingServer`](test_util::CountingServer) is an in-process HTTP server
/// that counts the connections it accepts; [`RedisServer`](test_util::RedisServer),
/// [`RedisCluster`](test_util::RedisCluster) and
/// [`RedisSentinels`](test_util::RedisSentinels) run private `redis-server`
/// processes on free loopback ports and kill them when dropped;
/// [`TestCertificates`](test_util::TestCertificates) is a fresh test CA and a
/// server certificate for `127.0.0.1` and `localhost`;
/// [`FullBacklog`](test_util::FullBacklog) is a listener a connection to which
/// hangs in the TCP handshake, for connect timeouts.
///
/// # Examples
///
/// ```
/// use tenure::test_util::CountingServer;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = CountingServer::start().await?;
/// // Any HTTP client works (with feature `http`, a `tenure::http` client);
/// // here, a bare TCP stream.
/// let mut stream = tokio::net::TcpStream::connect(server.addr()).await?;
/// stream.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await?;
/// let mut response = String::new();
/// stream.read_to_string(&mut response).await?;
/// assert!(response.ends_with("hello"));
/// assert_eq!(server.connections(), 1);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub use tenure_test_support as test_util;

// The README and the guides are not the rustdoc front page (their relative
// links work on GitHub, not on docs.rs), but their code blocks run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_md {}

#[cfg(doctest)]
#[doc = include_str!("../docs/design.md")]
mod design_md {}

#[cfg(doctest)]
#[doc = include_str!("../docs/incident.md")]
mod incident_md {}

// The adoption guide's blocks use every adapter, metrics and the test servers.
#[cfg(all(doctest, feature = "full", feature = "test-util"))]
#[doc = include_str!("../docs/adopting.md")]
mod adopting_md {}
