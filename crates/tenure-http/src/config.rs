//! [`HttpClientConfig`]: every setting of a client, and the cache key.

use std::fmt;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};

use crate::error::Error;
use crate::proxy::Proxy;
#[cfg(feature = "rustls")]
use crate::tls::TlsConfig;

/// Which HTTP versions a client speaks.
///
/// With the `serde` feature it deserializes from `"auto"`, `"http1_only"` or
/// `"http2_only"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum HttpVersion {
    /// HTTP/1.1 over plain TCP; over TLS, HTTP/2 or HTTP/1.1 as negotiated by ALPN.
    ///
    /// Until a first connection to a host has negotiated, requests started at
    /// once each open their own (16 simultaneous first requests opened 16 TLS
    /// connections, of which one stayed): use [`Http2Only`](Self::Http2Only) where one connection
    /// per host matters from the first burst.
    #[default]
    Auto,
    /// HTTP/1.1 only (TLS offers only `http/1.1` through ALPN).
    Http1Only,
    /// HTTP/2 only: prior knowledge over plain TCP, ALPN `h2` over TLS.
    Http2Only,
}

/// Every setting of an [`HttpClient`](crate::HttpClient).
///
/// The config is the cache key of [`HttpClients`](crate::HttpClients): every
/// field takes part in `Eq` and `Hash`, so two configs that differ only in a
/// header (for example a credential) get different clients. A header's secret
/// mark takes part too (`http`'s own `HeaderValue` equality ignores it): a
/// config that sets a value with [`sensitive_header`](HttpClientConfigBuilder::sensitive_header)
/// and one that sets the same value with
/// [`header`](HttpClientConfigBuilder::header) under a name
/// [`is_sensitive_header`] does not match are different keys, so neither gets
/// a client that treats the value differently.
///
/// `Debug` redacts the values of sensitive headers (see
/// [`is_sensitive_header`]) and shows `<redacted>` instead.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # mod tenure { pub use tenure_http as http; } // the facade: `tenure::http`
/// use tenure::http::HttpClientConfig;
///
/// let config = HttpClientConfig::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .request_timeout(Duration::from_secs(30))
///     .header("authorization", "Bearer s3cr3t")
///     .build()?;
/// assert!(!format!("{config:?}").contains("s3cr3t"));
/// # Ok::<(), tenure_http::Error>(())
/// ```
///
/// # From files
///
/// With the `serde` feature, `HttpClientConfig` implements
/// `serde::Deserialize`. Every field is optional (the builder's defaults
/// apply), unknown fields are errors, and every value goes through the
/// builder, so it is validated the same way and errors name the setting.
/// Durations are strings with a unit (`"250ms"`, `"10s"`, `"5m"`, `"1h"`).
///
/// ```json
/// {
///   "connect_timeout": "5s",
///   "request_timeout": "30s",
///   "pool_idle_timeout": "90s",
///   "pool_max_idle_per_host": 32,
///   "http_version": "auto",
///   "http1_title_case_headers": false,
///   "http2_adaptive_window": false,
///   "http2_keep_alive_interval": "20s",
///   "headers": { "authorization": "Bearer ...", "user-agent": "proxy/1.0" },
///   "sensitive_headers": { "x-tenant": "..." },
///   "proxy": "http://user:pass@proxy:3128",
///   "webpki_roots": true,
///   "root_certificates_pem": ["-----BEGIN CERTIFICATE-----\n..."]
/// }
/// ```
///
/// Secrets stay redacted in `Debug`. A value of the wrong type (a string
/// where a map belongs, a list of settings, a number for a header value, ...)
/// is refused naming the setting and the type expected, never quoting the
/// value; an unknown setting is named only if its name is a plain identifier,
/// and a setting given twice is refused. The builder's errors never quote a
/// header value nor the proxy URL's credentials (they do show a duration, a
/// header's name, the proxy's scheme and host). A format crate may add its own
/// context to errors, though: `toml`'s messages quote the offending line of
/// the input, so a config file with a secret on a bad line can show up in such
/// an error; `serde_json`'s messages give only a line and column.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HttpClientConfig {
    connect_timeout: Duration,
    request_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    http_version: HttpVersion,
    http1_title_case_headers: bool,
    http2_adaptive_window: bool,
    http2_keep_alive_interval: Option<Duration>,
    /// Sorted by name (stable), so insertion order of distinct names does not
    /// change the key.
    default_headers: DefaultHeaders,
    proxy: Option<Proxy>,
    #[cfg(feature = "rustls")]
    tls: TlsConfig,
}

