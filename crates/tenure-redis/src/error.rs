//! The crate's error type: an opaque [`Error`] with a [`kind`](Error::kind).
//!
//! One error type for the whole crate, configuration errors included (as regex
//! has one `Error`, and as tenure-http does): [`RedisConfig`](crate::RedisConfig)'s
//! builder, [`RedisClients::get`](crate::RedisClients::get) (which may have to
//! build the pool) and a command's `?` all give the same type, so a caller needs
//! one `?` path and one `match` on [`ErrorKind`], and a configuration error met
//! late (when a pool is built) is not a different type from one met early.
//! [`Error::is_config`] tells the two families apart.
//!
//! No error this crate makes shows a root certificate, nor a password of
//! the configuration, except in the text of the `redis` crate's own error
//! behind an [`ErrorKind::Command`] (see there).

use std::{error::Error as StdError, fmt, sync::Arc};

use deadpool_redis::{PoolError, redis::RedisError};

use tenure_pool::config_file::is_plain_identifier;

use crate::{Topology, connection_error::ConnectionError, scrub::cut_echoed_arguments};

/// Longest scheme echoed back by [`ErrorKind::UnsupportedScheme`].
const MAX_ECHOED_SCHEME: usize = 16;

/// A boxed error that is `Send + Sync`: the sources of [`Error`].
type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong; see [`Error::kind`].
///
/// The first group are configuration errors ([`Error::is_config`]): a
/// [`RedisConfig`](crate::RedisConfig) could not be built, or a pool could not be
/// built from one. The others happen while the cache and its pools are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not a URL at all. The message has the reason (which never
    /// quotes the input); when the URL parser refused it, its error is the
    /// [`source`](StdError::source).
    InvalidUrl,
    /// The scheme is neither `redis` nor `rediss` (nor, for a whole URL,
    /// `redis+sentinel` or `rediss+sentinel`); the message quotes at most 16
    /// characters of it, and only if it is written as a scheme (`name://`: in
    /// `user:password@host` the URL parser would take `user` for one).
    UnsupportedScheme,
    /// A `rediss://` URL, but this build has no TLS support (the `rustls` feature
    /// is off); [`Error::addr`] is the server.
    TlsNotEnabled,
    /// The URL has no host.
    MissingHost,
    /// The host is a wildcard (unspecified) address: `0.0.0.0`, also in the
    /// short, octal and hexadecimal forms C resolvers take for it (`inet_aton`'s:
    /// `0`, `0x0`, `0.0`, `000.000.000.000`, ...), or `::` or `::ffff:0.0.0.0`
    /// (in any IPv6 spelling).
    /// It is an address a server listens on, not one naming a server, and
    /// what a connection to it does depends on the system (on Linux it
    /// reaches the local host; Windows refuses it), so it is refused: write
    /// the server's address (`127.0.0.1` for the local host). The message
    /// quotes the host (for IPv6, in its usual form).
    WildcardHost,
    /// The host is neither a host name (ASCII letters, digits, `-`, `_` and `.`),
    /// nor an IPv4 address, nor a bracketed IPv6 address: for instance a
    /// percent-encoded name, in which an encoded `@` could hide credentials, or a
    /// non-ASCII name, which must be given in its ASCII (punycode) form. The
    /// message never quotes it.
    InvalidHost,
    /// The URL path is not a database index (`/` followed by a non-negative integer).
    InvalidDatabase,
    /// The database index set with the builder is negative
    /// ([`Error::setting`] is `"database"`).
    NegativeDatabase,
    /// The username or the password is not valid UTF-8 once percent-decoded;
    /// [`Error::part`] says which.
    InvalidCredentials,
    /// A query parameter this crate does not understand (only `protocol` is); the
    /// message names it only if the name is a plain identifier (ASCII letters,
    /// digits and `_`, not starting with a digit, at most 32 characters), else
    /// says "a query parameter"; never its value.
    UnsupportedParameter,
    /// A query parameter is given more than once (as `?protocol=2&protocol=3`);
    /// the message names it (it is a supported one, so a plain identifier).
    DuplicateParameter,
    /// The URL names port 0, which cannot be connected to.
    InvalidPort,
    /// The `protocol` query parameter is not one of `2`, `3`, `resp2`, `resp3`.
    InvalidProtocol,
    /// The URL has a fragment (`#...`). The `redis` crate's `#insecure` (no
    /// certificate verification) is deliberately not supported.
    UnsupportedFragment,
    /// `max_connections` was set to zero: such a pool could never lend a connection
    /// ([`Error::setting`] is `"max_connections"`).
    ZeroMaxConnections,
    /// `max_connections` was set above
    /// [`RedisConfig::MAX_MAX_CONNECTIONS`](crate::RedisConfig::MAX_MAX_CONNECTIONS)
    /// ([`Error::setting`] is `"max_connections"`; the message has the value and the bound).
    TooManyConnections,
    /// A timeout was set to zero; [`Error::setting`] says which
    /// (`"connect_timeout"`, `"response_timeout"` or `"wait_timeout"`).
    ZeroTimeout,
    /// A timeout was set above [`RedisConfig::MAX_TIMEOUT`](crate::RedisConfig::MAX_TIMEOUT);
    /// [`Error::setting`] says which (`"connect_timeout"`, `"response_timeout"` or
    /// `"wait_timeout"`).
    TimeoutTooLong,
    /// A root certificate added with
    /// [`add_root_certificate_pem`](crate::RedisConfigBuilder::add_root_certificate_pem)
    /// or [`add_root_certificate_der`](crate::RedisConfigBuilder::add_root_certificate_der)
    /// is not a certificate usable as a trust anchor; [`Error::index`] says which
    /// (0 for the first added), the message why (never quoting it).
    InvalidRootCertificate,
    /// A cluster or sentinel configuration, but this build of tenure-redis lacks
    /// the feature that supports it; [`Error::topology`] is the configuration's,
    /// the message names the feature.
    TopologyNotEnabled,
    /// TLS (`rediss://`) for a cluster or sentinel configuration: supported for
    /// standalone servers only; [`Error::topology`] is the configuration's.
    TlsNotSupported,
    /// A cluster or sentinel configuration with no node at all; [`Error::topology`]
    /// is the configuration's.
    NoNodes,
    /// A node of the list disagrees with the first one on something that must be
    /// the same for all (the `redis` crate uses the first node's for every node):
    /// [`Error::index`] is its position, [`Error::part`] what differs
    /// (`"username"`, `"password"`, `"protocol"`, `"database"` or TLS; the values
    /// are never echoed).
    MismatchedNode,
    /// A sentinel configuration without a service (master group) name.
    MissingServiceName,
    /// The sentinel service name is empty after decoding, holds whitespace or
    /// control characters, or is `.` or `..`.
    InvalidServiceName,
    /// A cluster configuration selecting a database other than 0 (Redis Cluster
    /// has only database 0; [`Error::setting`] is `"database"`).
    ClusterDatabase,
    /// Sentinel credentials set on a configuration that is not a sentinel one;
    /// [`Error::topology`] is the configuration's.
    SentinelCredentialsWithoutSentinel,
    /// A configuration file (feature `serde`) names no topology, or more than one,
    /// or a setting that does not go with its topology.
    InvalidSource,
    /// The connection pool could not be built from a valid configuration;
    /// [`Error::addr`] is the server.
    Build,
    /// A setting of the cache's builder is out of range (a capacity of 0, a zero
    /// duration, a refresh after the time-to-live). The message is the one every
    /// tenure cache gives for it, naming the setting and its value;
    /// [`source`](StdError::source) is the [`CacheError`](crate::CacheError).
    /// The same mistake is `ErrorKind::InvalidConfig` in tenure-http.
    InvalidSetting,
    /// No connection to the server could be had: it is unreachable, it refused
    /// the credentials, a timeout elapsed ([`Error::is_timeout`]), or the pool is
    /// closed ([`Error::is_closed`]). [`Error::addr`] is the server. The message
    /// and the [`source`](StdError::source) give deadpool's [`PoolError`] as
    /// text, with the configuration's usernames and passwords replaced by
    /// `***` and the arguments a server quotes back (`unknown command 'HELLO',
    /// with args beginning with: ...`) cut: a server's reply to the
    /// connection handshake may quote the credentials. The source is not the
    /// `PoolError` itself, nor does it have a source.
    Connection,
    /// A command failed: its connection broke, its response timeout elapsed
    /// ([`Error::is_timeout`]), or the server replied with an error. Made by `?` on
    /// a [`RedisError`] from a command on a
    /// [`RedisConnection`](crate::RedisConnection), which is the
    /// [`source`](StdError::source).
    ///
    /// The `RedisError` is the `redis` crate's, returned by its methods
    /// before tenure sees it, and the conversion does not know the
    /// configuration: this crate cannot remove its credentials from it. The
    /// message and `Debug` of this error cut the arguments a server quotes
    /// back (`unknown command ..., with args beginning with: ...`), as for
    /// [`ErrorKind::Connection`], but mask nothing else; the source, and so a
    /// report that prints the error's chain (`anyhow`'s `{:#}` and `{:?}`),
    /// shows the `redis` crate's text as it is. A cluster connection that
    /// connects to a node again while running a command may report that
    /// node's reply to the handshake, which with `?protocol=3` and a server
    /// without `HELLO` quotes the username and password; so may the
    /// `RedisError` a command returns, before any `?`.
    Command,
    /// A pool was handed in for a configuration of another topology (for instance
    /// a `deadpool_redis::Pool` for a cluster configuration); [`Error::topology`]
    /// is the configuration's, the message names both.
    TopologyMismatch,
    /// The cache has been shut down and takes no new pools.
    ShutDown,
    /// No tokio runtime is running, or it lacks its timer or its IO driver:
    /// [`RedisClients::get`](crate::RedisClients::get) and
    /// [`RedisPool::get`](crate::RedisPool::get) must be called (polled) inside a
    /// runtime built with both (`enable_all()`), since the pools' timeouts are
    /// tokio timers and their connections tokio sockets. For a missing driver
    /// the [`source`](StdError::source) is tenure-pool's [`MissingDriver`](crate::MissingDriver)
    /// (re-exported here), which the message quotes
    /// (checked with [`check_runtime_drivers`](tenure_pool::check_runtime_drivers),
    /// whose docs say how). The same mistake is `ErrorKind::Runtime` in
    /// tenure-http.
    Runtime,
    /// The cache refused the operation for a reason of its own;
    /// [`source`](StdError::source) is the [`CacheError`](crate::CacheError),
    /// whose [`kind`](crate::CacheError::kind) says which.
    Cache,
    /// A cache error of a kind this version of tenure-redis does not know.
    Other,
}

