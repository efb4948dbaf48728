//! [`HttpClient`]: a cheaply cloneable handle over a hyper-util client.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::oneshot;

use crate::bracketed_host;
use crate::config::{HttpClientConfig, HttpVersion};
use crate::error::{BoxError, Error, ErrorKind};

/// The body type every request is converted to.
pub type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

/// A response whose body streams from the connection.
pub type Response = http::Response<Incoming>;

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An HTTP/1 and HTTP/2 client (HTTPS through rustls with the `rustls`
/// feature) with a connection pool, built from an [`HttpClientConfig`].
///
/// Cloning is cheap and every clone shares one connection pool. A client
/// belongs to the tokio runtime that created it: hyper-util spawns its
/// connection tasks there, so requests made from another runtime, or after
/// that runtime shut down, fail with [`ErrorKind::Runtime`] instead of a
/// broken connection. Get clients through
/// [`HttpClients::get`](crate::HttpClients::get)
/// to share one per config and runtime.
///
/// Nothing ever closes a client: its pool is dropped with its last clone;
/// requests in flight finish.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    client: Client<Connector, RequestBody>,
    config: HttpClientConfig,
    runtime: tokio::runtime::Id,
    /// Its receiver lives in a task of the creating runtime: the sender is
    /// closed once that runtime has shut down (or dropped its tasks).
    runtime_alive: oneshot::Sender<()>,
}

