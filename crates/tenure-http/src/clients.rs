//! [`HttpClients`]: the cache of shared HTTP clients, keyed by config and
//! runtime; and the machinery it shares with `ReqwestClients`.

use std::fmt;
use std::time::Duration;

use tenure_pool::{CachePolicy, CacheStats, ClientCache, GetError, Shared, ShutdownReport};

use crate::client::HttpClient;
use crate::config::HttpClientConfig;
use crate::error::{Error, ErrorKind};
use crate::kind::ClientKind;

pub(crate) const DEFAULT_MAX_CAPACITY: u64 = 200;
pub(crate) const DEFAULT_TIME_TO_IDLE: Duration = Duration::from_secs(600);

/// The cache behind each public client cache type.
pub(crate) struct Core<C: ClientKind> {
    cache: ClientCache<HttpClientConfig, Shared<C>>,
}

impl<C: ClientKind> Clone for Core<C> {
    fn clone(&self) -> Self {
        Core {
            cache: self.cache.clone(),
        }
    }
}

impl<C: ClientKind> fmt::Debug for Core<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("kind", &C::KIND)
            .field("cache", &self.cache)
            .finish()
    }
}

impl<C: ClientKind> Core<C> {
    pub(crate) async fn get(&self, config: &HttpClientConfig) -> Result<Shared<C>, Error> {
        let client = self
            .cache
            .get_or_try_insert_with(config.clone(), || async { C::build(config).map(Shared::new) })
            .await
            .map_err(|e| match e {
                GetError::Init(error) => (*error).clone(),
                GetError::Cache(error) => Error::cache(error),
                _ => Error::message(ErrorKind::Cache, "unknown cache error"),
            })?;
        // The cache is scoped by runtime, so this holds; checked anyway since
        // a client on the wrong runtime fails every request.
        if !client.usable_on_current_runtime() {
            tracing::warn!(
                kind = C::KIND,
                "cached HTTP client belongs to another runtime; building an uncached one"
            );
            return C::build(config).map(Shared::new);
        }
        Ok(client)
    }

    pub(crate) fn invalidate(&self, config: &HttpClientConfig) {
        self.cache.invalidate(config);
    }

    pub(crate) fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }

    pub(crate) fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    pub(crate) async fn shutdown(&self, deadline: Option<Duration>) -> ShutdownReport<HttpClientConfig> {
        match deadline {
            Some(deadline) => self.cache.shutdown().deadline(deadline).await,
            None => self.cache.shutdown().await,
        }
    }
}

impl<C: ClientKind> Core<C> {
    /// Builds the cache from the caller's `policy` over the adapter's defaults;
    /// the policy is checked where every cache's is, in `ClientCacheBuilder::build`.
    /// Always scoped by runtime: a client runs its connections on the runtime
    /// that built it.
    pub(crate) fn build(policy: CachePolicy<HttpClientConfig, Shared<C>>) -> Result<Core<C>, Error> {
        let defaults = CachePolicy::new()
            .max_capacity(DEFAULT_MAX_CAPACITY)
            .without_time_to_live()
            .time_to_idle(DEFAULT_TIME_TO_IDLE)
            .name(C::CACHE_NAME);
        let policy = policy.or(defaults).scope_by_runtime();
        let cache = ClientCache::builder().policy(policy).build().map_err(Error::cache)?;
        Ok(Core { cache })
    }
}