/// A short description of the kind (the [`Error`]'s own message is the precise one).
impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::InvalidUrl => "invalid URL",
            ErrorKind::UnsupportedScheme => "unsupported URL scheme",
            ErrorKind::TlsNotEnabled => "TLS not enabled in this build",
            ErrorKind::MissingHost => "missing host",
            ErrorKind::WildcardHost => "wildcard host",
            ErrorKind::InvalidHost => "invalid host",
            ErrorKind::InvalidDatabase => "invalid database",
            ErrorKind::NegativeDatabase => "negative database index",
            ErrorKind::InvalidCredentials => "invalid credentials",
            ErrorKind::UnsupportedParameter => "unsupported URL parameter",
            ErrorKind::DuplicateParameter => "duplicate URL parameter",
            ErrorKind::InvalidPort => "invalid port",
            ErrorKind::InvalidProtocol => "invalid protocol",
            ErrorKind::UnsupportedFragment => "unsupported URL fragment",
            ErrorKind::ZeroMaxConnections => "zero max_connections",
            ErrorKind::TooManyConnections => "max_connections too large",
            ErrorKind::ZeroTimeout => "zero timeout",
            ErrorKind::TimeoutTooLong => "timeout too long",
            ErrorKind::InvalidRootCertificate => "invalid root certificate",
            ErrorKind::TopologyNotEnabled => "topology not enabled in this build",
            ErrorKind::TlsNotSupported => "TLS not supported for this topology",
            ErrorKind::NoNodes => "no nodes",
            ErrorKind::MismatchedNode => "mismatched node",
            ErrorKind::MissingServiceName => "missing sentinel service name",
            ErrorKind::InvalidServiceName => "invalid sentinel service name",
            ErrorKind::ClusterDatabase => "database set on a cluster",
            ErrorKind::SentinelCredentialsWithoutSentinel => "sentinel credentials without sentinel",
            ErrorKind::InvalidSource => "invalid configuration source",
            ErrorKind::Build => "pool build error",
            ErrorKind::InvalidSetting => "invalid cache setting",
            ErrorKind::Connection => "connection error",
            ErrorKind::Command => "command error",
            ErrorKind::TopologyMismatch => "topology mismatch",
            ErrorKind::ShutDown => "cache shut down",
            ErrorKind::Runtime => "no usable tokio runtime",
            ErrorKind::Cache => "client cache error",
            ErrorKind::Other => "Redis error",
        })
    }
}

