//! [`ReqwestClients`] (feature `reqwest`): `reqwest::Client`s built from an
//! [`HttpClientConfig`], cached like [`HttpClient`](crate::HttpClient)s.

use crate::clients::client_cache;
use crate::config::{HttpClientConfig, HttpVersion};
use crate::error::Error;
use crate::kind::ClientKind;
use http::{HeaderName, HeaderValue, header::GetAll};

client_cache! {
    /// A cache of `reqwest::Client`s, one per [`HttpClientConfig`] and tokio
    /// runtime (feature `reqwest`).
    ///
    /// The same cache and guarantees as [`HttpClients`](crate::HttpClients):
    /// entries are [`Shared`](crate::Shared), never closed; evicting,
    /// expiring or invalidating one only drops the cache's reference while
    /// holders keep a working client; expiry is by time-to-idle, so a client
    /// in use keeps its warm pool. Entries are scoped by runtime: reqwest
    /// runs its connections as tasks on the runtime that opened them, and a
    /// pooled connection dies with that runtime.
    ///
    /// The client is built by [`HttpClientConfig::reqwest_builder`]: see
    /// there how each setting maps to reqwest.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// # mod tenure { pub use tenure_http as http; } // the facade: `tenure::http`
    /// use tenure::http::{HttpClientConfig, ReqwestClients, Shared};
    /// # let server = tenure_test_support::CountingServer::start().await?;
    /// # let url = server.uri("/");
    ///
    /// let clients = ReqwestClients::new()?;
    /// let config = HttpClientConfig::builder()
    ///     .request_timeout(Duration::from_secs(30))
    ///     .header("authorization", "Bearer not-in-debug-output")
    ///     .build()?;
    ///
    /// let client = clients.get(&config).await?;
    /// let body = client.get(&url).send().await?.text().await?;
    /// assert_eq!(body, "hello");
    /// assert!(Shared::ptr_eq(&client, &clients.get(&config).await?));
    /// # Ok(())
    /// # }
    /// ```
    cache ReqwestClients;
    /// Builder of [`ReqwestClients`].
    builder ReqwestClientsBuilder;
    client reqwest::Client;
}

impl ClientKind for reqwest::Client {
    const KIND: &'static str = "reqwest";
    const CACHE_NAME: &'static str = "ReqwestClients";

    fn build(config: &HttpClientConfig) -> Result<Self, Error> {
        crate::runtime_check::check_current_runtime()?;
        config.reqwest_builder()?.build().map_err(|e| {
            Error::setting_with_source("reqwest", "<client builder>".into(), "reqwest refused the settings", e)
        })
    }

    /// reqwest clients carry no runtime tag; the cache's runtime scoping
    /// alone keeps them on their runtime.
    fn usable_on_current_runtime(&self) -> bool {
        true
    }
}

