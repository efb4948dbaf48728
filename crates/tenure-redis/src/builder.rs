//! [`RedisConfigBuilder`]: the settings of a [`RedisConfig`], checked once.

use std::{fmt, time::Duration};

#[cfg(feature = "rustls")]
use crate::tls::RootCertificate;
use crate::{
    Error, RedisConfig, Topology,
    secret::{Password, redacted},
};

/// Builds a [`RedisConfig`]; see [`RedisConfig::builder`],
/// [`RedisConfig::cluster_builder`] and [`RedisConfig::sentinel_builder`].
///
/// Its `Debug` never shows a password or a username, nor the root certificates
/// (only how many).
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisConfigBuilder {
    parsed: Result<RedisConfig, Error>,
    #[cfg(feature = "rustls")]
    root_certificates: Vec<RootCertificate>,
    username: Option<String>,
    password: Option<Password>,
    sentinel_username: Option<String>,
    sentinel_password: Option<Password>,
    database: Option<i64>,
    max_connections: Option<usize>,
    connect_timeout: Option<Duration>,
    response_timeout: Option<Duration>,
    wait_timeout: Option<Duration>,
}

impl fmt::Debug for RedisConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RedisConfigBuilder");
        d.field("parsed", &self.parsed);
        #[cfg(feature = "rustls")]
        d.field("root_certificates", &self.root_certificates.len());
        d.field("username", &redacted(self.username.as_ref()))
            .field("password", &self.password)
            .field("sentinel_username", &redacted(self.sentinel_username.as_ref()))
            .field("sentinel_password", &self.sentinel_password)
            .field("database", &self.database)
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

