//! [`HttpClients`]: the cache of shared HTTP clients, keyed by config and
//! runtime; and the machinery it shares with `ReqwestClients`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tenure_pool::{CacheStats, ClientCache, GetError, RemovalCause, Shared, ShutdownReport};

use crate::client::HttpClient;
use crate::config::HttpClientConfig;
use crate::error::{Error, ErrorKind};
use crate::kind::ClientKind;

pub(crate) type Listener<C> = Arc<dyn Fn(&HttpClientConfig, &Shared<C>, RemovalCause) + Send + Sync>;

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

/// The settings behind each public builder.
pub(crate) struct Settings<C: ClientKind> {
    pub(crate) max_capacity: u64,
    pub(crate) time_to_idle: Duration,
    pub(crate) listener: Option<Listener<C>>,
}

impl<C: ClientKind> Default for Settings<C> {
    fn default() -> Self {
        Settings {
            max_capacity: DEFAULT_MAX_CAPACITY,
            time_to_idle: DEFAULT_TIME_TO_IDLE,
            listener: None,
        }
    }
}

impl<C: ClientKind> Clone for Settings<C> {
    fn clone(&self) -> Self {
        Settings {
            max_capacity: self.max_capacity,
            time_to_idle: self.time_to_idle,
            listener: self.listener.clone(),
        }
    }
}

impl<C: ClientKind> fmt::Debug for Settings<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("kind", &C::KIND)
            .field("max_capacity", &self.max_capacity)
            .field("time_to_idle", &self.time_to_idle)
            .field("eviction_listener", &self.listener.is_some())
            .finish()
    }
}

impl<C: ClientKind> Settings<C> {
    pub(crate) fn build(self) -> Result<Core<C>, Error> {
        if self.max_capacity == 0 {
            return Err(Error::invalid_setting("max_capacity", "0".into(), "must be at least 1"));
        }
        if self.time_to_idle.is_zero() {
            return Err(Error::invalid_setting(
                "time_to_idle",
                format!("{:?}", self.time_to_idle),
                "must be greater than zero",
            ));
        }
        let mut builder = ClientCache::builder()
            .max_capacity(self.max_capacity)
            .without_time_to_live()
            .time_to_idle(self.time_to_idle)
            .scope_by_runtime();
        if let Some(listener) = self.listener {
            builder = builder.eviction_listener(move |config, client, cause| listener(config, client, cause));
        }
        let cache = builder.build().map_err(Error::cache)?;
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
                    settings: $crate::clients::Settings::default(),
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
            /// tokio runtime,
            /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
            /// if the client cannot be built from `config`,
            /// [`ErrorKind::Cache`](crate::ErrorKind::Cache) after the cache
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
            /// from then on ([`ErrorKind::Cache`](crate::ErrorKind::Cache)).
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
        #[must_use = "a builder does nothing until `build` is called"]
        pub struct $builder {
            settings: $crate::clients::Settings<$client>,
        }

        impl Clone for $builder {
            fn clone(&self) -> Self {
                $builder {
                    settings: self.settings.clone(),
                }
            }
        }

        impl std::fmt::Debug for $builder {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($builder))
                    .field("settings", &self.settings)
                    .finish()
            }
        }

        impl $builder {
            /// The most clients cached at once (default 200). Must be at least 1.
            pub fn max_capacity(mut self, max_capacity: u64) -> Self {
                self.settings.max_capacity = max_capacity;
                self
            }

            /// How long a client stays cached after its last lookup (default 10
            /// minutes). Must be greater than zero. There is deliberately no
            /// time-to-live: a client in use is never rebuilt cold.
            pub fn time_to_idle(mut self, time_to_idle: std::time::Duration) -> Self {
                self.settings.time_to_idle = time_to_idle;
                self
            }

            /// Calls `listener` for every client that leaves the cache, with
            /// its config and the cause (capacity, idle, explicit, runtime
            /// gone...).
            ///
            /// It runs on the thread that removed the entry, outside the
            /// cache's locks, before the cache drops its reference (see
            /// [`ClientCacheBuilder::eviction_listener`](tenure_pool::ClientCacheBuilder::eviction_listener)).
            /// Nobody can close the client it receives: dropping the clone is
            /// all it may do. Keep it short; it must not call back into this
            /// cache.
            ///
            /// ```
            /// use std::sync::Arc;
            /// use std::sync::atomic::{AtomicUsize, Ordering};
            ///
            /// let evicted = Arc::new(AtomicUsize::new(0));
            /// let counter = Arc::clone(&evicted);
            #[doc = concat!("let clients = tenure_http::", stringify!($name), "::builder()")]
            ///     .eviction_listener(move |_config, _client, _cause| {
            ///         counter.fetch_add(1, Ordering::Relaxed);
            ///     })
            ///     .build()?;
            /// # drop(clients);
            /// # Ok::<(), tenure_http::Error>(())
            /// ```
            pub fn eviction_listener(
                mut self,
                listener: impl Fn(&$crate::HttpClientConfig, &$crate::Shared<$client>, $crate::RemovalCause)
                    + Send
                    + Sync
                    + 'static,
            ) -> Self {
                self.settings.listener = Some(std::sync::Arc::new(listener));
                self
            }

            /// Builds the cache; may be called outside a runtime.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
            /// naming the setting and value.
            pub fn build(self) -> Result<$name, $crate::Error> {
                Ok($name {
                    cache: self.settings.build()?,
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
    /// default) is measured from the last lookup: a hot client stays cached
    /// with its warm pool, and only clients unused for the whole period go.
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
