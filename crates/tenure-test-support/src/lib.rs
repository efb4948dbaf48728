//! Test servers for tenure's tests, examples and benchmarks. **Not for production use.**
//!
//! Every server here is a real one on loopback, started privately by the test
//! that uses it and stopped when dropped:
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`http_server`] | [`CountingServer`]: an in-process hyper server (HTTP/1.1, HTTP/2, optionally TLS) that counts the connections it accepts |
//! | [`certificates`] | [`TestCertificates`]: a fresh test CA and a server certificate for `127.0.0.1` and `localhost` |
//! | [`full_backlog`] | [`FullBacklog`]: a loopback listener whose accept queue is full, so a connection hangs in the TCP handshake (for connect timeouts) |
//! | [`redis_server`] | [`RedisServer`]: a private `redis-server` process on a free port (optionally with a TLS port), which counts its clients |
//! | [`redis_cluster`] | [`RedisCluster`]: private Redis Cluster masters joined with `redis-cli --cluster create` |
//! | [`redis_sentinel`] | [`RedisSentinels`]: a private master, its replicas and the sentinels monitoring it |
//!
//! The Redis harness runs the `redis-server` (and, for a cluster, `redis-cli`)
//! binaries of the machine; if one is missing, starting a server fails with an
//! error naming how to install it ([`redis_server::INSTALL_HINT`],
//! [`redis_cluster::REDIS_CLI_HINT`]). The commands it sends itself (readiness
//! probes, `CLIENT LIST`, `CLUSTER ...`, `SENTINEL ...`) go through the `redis`
//! crate's sync API; `redis-cli --cluster create` joins a cluster's nodes.
//!
//! This crate is not published. The adapters use it as a path-only
//! dev-dependency; the `tenure` facade re-exports it as `tenure::test_util`
//! behind its `test-util` feature.
//!
//! # Examples
//!
//! ```
//! use tenure_test_support::CountingServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = CountingServer::start_tls().await?;
//! assert!(server.uri("/").starts_with("https://127.0.0.1:"));
//! assert!(server.ca_cert_pem().is_some_and(|pem| pem.contains("BEGIN CERTIFICATE")));
//! assert_eq!(server.connections(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Supported Rust versions
//!
//! Rust 1.88 or newer (the workspace's `rust-version`).

pub mod certificates;
pub mod full_backlog;
pub mod http_server;
mod redis_admin;
pub mod redis_cluster;
mod redis_orphans;
pub mod redis_sentinel;
pub mod redis_server;

pub use certificates::TestCertificates;
pub use full_backlog::FullBacklog;
pub use http_server::CountingServer;
pub use redis_cluster::RedisCluster;
pub use redis_sentinel::RedisSentinels;
pub use redis_server::RedisServer;
