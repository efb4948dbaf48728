//! `Deserialize` for [`HttpClientConfig`] (feature `serde`): every field goes
//! through [`HttpClientConfigBuilder`], so a config from a file is validated
//! exactly as one built in code.
//!
//! The file form is read by hand-written visitors: a value of the wrong type, an
//! unknown setting or a list where a map belongs is refused naming the setting
//! and the expected type, never quoting the value (serde's derived visitors
//! would quote it, and a header value or the proxy URL may be a secret).

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer};
use tenure_pool::config_file::{Field, Kind, Settings, Value, duration};

use crate::config::{HttpClientConfig, HttpClientConfigBuilder, HttpVersion};

/// The settings of the file form and their types.
const FIELDS: &[(&str, Kind)] = &[
    ("connect_timeout", Kind::Text),
    ("request_timeout", Kind::Text),
    ("pool_idle_timeout", Kind::Text),
    ("pool_max_idle_per_host", Kind::Int),
    ("http_version", Kind::Text),
    ("http1_title_case_headers", Kind::Bool),
    ("http2_adaptive_window", Kind::Bool),
    ("http2_keep_alive_interval", Kind::Text),
    ("headers", Kind::Map),
    ("sensitive_headers", Kind::Map),
    ("proxy", Kind::Text),
    #[cfg(feature = "rustls")]
    ("webpki_roots", Kind::Bool),
    #[cfg(feature = "rustls")]
    ("root_certificates_pem", Kind::List),
];

/// Applies the settings read by [`Settings`] to a builder, in the file's order
/// (the builder reports the first invalid one); type errors name the setting and
/// never quote its value.
fn into_builder<E: de::Error>(values: Vec<(Field, Value)>) -> Result<HttpClientConfigBuilder, E> {
    let mut b = HttpClientConfig::builder();
    for (field, value) in values {
        let name = field.name();
        let text = |value| field.text::<E>(value);
        b = match (name, value) {
            (_, Value::Absent) => b,
            ("connect_timeout", v) => b.connect_timeout(duration(name, &text(v)?)?),
            ("request_timeout", v) => b.request_timeout(duration(name, &text(v)?)?),
            ("pool_idle_timeout", v) => b.pool_idle_timeout(duration(name, &text(v)?)?),
            ("http2_keep_alive_interval", v) => b.http2_keep_alive_interval(duration(name, &text(v)?)?),
            ("http_version", v) => b.http_version(match text(v)?.as_str() {
                "auto" => HttpVersion::Auto,
                "http1_only" => HttpVersion::Http1Only,
                "http2_only" => HttpVersion::Http2Only,
                _ => {
                    return Err(E::custom(
                        "`http_version`: expected one of `auto`, `http1_only`, `http2_only` \
                         (the value is not shown)",
                    ));
                }
            }),
            ("proxy", v) => b.proxy(text(v)?),
            ("pool_max_idle_per_host", Value::Int(n)) => {
                b.pool_max_idle_per_host(usize::try_from(n).map_err(|_| {
                    E::custom("`pool_max_idle_per_host`: expected a whole number from 0 (the value is not shown)")
                })?)
            }
            ("http1_title_case_headers", Value::Bool(on)) => b.http1_title_case_headers(on),
            ("http2_adaptive_window", Value::Bool(on)) => b.http2_adaptive_window(on),
            ("headers", Value::Map(headers)) => headers
                .into_iter()
                .fold(b, |b, (name, value)| b.header(name.as_str(), value.as_str())),
            ("sensitive_headers", Value::Map(headers)) => headers
                .into_iter()
                .fold(b, |b, (name, value)| b.sensitive_header(name.as_str(), value.as_str())),
            #[cfg(feature = "rustls")]
            ("webpki_roots", Value::Bool(on)) => b.webpki_roots(on),
            #[cfg(feature = "rustls")]
            ("root_certificates_pem", Value::List(pems)) => {
                pems.into_iter().fold(b, |b, pem| b.add_root_certificate_pem(pem))
            }
            _ => return Err(field.wrong("another type")),
        };
    }
    Ok(b)
}

/// Loads a config; see [`HttpClientConfig`]'s section "From files".
impl<'de> Deserialize<'de> for HttpClientConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = Settings {
            what: "an HTTP client configuration",
            fields: FIELDS,
        }
        .deserialize(deserializer)?;
        into_builder(values)?.build().map_err(de::Error::custom)
    }
}