impl RedisConfigBuilder {
    pub(crate) fn new(parsed: Result<RedisConfig, Error>) -> Self {
        Self {
            parsed,
            #[cfg(feature = "rustls")]
            root_certificates: Vec::new(),
            username: None,
            password: None,
            sentinel_username: None,
            sentinel_password: None,
            database: None,
            max_connections: None,
            connect_timeout: None,
            response_timeout: None,
            wait_timeout: None,
        }
    }

    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE` blocks; other
    /// blocks are skipped) for `rediss://` connections.
    ///
    /// Once at least one root is added, a TLS connection trusts exactly the added
    /// roots, not the web PKI roots (the `redis` crate replaces its default trust
    /// store with the supplied one); to trust both, use a public and a private
    /// configuration. Roots are ignored by a `redis://` configuration, but are
    /// still part of its key.
    ///
    /// [`build`](Self::build) checks each root, in the order added: one that is
    /// not PEM, has no `CERTIFICATE` block, or holds a certificate that is not
    /// usable as a trust anchor gives [`ErrorKind::InvalidRootCertificate`](crate::ErrorKind::InvalidRootCertificate),
    /// with [`Error::index`] its position among the roots added with this method and
    /// [`add_root_certificate_der`](Self::add_root_certificate_der) (0 for the
    /// first). The same method of tenure-http's config builder takes the same input.
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(RootCertificate::Pem(pem.as_ref().to_vec()));
        self
    }

    /// Trusts one CA certificate, DER-encoded, for `rediss://` connections; as
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem) otherwise (and
    /// checked by [`build`](Self::build) the same way).
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate_der(mut self, der: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(RootCertificate::Der(der.as_ref().to_vec()));
        self
    }

    /// Authenticates to the server (for sentinel, to the master) as `username`,
    /// overriding the URL's; an empty one means the server's default user (no
    /// username), as an empty username in a URL does. Sent only together with a
    /// password: the `redis` crate authenticates only when one is set, so
    /// without a password the connections are the server's default user.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Authenticates to the server (for sentinel, to the master) with `password`,
    /// overriding the URL's. It is never shown.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Password::new(password.into()));
        self
    }

    /// Authenticates to the sentinels themselves as `username` (sentinel only);
    /// an empty one means no username, as for [`username`](Self::username).
    /// Sent only together with a
    /// [`sentinel_password`](Self::sentinel_password): without one, the
    /// sentinels are asked as their default user and this name is not sent.
    pub fn sentinel_username(mut self, username: impl Into<String>) -> Self {
        self.sentinel_username = Some(username.into());
        self
    }

    /// Authenticates to the sentinels themselves with `password` (sentinel only;
    /// a sentinel's `requirepass`). It is never shown.
    pub fn sentinel_password(mut self, password: impl Into<String>) -> Self {
        self.sentinel_password = Some(Password::new(password.into()));
        self
    }

    /// Selects this database index, overriding the URL's path (a cluster has only
    /// database 0).
    pub fn database(mut self, database: i64) -> Self {
        self.database = Some(database);
        self
    }

    /// The most connections the pool may hold at once (default
    /// [`RedisConfig::DEFAULT_MAX_CONNECTIONS`]); see [`RedisConfig::max_connections`].
    /// From 1 to [`RedisConfig::MAX_MAX_CONNECTIONS`].
    pub fn max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = Some(max_connections);
        self
    }

    /// How long opening one connection may take (default
    /// [`RedisConfig::DEFAULT_CONNECT_TIMEOUT`]); more than zero, at most
    /// [`RedisConfig::MAX_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one command may wait for its response (default
    /// [`RedisConfig::DEFAULT_RESPONSE_TIMEOUT`]); more than zero, at most
    /// [`RedisConfig::MAX_TIMEOUT`]. Blocking commands such as `BLPOP` need a
    /// response timeout longer than their own: one ended by this timeout (or
    /// cancelled) may still be blocked on the server, so its connection is
    /// discarded when dropped rather than lent again (see
    /// [the crate docs](crate#topologies)).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = Some(timeout);
        self
    }

    /// How long a caller may wait for a free connection when the pool is full
    /// (default [`RedisConfig::DEFAULT_WAIT_TIMEOUT`]); more than zero, at most
    /// [`RedisConfig::MAX_TIMEOUT`].
    /// A checkout as a whole is bounded by
    /// [`RedisConfig::checkout_timeout`], which adds one connection's
    /// creation bound to it.
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = Some(timeout);
        self
    }

    /// Checks everything and builds the configuration.
    ///
    /// # Errors
    ///
    /// A configuration error ([`Error::is_config`]): the URL's (or the node
    /// list's), else [`TopologyNotEnabled`](crate::ErrorKind::TopologyNotEnabled),
    /// [`TlsNotSupported`](crate::ErrorKind::TlsNotSupported),
    /// [`InvalidRootCertificate`](crate::ErrorKind::InvalidRootCertificate),
    /// [`SentinelCredentialsWithoutSentinel`](crate::ErrorKind::SentinelCredentialsWithoutSentinel),
    /// [`NegativeDatabase`](crate::ErrorKind::NegativeDatabase),
    /// [`ClusterDatabase`](crate::ErrorKind::ClusterDatabase),
    /// [`ZeroMaxConnections`](crate::ErrorKind::ZeroMaxConnections),
    /// [`TooManyConnections`](crate::ErrorKind::TooManyConnections),
    /// [`ZeroTimeout`](crate::ErrorKind::ZeroTimeout) or
    /// [`TimeoutTooLong`](crate::ErrorKind::TimeoutTooLong). None of them contains
    /// a password or a certificate.
    pub fn build(self) -> Result<RedisConfig, Error> {
        let mut config = self.parsed?;
        if let Some(feature) = config.topology.feature().filter(|_| !config.topology.is_enabled()) {
            return Err(Error::topology_not_enabled(config.topology, feature));
        }
        if config.tls && config.topology != Topology::Standalone {
            return Err(Error::tls_not_supported(config.topology));
        }
        #[cfg(feature = "rustls")]
        for (index, root) in self.root_certificates.iter().enumerate() {
            config.root_certificates.extend(root.check(index)?);
        }
        if let Some(username) = self.username {
            // Empty: the server's default user, as an empty username in a URL
            // (`redis://:pw@host`) reads; sending `AUTH "" pw` would fail.
            config.username = Some(username).filter(|name| !name.is_empty());
        }
        if let Some(password) = self.password {
            config.password = Some(password);
        }
        if self.sentinel_username.is_some() || self.sentinel_password.is_some() {
            if config.topology != Topology::Sentinel {
                return Err(Error::sentinel_credentials_without_sentinel(config.topology));
            }
            if let Some(username) = self.sentinel_username {
                config.sentinel_username = Some(username).filter(|name| !name.is_empty());
            }
            if let Some(password) = self.sentinel_password {
                config.sentinel_password = Some(password);
            }
        }
        if let Some(database) = self.database {
            if database < 0 {
                return Err(Error::negative_database(database));
            }
            config.database = database;
        }
        if config.topology == Topology::Cluster && config.database != 0 {
            return Err(Error::cluster_database(config.database));
        }
        if let Some(max) = self.max_connections {
            if max == 0 {
                return Err(Error::zero_max_connections());
            }
            // deadpool allocates `max` slots up front: see `MAX_MAX_CONNECTIONS`.
            if max > RedisConfig::MAX_MAX_CONNECTIONS {
                return Err(Error::too_many_connections(max, RedisConfig::MAX_MAX_CONNECTIONS));
            }
            config.max_connections = max;
        }
        for (setting, value, slot) in [
            ("connect_timeout", self.connect_timeout, &mut config.connect_timeout),
            ("response_timeout", self.response_timeout, &mut config.response_timeout),
            ("wait_timeout", self.wait_timeout, &mut config.wait_timeout),
        ] {
            if let Some(timeout) = value {
                if timeout.is_zero() {
                    return Err(Error::zero_timeout(setting));
                }
                // Timers and deadlines overflow near `Duration::MAX`: see `MAX_TIMEOUT`.
                if timeout > RedisConfig::MAX_TIMEOUT {
                    return Err(Error::timeout_too_long(setting, timeout, "365 days"));
                }
                *slot = timeout;
            }
        }
        Ok(config)
    }
}
