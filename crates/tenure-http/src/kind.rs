//! [`ClientKind`]: what the client caches need from a client type.

use crate::client::HttpClient;
use crate::config::HttpClientConfig;
use crate::error::Error;

/// A client type a cache builds from an [`HttpClientConfig`]:
/// [`HttpClient`], and `reqwest::Client` with the `reqwest` feature.
pub(crate) trait ClientKind: Send + Sync + Sized + 'static {
    /// A short name of the kind, for logs and `Debug`.
    const KIND: &'static str;

    /// The default name of the cache of this kind (its metrics label and span
    /// field): the public cache type's name.
    const CACHE_NAME: &'static str;

    /// Builds a client on the current runtime.
    fn build(config: &HttpClientConfig) -> Result<Self, Error>;

    /// Whether a cached client may serve the current runtime.
    fn usable_on_current_runtime(&self) -> bool;
}

impl ClientKind for HttpClient {
    const KIND: &'static str = "hyper-util";
    const CACHE_NAME: &'static str = "HttpClients";

    fn build(config: &HttpClientConfig) -> Result<Self, Error> {
        HttpClient::new(config)
    }

    fn usable_on_current_runtime(&self) -> bool {
        self.is_runtime_alive() && tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == self.runtime_id())
    }
}
