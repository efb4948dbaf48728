//! Typed errors. None of them ever contains a password.

use std::{error::Error as StdError, fmt, sync::Arc};

use deadpool_redis::{PoolError, redis::RedisError};

use crate::Topology;

/// Longest scheme echoed back in [`ConfigError::UnsupportedScheme`].
const MAX_ECHOED_SCHEME: usize = 16;

/// Why a [`RedisConfig`](crate::RedisConfig) could not be built.
///
/// Each variant names what was wrong, and none of them carries the URL itself:
/// its password never reaches an error message or a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not a URL at all; `reason` is the URL parser's (it never
    /// quotes the input).
    InvalidUrl {
        /// What the parser rejected, such as `invalid port number`.
        reason: String,
    },
    /// The scheme is neither `redis` nor `rediss`.
    UnsupportedScheme {
        /// The scheme that was given (at most 16 characters of it).
        scheme: String,
    },
    /// A `rediss://` URL, but this build has no TLS support (the `rustls` feature
    /// is off).
    TlsNotEnabled {
        /// `host:port` of the server.
        addr: String,
    },
    /// The URL has no host.
    MissingHost,
    /// The host is a wildcard address (`0.0.0.0` or `::`), which cannot be connected to.
    WildcardHost {
        /// The wildcard address that was given.
        host: String,
    },
    /// The URL path is not a database index (`/` followed by a non-negative integer).
    InvalidDatabase,
    /// The database index set with the builder is negative.
    NegativeDatabase {
        /// The index that was set.
        database: i64,
    },
    /// The username or the password is not valid UTF-8 once percent-decoded.
    InvalidCredentials {
        /// `"username"` or `"password"`.
        part: &'static str,
    },
    /// A query parameter this crate does not understand (only `protocol` is).
    UnsupportedParameter {
        /// The parameter's name (its value is never echoed).
        name: String,
    },
    /// The `protocol` query parameter is not one of `2`, `3`, `resp2`, `resp3`.
    InvalidProtocol,
    /// The URL has a fragment (`#...`). The `redis` crate's `#insecure` (no
    /// certificate verification) is deliberately not supported.
    UnsupportedFragment,
    /// `max_connections` was set to zero: such a pool could never lend a connection.
    ZeroMaxConnections,
    /// A timeout was set to zero.
    ZeroTimeout {
        /// Which timeout: `"connect"`, `"response"` or `"wait"`.
        which: &'static str,
    },
    /// A root certificate added with
    /// [`add_root_certificate_pem`](crate::RedisConfigBuilder::add_root_certificate_pem)
    /// is not a PEM certificate usable as a trust anchor.
    InvalidRootCertificate {
        /// Which one (0 for the first added).
        index: usize,
        /// Why it was refused (the certificate itself is never quoted).
        reason: String,
    },
    /// A cluster or sentinel configuration, but this build of tenure-redis lacks
    /// the feature that supports it.
    TopologyNotEnabled {
        /// The configuration's topology.
        topology: Topology,
        /// The cargo feature to turn on (`"cluster"` or `"sentinel"`).
        feature: &'static str,
    },
    /// TLS (`rediss://`) for a cluster or sentinel configuration: supported for
    /// standalone servers only.
    TlsNotSupported {
        /// The configuration's topology.
        topology: Topology,
    },
    /// A cluster or sentinel configuration with no node at all.
    NoNodes {
        /// The configuration's topology.
        topology: Topology,
    },
    /// One of the cluster's startup nodes or one of the sentinels is invalid.
    InvalidNode {
        /// The configuration's topology.
        topology: Topology,
        /// Its position in the list (0 for the first).
        index: usize,
        /// What is wrong with it (never its password).
        error: Box<ConfigError>,
    },
    /// A node of the list disagrees with the first one on something that must be
    /// the same for all (the `redis` crate uses the first node's for every node).
    MismatchedNode {
        /// The configuration's topology.
        topology: Topology,
        /// Its position in the list (0 for the first).
        index: usize,
        /// What differs: `"username"`, `"password"`, `"protocol"`, `"database"` or TLS
        /// (the values are never echoed).
        part: &'static str,
    },
    /// A sentinel configuration without a service (master group) name.
    MissingServiceName,
    /// The sentinel service name is empty after decoding, or holds whitespace or
    /// control characters.
    InvalidServiceName,
    /// A cluster configuration selecting a database other than 0 (Redis Cluster
    /// has only database 0).
    ClusterDatabase {
        /// The database index that was asked for.
        database: i64,
    },
    /// Sentinel credentials set on a configuration that is not a sentinel one.
    SentinelCredentialsWithoutSentinel {
        /// The configuration's topology.
        topology: Topology,
    },
    /// A configuration file (feature `serde`) names no topology, or more than one,
    /// or a setting that does not go with its topology.
    InvalidSource {
        /// What is wrong.
        reason: &'static str,
    },
    /// The connection pool could not be built from a valid configuration.
    Build {
        /// `host:port` of the server.
        addr: String,
        /// What deadpool reported.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { reason } => write!(f, "invalid Redis URL: {reason}"),
            Self::UnsupportedScheme { scheme } => write!(
                f,
                "unsupported Redis URL scheme `{scheme}`: expected `redis://` or `rediss://`"
            ),
            Self::TlsNotEnabled { addr } => write!(
                f,
                "`rediss://` URL for {addr}: TLS is not enabled in this build of tenure-redis \
                 (the redis crate's TLS features are off); use `redis://`"
            ),
            Self::MissingHost => f.write_str("invalid Redis URL: it has no host"),
            Self::WildcardHost { host } => {
                write!(f, "invalid Redis URL: cannot connect to the wildcard address {host}")
            }
            Self::InvalidDatabase => {
                f.write_str("invalid Redis URL: the path must be `/` followed by a non-negative database index")
            }
            Self::NegativeDatabase { database } => {
                write!(f, "invalid database index {database}: it must not be negative")
            }
            Self::InvalidCredentials { part } => write!(
                f,
                "invalid Redis URL: the {part} is not valid UTF-8 after percent-decoding"
            ),
            Self::UnsupportedParameter { name } => write!(
                f,
                "invalid Redis URL: unsupported query parameter `{name}` (only `protocol` is supported)"
            ),
            Self::InvalidProtocol => f.write_str("invalid Redis URL: `protocol` must be one of 2, 3, resp2, resp3"),
            Self::UnsupportedFragment => f.write_str("invalid Redis URL: fragments (`#...`) are not supported"),
            Self::ZeroMaxConnections => f.write_str("max_connections must be at least 1"),
            Self::ZeroTimeout { which } => write!(f, "the {which} timeout must not be zero"),
            Self::InvalidRootCertificate { index, reason } => {
                write!(f, "invalid root certificate #{index}: {reason}")
            }
            Self::TopologyNotEnabled { topology, feature } => write!(
                f,
                "a Redis {topology} configuration, but this build of tenure-redis lacks the `{feature}` feature"
            ),
            Self::TlsNotSupported { topology } => write!(
                f,
                "TLS (`rediss://`) is supported for standalone Redis servers only, not for a {topology} configuration"
            ),
            Self::NoNodes { topology } => write!(f, "a Redis {topology} configuration needs at least one node"),
            Self::InvalidNode { topology, index, error } => {
                let what = if *topology == Topology::Sentinel {
                    "sentinel"
                } else {
                    "cluster node"
                };
                write!(f, "{what} #{index}: {error}")
            }
            Self::MismatchedNode { topology, index, part } => {
                let what = if *topology == Topology::Sentinel {
                    "sentinel"
                } else {
                    "cluster node"
                };
                write!(
                    f,
                    "{what} #{index}: its {part} differs from the first node's; all must be the same"
                )
            }
            Self::MissingServiceName => f.write_str(
                "a Redis sentinel configuration needs the service (master group) name, as in \
                 `redis+sentinel://host:26379/mymaster`",
            ),
            Self::InvalidServiceName => f.write_str(
                "invalid sentinel service name: it must be non-empty, without whitespace or control characters",
            ),
            Self::ClusterDatabase { database } => write!(
                f,
                "a Redis Cluster has only database 0; database {database} was asked for"
            ),
            Self::SentinelCredentialsWithoutSentinel { topology } => write!(
                f,
                "sentinel credentials were set on a {topology} configuration; they apply to sentinel configurations only"
            ),
            Self::InvalidSource { reason } => write!(f, "invalid Redis configuration: {reason}"),
            Self::Build { addr, reason } => {
                write!(f, "cannot build a connection pool for {addr}: {reason}")
            }
        }
    }
}