impl HttpClientConfig {
    /// Default connect timeout: 10 seconds.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default request timeout: 60 seconds.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default pool idle timeout: 90 seconds (hyper-util's default).
    pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// Default maximum of idle connections kept per host: 32 (hyper-util's
    /// default is unbounded).
    pub const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = 32;
    /// The longest duration any setting accepts (`connect_timeout`,
    /// `request_timeout`, `pool_idle_timeout`, `http2_keep_alive_interval`): 365
    /// days.
    ///
    /// hyper, hyper-util, reqwest and tokio turn these durations into deadlines
    /// (`now + duration`), which overflow, and panic in a background task, for
    /// durations near `Duration::MAX`; a year is far beyond any useful value and
    /// far from overflowing.
    pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// A builder starting from the defaults.
    pub fn builder() -> HttpClientConfigBuilder {
        HttpClientConfigBuilder {
            config: HttpClientConfig::default(),
            error: None,
            #[cfg(feature = "rustls")]
            roots_added: 0,
        }
    }

    /// A builder starting from this config, to derive a variant.
    pub fn to_builder(&self) -> HttpClientConfigBuilder {
        HttpClientConfigBuilder {
            config: self.clone(),
            error: None,
            #[cfg(feature = "rustls")]
            roots_added: 0,
        }
    }

    /// Timeout for establishing the TCP connection.
    #[must_use]
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Timeout for a whole request: from sending until the response head
    /// arrives (for [`HttpClient::get_bytes`](crate::HttpClient::get_bytes),
    /// until the body is read too).
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// How long an idle pooled connection is kept before it is closed in the
    /// background.
    #[must_use]
    pub fn pool_idle_timeout(&self) -> Duration {
        self.pool_idle_timeout
    }

    /// Maximum of idle connections kept per host.
    #[must_use]
    pub fn pool_max_idle_per_host(&self) -> usize {
        self.pool_max_idle_per_host
    }

    /// The HTTP versions spoken.
    #[must_use]
    pub fn http_version(&self) -> HttpVersion {
        self.http_version
    }

    /// Whether HTTP/1 header names are sent in Title-Case.
    #[must_use]
    pub fn http1_title_case_headers(&self) -> bool {
        self.http1_title_case_headers
    }

    /// Whether HTTP/2 uses an adaptive flow-control window.
    #[must_use]
    pub fn http2_adaptive_window(&self) -> bool {
        self.http2_adaptive_window
    }

    /// Interval of HTTP/2 keep-alive pings, if any.
    #[must_use]
    pub fn http2_keep_alive_interval(&self) -> Option<Duration> {
        self.http2_keep_alive_interval
    }

    /// Headers added to every request that does not set them itself.
    pub fn default_headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.default_headers.iter().map(|(n, v)| (n, v))
    }

    /// The proxy every request goes through, if any (used by the reqwest
    /// client only; see [`Proxy`]).
    #[must_use]
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// TLS settings.
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(&self) -> &TlsConfig {
        &self.tls
    }

    pub(crate) fn default_headers_slice(&self) -> &[(HeaderName, HeaderValue)] {
        &self.default_headers
    }
}

/// The default headers of a config: `Eq` and `Hash` include each value's
/// secret mark, which `HeaderValue`'s own ignore. The same value marked secret
/// in one config and not in the other gives two keys, so neither config gets
/// the other's client (whose `Debug` would show the value).
#[derive(Clone, Default)]
struct DefaultHeaders(Vec<(HeaderName, HeaderValue)>);

impl std::ops::Deref for DefaultHeaders {
    type Target = Vec<(HeaderName, HeaderValue)>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for DefaultHeaders {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl PartialEq for DefaultHeaders {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((name, value), (other_name, other_value))| {
                    name == other_name && value == other_value && value.is_sensitive() == other_value.is_sensitive()
                })
    }
}

impl Eq for DefaultHeaders {}