/// Every fallible operation of this crate fails with this error.
///
/// Opaque: match on [`kind`](Error::kind), ask the accessors for the data that
/// goes with it ([`addr`](Error::addr), [`index`](Error::index),
/// [`part`](Error::part), [`setting`](Error::setting),
/// [`topology`](Error::topology)), print it (the message names what was wrong and,
/// for a server, its `host:port`), or walk [`source`](StdError::source) for the
/// underlying deadpool, `redis`, rustls or URL parser error. It never contains a
/// root certificate, nor a password of the configuration, but in one case: the
/// source of an [`ErrorKind::Command`] is the `redis` crate's error as that
/// crate wrote it (see there for what it may quote).
///
/// `Error` is `Send + Sync + 'static`, so `?` converts it into
/// `Box<dyn std::error::Error + Send + Sync>` or `anyhow::Error`. Cloning is cheap
/// (clones share one allocation), so one failed pool creation is reported to every
/// caller that waited for it.
///
/// # Examples
///
/// ```
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::{ErrorKind, RedisConfig};
///
/// let err = RedisConfig::builder("redis://app:s3cret@127.0.0.1:6390/0")
///     .connect_timeout(std::time::Duration::ZERO)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ZeroTimeout);
/// assert_eq!(err.setting(), Some("connect_timeout"));
/// assert!(err.is_config());
/// assert_eq!(err.to_string(), "invalid Redis configuration: `connect_timeout` must not be zero");
/// assert!(!format!("{err:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    /// The whole `Display` text.
    message: String,
    addr: Option<String>,
    topology: Option<Topology>,
    index: Option<usize>,
    part: Option<&'static str>,
    setting: Option<&'static str>,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                addr: None,
                topology: None,
                index: None,
                part: None,
                setting: None,
                source: None,
            }),
        }
    }

    /// Changes a fresh error (cloning only if it is shared, which a fresh one is not).
    fn with(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        Self { inner: Arc::new(inner) }
    }

    fn with_source(self, source: impl Into<BoxError>) -> Self {
        let source: Arc<dyn StdError + Send + Sync> = Arc::from(source.into());
        self.with(|inner| inner.source = Some(source))
    }

    fn with_setting(self, setting: &'static str) -> Self {
        self.with(|inner| inner.setting = Some(setting))
    }

    fn with_topology(self, topology: Topology) -> Self {
        self.with(|inner| inner.topology = Some(topology))
    }

    fn with_addr(self, addr: &str) -> Self {
        let addr = addr.to_owned();
        self.with(|inner| inner.addr = Some(addr))
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether this is a configuration error: a [`RedisConfig`](crate::RedisConfig)
    /// could not be built, or a pool could not be built from one
    /// ([`ErrorKind::Build`]), or a setting of the cache's builder is out of range
    /// ([`ErrorKind::InvalidSetting`]). Every kind from [`ErrorKind::InvalidUrl`]
    /// to [`ErrorKind::InvalidSetting`] in the list.
    #[must_use]
    pub fn is_config(&self) -> bool {
        !matches!(
            self.inner.kind,
            ErrorKind::Connection
                | ErrorKind::Command
                | ErrorKind::TopologyMismatch
                | ErrorKind::ShutDown
                | ErrorKind::Runtime
                | ErrorKind::Cache
                | ErrorKind::Other
        )
    }

    /// The server this error concerns, if it concerns one: `host:port` for a
    /// standalone server, `cluster <nodes>`, or `sentinel service <name> via
    /// <sentinels>` ([`ErrorKind::Connection`], [`ErrorKind::Build`]); the server
    /// named by a `rediss://` URL for [`ErrorKind::TlsNotEnabled`].
    #[must_use]
    pub fn addr(&self) -> Option<&str> {
        self.inner.addr.as_deref()
    }

    /// Which one of several was wrong, by position from 0: the root certificate
    /// ([`ErrorKind::InvalidRootCertificate`], counting every
    /// `add_root_certificate_*` call), or the cluster node or sentinel of a list
    /// (for [`ErrorKind::MismatchedNode`], and for an error in one node's URL, such
    /// as [`ErrorKind::InvalidUrl`], then with [`topology`](Error::topology) set).
    #[must_use]
    pub fn index(&self) -> Option<usize> {
        self.inner.index
    }

    /// Which part was wrong: `"username"` or `"password"` for
    /// [`ErrorKind::InvalidCredentials`]; what differs for
    /// [`ErrorKind::MismatchedNode`]. Never the value itself.
    #[must_use]
    pub fn part(&self) -> Option<&'static str> {
        self.inner.part
    }

    /// The builder setting that was out of range, named as the builder method:
    /// `"connect_timeout"`, `"response_timeout"` or `"wait_timeout"`
    /// ([`ErrorKind::ZeroTimeout`], [`ErrorKind::TimeoutTooLong`]),
    /// `"max_connections"` ([`ErrorKind::ZeroMaxConnections`],
    /// [`ErrorKind::TooManyConnections`]), `"database"`
    /// ([`ErrorKind::NegativeDatabase`], [`ErrorKind::ClusterDatabase`]), or
    /// `"root_certificate"` ([`ErrorKind::InvalidRootCertificate`]).
    #[must_use]
    pub fn setting(&self) -> Option<&'static str> {
        self.inner.setting
    }

    /// The configuration's topology, for the errors that concern it
    /// ([`ErrorKind::TopologyNotEnabled`], [`ErrorKind::TlsNotSupported`],
    /// [`ErrorKind::NoNodes`], [`ErrorKind::MismatchedNode`],
    /// [`ErrorKind::SentinelCredentialsWithoutSentinel`],
    /// [`ErrorKind::TopologyMismatch`]) and for an error in one node of a list.
    #[must_use]
    pub fn topology(&self) -> Option<Topology> {
        self.inner.topology
    }

    /// Whether the pool behind this error was closed (by
    /// [`RedisClients::shutdown`](crate::RedisClients::shutdown) or, for a shared
    /// pool, by its owner): an [`ErrorKind::Connection`] from deadpool's
    /// [`PoolError::Closed`].
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.kind == ErrorKind::Connection
            && matches!(
                self.source_as::<ConnectionError>().map(ConnectionError::pool_error),
                Some(PoolError::Closed)
            )
    }

    /// Whether a timeout elapsed: connecting (the `redis` crate's connect timeout,
    /// or the pool's bound on creating a connection), waiting for a free connection
    /// in a full pool, checking an idle connection, or the whole checkout's bound
    /// ([`RedisConfig::checkout_timeout`](crate::RedisConfig::checkout_timeout),
    /// pools the cache owns) ([`ErrorKind::Connection`]), or a
    /// command's response timeout ([`ErrorKind::Command`]).
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        if let Some(pool) = self.source_as::<ConnectionError>().map(ConnectionError::pool_error) {
            return match pool {
                PoolError::Timeout(_) => true,
                PoolError::Backend(e) => e.is_timeout(),
                _ => false,
            };
        }
        self.source_as::<RedisError>().is_some_and(RedisError::is_timeout)
    }

    fn source_as<T: StdError + 'static>(&self) -> Option<&T> {
        self.inner.source.as_deref().and_then(|s| s.downcast_ref::<T>())
    }

    // Configuration errors.

    pub(crate) fn invalid_url(source: url::ParseError) -> Self {
        Self::new(ErrorKind::InvalidUrl, format!("invalid Redis URL: {source}")).with_source(source)
    }

    /// A URL the parser accepted but whose shape is wrong (the reason never quotes it).
    pub(crate) fn malformed_url(reason: &str) -> Self {
        Self::new(ErrorKind::InvalidUrl, format!("invalid Redis URL: {reason}"))
    }

    /// `scheme` is `None` when it must not be echoed (it may be a credential).
    pub(crate) fn unsupported_scheme(scheme: Option<&str>) -> Self {
        let message = match scheme {
            Some(scheme) => {
                let scheme: String = scheme.chars().take(MAX_ECHOED_SCHEME).collect();
                format!("unsupported Redis URL scheme `{scheme}`: expected `redis://` or `rediss://`")
            }
            None => "invalid Redis URL: it must start with `redis://` or `rediss://`".to_owned(),
        };
        Self::new(ErrorKind::UnsupportedScheme, message)
    }

    pub(crate) fn tls_not_enabled(addr: &str) -> Self {
        Self::new(
            ErrorKind::TlsNotEnabled,
            format!(
                "`rediss://` URL for {addr}: TLS is not enabled in this build of tenure-redis \
                 (the `rustls` feature is off); use `redis://`"
            ),
        )
        .with_addr(addr)
    }

    pub(crate) fn missing_host() -> Self {
        Self::new(ErrorKind::MissingHost, "invalid Redis URL: it has no host")
    }

    /// The host is never quoted: it may hold credentials (`user%3Apass%40host`).
    pub(crate) fn invalid_host() -> Self {
        Self::new(
            ErrorKind::InvalidHost,
            "invalid Redis URL: the host must be a host name (ASCII letters, digits, `-`, `_` and `.`; \
             a non-ASCII name in its punycode form, nothing percent-encoded), an IPv4 address or a \
             bracketed IPv6 address",
        )
    }

    pub(crate) fn wildcard_host(host: &str) -> Self {
        Self::new(
            ErrorKind::WildcardHost,
            format!(
                "invalid Redis URL: the host {host} is a wildcard address, which names no server; \
                 write the server's address (127.0.0.1 for the local host)"
            ),
        )
    }

    pub(crate) fn invalid_database() -> Self {
        Self::new(
            ErrorKind::InvalidDatabase,
            "invalid Redis URL: the path must be `/` followed by a non-negative database index",
        )
    }

    pub(crate) fn negative_database(database: i64) -> Self {
        Self::new(
            ErrorKind::NegativeDatabase,
            format!("invalid Redis configuration: `database` = {database}: it must not be negative"),
        )
        .with_setting("database")
    }

    pub(crate) fn invalid_credentials(part: &'static str) -> Self {
        Self::new(
            ErrorKind::InvalidCredentials,
            format!("invalid Redis URL: the {part} is not valid UTF-8 after percent-decoding"),
        )
        .with(|inner| inner.part = Some(part))
    }

    /// `name` is echoed only if it is a plain identifier (see
    /// `is_plain_identifier`): anything else may be a mangled password.
    pub(crate) fn unsupported_parameter(name: &str) -> Self {
        let message = if is_plain_identifier(name) {
            format!("invalid Redis URL: unsupported query parameter `{name}` (only `protocol` is supported)")
        } else {
            "invalid Redis URL: a query parameter is not supported (only `protocol` is; its name is not shown)"
                .to_owned()
        };
        Self::new(ErrorKind::UnsupportedParameter, message)
    }

    /// `name` is a parameter this crate supports (a fixed identifier).
    pub(crate) fn duplicate_parameter(name: &'static str) -> Self {
        Self::new(
            ErrorKind::DuplicateParameter,
            format!("invalid Redis URL: the query parameter `{name}` is given more than once"),
        )
    }

    pub(crate) fn invalid_port() -> Self {
        Self::new(
            ErrorKind::InvalidPort,
            "invalid Redis URL: port 0 cannot be connected to",
        )
    }

    pub(crate) fn invalid_protocol() -> Self {
        Self::new(
            ErrorKind::InvalidProtocol,
            "invalid Redis URL: `protocol` must be one of 2, 3, resp2, resp3",
        )
    }

    pub(crate) fn unsupported_fragment() -> Self {
        Self::new(
            ErrorKind::UnsupportedFragment,
            "invalid Redis URL: fragments (`#...`) are not supported",
        )
    }

    pub(crate) fn zero_max_connections() -> Self {
        Self::new(
            ErrorKind::ZeroMaxConnections,
            "invalid Redis configuration: `max_connections` must be at least 1",
        )
        .with_setting("max_connections")
    }

    pub(crate) fn too_many_connections(max: usize, bound: usize) -> Self {
        Self::new(
            ErrorKind::TooManyConnections,
            format!("invalid Redis configuration: `max_connections` = {max}: it must be at most {bound}"),
        )
        .with_setting("max_connections")
    }

    pub(crate) fn timeout_too_long(setting: &'static str, timeout: std::time::Duration, bound: &str) -> Self {
        Self::new(
            ErrorKind::TimeoutTooLong,
            format!("invalid Redis configuration: `{setting}` = {timeout:?}: it must be at most {bound}"),
        )
        .with_setting(setting)
    }

    /// `operation` was called where it cannot run: outside a tokio runtime, or
    /// on one without a driver it needs.
    pub(crate) fn runtime(operation: &str, missing: tenure_pool::MissingDriver) -> Self {
        if missing == tenure_pool::MissingDriver::NoRuntime {
            return Self::new(
                ErrorKind::Runtime,
                format!("{operation}: no tokio runtime is running; call it from within one"),
            );
        }
        Self::new(ErrorKind::Runtime, format!("{operation}: {missing}")).with_source(missing)
    }

    pub(crate) fn zero_timeout(setting: &'static str) -> Self {
        Self::new(
            ErrorKind::ZeroTimeout,
            format!("invalid Redis configuration: `{setting}` must not be zero"),
        )
        .with_setting(setting)
    }

    /// Root certificate `index` (`format` is `"PEM"` or `"DER"`) is refused for
    /// `reason`; `source` is rustls's error, if any.
    #[cfg(feature = "rustls")]
    pub(crate) fn invalid_root_certificate(index: usize, format: &str, reason: &str, source: Option<BoxError>) -> Self {
        let error = Self::new(
            ErrorKind::InvalidRootCertificate,
            format!("invalid Redis configuration: root certificate #{index} ({format}): {reason}"),
        )
        .with_setting("root_certificate")
        .with(|inner| inner.index = Some(index));
        match source {
            Some(source) => error.with_source(source),
            None => error,
        }
    }

    pub(crate) fn topology_not_enabled(topology: Topology, feature: &str) -> Self {
        Self::new(
            ErrorKind::TopologyNotEnabled,
            format!("a Redis {topology} configuration, but this build of tenure-redis lacks the `{feature}` feature"),
        )
        .with_topology(topology)
    }

    pub(crate) fn tls_not_supported(topology: Topology) -> Self {
        Self::new(
            ErrorKind::TlsNotSupported,
            format!(
                "TLS (`rediss://`) is supported for standalone Redis servers only, not for a {topology} configuration"
            ),
        )
        .with_topology(topology)
    }

    pub(crate) fn no_nodes(topology: Topology) -> Self {
        Self::new(
            ErrorKind::NoNodes,
            format!("a Redis {topology} configuration needs at least one node"),
        )
        .with_topology(topology)
    }

    /// The error `self` of node `index` of a `topology` list: the message names the
    /// node by its position.
    pub(crate) fn in_node(self, topology: Topology, index: usize) -> Self {
        let what = node_noun(topology);
        self.with(|inner| {
            inner.message = format!("{what} #{index}: {}", inner.message);
            inner.topology = Some(topology);
            inner.index = Some(index);
        })
    }

    pub(crate) fn mismatched_node(topology: Topology, index: usize, part: &'static str) -> Self {
        let what = node_noun(topology);
        Self::new(
            ErrorKind::MismatchedNode,
            format!("{what} #{index}: its {part} differs from the first node's; all must be the same"),
        )
        .with(|inner| {
            inner.topology = Some(topology);
            inner.index = Some(index);
            inner.part = Some(part);
        })
    }

    pub(crate) fn missing_service_name() -> Self {
        Self::new(
            ErrorKind::MissingServiceName,
            "a Redis sentinel configuration needs the service (master group) name, as in \
             `redis+sentinel://host:26379/mymaster`",
        )
    }

    pub(crate) fn invalid_service_name() -> Self {
        Self::new(
            ErrorKind::InvalidServiceName,
            "invalid sentinel service name: it must be non-empty, without whitespace or control \
             characters, and not `.` or `..`",
        )
    }

    pub(crate) fn cluster_database(database: i64) -> Self {
        Self::new(
            ErrorKind::ClusterDatabase,
            format!("a Redis Cluster has only database 0; database {database} was asked for"),
        )
        .with_setting("database")
    }

    pub(crate) fn sentinel_credentials_without_sentinel(topology: Topology) -> Self {
        Self::new(
            ErrorKind::SentinelCredentialsWithoutSentinel,
            format!(
                "sentinel credentials were set on a {topology} configuration; they apply to sentinel configurations only"
            ),
        )
        .with_topology(topology)
    }

    #[cfg(feature = "serde")]
    pub(crate) fn invalid_source(reason: &str) -> Self {
        Self::new(
            ErrorKind::InvalidSource,
            format!("invalid Redis configuration: {reason}"),
        )
    }

    /// A pool for `addr` could not be built; `reason` is what deadpool or the
    /// `redis` crate reported.
    pub(crate) fn build(addr: &str, reason: &str) -> Self {
        Self::new(
            ErrorKind::Build,
            format!("cannot build a connection pool for {addr}: {reason}"),
        )
        .with_addr(addr)
    }

    /// An `@` after the end of a URL's authority (its first `/`, `?` or `#`):
    /// one of those was left unencoded in the credentials, so the URL parser
    /// would take part of them for the host, the path, a query parameter or
    /// the fragment. Nothing of the URL is quoted.
    pub(crate) fn unencoded_delimiter_in_credentials() -> Self {
        Self::malformed_url(
            "an `@` comes after the end of the host (a `/`, `?` or `#` in its credentials must be percent-encoded)",
        )
    }

    // Errors of use.

    /// `source` is already scrubbed of the configuration's secrets.
    pub(crate) fn connection(addr: &str, source: ConnectionError) -> Self {
        Self::new(
            ErrorKind::Connection,
            format!("no Redis connection to {addr}: {source}"),
        )
        .with_addr(addr)
        .with_source(source)
    }

    pub(crate) fn topology_mismatch(config: Topology, pool: Topology) -> Self {
        Self::new(
            ErrorKind::TopologyMismatch,
            format!(
                "a {pool} pool was handed in for a {config} configuration; hand in a pool of the configuration's topology"
            ),
        )
        .with_topology(config)
    }

    pub(crate) fn shut_down() -> Self {
        Self::new(
            ErrorKind::ShutDown,
            "Redis client cache: it has been shut down and takes no new pools",
        )
    }

    /// An error of the cache itself (its message names the setting, never a key).
    pub(crate) fn cache(error: tenure_pool::Error) -> Self {
        match error.kind() {
            tenure_pool::ErrorKind::ShutDown => return Self::shut_down().with_source(error),
            tenure_pool::ErrorKind::NoRuntime => {
                return Self::new(ErrorKind::Runtime, format!("Redis client cache: {error}")).with_source(error);
            }
            tenure_pool::ErrorKind::InvalidSetting => {
                return Self::new(ErrorKind::InvalidSetting, format!("Redis client cache: {error}")).with_source(error);
            }
            _ => {}
        }
        Self::new(ErrorKind::Cache, format!("Redis client cache: {error}")).with_source(error)
    }
}