impl StdError for ConfigError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::InvalidNode { error, .. } => Some(&**error),
            _ => None,
        }
    }
}

impl ConfigError {
    pub(crate) fn unsupported_scheme(scheme: &str) -> Self {
        Self::UnsupportedScheme {
            scheme: scheme.chars().take(MAX_ECHOED_SCHEME).collect(),
        }
    }
}

/// An error from [`RedisClients`](crate::RedisClients) or a [`RedisPool`](crate::RedisPool).
///
/// Errors that concern a server name it as `host:port`. `Error` is `Clone` (its
/// sources are reference-counted) because one failed pool creation is reported to
/// every caller that waited for it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    Config(ConfigError),
    /// No connection to the server could be had: it is unreachable, it refused
    /// the credentials, the pool's wait timeout elapsed, or the pool is closed.
    Connection {
        /// The server: `host:port`, `cluster <nodes>` or
        /// `sentinel service <name> via <sentinels>`.
        addr: String,
        /// What the pool reported.
        source: Arc<PoolError>,
    },
    /// A command failed: its connection broke, its response timeout elapsed, or
    /// the server replied with an error. Made by `?` on a
    /// [`RedisError`] from a command on a [`RedisConnection`](crate::RedisConnection).
    Command {
        /// What the `redis` crate reported.
        source: Arc<RedisError>,
    },
    /// A pool was handed in for a configuration of another topology (for
    /// instance a `deadpool_redis::Pool` for a cluster configuration).
    TopologyMismatch {
        /// The configuration's topology.
        config: Topology,
        /// The handed-in pool's topology.
        pool: Topology,
    },
    /// The cache has been shut down and takes no new pools.
    ShutDown,
    /// The cache refused the operation or a setting (a capacity of 0, a zero
    /// duration; no runtime for a runtime-scoped cache).
    Cache(tenure_pool::Error),
    /// A cache error of a kind this version of tenure-redis does not know.
    Other {
        /// The error's message.
        message: String,
    },
}

