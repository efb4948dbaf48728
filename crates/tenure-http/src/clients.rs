//! [`HttpClients`]: the cache of shared HTTP clients, keyed by config and runtime.

use std::time::Duration;

use tenure_pool::{CacheStats, ClientCache, GetError, Shared, ShutdownReport};

use crate::client::HttpClient;
use crate::config::HttpClientConfig;
use crate::error::{Error, ErrorKind};

type Cache = ClientCache<HttpClientConfig, Shared<HttpClient>>;

/// A cache of [`HttpClient`]s, one per [`HttpClientConfig`] and tokio runtime.
///
/// [`get_async_http_client`](Self::get_async_http_client) is the one way to
/// get a client, in production code and in tests alike.
///
/// # Why entries are [`Shared`]
///
/// A cached HTTP client is held by its callers, often long after the lookup
/// (a router keeps it; a streaming response keeps its connection). Entries are
/// therefore `Shared`: eviction, expiry, `invalidate` and `shutdown` only drop
/// the cache's reference and never close a client. A holder keeps a working
/// client; the pool goes away with its last holder, and requests in flight
/// finish. (Closing evicted clients under their users was the incident.)
///
/// # Why time-to-idle, not time-to-live
///
/// With a time-to-live, a client in steady use is dropped by the cache at
/// every TTL boundary; the next lookup builds a new client with an empty
/// pool, so every TTL the callers pay new TCP and TLS handshakes at once
/// (timeout spikes exactly every TTL). Here the expiry (10 minutes by
/// default) is measured from the last lookup: a hot client stays cached with
/// its warm pool, and only clients unused for the whole period go.
///
/// # Runtimes
///
/// A hyper-util client spawns its connection tasks on the runtime that
/// created it, so entries are scoped by runtime: each runtime gets its own
/// client, and a runtime that shut down never has its client served again,
/// even to a new runtime that reuses its `tokio::runtime::Id`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenure_http::Error> {
/// use tenure_http::{HttpClientConfig, HttpClients, Shared};
///
/// let clients = HttpClients::new()?;
/// let config = HttpClientConfig::default();
/// let a = clients.get_async_http_client(&config).await?;
/// let b = clients.get_async_http_client(&config).await?;
/// assert!(Shared::ptr_eq(&a, &b));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct HttpClients {
    cache: Cache,
}

impl HttpClients {
    /// Default capacity: 200 clients.
    pub const DEFAULT_MAX_CAPACITY: u64 = 200;
    /// Default expiry: 10 minutes after the last lookup.
    pub const DEFAULT_TIME_TO_IDLE: Duration = Duration::from_secs(600);

    /// A cache with the defaults (200 clients, 10 minutes time-to-idle).
    ///
    /// # Errors
    ///
    /// None with the defaults; the signature matches
    /// [`HttpClientsBuilder::build`].
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// A builder starting from the defaults.
    pub fn builder() -> HttpClientsBuilder {
        HttpClientsBuilder {
            max_capacity: Self::DEFAULT_MAX_CAPACITY,
            time_to_idle: Self::DEFAULT_TIME_TO_IDLE,
        }
    }

    /// The client for `config` on the current runtime: the cached one, or a
    /// new one (built once even when many tasks miss at the same time).
    ///
    /// The returned client keeps working whatever the cache does afterwards
    /// (evict, expire, invalidate, shut down).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Runtime`] outside a tokio runtime,
    /// [`ErrorKind::InvalidConfig`] if the client cannot be built from
    /// `config`, [`ErrorKind::Cache`] after the cache was shut down.
    pub async fn get_async_http_client(&self, config: &HttpClientConfig) -> Result<Shared<HttpClient>, Error> {
        let client = self
            .cache
            .get_or_try_insert_with(config.clone(), || async { HttpClient::new(config).map(Shared::new) })
            .await
            .map_err(|e| match e {
                GetError::Init(error) => (*error).clone(),
                GetError::Cache(error) => Error::cache(error),
                _ => Error::message(ErrorKind::Cache, "unknown cache error"),
            })?;
        // The cache is scoped by runtime, so this holds; checked anyway since
        // a client on the wrong runtime fails every request.
        if !client.is_runtime_alive() || !on_runtime(client.runtime_id()) {
            tracing::warn!(
                client = client.id(),
                "cached HTTP client belongs to another runtime; building an uncached one"
            );
            return HttpClient::new(config).map(Shared::new);
        }
        Ok(client)
    }

    /// Drops the cache's reference to the clients of `config` (in every
    /// runtime). Holders keep working clients.
    pub fn invalidate(&self, config: &HttpClientConfig) {
        self.cache.invalidate(config);
    }

    /// Drops the cache's reference to every client.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// The number of cached clients (expired ones not yet purged included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether no client is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// The cache's counters: hits, misses, inserts, evictions by cause.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Drops the cache's reference to every client and refuses new ones.
    ///
    /// No client is closed: holders keep working clients, and each client's
    /// connection pool goes away with its last holder. Returns at once (shared
    /// entries have nothing to drain); calling it again is safe.
    pub async fn shutdown(&self) -> ShutdownReport<HttpClientConfig> {
        self.cache.shutdown().await
    }
}

fn on_runtime(id: tokio::runtime::Id) -> bool {
    tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == id)
}

/// Builder of [`HttpClients`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct HttpClientsBuilder {
    max_capacity: u64,
    time_to_idle: Duration,
}

impl HttpClientsBuilder {
    /// The most clients cached at once (default 200). Must be at least 1.
    pub fn max_capacity(mut self, max_capacity: u64) -> Self {
        self.max_capacity = max_capacity;
        self
    }

    /// How long a client stays cached after its last lookup (default 10
    /// minutes). Must be greater than zero. There is deliberately no
    /// time-to-live: see [`HttpClients`].
    pub fn time_to_idle(mut self, time_to_idle: Duration) -> Self {
        self.time_to_idle = time_to_idle;
        self
    }

    /// Builds the cache; may be called outside a runtime.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the setting and value.
    pub fn build(self) -> Result<HttpClients, Error> {
        if self.max_capacity == 0 {
            return Err(Error::setting("max_capacity", "0".into(), "must be at least 1"));
        }
        if self.time_to_idle.is_zero() {
            return Err(Error::setting(
                "time_to_idle",
                format!("{:?}", self.time_to_idle),
                "must be greater than zero",
            ));
        }
        let cache = Cache::builder()
            .max_capacity(self.max_capacity)
            .without_time_to_live()
            .time_to_idle(self.time_to_idle)
            .scope_by_runtime()
            .build()
            .map_err(Error::cache)?;
        Ok(HttpClients { cache })
    }
}