impl HttpClientConfig {
    /// A `reqwest::ClientBuilder` with every setting of this config applied
    /// (feature `reqwest`), for a client outside the cache or to customize
    /// further. [`ReqwestClients`] builds its clients with it.
    ///
    /// | setting | reqwest |
    /// | --- | --- |
    /// | `connect_timeout` | `connect_timeout` |
    /// | `request_timeout` | `timeout`: the whole request, **reading the body included** (unlike [`HttpClient::get`](crate::HttpClient::get)) |
    /// | `pool_idle_timeout`, `pool_max_idle_per_host` | the same |
    /// | `http_version` | `Http1Only`: `http1_only`; `Http2Only`: `http2_prior_knowledge`; ALPN offers the same versions |
    /// | `http1_title_case_headers`, `http2_adaptive_window`, `http2_keep_alive_interval` | the same |
    /// | default headers | `default_headers` (sensitive ones stay marked sensitive); a name given several times is sent as one field line with its values joined by `, ` (`; ` for `cookie`), which HTTP defines as the same: reqwest keeps one value per default header |
    /// | TLS roots | a rustls config on the ring provider with the same roots as [`HttpClient`](crate::HttpClient), through `tls_backend_preconfigured` |
    /// | `proxy` | `Proxy::all`, credentials as a sensitive `Proxy-Authorization`; without it, `no_proxy` (environment variables are ignored) |
    /// | redirects | up to 10 followed, as reqwest's default; but if any default header is secret (marked sensitive, or a name [`is_sensitive_header`](crate::is_sensitive_header) matches), a redirect to another origin (scheme, host or port) is not followed and its `3xx` response is returned: reqwest strips only `authorization`, `cookie`, `cookie2`, `proxy-authorization` and `www-authenticate` when it follows one (reqwest 0.13), so an `x-api-key` would reach the other server |
    /// | `Referer` | never sent (reqwest sends the previous URL, query included, on redirects) |
    ///
    /// Everything else keeps reqwest's defaults (for example, `tcp_nodelay` is on). As with reqwest itself,
    /// a request URL with user info is sent with `Basic` credentials; what
    /// reqwest does with the URL (its errors include it unless
    /// `without_url` is called) is reqwest's.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) if the TLS settings cannot be used or
    /// reqwest refuses the proxy; the message never shows a secret.
    pub fn reqwest_builder(&self) -> Result<reqwest::ClientBuilder, Error> {
        let mut tls = crate::tls::client_config(self.tls())?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout())
            .timeout(self.request_timeout())
            .pool_idle_timeout(self.pool_idle_timeout())
            .pool_max_idle_per_host(self.pool_max_idle_per_host())
            .tcp_nodelay(true)
            .http2_adaptive_window(self.http2_adaptive_window());
        tls.alpn_protocols = match self.http_version() {
            HttpVersion::Http1Only => {
                builder = builder.http1_only();
                vec![b"http/1.1".to_vec()]
            }
            HttpVersion::Http2Only => {
                builder = builder.http2_prior_knowledge();
                vec![b"h2".to_vec()]
            }
            HttpVersion::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        builder = builder.tls_backend_preconfigured(tls);
        if self.http1_title_case_headers() {
            builder = builder.http1_title_case_headers();
        }
        if let Some(interval) = self.http2_keep_alive_interval() {
            builder = builder.http2_keep_alive_interval(interval);
        }
        // reqwest keeps one value per default header (the last one given; and a
        // request takes only the first of a name's values): a name given several
        // times is sent as one field line holding every value, in order.
        let mut given = reqwest::header::HeaderMap::new();
        for (name, value) in self.default_headers() {
            given.append(name.clone(), value.clone());
        }
        let mut headers = reqwest::header::HeaderMap::new();
        let mut any_secret = false;
        for name in given.keys() {
            let values = given.get_all(name);
            let secret = crate::is_sensitive_header(name) || values.iter().any(HeaderValue::is_sensitive);
            any_secret |= secret;
            headers.insert(name.clone(), one_field_line(name, values, secret)?);
        }
        builder = builder
            .default_headers(headers)
            .referer(false)
            .redirect(redirect_policy(any_secret));
        builder = match self.proxy() {
            Some(proxy) => {
                let mut p = reqwest::Proxy::all(proxy.uri().to_string()).map_err(|e| {
                    Error::setting_with_source(
                        "proxy",
                        proxy.host_port().to_owned(),
                        "reqwest refused the proxy",
                        e.without_url(),
                    )
                })?;
                if let Some(authorization) = proxy.authorization() {
                    p = p.custom_http_auth(authorization.clone());
                }
                builder.proxy(p)
            }
            None => builder.no_proxy(),
        };
        Ok(builder)
    }
}

/// How many redirects a client follows, as reqwest's default policy.
const MAX_REDIRECTS: usize = 10;

/// The values of a header given several times, as one field line: joined by
/// `, ` (HTTP's list syntax, RFC 9110 section 5.3), or by `; ` for `cookie`
/// (RFC 6265 section 5.4); marked sensitive if `secret`.
fn one_field_line(name: &HeaderName, values: GetAll<'_, HeaderValue>, secret: bool) -> Result<HeaderValue, Error> {
    let separator: &[u8] = if name == http::header::COOKIE { b"; " } else { b", " };
    let joined = values
        .iter()
        .map(HeaderValue::as_bytes)
        .collect::<Vec<_>>()
        .join(separator);
    // Valid values joined by a valid separator: this cannot fail.
    let mut value = HeaderValue::from_bytes(&joined)
        .map_err(|_| Error::invalid_setting("header", name.as_str().to_owned(), "its values cannot be joined"))?;
    value.set_sensitive(secret);
    Ok(value)
}

/// reqwest's default redirect policy, except that with secret default headers
/// a redirect to another origin is returned to the caller, not followed.
fn redirect_policy(secret_headers: bool) -> reqwest::redirect::Policy {
    if !secret_headers {
        return reqwest::redirect::Policy::limited(MAX_REDIRECTS);
    }
    reqwest::redirect::Policy::custom(|attempt| {
        let cross_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() != attempt.url().origin());
        if cross_origin {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}