impl Error {
    pub(crate) fn connection(addr: &str, source: PoolError) -> Self {
        Self::Connection {
            addr: addr.to_owned(),
            source: Arc::new(source),
        }
    }

    /// The server this error concerns, if it concerns one: `host:port` for a
    /// standalone server, `cluster <nodes>`, or `sentinel service <name> via <sentinels>`.
    pub fn addr(&self) -> Option<&str> {
        match self {
            Self::Connection { addr, .. } => Some(addr),
            Self::Config(ConfigError::TlsNotEnabled { addr } | ConfigError::Build { addr, .. }) => Some(addr),
            _ => None,
        }
    }

    /// Whether the pool behind this error was closed (by [`RedisClients::shutdown`]
    /// or, for a shared pool, by its owner).
    ///
    /// [`RedisClients::shutdown`]: crate::RedisClients::shutdown
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Connection { source, .. } if matches!(**source, PoolError::Closed))
    }

    /// Whether a timeout elapsed: connecting (the `redis` crate's connect timeout,
    /// or the pool's bound on creating a connection), waiting for a free connection
    /// in a full pool, checking an idle connection, or a command's response timeout
    /// ([`Error::Command`]).
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Connection { source, .. } => match &**source {
                PoolError::Timeout(_) => true,
                PoolError::Backend(e) => e.is_timeout(),
                _ => false,
            },
            Self::Command { source } => source.is_timeout(),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => fmt::Display::fmt(e, f),
            Self::Connection { addr, source } => {
                write!(f, "no Redis connection to {addr}: {source}")
            }
            Self::Command { source } => write!(f, "Redis command failed: {source}"),
            Self::TopologyMismatch { config, pool } => write!(
                f,
                "a {pool} pool was handed in for a {config} configuration; hand in a pool of the configuration's topology"
            ),
            Self::ShutDown => f.write_str("Redis client cache: it has been shut down and takes no new pools"),
            Self::Cache(e) => write!(f, "Redis client cache: {e}"),
            Self::Other { message } => write!(f, "Redis client cache: {message}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Connection { source, .. } => Some(&**source),
            Self::Command { source } => Some(&**source),
            Self::Cache(e) => Some(e),
            Self::TopologyMismatch { .. } | Self::ShutDown | Self::Other { .. } => None,
        }
    }
}

impl From<tenure_pool::GetError<Error>> for Error {
    fn from(e: tenure_pool::GetError<Error>) -> Self {
        match e {
            tenure_pool::GetError::Init(e) => Arc::unwrap_or_clone(e),
            tenure_pool::GetError::Cache(e) if e.kind() == tenure_pool::ErrorKind::ShutDown => Self::ShutDown,
            tenure_pool::GetError::Cache(e) => Self::Cache(e),
            // `GetError` is non-exhaustive; every variant today is handled above.
            other => Self::Other {
                message: other.to_string(),
            },
        }
    }
}

/// A failed command, so that `?` turns the `redis` crate's error into this one.
impl From<RedisError> for Error {
    fn from(e: RedisError) -> Self {
        Self::Command { source: Arc::new(e) }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
