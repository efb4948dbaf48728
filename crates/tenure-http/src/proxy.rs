//! [`Proxy`]: the HTTP proxy of a config, with its credentials kept out of
//! the URI and out of `Debug`.

use std::fmt;

use http::HeaderValue;
use http::uri::{Authority, Uri};

use crate::error::Error;

/// An HTTP(S) proxy that every request of a client goes through, set with
/// [`HttpClientConfigBuilder::proxy`](crate::HttpClientConfigBuilder::proxy).
///
/// Plain `http://` targets are sent to the proxy in absolute form; `https://`
/// targets go through a `CONNECT` tunnel. Credentials in the proxy URL
/// (`http://user:pass@proxy:3128`) are removed from it and sent as a
/// `Proxy-Authorization: Basic` header; `Debug` shows only whether there are
/// any.
///
/// Only the reqwest client (feature `reqwest`) uses proxies; building an
/// [`HttpClient`](crate::HttpClient) from a config with a proxy fails with
/// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    /// `scheme://host:port`, without user info.
    uri: Uri,
    /// `Basic ...`, marked sensitive.
    authorization: Option<HeaderValue>,
}

impl Proxy {
    /// Parses `url` (`http://` or `https://`, with optional user info).
    ///
    /// Errors name the setting and, when the URL could be parsed, the proxy's
    /// `scheme://host`; never the rest of the URL (it may hold a password).
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::invalid_setting("proxy", "<URL not shown>".into(), reason);
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
        let scheme = match uri.scheme_str() {
            Some("http") => "http",
            Some("https") => "https",
            _ => return Err(invalid("the scheme must be http:// or https://")),
        };
        // A path, query or fragment has no use in a proxy URL, and refusing it
        // keeps credentials out of messages: the URI parser ends the authority
        // at the first `/`, `?` or `#`, so in `http://user:pa/ss@proxy` the
        // "host" would be `user` and the password's tail a path.
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() || url.contains('#') {
            return Err(invalid(
                "a proxy URL has no path, query or fragment (a `/`, `?` or `#` in its credentials must be percent-encoded)",
            ));
        }
        let authority = uri.authority().ok_or_else(|| invalid("the URL has no host"))?.as_str();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let host_port = Authority::try_from(host_port).map_err(|_| invalid("the URL has an invalid host"))?;
        if host_port.host().is_empty() {
            return Err(invalid("the URL has no host"));
        }
        if crate::bracketed_host::problem(host_port.host()).is_some() {
            return Err(invalid("the host in brackets is not a valid IPv6 address"));
        }
        // A port, if the authority has one (`]` ends an IPv6 host without one),
        // must be a number from 1 to 65535, in digits only: an empty one
        // (`http://proxy:`) or 0 cannot be connected to, and `+80`, which
        // Rust's integer parsing takes, is refused by the HTTP clients later.
        if let Some(port) = host_port.as_str().rsplit_once(':').map(|(_, p)| p)
            && !port.contains(']')
            && !(port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|port| port != 0))
        {
            return Err(Error::invalid_setting(
                "proxy",
                format!("{scheme}://{}", host_port.host()),
                "the port must be a number from 1 to 65535",
            ));
        }
        let uri = Uri::builder()
            .scheme(scheme)
            .authority(host_port)
            .path_and_query("/")
            .build()
            .map_err(|_| invalid("not a valid URL"))?;
        let authorization = match userinfo {
            Some(userinfo) => Some(
                crate::credentials::basic_from_userinfo(userinfo)
                    .ok_or_else(|| invalid("the credentials could not be encoded"))?,
            ),
            None => None,
        };
        Ok(Proxy { uri, authorization })
    }

    /// The proxy's URI, `scheme://host:port/`, without credentials.
    #[must_use]
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Whether the proxy URL had credentials.
    #[must_use]
    pub fn has_credentials(&self) -> bool {
        self.authorization.is_some()
    }

    /// The `Proxy-Authorization` value (sensitive), if any.
    #[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// `host:port` (or just `host`), for messages.
    pub(crate) fn host_port(&self) -> &str {
        self.uri.authority().map_or("", Authority::as_str)
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("uri", &format_args!("{}", self.uri))
            .field(
                "credentials",
                &if self.has_credentials() { "<redacted>" } else { "none" },
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn credentials_leave_the_uri_and_debug() {
        let p = Proxy::parse("http://alice:pa%3Ass@proxy.example:3128").unwrap();
        assert_eq!(p.uri().to_string(), "http://proxy.example:3128/");
        assert!(p.has_credentials());
        let value = p.authorization().unwrap();
        assert!(value.is_sensitive());
        // base64("alice:pa:ss")
        assert_eq!(value, "Basic YWxpY2U6cGE6c3M=");
        let shown = format!("{p:?}");
        assert!(!shown.contains("alice") && !shown.contains("pa"), "{shown}");
        assert!(shown.contains("proxy.example:3128"), "{shown}");

        let p = Proxy::parse("http://u:p@[::1]:3128").unwrap();
        assert_eq!(p.uri().to_string(), "http://[::1]:3128/");
        let p = Proxy::parse("https://proxy.example").unwrap();
        assert!(!p.has_credentials());
        assert_eq!(p.host_port(), "proxy.example");
    }

    /// `url`'s refusal as shown (`Display` and `Debug`), after checking its kind.
    fn refusal(url: &str) -> String {
        let e = Proxy::parse(url).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{url}: {e}");
        format!("{e} {e:?}")
    }

    #[test]
    fn bad_proxy_urls_are_typed_errors_that_do_not_echo() {
        for url in [
            "socks5://u:SECRET@proxy:1080",
            "not a url SECRET",
            "http://u:SECRET@",
            "/relative/SECRET",
            "http://u:SECRET@proxy:port",
            "http://u:SECRET@proxy:",
            "http://u:SECRET@proxy:0",
            "http://u:SECRET@[::1]:",
            "http://u:SECRET@proxy:99999",
            "http://u:SECRET@proxy:+80",
        ] {
            let shown = refusal(url);
            assert!(shown.contains("proxy"), "{shown}");
            assert!(!shown.contains("SECRET"), "{shown}");
        }
    }

    /// A bracketed host must be an IPv6 address: the URI parser accepts
    /// `[zq::1]`. The refusal names the problem, not the credentials.
    #[test]
    fn a_bracketed_host_that_is_not_ipv6_is_refused_without_echo() {
        for url in [
            "http://u:SECRET@[zq::1]:1",
            "http://u:SECRET@[zq::1]",
            "https://u:SECRET@[1.2.3.4]:3128",
            "http://u:SECRET@[::1::2]:3128",
        ] {
            let shown = refusal(url);
            assert!(shown.contains("not a valid IPv6 address"), "{url}: {shown}");
            for secret in ["SECRET", "zq"] {
                assert!(!shown.contains(secret), "{url}: {shown}");
            }
        }
        let p = Proxy::parse("http://u:p@[2001:db8::1]:3128").unwrap();
        assert_eq!(p.uri().to_string(), "http://[2001:db8::1]:3128/");
    }

    /// A `/`, `?` or `#` left unencoded in the credentials ends the URI's
    /// authority early: the user name must not become the "host" of an error
    /// or of the accepted URI, nor the password's tail a path.
    #[test]
    fn unencoded_delimiters_in_credentials_are_refused_without_echo() {
        for url in [
            "http://alice:SECRET/x@proxy:3128",
            "http://alice:1234/x@proxy:3128",
            "http://alice:SE?CRET@proxy:3128",
            "http://alice:SE#CRET@proxy:3128",
            "http://alice:SECRET@proxy:3128/path",
            "http://alice:SECRET@proxy:3128/?q",
        ] {
            let shown = refusal(url);
            assert!(shown.contains("no path, query or fragment"), "{url}: {shown}");
            for secret in ["alice", "SECRET", "SE", "1234"] {
                assert!(!shown.contains(secret), "{url}: {shown}");
            }
        }
        let p = Proxy::parse("http://alice:pa%2Fss@proxy:3128/").unwrap();
        assert_eq!(p.uri().to_string(), "http://proxy:3128/");
        assert!(p.has_credentials());
    }
}