impl HttpClient {
    /// Builds a client on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Runtime`] outside a tokio runtime, or on one built without
    /// its timer or its IO driver (the client needs both: build the runtime
    /// with `enable_all()`). tokio reports a missing driver only by
    /// panicking: the check catches that panic, so the process's panic hook
    /// runs; built with `panic = "abort"`, the driver check is skipped, and on
    /// such a runtime the process aborts at tokio's first use of the missing
    /// driver (the first request, or, without a timer, the client cache's
    /// reaper);
    /// [`ErrorKind::InvalidConfig`] if the TLS settings cannot be used or the
    /// config has a [`proxy`](HttpClientConfig::proxy) (this client does not
    /// support proxies).
    pub fn new(config: &HttpClientConfig) -> Result<Self, Error> {
        crate::runtime_check::check_current_runtime()?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::message(ErrorKind::Runtime, "no tokio runtime is running"))?;
        if let Some(proxy) = config.proxy() {
            return Err(Error::invalid_setting(
                "proxy",
                proxy.host_port().to_owned(),
                "the hyper-util client does not support proxies; use the reqwest client (feature `reqwest`)",
            ));
        }

        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(config.connect_timeout()));
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = connector(config, http)?;

        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout())
            .pool_max_idle_per_host(config.pool_max_idle_per_host())
            .http2_only(config.http_version() == HttpVersion::Http2Only)
            .http1_title_case_headers(config.http1_title_case_headers())
            .http2_adaptive_window(config.http2_adaptive_window());
        if let Some(interval) = config.http2_keep_alive_interval() {
            builder.http2_keep_alive_interval(interval);
        }
        let client = builder.build(connector);

        let (runtime_alive, rx) = oneshot::channel::<()>();
        // Ends when the client is dropped; dropped (closing the channel) when
        // the runtime shuts down.
        handle.spawn(async move {
            let _ = rx.await;
        });

        Ok(HttpClient {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                client,
                config: config.clone(),
                runtime: handle.id(),
                runtime_alive,
            }),
        })
    }

    /// A process-unique id of this client (clones share it).
    #[must_use]
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The config this client was built from.
    #[must_use]
    pub fn config(&self) -> &HttpClientConfig {
        &self.inner.config
    }

    /// The id of the runtime that created this client.
    #[must_use]
    pub fn runtime_id(&self) -> tokio::runtime::Id {
        self.inner.runtime
    }

    /// `false` once the runtime that created this client has shut down.
    #[must_use]
    pub fn is_runtime_alive(&self) -> bool {
        !self.inner.runtime_alive.is_closed()
    }

    /// The underlying hyper-util client, for what this wrapper does not
    /// offer. It does not apply the default headers, the request timeout, the
    /// runtime check nor the removal of credentials from URIs: a URI with user
    /// info sent through it reaches hyper-util's logs.
    #[must_use]
    pub fn hyper_client(&self) -> &Client<Connector, RequestBody> {
        &self.inner.client
    }

    fn check_runtime(&self) -> Result<(), Error> {
        let current = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::message(ErrorKind::Runtime, "no tokio runtime is running"))?;
        if current.id() != self.inner.runtime {
            return Err(Error::message(
                ErrorKind::Runtime,
                "client used on a runtime other than the one that created it",
            ));
        }
        if !self.is_runtime_alive() {
            return Err(Error::message(
                ErrorKind::Runtime,
                "the runtime that created this client has shut down",
            ));
        }
        Ok(())
    }

    /// Sends a request and returns the response once its head has arrived;
    /// the body streams from the connection.
    ///
    /// The URI must be absolute (`http://` or, with the `rustls` feature,
    /// `https://`). User info in it (`http://user:pass@host/`) is removed from
    /// the URI before hyper-util sees it (hyper-util logs the authority) and
    /// sent as an `Authorization: Basic` header marked sensitive, unless the
    /// request sets `authorization` itself (then the URI's credentials are
    /// dropped). Default headers of the config are added when the request
    /// does not set them, so URI credentials win over a default
    /// `authorization` header. The request timeout covers sending the request and
    /// receiving the response head, not reading the body.
    ///
    /// User info is what the URI's syntax (RFC 3986) makes it: the part of
    /// the authority before an `@`, and the authority ends at the first `/`,
    /// `?` or `#`. A password holding one of those must be percent-encoded
    /// (`%2F`, `%3F`, `%23`). Left as it is, the URI names another host and
    /// port: in `http://alice:1234/pw@example.com/`, the host `alice`, port
    /// `1234`, and the path `/pw@example.com/`. tenure cannot tell that from
    /// a path with an `@` in it (`/@scope/package`), so it sends that URI
    /// as written, and errors, logs and hyper-util name `alice:1234` as its
    /// authority (with an empty port, as in `http://alice:#pw@example.com/`,
    /// `alice:80`). A password whose part before the `/`, `?` or `#` is
    /// neither empty nor a port number is refused as an invalid URI, quoting
    /// none of it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRequest`], [`ErrorKind::Runtime`],
    /// [`ErrorKind::Connect`], [`ErrorKind::Tls`], [`ErrorKind::Timeout`] or
    /// [`ErrorKind::Other`].
    pub async fn request<B>(&self, request: Request<B>) -> Result<Response, Error>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (authority, request) = self.prepare(request)?;
        let timeout = self.inner.config.request_timeout();
        match tokio::time::timeout(timeout, self.inner.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(Error::from_client(authority, e)),
            Err(_) => Err(Error::timed_out(authority, timeout)),
        }
    }

    /// Sends a `GET` request.
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request); an unparsable URI is
    /// [`ErrorKind::InvalidRequest`].
    pub async fn get<U>(&self, uri: U) -> Result<Response, Error>
    where
        U: TryInto<Uri>,
        U::Error: Into<http::Error>,
    {
        let request = get_request(uri)?;
        self.request(request).await
    }

    /// Sends a `GET` request and reads the whole body. The request timeout
    /// covers reading the body too.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get); a body that breaks off is
    /// [`ErrorKind::Other`].
    pub async fn get_bytes<U>(&self, uri: U) -> Result<http::Response<Bytes>, Error>
    where
        U: TryInto<Uri>,
        U::Error: Into<http::Error>,
    {
        let request = get_request(uri)?;
        let (authority, request) = self.prepare(request)?;
        let timeout = self.inner.config.request_timeout();
        let client = &self.inner.client;
        let fetch = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| Error::from_client(authority.clone(), e))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| Error::body(authority.clone(), e))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body))
        };
        match tokio::time::timeout(timeout, fetch).await {
            Ok(result) => result,
            Err(_) => Err(Error::timed_out(authority, timeout)),
        }
    }

    fn prepare<B>(&self, request: Request<B>) -> Result<(String, Request<RequestBody>), Error>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let authority = authority(request.uri())?;
        self.check_runtime()?;
        let mut request = request.map(|body| body.map_err(Into::into).boxed_unsync());
        // Before hyper-util sees the URI: its pool logs the authority.
        let mut uri = std::mem::take(request.uri_mut());
        crate::credentials::move_to_header(&mut uri, request.headers_mut())?;
        *request.uri_mut() = uri;
        let defaults = self.inner.config.default_headers_slice();
        if !defaults.is_empty() {
            let headers = request.headers_mut();
            // Names the request sets itself win over the defaults.
            let own: Vec<http::HeaderName> = defaults
                .iter()
                .filter(|(name, _)| headers.contains_key(name))
                .map(|(name, _)| name.clone())
                .collect();
            for (name, value) in defaults {
                if !own.contains(name) {
                    headers.append(name.clone(), value.clone());
                }
            }
        }
        Ok((authority, request))
    }
}

fn get_request<U>(uri: U) -> Result<Request<Empty<Bytes>>, Error>
where
    U: TryInto<Uri>,
    U::Error: Into<http::Error>,
{
    Request::get(uri)
        .body(Empty::new())
        .map_err(|e| Error::invalid_request("invalid URI", Some(Box::new(e))))
}

