//! The crate's error type: an opaque [`Error`] with a [`kind`](Error::kind).
//!
//! One error type for the whole crate, configuration errors included (as regex
//! has one `Error`, and as tenure-redis does): [`HttpClientConfig`](crate::HttpClientConfig)'s
//! builder, [`HttpClients::get`](crate::HttpClients::get) and a request all give
//! the same type, so a caller needs one `?` path and one `match` on
//! [`ErrorKind`]. [`Error::is_config`] tells configuration errors apart.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A boxed error that is `Send + Sync`, used for sources and request bodies.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong, in broad strokes; see [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A setting was rejected: one of [`HttpClientConfig`](crate::HttpClientConfig)
    /// (zero timeout, invalid header, invalid proxy URL, a proxy the hyper client
    /// cannot use, TLS settings rustls refuses), which [`Error::setting`] names, or
    /// one of the cache's builder (a capacity of 0, a zero duration), which the
    /// message names.
    InvalidConfig,
    /// A root certificate added with
    /// [`add_root_certificate_pem`](crate::HttpClientConfigBuilder::add_root_certificate_pem)
    /// or [`add_root_certificate_der`](crate::HttpClientConfigBuilder::add_root_certificate_der)
    /// is not a certificate usable as a trust anchor; [`Error::index`] says which
    /// (0 for the first added), the message why (never quoting it).
    InvalidRootCertificate,
    /// The request could not be sent as given (invalid URI, unsupported scheme,
    /// a port that is no number, a host in brackets that is no IPv6 address).
    InvalidRequest,
    /// The TCP connection could not be established.
    Connect,
    /// The connect timeout or the request timeout elapsed.
    Timeout,
    /// The TLS handshake failed (untrusted certificate, wrong name, protocol error).
    Tls,
    /// The client was used outside the runtime that created it, or after that
    /// runtime shut down.
    Runtime,
    /// The cache has been shut down and takes no new clients.
    ShutDown,
    /// The cache refused the request for another reason.
    Cache,
    /// Anything else: the connection broke, the peer sent an invalid response.
    Other,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig | ErrorKind::InvalidRootCertificate => "invalid configuration",
            ErrorKind::InvalidRequest => "invalid request",
            ErrorKind::Connect => "connect error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Tls => "TLS error",
            ErrorKind::Runtime => "runtime error",
            ErrorKind::ShutDown => "client cache shut down",
            ErrorKind::Cache => "client cache error",
            ErrorKind::Other => "HTTP error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Where the error happened: printed by `Display`, never a secret.
#[derive(Debug)]
enum Context {
    /// No further detail.
    None,
    /// A config setting and its (non-secret) rendered value, with the reason.
    Setting {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    /// A request to `host:port`.
    Authority(String),
    /// A request to `host:port` that timed out after the duration.
    TimedOut(String, Duration),
    /// Root certificate `index` (`format` is `PEM` or `DER`) and why it was refused.
    // Made only with the `rustls` feature (no root can be added without it).
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    RootCertificate {
        index: usize,
        format: &'static str,
        reason: &'static str,
    },
    /// A fixed message.
    Message(&'static str),
}

/// The error of every fallible operation of this crate.
///
/// Opaque: match on [`kind`](Error::kind), ask the accessors for the data that
/// goes with it ([`addr`](Error::addr), [`setting`](Error::setting),
/// [`index`](Error::index)), print it (the message names the `host:port` or the
/// setting, never a credential nor a certificate), or walk
/// [`source`](StdError::source) for the underlying hyper, io or rustls error.
///
/// `Error` is `Send + Sync + 'static`, so `?` converts it into
/// `Box<dyn std::error::Error + Send + Sync>` or `anyhow::Error`. Cloning is
/// cheap (clones share one allocation), so one failed client creation can be
/// reported to every caller that waited for it.
///
/// # Examples
///
/// ```
/// # mod tenure { pub use tenure_http as http; } // the facade: `tenure::http`
/// use std::time::Duration;
/// use tenure::http::{ErrorKind, HttpClientConfig};
///
/// let err = HttpClientConfig::builder()
///     .header("authorization", "Bearer s3cret")
///     .connect_timeout(Duration::ZERO)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidConfig);
/// assert_eq!(err.setting(), Some("connect_timeout"));
/// assert!(err.is_config());
/// assert_eq!(err.to_string(), "invalid configuration: `connect_timeout` = 0ns: must be greater than zero");
/// assert!(!format!("{err:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

struct Inner {
    kind: ErrorKind,
    context: Context,
    source: Option<BoxError>,
}

impl Error {
    fn new(kind: ErrorKind, context: Context, source: Option<BoxError>) -> Self {
        Error {
            inner: Arc::new(Inner { kind, context, source }),
        }
    }

    /// The kind of error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// `true` if this is a connect or request timeout.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether this is a configuration error: [`ErrorKind::InvalidConfig`] or
    /// [`ErrorKind::InvalidRootCertificate`].
    #[must_use]
    pub fn is_config(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::InvalidConfig | ErrorKind::InvalidRootCertificate
        )
    }

    /// The `host:port` of the request this error concerns, if it concerns one
    /// (connect, TLS and timeout errors, and errors of a response).
    #[must_use]
    pub fn addr(&self) -> Option<&str> {
        match &self.inner.context {
            Context::Authority(authority) | Context::TimedOut(authority, _) => Some(authority),
            _ => None,
        }
    }

    /// The setting that was rejected, named as the builder method
    /// (`"connect_timeout"`, `"header"`, `"proxy"`, ...;
    /// `"root_certificate"` for [`ErrorKind::InvalidRootCertificate`]). Never its
    /// secret value.
    #[must_use]
    pub fn setting(&self) -> Option<&'static str> {
        match &self.inner.context {
            Context::Setting { name, .. } => Some(name),
            Context::RootCertificate { .. } => Some("root_certificate"),
            _ => None,
        }
    }