/// Defines a public client cache type and its builder over [`Core`]: one
/// implementation, and concrete types whose names show in docs and compiler
/// messages.
macro_rules! client_cache {
    (
        $(#[$meta:meta])*
        cache $name:ident;
        $(#[$builder_meta:meta])*
        builder $builder:ident;
        client $client:ty;
    ) => {
        $(#[$meta])*
        pub struct $name {
            cache: $crate::clients::Core<$client>,
        }

        impl Clone for $name {
            fn clone(&self) -> Self {
                $name {
                    cache: self.cache.clone(),
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("cache", &self.cache).finish()
            }
        }

        impl $name {
            /// Default capacity: 200 clients.
            pub const DEFAULT_MAX_CAPACITY: u64 = $crate::clients::DEFAULT_MAX_CAPACITY;
            /// Default expiry: 10 minutes after the last lookup.
            pub const DEFAULT_TIME_TO_IDLE: std::time::Duration = $crate::clients::DEFAULT_TIME_TO_IDLE;

            /// A cache with the defaults (200 clients, 10 minutes time-to-idle).
            ///
            /// # Errors
            ///
            /// None with the defaults; the signature matches
            #[doc = concat!("[`", stringify!($builder), "::build`].")]
            pub fn new() -> Result<Self, $crate::Error> {
                Self::builder().build()
            }

            /// A builder starting from the defaults.
            pub fn builder() -> $builder {
                $builder {
                    policy: $crate::tenure_pool::CachePolicy::new(),
                }
            }

            /// The client for `config` on the current runtime: the cached one,
            /// or a new one (built once even when many tasks miss at the same
            /// time).
            ///
            /// The returned client keeps working whatever the cache does
            /// afterwards (evict, expire, invalidate, shut down).
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Runtime`](crate::ErrorKind::Runtime) outside a
            /// tokio runtime, or on one built without its timer or IO driver
            /// (a client needs both: `enable_all()`; see
            /// [`HttpClient::new`](crate::HttpClient::new) for how that is
            /// detected, and `panic = "abort"`),
            /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
            /// if the client cannot be built from `config`,
            /// [`ErrorKind::ShutDown`](crate::ErrorKind::ShutDown) after the cache
            /// was shut down.
            ///
            /// # Cancellation
            ///
            /// Dropping the future is safe: a client it was building is either
            /// cached for the next caller or dropped.
            pub async fn get(
                &self,
                config: &$crate::HttpClientConfig,
            ) -> Result<$crate::Shared<$client>, $crate::Error> {
                self.cache.get(config).await
            }

            /// The name the original system used for [`get`](Self::get): the
            /// same method, kept for users porting from it.
            ///
            /// # Errors
            ///
            /// As [`get`](Self::get).
            pub async fn get_async_http_client(
                &self,
                config: &$crate::HttpClientConfig,
            ) -> Result<$crate::Shared<$client>, $crate::Error> {
                self.cache.get(config).await
            }

            /// Drops the cache's reference to the clients of `config` (in every
            /// runtime). Holders keep working clients.
            pub fn invalidate(&self, config: &$crate::HttpClientConfig) {
                self.cache.invalidate(config);
            }

            /// Drops the cache's reference to every client.
            pub fn invalidate_all(&self) {
                self.cache.invalidate_all();
            }

            /// The number of cached clients (expired ones not yet purged
            /// included).
            #[must_use]
            pub fn len(&self) -> usize {
                self.cache.len()
            }

            /// [`len`](Self::len) as a `u64`, under the name moka users know.
            #[must_use]
            pub fn entry_count(&self) -> u64 {
                self.cache.entry_count()
            }

            /// Whether no client is cached.
            #[must_use]
            pub fn is_empty(&self) -> bool {
                self.cache.is_empty()
            }

            /// A read-only snapshot of the cache's counters: hits, misses,
            /// inserts, evictions by cause.
            #[must_use]
            pub fn stats(&self) -> $crate::CacheStats {
                self.cache.stats()
            }

            /// Drops the cache's reference to every client and refuses lookups
            /// from then on ([`ErrorKind::ShutDown`](crate::ErrorKind::ShutDown)).
            ///
            /// No client is closed: holders keep working clients, and each
            /// client's connection pool goes away with its last holder. Shared
            /// entries have nothing to drain, so this returns at once with a
            /// complete report. Calling it again is safe. The same call as
            /// `RedisClients::shutdown`.
            pub async fn shutdown(&self) -> $crate::ShutdownReport<$crate::HttpClientConfig> {
                self.cache.shutdown(None).await
            }

            /// [`shutdown`](Self::shutdown), waiting at most `deadline` (the same
            /// call as `RedisClients::shutdown_within`; for shared clients there
            /// is nothing to wait for).
            pub async fn shutdown_within(
                &self,
                deadline: std::time::Duration,
            ) -> $crate::ShutdownReport<$crate::HttpClientConfig> {
                self.cache.shutdown(Some(deadline)).await
            }
        }

        $(#[$builder_meta])*
        ///
        /// Its setters are those of every tenure cache builder: each records a
        /// [`CachePolicy`](tenure_pool::CachePolicy) setting (documented there),
        /// and [`build`](Self::build) checks them all, with the same messages as
        /// any other cache. There are no refresh-ahead setters: clients are
        /// shared, and rebuilding one would only cool its pool.
        ///
        /// | setting | default |
        /// |---|---|
        /// | `max_capacity` | 200 clients |
        /// | `time_to_live` | none: a client in use is never rebuilt cold |
        /// | `time_to_idle` | 10 minutes |
        /// | `scope_by_runtime` | always on, whatever the policy says |
        /// | `drain_warning_after` | 60 seconds (shared clients never drain) |
        /// | `name` | `"HttpClients"` or `"ReqwestClients"` (the metrics label and the span field) |
        /// | `eviction_listener` | none |
        ///
        /// # Examples
        ///
        /// ```
        /// use std::sync::Arc;
        /// use std::sync::atomic::{AtomicUsize, Ordering};
        /// # mod tenure { pub use tenure_http as http; } // the facade: `tenure::http`
        ///
        /// let evicted = Arc::new(AtomicUsize::new(0));
        /// let counter = Arc::clone(&evicted);
        #[doc = concat!("let clients = tenure::http::", stringify!($name), "::builder()")]
        ///     .max_capacity(50)
        ///     .eviction_listener(move |_config, _client, _cause| {
        ///         counter.fetch_add(1, Ordering::Relaxed);
        ///     })
        ///     .build()?;
        /// # drop(clients);
        /// # Ok::<(), tenure_http::Error>(())
        /// ```
        #[must_use = "a builder does nothing until `build` is called"]
        pub struct $builder {
            policy: $crate::tenure_pool::CachePolicy<$crate::HttpClientConfig, $crate::Shared<$client>>,
        }

        impl Clone for $builder {
            fn clone(&self) -> Self {
                $builder {
                    policy: self.policy.clone(),
                }
            }
        }

        impl std::fmt::Debug for $builder {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($builder))
                    .field("policy", &self.policy)
                    .finish()
            }
        }

        impl $builder {
            $crate::tenure_pool::__cache_policy_setters!(
                pool: tenure_pool,
                key: $crate::HttpClientConfig,
                handle: $crate::Shared<$client>
            );

            /// Builds the cache; may be called outside a runtime.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
            /// naming the setting and value; its source is the
            /// [`tenure_pool::Error`] any cache gives for that setting.
            pub fn build(self) -> Result<$name, $crate::Error> {
                Ok($name {
                    cache: $crate::clients::Core::build(self.policy)?,
                })
            }
        }
    };
}
#[cfg(feature = "reqwest")]
pub(crate) use client_cache;

client_cache! {
    /// A cache of [`HttpClient`]s (hyper-util, the crate's lean default), one
    /// per [`HttpClientConfig`] and tokio runtime.
    ///
    /// [`get`](Self::get) is the one way to get a client, in production code
    /// and in tests alike. Cloning an `HttpClients` gives another handle to
    /// the same cache.
    ///
    /// # Why entries are [`Shared`]
    ///
    /// A cached HTTP client is held by its callers, often long after the
    /// lookup (a router keeps it; a streaming response keeps its connection).
    /// Entries are therefore `Shared`: eviction, expiry, `invalidate` and
    /// `shutdown` only drop the cache's reference and never close a client.
    /// A holder keeps a working client; the pool goes away with its last
    /// holder, and requests in flight finish. (Closing evicted clients under
    /// their users was the incident.)
    ///
    /// # Why time-to-idle, not time-to-live
    ///
    /// With a time-to-live, a client in steady use is dropped by the cache at
    /// every TTL boundary; the next lookup builds a new client with an empty
    /// pool, so every TTL the callers pay new TCP and TLS handshakes at once
    /// (timeout spikes exactly every TTL). Here the expiry (10 minutes by
    /// default) is measured from the last lookup, and there is no
    /// time-to-live unless you set one: a hot client stays cached with its
    /// warm pool, and only clients unused for the whole period go.
    ///
    /// # Runtimes
    ///
    /// A client runs its connections as tasks on the runtime that created
    /// it, so entries are scoped by runtime: each runtime gets its own
    /// client, and a runtime that shut down never has its client served
    /// again, even to a new runtime that reuses its `tokio::runtime::Id`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure_http::Error> {
    /// # mod tenure { pub use tenure_http as http; } // the facade: `tenure::http`
    /// use tenure::http::{HttpClientConfig, HttpClients, Shared};
    ///
    /// let clients = HttpClients::new()?;
    /// let config = HttpClientConfig::default();
    /// let a = clients.get(&config).await?;
    /// let b = clients.get(&config).await?;
    /// assert!(Shared::ptr_eq(&a, &b));
    /// # Ok(())
    /// # }
    /// ```
    cache HttpClients;
    /// Builder of [`HttpClients`].
    builder HttpClientsBuilder;
    client HttpClient;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cache_kind_has_its_own_default_name() {
        let core = Core::<HttpClient>::build(CachePolicy::new()).unwrap();
        assert_eq!(core.cache.name(), "HttpClients");
        let core = Core::<HttpClient>::build(CachePolicy::new().name("llm")).unwrap();
        assert_eq!(core.cache.name(), "llm");
    }
}
