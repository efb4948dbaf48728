//! [`ClientKind`]: the client types a [`Clients`](crate::Clients) cache can hold.

use crate::client::HttpClient;
use crate::config::HttpClientConfig;
use crate::error::Error;

pub(crate) mod sealed {
    use crate::config::HttpClientConfig;
    use crate::error::Error;

    /// The private half of [`ClientKind`](super::ClientKind).
    pub trait Sealed: Sized {
        /// Builds a client on the current runtime.
        fn build(config: &HttpClientConfig) -> Result<Self, Error>;

        /// Whether a cached client may serve the current runtime.
        fn usable_on_current_runtime(&self) -> bool;
    }
}

/// A client type that [`Clients`](crate::Clients) can build from an
/// [`HttpClientConfig`] and cache: [`HttpClient`], and `reqwest::Client`
/// with the `reqwest` feature. Sealed: it cannot be implemented outside this
/// crate.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a client kind tenure-http can build",
    note = "use `HttpClients` (hyper-util) or `ReqwestClients` (feature `reqwest`); for another client type, use a `tenure_pool::ClientCache` directly"
)]
pub trait ClientKind: sealed::Sealed + Send + Sync + 'static {
    /// A short name of the kind, for logs and `Debug`.
    const KIND: &'static str;
}

impl sealed::Sealed for HttpClient {
    fn build(config: &HttpClientConfig) -> Result<Self, Error> {
        HttpClient::new(config)
    }

    fn usable_on_current_runtime(&self) -> bool {
        self.is_runtime_alive() && tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == self.runtime_id())
    }
}

impl ClientKind for HttpClient {
    const KIND: &'static str = "hyper-util";
}
