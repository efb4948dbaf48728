//! `Deserialize` for [`HttpClientConfig`] (feature `serde`): every field goes
//! through [`HttpClientConfigBuilder`], so a config from a file is validated
//! exactly as one built in code.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use tenure_pool::duration_text::DurationText;

use crate::config::{HttpClientConfig, HttpClientConfigBuilder, HttpVersion};

/// The file format: every field optional (the builder's defaults apply),
/// unknown fields rejected.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    connect_timeout: Option<DurationText>,
    request_timeout: Option<DurationText>,
    pool_idle_timeout: Option<DurationText>,
    pool_max_idle_per_host: Option<usize>,
    http_version: Option<HttpVersion>,
    http1_title_case_headers: Option<bool>,
    http2_adaptive_window: Option<bool>,
    http2_keep_alive_interval: Option<DurationText>,
    #[serde(default)]
    headers: BTreeMap<String, Secret>,
    #[serde(default)]
    sensitive_headers: BTreeMap<String, Secret>,
    proxy: Option<Secret>,
    #[cfg(feature = "rustls")]
    webpki_roots: Option<bool>,
    #[cfg(feature = "rustls")]
    #[serde(default)]
    root_certificates_pem: Vec<String>,
}

impl Raw {
    fn into_builder(self) -> HttpClientConfigBuilder {
        let mut b = HttpClientConfig::builder();
        if let Some(d) = self.connect_timeout {
            b = b.connect_timeout(d.0);
        }
        if let Some(d) = self.request_timeout {
            b = b.request_timeout(d.0);
        }
        if let Some(d) = self.pool_idle_timeout {
            b = b.pool_idle_timeout(d.0);
        }
        if let Some(n) = self.pool_max_idle_per_host {
            b = b.pool_max_idle_per_host(n);
        }
        if let Some(v) = self.http_version {
            b = b.http_version(v);
        }
        if let Some(on) = self.http1_title_case_headers {
            b = b.http1_title_case_headers(on);
        }
        if let Some(on) = self.http2_adaptive_window {
            b = b.http2_adaptive_window(on);
        }
        if let Some(d) = self.http2_keep_alive_interval {
            b = b.http2_keep_alive_interval(d.0);
        }
        for (name, value) in self.headers {
            b = b.header(name.as_str(), value.0.as_str());
        }
        for (name, value) in self.sensitive_headers {
            b = b.sensitive_header(name.as_str(), value.0.as_str());
        }
        if let Some(proxy) = self.proxy {
            b = b.proxy(proxy.0);
        }
        #[cfg(feature = "rustls")]
        {
            if let Some(on) = self.webpki_roots {
                b = b.webpki_roots(on);
            }
            for pem in self.root_certificates_pem {
                b = b.add_root_certificate_pem(pem);
            }
        }
        b
    }
}

/// Loads a config; see [`HttpClientConfig`]'s section "From files".
impl<'de> Deserialize<'de> for HttpClientConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Raw::deserialize(deserializer)?
            .into_builder()
            .build()
            .map_err(de::Error::custom)
    }
}

/// A string that may be a secret: a value of another type is refused without
/// quoting it (serde's default message would, as in "invalid type: integer
/// `12345`").
struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any`: with `deserialize_string`, serde_json reports a
        // number itself ("invalid type: integer `…`"), quoting it.
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl SecretVisitor {
    fn refuse<E: de::Error>() -> Result<Secret, E> {
        Err(E::custom(
            "header values and the proxy must be strings (value not shown)",
        ))
    }
}

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_char<E: de::Error>(self, _: char) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Secret, E> {
        Self::refuse()
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        Self::refuse()
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        Self::refuse()
    }
}
