//! Loading a [`RedisConfig`] from configuration files (feature `serde`).
//!
//! The file form is read by hand-written visitors: a value of the wrong type, an
//! unknown setting or a list where a map belongs is refused naming the setting
//! and the expected type, never quoting the value (serde's derived visitors
//! would quote it, and a `url` or a password may be in it).

use std::time::Duration;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer};
use tenure_pool::config_file::{Field, Kind, Settings, Value, duration};

use crate::{Error, RedisConfig};

/// The settings of the file form and their types.
const FIELDS: &[(&str, Kind)] = &[
    ("url", Kind::Text),
    ("cluster_nodes", Kind::List),
    ("sentinels", Kind::List),
    ("service_name", Kind::Text),
    ("username", Kind::Text),
    ("password", Kind::Text),
    ("sentinel_username", Kind::Text),
    ("sentinel_password", Kind::Text),
    ("database", Kind::Int),
    ("max_connections", Kind::Int),
    ("connect_timeout", Kind::Text),
    ("response_timeout", Kind::Text),
    ("wait_timeout", Kind::Text),
    ("root_certificates_pem", Kind::List),
];

/// Loads a configuration from its file form; see [`RedisConfig`]'s section
/// "From a file".
impl<'de> Deserialize<'de> for RedisConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = Settings {
            what: "a Redis configuration",
            fields: FIELDS,
        }
        .deserialize(deserializer)?;
        let file = RedisConfigFile::from_values(values)?;
        RedisConfig::try_from(file).map_err(de::Error::custom)
    }
}

/// The file form of a [`RedisConfig`]: exactly one of `url`, `cluster_nodes` or
/// `sentinels` (with `service_name`), plus optional settings; timeouts as text
/// (`"250ms"`, `"10s"`), as in tenure-http's file form. Unknown fields are refused.
#[derive(Default)]
struct RedisConfigFile {
    url: Option<String>,
    cluster_nodes: Option<Vec<String>>,
    sentinels: Option<Vec<String>>,
    service_name: Option<String>,
    username: Option<String>,
    password: Option<String>,
    sentinel_username: Option<String>,
    sentinel_password: Option<String>,
    database: Option<i64>,
    max_connections: Option<usize>,
    connect_timeout: Option<Duration>,
    response_timeout: Option<Duration>,
    wait_timeout: Option<Duration>,
    root_certificates_pem: Vec<String>,
}

impl RedisConfigFile {
    /// The settings read by [`Settings`], typed; the errors name the setting and
    /// never quote its value.
    fn from_values<E: de::Error>(values: Vec<(Field, Value)>) -> Result<Self, E> {
        let mut file = Self::default();
        for (field, value) in values {
            let name = field.name();
            let text = |value| field.text::<E>(value);
            match (name, value) {
                (_, Value::Absent) => {}
                ("url", v) => file.url = Some(text(v)?),
                ("service_name", v) => file.service_name = Some(text(v)?),
                ("username", v) => file.username = Some(text(v)?),
                ("password", v) => file.password = Some(text(v)?),
                ("sentinel_username", v) => file.sentinel_username = Some(text(v)?),
                ("sentinel_password", v) => file.sentinel_password = Some(text(v)?),
                ("connect_timeout", v) => file.connect_timeout = Some(duration(name, &text(v)?)?),
                ("response_timeout", v) => file.response_timeout = Some(duration(name, &text(v)?)?),
                ("wait_timeout", v) => file.wait_timeout = Some(duration(name, &text(v)?)?),
                ("cluster_nodes", Value::List(list)) => file.cluster_nodes = Some(list),
                ("sentinels", Value::List(list)) => file.sentinels = Some(list),
                ("root_certificates_pem", Value::List(list)) => file.root_certificates_pem = list,
                ("database", Value::Int(n)) => {
                    // A negative index is the builder's error, which names it.
                    file.database =
                        Some(i64::try_from(n).map_err(|_| {
                            E::custom("`database`: the number is out of range (the value is not shown)")
                        })?);
                }
                ("max_connections", Value::Int(n)) => {
                    // Too large is the builder's error, which names the bound.
                    file.max_connections = Some(usize::try_from(n).map_err(|_| {
                        E::custom(format_args!(
                            "`max_connections`: expected a whole number from 1 to {} (the value is not shown)",
                            RedisConfig::MAX_MAX_CONNECTIONS
                        ))
                    })?);
                }
                _ => return Err(field.wrong("another type")),
            }
        }
        Ok(file)
    }
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
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = file.response_timeout {
            builder = builder.response_timeout(timeout);
        }
        if let Some(timeout) = file.wait_timeout {
            builder = builder.wait_timeout(timeout);
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