impl std::hash::Hash for DefaultHeaders {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.len().hash(state);
        for (name, value) in self.iter() {
            name.hash(state);
            value.hash(state);
            value.is_sensitive().hash(state);
        }
    }
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            pool_idle_timeout: Self::DEFAULT_POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: Self::DEFAULT_POOL_MAX_IDLE_PER_HOST,
            http_version: HttpVersion::Auto,
            http1_title_case_headers: false,
            http2_adaptive_window: false,
            http2_keep_alive_interval: None,
            default_headers: DefaultHeaders::default(),
            proxy: None,
            #[cfg(feature = "rustls")]
            tls: TlsConfig::default(),
        }
    }
}

/// Whether the value of a header with this name is treated as a secret: any
/// name containing `auth` (so `authorization` and `proxy-authorization`), `key`,
/// `token`, `secret`, `pass` (so `password`), `pwd`, `jwt`, `bearer`,
/// `credential`, `session`, `signature`, `cookie` (so `set-cookie`), `csrf` or
/// `xsrf`. A heuristic: a header that holds a secret under another name must be
/// set with [`HttpClientConfigBuilder::sensitive_header`]. Values marked with
/// [`HeaderValue::set_sensitive`] are secret too, whatever the name.
#[must_use]
pub fn is_sensitive_header(name: &HeaderName) -> bool {
    const NEEDLES: [&str; 14] = [
        "auth",
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "jwt",
        "bearer",
        "credential",
        "session",
        "signature",
        "cookie",
        "csrf",
        "xsrf",
    ];
    // Header names are lowercase in `http`.
    let name = name.as_str();
    NEEDLES.iter().any(|needle| name.contains(needle))
}

pub(crate) struct Redacted<'a>(pub(crate) &'a HeaderName, pub(crate) &'a HeaderValue);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1.is_sensitive() || is_sensitive_header(self.0) {
            f.write_str("<redacted>")
        } else {
            fmt::Debug::fmt(self.1, f)
        }
    }
}

struct HeadersDebug<'a>(&'a [(HeaderName, HeaderValue)]);

impl fmt::Debug for HeadersDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n.as_str(), Redacted(n, v))))
            .finish()
    }
}

impl fmt::Debug for HttpClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("HttpClientConfig");
        d.field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("http_version", &self.http_version)
            .field("http1_title_case_headers", &self.http1_title_case_headers)
            .field("http2_adaptive_window", &self.http2_adaptive_window)
            .field("http2_keep_alive_interval", &self.http2_keep_alive_interval)
            .field("default_headers", &HeadersDebug(&self.default_headers))
            .field("proxy", &self.proxy);
        #[cfg(feature = "rustls")]
        d.field("tls", &self.tls);
        d.finish()
    }
}

/// Builder of [`HttpClientConfig`]; invalid settings are reported by
/// [`build`](HttpClientConfigBuilder::build) (the first one wins) as an
/// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) error naming
/// the setting and its value (never a header value), or an
/// [`ErrorKind::InvalidRootCertificate`](crate::ErrorKind::InvalidRootCertificate)
/// error naming the root by position (never quoting it).
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct HttpClientConfigBuilder {
    config: HttpClientConfig,
    error: Option<Error>,
    /// Root certificates added to this builder: the next one's index in errors.
    #[cfg(feature = "rustls")]
    roots_added: usize,
}

/// A duration setting: more than zero, at most [`HttpClientConfig::MAX_DURATION`].
fn check_duration(name: &'static str, d: Duration) -> Result<Duration, Error> {
    if d.is_zero() {
        Err(Error::invalid_setting(
            name,
            format!("{d:?}"),
            "must be greater than zero",
        ))
    } else if d > HttpClientConfig::MAX_DURATION {
        // Deadlines (`now + d`) overflow near `Duration::MAX`: see `MAX_DURATION`.
        Err(Error::invalid_setting(
            name,
            format!("{d:?}"),
            "must be at most 365 days",
        ))
    } else {
        Ok(d)
    }
}

