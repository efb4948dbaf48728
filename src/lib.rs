#![doc = include_str!("../README.md")]
//!
//! # The crates
//!
//! | crate | what it holds |
//! |---|---|
//! | `tenure-core` | [`Close`], [`Owned`], [`Shared`], [`Lease`], [`EvictClose`], [`Entry`] |
//! | `tenure-pool` | [`ClientCache`] and its builder, stats and shutdown; [`OwnedPool`] for deadpool |
//! | `tenure-http` | cached hyper clients (feature `http`, as [`tenure::http`](crate#feature-flags)) |
//! | `tenure-redis` | cached deadpool-redis pools (feature `redis`) |
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `http` | no | `tenure::http`: `HttpClients`, `HttpClient`, `HttpClientConfig` |
//! | `redis` | no | `tenure::redis`: `RedisClients`, `RedisConfig` |
//! | `cluster` | no | Redis Cluster pools in `tenure::redis` (turns on `redis`) |
//! | `sentinel` | no | Redis Sentinel pools in `tenure::redis` (turns on `redis`) |
//! | `full` | no | every adapter and feature, with every Redis topology |
//!
//! # Supported Rust versions
//!
//! Rust 1.88 or newer (the workspace's `rust-version`).

pub use tenure_core::{Close, Closing, Entry, EvictClose, Lease, Owned, Shared};
pub use tenure_pool::{
    CacheKey, CacheStats, ClientCache, ClientCacheBuilder, Error, ErrorKind, Evictions, GetError, OwnedPool, Pending,
    PendingState, PoolGuard, RemovalCause, Shutdown, ShutdownReport, deadpool,
};

/// Cached hyper HTTP clients: the `tenure-http` crate.
#[cfg(feature = "http")]
pub use tenure_http as http;

/// Cached deadpool-redis pools: the `tenure-redis` crate.
#[cfg(feature = "redis")]
pub use tenure_redis as redis;

#[cfg(doctest)]
#[doc = include_str!("../docs/design.md")]
mod design_md {}

#[cfg(doctest)]
#[doc = include_str!("../docs/incident.md")]
mod incident_md {}

#[cfg(doctest)]
#[doc = include_str!("../docs/adopting.md")]
mod adopting_md {}
