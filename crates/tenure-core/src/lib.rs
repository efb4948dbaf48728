//! Ownership-typed cache entries: what a client cache may close, and when.
//!
//! A client cache holds two kinds of value, and the incident that motivated tenure
//! came from treating them alike:
//!
//! - [`Owned<T>`]: the cache is the sole owner (a connection pool it created).
//!   Callers borrow it through a [`Lease<T>`]; when the entry is retired, the value
//!   is closed exactly once, after the last lease is returned (drain, then close),
//!   or, if no tokio runtime is left to run the close, dropped unclosed and counted.
//! - [`Shared<T>`]: other code holds references (an HTTP client kept by a router).
//!   Retiring it only drops the cache's reference; calling a close on it does
//!   not compile (see [`Closing`] for what the types cannot rule out).
//!
//! [`Close`] says how a resource shuts down; its `close` takes a [`&Closing`](Closing)
//! that only tenure makes, for the close of a retired owned entry, so no code but
//! such a close can run one (what a close's own code does with the token is
//! its implementor's: see [`Closing`]).
//! [`EvictClose`], sealed and implemented only by `Owned<T>`, is the one path by
//! which a cache closes anything, and [`Entry`], sealed too, is what a cache is
//! generic over. The cache itself is in `tenure-pool`; the `tenure` crate
//! re-exports both.
//!
//! # Examples
//!
//! ```
//! use tenure_core::{Close, Closing, EvictClose, Owned, Shared};
//!
//! struct RedisPool;
//! impl Close for RedisPool {
//!     async fn close(self, _: &Closing) { /* close the connections */ }
//! }
//! struct HttpClient;
//!
//! fn cache_may_close<E: EvictClose>(_: &E) {}
//! cache_may_close(&Owned::new(RedisPool)); // the cache closes it after its last lease
//!
//! let shared = Shared::new(HttpClient);
//! let held_by_router = shared.clone();
//! drop(shared); // retiring a shared entry: the router's clone keeps working
//! # drop(held_by_router);
//! ```
//!
//! The incident's bug, closing a client that others still use, is a type error:
//!
//! ```compile_fail,E0277
//! use tenure_core::{EvictClose, Shared};
//! struct HttpClient;
//! fn cache_may_close<E: EvictClose>(_: &E) {}
//! cache_may_close(&Shared::new(HttpClient));
//! ```
//!
//! What the types guarantee, and what they cannot see (a `Close` type whose
//! value shares state with others; a client's own `close(&self)` reached through
//! `Deref`), is listed type by type in `docs/design.md` and `docs/adopting.md`.
//!
//! # Feature flags
//!
//! This crate has no features. Building with `RUSTFLAGS="--cfg tenure_loom"`
//! swaps its reference counts for [loom](https://docs.rs/loom)'s, for model checking.
//!
//! # Supported Rust versions
//!
//! Rust 1.88 or newer (the workspace's `rust-version`).

mod close;
mod closing;
mod drain;
mod entry;
mod evict_close;
mod lease;
mod owned;
mod sealed;
mod shared;
mod sync;

pub use close::Close;
pub use closing::Closing;
#[doc(hidden)]
pub use drain::{Closer, PendingClose};
pub use entry::Entry;
pub use evict_close::EvictClose;
pub use lease::Lease;
pub use owned::Owned;
pub use shared::Shared;
