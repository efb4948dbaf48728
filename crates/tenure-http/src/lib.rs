//! Cached HTTP clients (hyper-util, or reqwest with the `reqwest` feature), one per configuration and tokio runtime, that are never closed under a request in flight.
//!
//! [`HttpClients::get`] returns a [`Shared`]`<`[`HttpClient`]`>`
//! from a [`tenure_pool::ClientCache`] keyed by [`HttpClientConfig`] and the
//! current runtime; with the `reqwest` feature, `ReqwestClients::get` returns
//! a `Shared<reqwest::Client>` built from the same config, with the same
//! guarantees. Shared entries are never closed by the cache: evicting or
//! expiring one only drops the cache's reference, so a caller that still holds
//! the client (or reads a streaming response from it) keeps a working client.
//! By default entries expire only after a period without use (time-to-idle,
//! no time-to-live), so a client in steady use is not torn down and rebuilt
//! cold; a `time_to_live` set on the builder retires it at that age however
//! busy it is.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use tenure_http::{HttpClientConfig, HttpClients};
//! # let server = tenure_test_support::CountingServer::start().await?;
//! # let url = server.uri("/");
//!
//! let clients = HttpClients::builder().build()?;
//! let config = HttpClientConfig::builder()
//!     .request_timeout(Duration::from_secs(30))
//!     .header("authorization", "Bearer not-in-debug-output")
//!     .build()?;
//!
//! let client = clients.get(&config).await?;
//! let response = client.get_bytes(url.as_str()).await?;
//! assert!(response.status().is_success());
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it enables |
//! | --- | --- | --- |
//! | `rustls` | yes | HTTPS through rustls (ring provider), web PKI roots plus extra roots (`TlsConfig`) |
//! | `reqwest` | no | `ReqwestClients`: cached `reqwest::Client`s built from `HttpClientConfig` (rustls on ring; a proxy only if the config sets one); implies `rustls` |
//! | `serde` | no | `Deserialize` for `HttpClientConfig`, to load configs from files |
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.88.

mod bracketed_host;
mod client;
mod clients;
mod config;
mod credentials;
mod error;
mod kind;
mod proxy;
#[cfg(feature = "reqwest")]
mod reqwest_clients;
mod runtime_check;
#[cfg(feature = "serde")]
mod serde_config;
#[cfg(feature = "rustls")]
mod tls;

pub use client::{HttpClient, RequestBody, Response};
pub use clients::{HttpClients, HttpClientsBuilder};
pub use config::{HttpClientConfig, HttpClientConfigBuilder, HttpVersion, is_sensitive_header};
pub use error::{BoxError, Error, ErrorKind};
pub use proxy::Proxy;
#[cfg(feature = "reqwest")]
pub use reqwest_clients::{ReqwestClients, ReqwestClientsBuilder};
#[cfg(feature = "rustls")]
pub use tls::TlsConfig;

pub use tenure_pool::{CachePolicy, CacheStats, ClientCache, EvictionListener, RemovalCause, Shared, ShutdownReport};

/// The cache crate this one builds on.
pub use tenure_pool;

/// The `http` crate (request, response, URI and header types).
pub use http;
/// The `hyper` crate (body types such as [`hyper::body::Incoming`]).
pub use hyper;
/// The `hyper-util` crate (the legacy client this crate wraps).
pub use hyper_util;
/// The `reqwest` crate (feature `reqwest`).
#[cfg(feature = "reqwest")]
pub use reqwest;
/// The `rustls` crate (feature `rustls`).
#[cfg(feature = "rustls")]
pub use rustls;