/// How errors name one node of a list.
fn node_noun(topology: Topology) -> &'static str {
    if topology == Topology::Sentinel {
        "sentinel"
    } else {
        "cluster node"
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

/// The kind, the message and the source: never a password of the
/// configuration (the message never has one, no source is made from one),
/// and a command's source ([`ErrorKind::Command`]) without the arguments a
/// server quoted back.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("message", &self.inner.message);
        if let Some(source) = &self.inner.source {
            if self.inner.kind == ErrorKind::Command {
                let shown = cut_echoed_arguments(&format!("{source:?}"));
                d.field("source", &format_args!("{shown}"));
            } else {
                d.field("source", source);
            }
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

impl From<tenure_pool::GetError<Error>> for Error {
    fn from(e: tenure_pool::GetError<Error>) -> Self {
        match e {
            tenure_pool::GetError::Init(e) => Arc::unwrap_or_clone(e),
            tenure_pool::GetError::Cache(e) => Self::cache(e),
            // `GetError` is non-exhaustive; every variant today is handled above.
            other => Self::new(ErrorKind::Other, format!("Redis client cache: {other}")),
        }
    }
}

/// A failed command, so that `?` turns the `redis` crate's error into this one.
/// The message cuts the arguments a server quoted back; the source is `e` as
/// it is (see [`ErrorKind::Command`]).
impl From<RedisError> for Error {
    fn from(e: RedisError) -> Self {
        let message = cut_echoed_arguments(&format!("Redis command failed: {e}"));
        Self::new(ErrorKind::Command, message).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static_and_small() {
        fn assert_bounds<T: StdError + Send + Sync + 'static>() {}
        assert_bounds::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn node_errors_keep_their_kind_and_name_the_node() {
        let e = Error::missing_host().in_node(Topology::Cluster, 2);
        assert_eq!(e.kind(), ErrorKind::MissingHost);
        assert_eq!((e.topology(), e.index()), (Some(Topology::Cluster), Some(2)));
        assert_eq!(e.to_string(), "cluster node #2: invalid Redis URL: it has no host");
        let e = Error::missing_host().in_node(Topology::Sentinel, 0);
        assert!(e.to_string().starts_with("sentinel #0: "), "{e}");
    }

    #[test]
    fn shut_down_cache_errors_are_shut_down() {
        let from_get: Error = tenure_pool::GetError::<Error>::Cache(shut_down_pool_error()).into();
        assert_eq!(from_get.kind(), ErrorKind::ShutDown);
        assert!(!from_get.is_config());
    }

    /// A `tenure_pool::Error` of kind `ShutDown`, from a real cache.
    fn shut_down_pool_error() -> tenure_pool::Error {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        rt.block_on(async {
            let cache = tenure_pool::ClientCache::<u8, tenure_pool::Shared<u8>>::builder()
                .build()
                .expect("default settings are valid");
            let _report = cache.shutdown().await;
            cache
                .insert(1, tenure_pool::Shared::new(1))
                .expect_err("a shut-down cache refuses inserts")
        })
    }
}