/// `host:port` of an absolute `http`/`https` URI.
fn authority(uri: &Uri) -> Result<String, Error> {
    let default_port = match uri.scheme_str() {
        Some("http") => 80,
        #[cfg(feature = "rustls")]
        Some("https") => 443,
        #[cfg(not(feature = "rustls"))]
        Some("https") => {
            return Err(Error::invalid_request("https requires the `rustls` feature", None));
        }
        Some(_) => return Err(Error::invalid_request("unsupported URI scheme", None)),
        None => {
            return Err(Error::invalid_request(
                "URI must be absolute (http:// or https://)",
                None,
            ));
        }
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::invalid_request("URI has no host", None))?;
    if let Some(problem) = bracketed_host::problem(host) {
        let why = match problem {
            bracketed_host::Problem::Zone => "URI host has an IPv6 zone identifier (`%25...`), which is not supported",
            bracketed_host::Problem::NotIpv6 => "URI host in brackets is not a valid IPv6 address",
        };
        return Err(Error::invalid_request(why, None));
    }
    // `http` accepts any characters after the colon; hyper-util would then
    // silently use the default port.
    // (`Uri::port` is `None` then too.)
    let authority_str = uri.authority().map_or("", |a| a.as_str());
    let host_port = authority_str.rsplit_once('@').map_or(authority_str, |(_, h)| h);
    let port_str = match host_port.rsplit_once(':') {
        // A colon inside IPv6 brackets is not a port separator.
        Some((_, port)) if !port.contains(']') => port,
        _ => "",
    };
    let port = if port_str.is_empty() {
        default_port
    } else {
        port_str
            .parse::<u16>()
            .map_err(|_| Error::invalid_request("URI port is not a number from 0 to 65535", None))?
    };
    Ok(format!("{host}:{port}"))
}

#[cfg(feature = "rustls")]
fn connector(config: &HttpClientConfig, http: HttpConnector) -> Result<Connector, Error> {
    let tls = crate::tls::client_config(config.tls())?;
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    Ok(match config.http_version() {
        HttpVersion::Http1Only => builder.enable_http1().wrap_connector(http),
        HttpVersion::Http2Only => builder.enable_http2().wrap_connector(http),
        HttpVersion::Auto => builder.enable_all_versions().wrap_connector(http),
    })
}

#[cfg(not(feature = "rustls"))]
fn connector(_config: &HttpClientConfig, http: HttpConnector) -> Result<Connector, Error> {
    Ok(http)
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("id", &self.inner.id)
            .field("runtime", &self.inner.runtime)
            .field("runtime_alive", &self.is_runtime_alive())
            .field("config", &self.inner.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<HttpClient>();
    }

    #[test]
    fn authority_of_uris() {
        let a = |s: &str| authority(&s.parse::<Uri>().unwrap());
        assert_eq!(a("http://example.com/x").unwrap(), "example.com:80");
        assert_eq!(a("http://127.0.0.1:8080").unwrap(), "127.0.0.1:8080");
        #[cfg(feature = "rustls")]
        assert_eq!(a("https://example.com").unwrap(), "example.com:443");
        assert_eq!(a("/relative").unwrap_err().kind(), ErrorKind::InvalidRequest);
        assert_eq!(a("ftp://example.com").unwrap_err().kind(), ErrorKind::InvalidRequest);
        assert_eq!(
            a("http://example.com:bad/").unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            a("http://u:p@example.com:bad/").unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        assert_eq!(a("http://[::1]:8080/").unwrap(), "[::1]:8080");
        assert_eq!(a("http://[::1]/").unwrap(), "[::1]:80");
        // The URI parser takes these; `authority` refuses them.
        for bad in ["http://[zz::1]:1/", "http://u:pw@[zz::1]:1/", "http://[::1::2]/"] {
            let e = a(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{bad}");
            assert!(e.to_string().contains("brackets"), "{bad}: {e}");
            assert!(
                !e.to_string().contains("zz") && !e.to_string().contains("pw"),
                "{bad}: {e}"
            );
        }
        let zone = a("http://[fe80::1%25eth0]/").unwrap_err();
        assert_eq!(zone.kind(), ErrorKind::InvalidRequest);
        assert!(zone.to_string().contains("zone identifier"), "{zone}");
        assert_eq!(a("http://u:p@host:81/").unwrap(), "host:81");
    }

    #[test]
    fn new_outside_runtime_is_a_typed_error() {
        let e = HttpClient::new(&HttpClientConfig::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Runtime);
    }
}