impl HttpClientConfigBuilder {
    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn set_duration(
        mut self,
        name: &'static str,
        d: Duration,
        set: impl FnOnce(&mut HttpClientConfig, Duration),
    ) -> Self {
        match check_duration(name, d) {
            Ok(d) => set(&mut self.config, d),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Timeout for establishing the TCP connection (default 10 s). Must be
    /// greater than zero and at most [`HttpClientConfig::MAX_DURATION`].
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.set_duration("connect_timeout", timeout, |c, d| c.connect_timeout = d)
    }

    /// Timeout of a whole request (default 60 s). Must be greater than zero
    /// and at most [`HttpClientConfig::MAX_DURATION`].
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.set_duration("request_timeout", timeout, |c, d| c.request_timeout = d)
    }

    /// How long an idle pooled connection is kept (default 90 s); idle
    /// connections are reaped in the background by a tokio timer. Must be
    /// greater than zero and at most [`HttpClientConfig::MAX_DURATION`].
    pub fn pool_idle_timeout(self, timeout: Duration) -> Self {
        self.set_duration("pool_idle_timeout", timeout, |c, d| c.pool_idle_timeout = d)
    }

    /// Maximum of idle connections kept per host (default 32; 0 disables
    /// connection reuse).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.config.pool_max_idle_per_host = max;
        self
    }

    /// Which HTTP versions to speak (default [`HttpVersion::Auto`]).
    pub fn http_version(mut self, version: HttpVersion) -> Self {
        self.config.http_version = version;
        self
    }

    /// HTTP/2 only, with prior knowledge over plain TCP. Shorthand for
    /// `http_version(HttpVersion::Http2Only)`.
    pub fn http2_only(self) -> Self {
        self.http_version(HttpVersion::Http2Only)
    }

    /// HTTP/1.1 only. Shorthand for `http_version(HttpVersion::Http1Only)`.
    pub fn http1_only(self) -> Self {
        self.http_version(HttpVersion::Http1Only)
    }

    /// Send HTTP/1 header names in Title-Case (default `false`).
    pub fn http1_title_case_headers(mut self, enabled: bool) -> Self {
        self.config.http1_title_case_headers = enabled;
        self
    }

    /// Use an adaptive HTTP/2 flow-control window (default `false`).
    pub fn http2_adaptive_window(mut self, enabled: bool) -> Self {
        self.config.http2_adaptive_window = enabled;
        self
    }

    /// Send HTTP/2 keep-alive pings at this interval (default none). Must be
    /// greater than zero and at most [`HttpClientConfig::MAX_DURATION`].
    pub fn http2_keep_alive_interval(self, interval: Duration) -> Self {
        self.set_duration("http2_keep_alive_interval", interval, |c, d| {
            c.http2_keep_alive_interval = Some(d);
        })
    }

    /// Adds a default header, sent with every request that does not set this
    /// header itself. Repeating a name adds another value (a reqwest client,
    /// feature `reqwest`, sends them as one field line, their values joined by
    /// `, `, or `; ` for `cookie`). Values of
    /// sensitive names (see [`is_sensitive_header`]) are marked sensitive:
    /// redacted in `Debug` and never indexed by HTTP/2 header compression.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        let name = match name.try_into() {
            Ok(name) => name,
            Err(_) => {
                // Not echoed: an invalid name may be a whole header line
                // pasted in its place (`Authorization: Bearer ...`). Its
                // position among the headers added says which one it is.
                let position = self.config.default_headers.len();
                self.fail(Error::invalid_setting(
                    "header",
                    format!("<invalid name> (header #{position}, counting from 0 in the order added)"),
                    "invalid header name",
                ));
                return self;
            }
        };
        match value.try_into() {
            Ok(mut value) => {
                if is_sensitive_header(&name) {
                    value.set_sensitive(true);
                }
                self.config.default_headers.push((name, value));
            }
            Err(_) => {
                let shown = format!("{name}: <value not shown>");
                self.fail(Error::invalid_setting("header", shown, "invalid header value"));
            }
        }
        self
    }

    /// Adds a default header whose value is always treated as a secret,
    /// whatever its name.
    pub fn sensitive_header<K, V>(self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        let before = self.config.default_headers.len();
        let mut this = self.header(name, value);
        if let Some((_, v)) = this.config.default_headers.get_mut(before) {
            v.set_sensitive(true);
        }
        this
    }

    /// Sends every request through the HTTP(S) proxy at `url`
    /// (`http://proxy:3128`, optionally `http://user:pass@proxy:3128`). The
    /// credentials are taken out of the URL and redacted in `Debug`; an error
    /// shows at most the proxy's scheme and host, never its credentials. The
    /// port, if given, must be a number from 1 to 65535. The URL has no path,
    /// query or fragment (`/` alone is allowed), so a `/`, `?` or `#` in the
    /// credentials must be percent-encoded. Without this setting no proxy is used, whatever
    /// the environment says (`HTTP_PROXY` and the like are not read: the
    /// config is the whole cache key).
    ///
    /// Only the reqwest client (feature `reqwest`) supports proxies: building
    /// an [`HttpClient`](crate::HttpClient) from a config with a proxy fails
    /// with [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig).
    pub fn proxy(mut self, url: impl AsRef<str>) -> Self {
        match Proxy::parse(url.as_ref()) {
            Ok(proxy) => self.config.proxy = Some(proxy),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Whether to trust the Mozilla root certificates shipped by
    /// `webpki-roots` (default `true`).
    #[cfg(feature = "rustls")]
    pub fn webpki_roots(mut self, enabled: bool) -> Self {
        self.config.tls.webpki_roots = enabled;
        self
    }

    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE` blocks;
    /// other blocks are skipped), in addition to the web PKI roots unless
    /// [`webpki_roots`](Self::webpki_roots) is `false`.
    ///
    /// Each root is checked: one that is not PEM, has no `CERTIFICATE` block, or
    /// holds a certificate that is not usable as a trust anchor makes
    /// [`build`](Self::build) fail with
    /// [`ErrorKind::InvalidRootCertificate`](crate::ErrorKind::InvalidRootCertificate),
    /// with [`Error::index`](crate::Error::index) its position among the roots added
    /// to this builder with this method and
    /// [`add_root_certificate_der`](Self::add_root_certificate_der) (0 for the
    /// first). The same method of tenure-redis's config builder takes the same input.
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let index = self.next_root_index();
        match crate::tls::check_pem(pem.as_ref(), index) {
            Ok(ders) => self.config.tls.extra_roots.extend(ders),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Trusts one CA certificate, DER-encoded; as
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem) otherwise (and
    /// checked the same way).
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate_der(mut self, der: impl AsRef<[u8]>) -> Self {
        let index = self.next_root_index();
        let der = der.as_ref();
        match crate::tls::check_der(der, index) {
            Ok(()) => self.config.tls.extra_roots.push(der.to_vec()),
            Err(e) => self.fail(e),
        }
        self
    }

    #[cfg(feature = "rustls")]
    fn next_root_index(&mut self) -> usize {
        let index = self.roots_added;
        self.roots_added += 1;
        index
    }

    /// Validates the settings and returns the config.
    ///
    /// # Errors
    ///
    /// The first invalid setting, in the order the setters were called: an
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) error naming
    /// the setting ([`Error::setting`](crate::Error::setting)), or
    /// [`ErrorKind::InvalidRootCertificate`](crate::ErrorKind::InvalidRootCertificate)
    /// for a root certificate. Either way [`Error::is_config`](crate::Error::is_config)
    /// is `true`.
    pub fn build(self) -> Result<HttpClientConfig, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut config = self.config;
        // Canonical order: stable by name, so values of one name keep their order.
        config.default_headers.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    fn hash(c: &HttpClientConfig) -> u64 {
        let mut h = DefaultHasher::new();
        c.hash(&mut h);
        h.finish()
    }

    /// Whether `a` and `b` are one key, checking that `Eq` and `Hash` agree.
    fn one_key(a: &HttpClientConfig, b: &HttpClientConfig) -> bool {
        assert_eq!(a == b, hash(a) == hash(b), "Eq and Hash disagree");
        a == b
    }

    /// `HeaderValue`'s own `Eq` and `Hash` ignore its secret mark; the config's
    /// do not: the same value marked secret in one config and not in the other
    /// gives two keys, so neither config gets the other's client.
    #[test]
    fn a_headers_secret_mark_is_part_of_the_key() {
        let plain = HttpClientConfig::builder()
            .header("x-tenant", "S3CRET")
            .build()
            .unwrap();
        let secret = || {
            HttpClientConfig::builder()
                .sensitive_header("x-tenant", "S3CRET")
                .build()
                .unwrap()
        };
        assert!(!one_key(&plain, &secret()));
        assert!(one_key(&secret(), &secret()));
        assert!(!format!("{:?}", secret()).contains("S3CRET"));
    }

    #[test]
    fn differing_credentials_are_different_keys() {
        let bearer = |token: &str| {
            HttpClientConfig::builder()
                .header("authorization", format!("Bearer {token}"))
                .build()
                .unwrap()
        };
        let a = bearer("a");
        assert!(!one_key(&a, &bearer("b")));
        assert!(one_key(&a, &a.to_builder().build().unwrap()));
    }

    #[test]
    fn header_order_of_distinct_names_is_canonical() {
        let a = HttpClientConfig::builder()
            .header("x-a", "1")
            .header("x-b", "2")
            .build()
            .unwrap();
        let b = HttpClientConfig::builder()
            .header("x-b", "2")
            .header("x-a", "1")
            .build()
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn zero_timeouts_are_rejected_with_the_setting_name() {
        for (name, b) in [
            (
                "connect_timeout",
                HttpClientConfig::builder().connect_timeout(Duration::ZERO),
            ),
            (
                "request_timeout",
                HttpClientConfig::builder().request_timeout(Duration::ZERO),
            ),
            (
                "pool_idle_timeout",
                HttpClientConfig::builder().pool_idle_timeout(Duration::ZERO),
            ),
        ] {
            let e = b.build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig);
            assert!(e.to_string().contains(name), "{e}");
            assert!(e.to_string().contains("0ns"), "{e}");
        }
    }

    #[test]
    fn durations_beyond_the_bound_are_rejected_with_the_setting_name() {
        let max = HttpClientConfig::MAX_DURATION;
        for huge in [
            max + Duration::from_nanos(1),
            Duration::from_secs(u64::MAX),
            Duration::MAX,
        ] {
            for (name, b) in [
                ("connect_timeout", HttpClientConfig::builder().connect_timeout(huge)),
                ("request_timeout", HttpClientConfig::builder().request_timeout(huge)),
                ("pool_idle_timeout", HttpClientConfig::builder().pool_idle_timeout(huge)),
                (
                    "http2_keep_alive_interval",
                    HttpClientConfig::builder().http2_keep_alive_interval(huge),
                ),
            ] {
                let e = b.build().unwrap_err();
                assert_eq!((e.kind(), e.setting()), (ErrorKind::InvalidConfig, Some(name)), "{e}");
                assert!(e.to_string().contains("at most 365 days"), "{e}");
            }
        }
        let at_bound = HttpClientConfig::builder()
            .connect_timeout(max)
            .request_timeout(max)
            .pool_idle_timeout(max)
            .http2_keep_alive_interval(max)
            .build()
            .unwrap();
        assert_eq!(at_bound.pool_idle_timeout(), max);
    }

    #[test]
    fn invalid_header_value_is_not_echoed() {
        let e = HttpClientConfig::builder()
            .header("x-api-key", "sec\nret")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("x-api-key"), "{shown}");
        assert!(!shown.contains("sec"), "{shown}");
        let e = HttpClientConfig::builder()
            .header("x-ok", "v")
            .header("Authorization: Bearer tok3n", "v")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("header #1"), "{shown}");
        assert!(!shown.contains("tok3n"), "{shown}");
    }

    #[test]
    fn sensitive_names() {
        for n in [
            "authorization",
            "proxy-authorization",
            "x-api-key",
            "x-auth-token",
            "client-secret",
            "x-password",
            "cookie",
            "set-cookie",
            "x-jwt-assertion",
            "x-api-pwd",
            "x-pass",
            "x-bearer",
            "x-session-id",
            "x-amz-signature",
            "x-credential",
            "x-csrf-token",
            "x-xsrf",
        ] {
            assert!(
                is_sensitive_header(&HeaderName::from_static(n)),
                "{n} should be sensitive"
            );
        }
        for n in ["user-agent", "accept", "content-type", "x-request-id"] {
            assert!(!is_sensitive_header(&HeaderName::from_static(n)), "{n}");
        }
    }
}