    /// Which root certificate was refused ([`ErrorKind::InvalidRootCertificate`]),
    /// by position among those added to the builder (0 for the first).
    #[must_use]
    pub fn index(&self) -> Option<usize> {
        match &self.inner.context {
            Context::RootCertificate { index, .. } => Some(*index),
            _ => None,
        }
    }

    #[cfg(feature = "rustls")]
    pub(crate) fn root_certificate(
        index: usize,
        format: &'static str,
        reason: &'static str,
        source: Option<BoxError>,
    ) -> Self {
        Self::new(
            ErrorKind::InvalidRootCertificate,
            Context::RootCertificate { index, format, reason },
            source,
        )
    }

    pub(crate) fn invalid_setting(name: &'static str, value: String, reason: &'static str) -> Self {
        Self::new(ErrorKind::InvalidConfig, Context::Setting { name, value, reason }, None)
    }

    #[cfg(feature = "rustls")]
    pub(crate) fn setting_with_source(
        name: &'static str,
        value: String,
        reason: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::new(
            ErrorKind::InvalidConfig,
            Context::Setting { name, value, reason },
            Some(source.into()),
        )
    }

    pub(crate) fn invalid_request(message: &'static str, source: Option<BoxError>) -> Self {
        Self::new(ErrorKind::InvalidRequest, Context::Message(message), source)
    }

    pub(crate) fn message(kind: ErrorKind, message: &'static str) -> Self {
        Self::new(kind, Context::Message(message), None)
    }

    /// An error of the cache itself (its message names the setting, never a
    /// key).
    pub(crate) fn cache(error: tenure_pool::Error) -> Self {
        let kind = match error.kind() {
            tenure_pool::ErrorKind::InvalidSetting => ErrorKind::InvalidConfig,
            tenure_pool::ErrorKind::NoRuntime => ErrorKind::Runtime,
            tenure_pool::ErrorKind::ShutDown => ErrorKind::ShutDown,
            _ => ErrorKind::Cache,
        };
        Self::new(kind, Context::None, Some(Box::new(error)))
    }

    pub(crate) fn timed_out(authority: String, after: Duration) -> Self {
        Self::new(ErrorKind::Timeout, Context::TimedOut(authority, after), None)
    }

    /// A response body that broke off.
    pub(crate) fn body(authority: String, err: hyper::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Other
        };
        Self::new(kind, Context::Authority(authority), Some(Box::new(err)))
    }

    /// Classifies an error of the hyper-util client for a request to `authority`.
    pub(crate) fn from_client(authority: String, err: hyper_util::client::legacy::Error) -> Self {
        let kind = classify(&err);
        Self::new(kind, Context::Authority(authority), Some(Box::new(err)))
    }
}

/// Walks the source chain: TLS first (a handshake failure is also a connect
/// failure), then io timeouts, then connect.
fn classify(err: &hyper_util::client::legacy::Error) -> ErrorKind {
    let mut timed_out = false;
    let mut tls = false;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    // Bounded: source chains are short; 32 is far beyond any real chain.
    for _ in 0..32 {
        let Some(e) = cur else { break };
        if is_tls(e) {
            tls = true;
        }
        cur = e.source();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                timed_out = true;
            }
            // `io::Error::source` skips the wrapped error itself: go to it.
            if let Some(inner) = io.get_ref() {
                cur = Some(inner as &(dyn StdError + 'static));
            }
        }
    }
    if tls {
        ErrorKind::Tls
    } else if timed_out {
        ErrorKind::Timeout
    } else if err.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Other
    }
}

#[cfg(feature = "rustls")]
fn is_tls(e: &(dyn StdError + 'static)) -> bool {
    e.downcast_ref::<rustls::Error>().is_some()
}

#[cfg(not(feature = "rustls"))]
fn is_tls(_e: &(dyn StdError + 'static)) -> bool {
    false
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.inner.kind;
        match &self.inner.context {
            Context::None => match &self.inner.source {
                // The cache's messages name settings, never keys or values.
                Some(source) => write!(f, "{kind}: {source}"),
                None => write!(f, "{kind}"),
            },
            Context::Setting { name, value, reason } => write!(f, "{kind}: `{name}` = {value}: {reason}"),
            Context::Authority(authority) => write!(f, "{kind} for {authority}"),
            Context::TimedOut(authority, after) => {
                write!(f, "request to {authority} timed out after {after:?}")
            }
            Context::Message(message) => write!(f, "{kind}: {message}"),
            Context::RootCertificate { index, format, reason } => {
                write!(f, "{kind}: root certificate #{index} ({format}): {reason}")
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &format_args!("{self}"));
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_ref().map(|s| &**s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: StdError + Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_names_setting() {
        let e = Error::invalid_setting("connect_timeout", "0ns".into(), "must be greater than zero");
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert_eq!(e.setting(), Some("connect_timeout"));
        assert!(e.is_config());
        assert_eq!(
            e.to_string(),
            "invalid configuration: `connect_timeout` = 0ns: must be greater than zero"
        );
    }

    #[test]
    fn display_names_authority() {
        let e = Error::timed_out("127.0.0.1:80".into(), Duration::from_secs(1));
        assert!(e.is_timeout());
        assert!(!e.is_config());
        assert_eq!(e.addr(), Some("127.0.0.1:80"));
        assert_eq!(e.to_string(), "request to 127.0.0.1:80 timed out after 1s");
    }
}
