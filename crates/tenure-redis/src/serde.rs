//! Loading a [`RedisConfig`] from configuration files (feature `serde`).

use serde::{Deserialize, Deserializer, de::Error as _};

use tenure_pool::duration_text::DurationText;

use crate::{Error, RedisConfig};

/// The file form of a [`RedisConfig`]: exactly one of `url`, `cluster_nodes` or
/// `sentinels` (with `service_name`), plus optional settings; timeouts as text
/// (`"250ms"`, `"10s"`), as in tenure-http's file form. Unknown fields are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedisConfigFile {
    #[serde(default, deserialize_with = "secret_string")]
    url: Option<String>,
    #[serde(default, deserialize_with = "secret_strings")]
    cluster_nodes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "secret_strings")]
    sentinels: Option<Vec<String>>,
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default, deserialize_with = "secret_string")]
    password: Option<String>,
    #[serde(default)]
    sentinel_username: Option<String>,
    #[serde(default, deserialize_with = "secret_string")]
    sentinel_password: Option<String>,
    #[serde(default)]
    database: Option<i64>,
    #[serde(default)]
    max_connections: Option<usize>,
    #[serde(default)]
    connect_timeout: Option<DurationText>,
    #[serde(default)]
    response_timeout: Option<DurationText>,
    #[serde(default)]
    wait_timeout: Option<DurationText>,
    #[serde(default)]
    root_certificates_pem: Vec<String>,
}

/// A string that may hold a secret: a deserializer's type error would quote the
/// value, so it is replaced by one that does not.
fn secret_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer)
        .map_err(|_| D::Error::custom("expected a string (the value is not shown: it may hold a password)"))
}

/// A list of URLs, which may hold passwords: as [`secret_string`].
fn secret_strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    Option::<Vec<String>>::deserialize(deserializer)
        .map_err(|_| D::Error::custom("expected a list of strings (the value is not shown: it may hold a password)"))
}

impl TryFrom<RedisConfigFile> for RedisConfig {
    type Error = Error;

    fn try_from(file: RedisConfigFile) -> Result<Self, Error> {
        let mut builder = match (file.url, file.cluster_nodes, file.sentinels) {
            (Some(url), None, None) => {
                if file.service_name.is_some() {
                    return Err(Error::invalid_source(
                        "`service_name` goes with `sentinels`; a `redis+sentinel://` URL names its service",
                    ));
                }
                RedisConfig::builder(&url)
            }
            (None, Some(nodes), None) => {
                if file.service_name.is_some() {
                    return Err(Error::invalid_source(
                        "`service_name` goes with `sentinels`, not `cluster_nodes`",
                    ));
                }
                RedisConfig::cluster_builder(nodes)
            }
            (None, None, Some(sentinels)) => {
                RedisConfig::sentinel_builder(sentinels, file.service_name.as_deref().unwrap_or_default())
            }
            (None, None, None) => {
                return Err(Error::invalid_source(
                    "one of `url`, `cluster_nodes` or `sentinels` is needed",
                ));
            }
            _ => {
                return Err(Error::invalid_source(
                    "only one of `url`, `cluster_nodes` and `sentinels` may be set",
                ));
            }
        };
        if let Some(username) = file.username {
            builder = builder.username(username);
        }
        if let Some(password) = file.password {
            builder = builder.password(password);
        }
        if let Some(username) = file.sentinel_username {
            builder = builder.sentinel_username(username);
        }
        if let Some(password) = file.sentinel_password {
            builder = builder.sentinel_password(password);
        }
        if let Some(database) = file.database {
            builder = builder.database(database);
        }
        if let Some(max) = file.max_connections {
            builder = builder.max_connections(max);
        }
        if let Some(timeout) = file.connect_timeout {
            builder = builder.connect_timeout(timeout.0);
        }
        if let Some(timeout) = file.response_timeout {
            builder = builder.response_timeout(timeout.0);
        }
        if let Some(timeout) = file.wait_timeout {
            builder = builder.wait_timeout(timeout.0);
        }
        if !file.root_certificates_pem.is_empty() {
            #[cfg(feature = "rustls")]
            for pem in file.root_certificates_pem {
                builder = builder.add_root_certificate_pem(pem);
            }
            #[cfg(not(feature = "rustls"))]
            return Err(Error::invalid_source(
                "`root_certificates_pem` needs the `rustls` feature",
            ));
        }
        builder.build()
    }
}
