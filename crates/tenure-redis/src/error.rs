//! Typed errors. None of them ever contains a password.

use std::{error::Error as StdError, fmt, sync::Arc};

use deadpool_redis::PoolError;

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
            Self::Build { addr, reason } => {
                write!(f, "cannot build a connection pool for {addr}: {reason}")
            }
        }
    }
}

impl StdError for ConfigError {}

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
        /// `host:port` of the server.
        addr: String,
        /// What the pool reported.
        source: Arc<PoolError>,
    },
    /// The cache refused the operation (for instance after
    /// [`RedisClients::shutdown`](crate::RedisClients::shutdown)).
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

    /// `host:port` of the server this error concerns, if it concerns one.
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

    /// Whether a timeout elapsed (connecting, waiting for a free connection, or
    /// checking an idle one).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Connection { source, .. } if matches!(**source, PoolError::Timeout(_)))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => fmt::Display::fmt(e, f),
            Self::Connection { addr, source } => {
                write!(f, "no Redis connection to {addr}: {source}")
            }
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
            Self::Cache(e) => Some(e),
            Self::Other { .. } => None,
        }
    }
}

impl From<tenure_pool::GetError<Error>> for Error {
    fn from(e: tenure_pool::GetError<Error>) -> Self {
        match e {
            tenure_pool::GetError::Init(e) => Arc::unwrap_or_clone(e),
            tenure_pool::GetError::Cache(e) => Self::Cache(e),
            // `GetError` is non-exhaustive; every variant today is handled above.
            other => Self::Other {
                message: other.to_string(),
            },
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
