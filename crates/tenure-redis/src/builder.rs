//! [`RedisConfigBuilder`]: the settings of a [`RedisConfig`], checked once.

use std::{fmt, time::Duration};

use crate::{ConfigError, RedisConfig, Topology, secret::Password};

/// Builds a [`RedisConfig`]; see [`RedisConfig::builder`],
/// [`RedisConfig::cluster_builder`] and [`RedisConfig::sentinel_builder`].
///
/// Its `Debug` never shows a password, nor the root certificates (only how many).
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisConfigBuilder {
    parsed: Result<RedisConfig, ConfigError>,
    root_certificates: Vec<Vec<u8>>,
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
        f.debug_struct("RedisConfigBuilder")
            .field("parsed", &self.parsed)
            .field("root_certificates", &self.root_certificates.len())
            .field("username", &self.username)
            .field("password", &self.password)
            .field("sentinel_username", &self.sentinel_username)
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
    pub(crate) fn new(parsed: Result<RedisConfig, ConfigError>) -> Self {
        Self {
            parsed,
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

    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE` blocks) for
    /// `rediss://` connections.
    ///
    /// Once at least one root is added, a TLS connection trusts exactly the added
    /// roots, not the web PKI roots (the `redis` crate replaces its default trust
    /// store with the supplied one); to trust both, use a public and a private
    /// configuration. Roots are ignored by a `redis://` configuration, but are
    /// still part of its key. [`build`](Self::build) checks each one.
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Authenticates to the server (for sentinel, to the master) as `username`,
    /// overriding the URL's.
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

    /// Authenticates to the sentinels themselves as `username` (sentinel only).
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
    pub fn max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = Some(max_connections);
        self
    }

    /// How long opening one connection may take (default
    /// [`RedisConfig::DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one command may wait for its response (default
    /// [`RedisConfig::DEFAULT_RESPONSE_TIMEOUT`]). Blocking commands such as
    /// `BLPOP` need a response timeout longer than their own.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = Some(timeout);
        self
    }

    /// How long a caller may wait for a free connection when the pool is full
    /// (default [`RedisConfig::DEFAULT_WAIT_TIMEOUT`]).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = Some(timeout);
        self
    }

    /// Checks everything and builds the configuration.
    ///
    /// # Errors
    ///
    /// The URL's (or the node list's) [`ConfigError`], else
    /// [`ConfigError::TopologyNotEnabled`], [`ConfigError::TlsNotSupported`],
    /// [`ConfigError::NegativeDatabase`], [`ConfigError::ClusterDatabase`],
    /// [`ConfigError::SentinelCredentialsWithoutSentinel`],
    /// [`ConfigError::ZeroMaxConnections`], [`ConfigError::ZeroTimeout`] or
    /// [`ConfigError::InvalidRootCertificate`]. None of them contains a password.
    pub fn build(self) -> Result<RedisConfig, ConfigError> {
        let mut config = self.parsed?;
        if let Some(feature) = config.topology.feature().filter(|_| !config.topology.is_enabled()) {
            return Err(ConfigError::TopologyNotEnabled {
                topology: config.topology,
                feature,
            });
        }
        if config.tls && config.topology != Topology::Standalone {
            return Err(ConfigError::TlsNotSupported {
                topology: config.topology,
            });
        }
        for (index, pem) in self.root_certificates.iter().enumerate() {
            crate::config::check_root_certificate(pem)
                .map_err(|reason| ConfigError::InvalidRootCertificate { index, reason })?;
        }
        config.root_certificates = self.root_certificates;
        if let Some(username) = self.username {
            config.username = Some(username);
        }
        if let Some(password) = self.password {
            config.password = Some(password);
        }
        if self.sentinel_username.is_some() || self.sentinel_password.is_some() {
            if config.topology != Topology::Sentinel {
                return Err(ConfigError::SentinelCredentialsWithoutSentinel {
                    topology: config.topology,
                });
            }
            if let Some(username) = self.sentinel_username {
                config.sentinel_username = Some(username);
            }
            if let Some(password) = self.sentinel_password {
                config.sentinel_password = Some(password);
            }
        }
        if let Some(database) = self.database {
            if database < 0 {
                return Err(ConfigError::NegativeDatabase { database });
            }
            config.database = database;
        }
        if config.topology == Topology::Cluster && config.database != 0 {
            return Err(ConfigError::ClusterDatabase {
                database: config.database,
            });
        }
        if let Some(max) = self.max_connections {
            if max == 0 {
                return Err(ConfigError::ZeroMaxConnections);
            }
            config.max_connections = max;
        }
        for (which, value, slot) in [
            ("connect", self.connect_timeout, &mut config.connect_timeout),
            ("response", self.response_timeout, &mut config.response_timeout),
            ("wait", self.wait_timeout, &mut config.wait_timeout),
        ] {
            if let Some(timeout) = value {
                if timeout.is_zero() {
                    return Err(ConfigError::ZeroTimeout { which });
                }
                *slot = timeout;
            }
        }
        Ok(config)
    }
}
