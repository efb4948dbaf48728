//! [`RedisConfig`]: what a pool connects to and how big it may grow; also the cache key.

use std::{fmt, time::Duration};

use crate::{
    RedisConfigBuilder, Topology,
    secret::{Password, redacted},
    topology::Node,
};

/// The RESP protocol version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// RESP2, the default (`?protocol=2` or `?protocol=resp2`).
    #[default]
    Resp2,
    /// RESP3 (`?protocol=3` or `?protocol=resp3`).
    Resp3,
}

/// What a Redis pool connects to, and how it behaves: the key of the client cache.
///
/// One type for every [`Topology`]:
///
/// - **standalone**: a `redis://` or `rediss://` URL, with [`RedisConfig::from_url`]
///   or [`RedisConfig::builder`];
/// - **cluster** (feature `cluster`): the startup nodes, with
///   [`RedisConfig::cluster_builder`] (each a `redis://` URL or a bare `host:port`);
/// - **sentinel** (feature `sentinel`): a `redis+sentinel://` URL with
///   [`RedisConfig::builder`], or the sentinels and the service name with
///   [`RedisConfig::sentinel_builder`].
///
/// Every setting is part of equality and hashing, so two configurations that differ
/// in any way (topology, nodes and their order, database index, `max_connections`,
/// a timeout, the credentials, TLS and its extra roots) get two different pools. A
/// `RedisConfig` is always valid: the builder checks everything.
///
/// Its [`Debug`] and [`Display`](fmt::Display) never show a password nor a
/// username (neither the servers' nor the sentinels'; a password written in the
/// username slot, as in `redis://s3cret@host`, would otherwise show); `Debug` shows
/// how many extra root certificates there are, not the certificates.
///
/// # TLS
///
/// With the `rustls` feature (on by default), a `rediss://` URL connects over TLS
/// (rustls with the ring provider) and verifies the server's certificate and host
/// name. It trusts the web PKI roots (webpki-roots), or, if any are added with
/// [`RedisConfigBuilder::add_root_certificate_pem`] or
/// [`RedisConfigBuilder::add_root_certificate_der`], exactly the added roots.
/// Without the feature, `rediss://` gives [`ErrorKind::TlsNotEnabled`](crate::ErrorKind::TlsNotEnabled).
/// TLS is supported for standalone servers only: a cluster or sentinel
/// configuration with TLS gives [`ErrorKind::TlsNotSupported`](crate::ErrorKind::TlsNotSupported).
///
/// The `redis` crate builds its TLS settings with rustls's process-wide
/// `CryptoProvider`; if none is installed when a `rediss://` pool is built, the
/// ring provider is installed as the default.
///
/// # From a file
///
/// With the `serde` feature, `RedisConfig` implements `Deserialize` from this
/// form, checked as the builder checks it (the error is the [`Error`](crate::Error)'s
/// message). A value of the wrong type (a string where a map of settings
/// belongs, a list of settings, a number for a `url`, ...) is refused naming the
/// setting and the type expected, never quoting the value; an unknown setting is
/// named only if its name is a plain identifier, and a setting given twice is
/// refused. A format crate may add context of its own to an error: `toml`'s
/// messages quote the offending line of the input; `serde_json`'s give only a
/// line and column.
///
/// | field | meaning |
/// |---|---|
/// | `url` | a `redis://`, `rediss://` or `redis+sentinel://` URL, or |
/// | `cluster_nodes` | the startup nodes (URLs or `host:port`), or |
/// | `sentinels`, `service_name` | the sentinels (URLs or `host[:port]`) and the service |
/// | `username`, `password` | the server's (master's) credentials |
/// | `sentinel_username`, `sentinel_password` | the sentinels' credentials |
/// | `database`, `max_connections` | as the builder's |
/// | `connect_timeout`, `response_timeout`, `wait_timeout` | timeouts as a whole number and a unit: `"250ms"`, `"10s"`, `"5m"`, `"1h"` (as in tenure-http's files) |
/// | `root_certificates_pem` | extra trusted roots, PEM text (feature `rustls`) |
///
/// Exactly one of `url`, `cluster_nodes`, `sentinels`; unknown fields are refused.
///
/// # Examples
///
/// ```
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::{RedisConfig, Topology};
///
/// let config = RedisConfig::builder("redis://app:s3cret@127.0.0.1:6380/2")
///     .max_connections(8)
///     .build()?;
/// assert_eq!(config.topology(), Topology::Standalone);
/// assert_eq!(config.addr(), "127.0.0.1:6380");
/// assert_eq!(config.database(), 2);
/// assert_eq!(config.max_connections(), 8);
/// assert_eq!(config.to_string(), "redis://***:***@127.0.0.1:6380/2");
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # Ok::<(), tenure_redis::Error>(())
/// ```
///
/// A cluster and a sentinel-managed master (with the `cluster` and `sentinel`
/// features):
///
/// ```
/// # #[cfg(all(feature = "cluster", feature = "sentinel"))] {
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::{RedisConfig, Topology};
///
/// let cluster = RedisConfig::cluster_builder(["redis://:pw@10.0.0.1:7000", "10.0.0.2:7000"])
///     .max_connections(4)
///     .build()?;
/// assert_eq!(cluster.topology(), Topology::Cluster);
/// assert_eq!(cluster.addr(), "10.0.0.1:7000,10.0.0.2:7000");
///
/// let sentinel = RedisConfig::from_url("redis+sentinel://:pw@10.0.0.5:26379,10.0.0.6/mymaster/1")?;
/// assert_eq!(sentinel.topology(), Topology::Sentinel);
/// assert_eq!(sentinel.service_name(), Some("mymaster"));
/// assert_eq!(sentinel.addr(), "10.0.0.5:26379,10.0.0.6:26379");
/// assert_eq!(sentinel.to_string(), "redis+sentinel://:***@10.0.0.5:26379,10.0.0.6:26379/mymaster/1");
/// # }
/// # Ok::<(), tenure_redis::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedisConfig {
    pub(crate) topology: Topology,
    /// The server (standalone), the startup nodes (cluster) or the sentinels; never empty.
    pub(crate) nodes: Vec<Node>,
    /// The sentinel service (master group) name; `Some` exactly for [`Topology::Sentinel`].
    pub(crate) service_name: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Password>,
    /// Credentials for the sentinels themselves (sentinel only).
    pub(crate) sentinel_username: Option<String>,
    pub(crate) sentinel_password: Option<Password>,
    pub(crate) tls: bool,
    /// Extra trusted roots, one DER-encoded certificate each (checked by the builder).
    pub(crate) root_certificates: Vec<Vec<u8>>,
    pub(crate) database: i64,
    pub(crate) protocol: Protocol,
    pub(crate) max_connections: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) wait_timeout: Duration,
}

impl RedisConfig {
    /// `max_connections` when none is set.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16;
    /// Connect timeout when none is set (TCP connect plus the Redis handshake).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Response timeout when none is set (one command's round trip).
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
    /// Wait timeout when none is set (waiting for a free connection in a full pool).
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The largest `max_connections` the builder accepts: 65 536.
    ///
    /// deadpool allocates room for `max_connections` connections up front, so an
    /// absurd value (`usize::MAX`, from a typo or a file) would abort the process
    /// when the pool is built; and no server holds more: one client address can
    /// open at most about 64 K connections to one server port (the ephemeral port
    /// range), and Redis's default `maxclients` is 10 000.
    pub const MAX_MAX_CONNECTIONS: usize = 65_536;
    /// The longest timeout the builder accepts (each of `connect_timeout`,
    /// `response_timeout`, `wait_timeout`): 365 days.
    ///
    /// The timeouts become tokio timers and deadlines (`now + timeout`), which
    /// overflow for durations near `Duration::MAX`; a year is far beyond any useful
    /// timeout and far from overflowing (the pool's creation bound, twice the
    /// connect plus twice the response timeout, stays under four years).
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// Parses a URL, with every other setting at its default:
    ///
    /// - `redis://[user[:password]@]host[:port][/db][?protocol=resp3]`: a standalone
    ///   server (port 6379 by default); `rediss://` for TLS (see [TLS](RedisConfig#tls));
    /// - `redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/service[/db][?protocol=resp3]`:
    ///   the master of the sentinel service `service`, found through the listed
    ///   sentinels (port 26379 by default). The URL's credentials are the master's;
    ///   the sentinels' own are set with [`RedisConfigBuilder::sentinel_password`].
    ///
    /// For a cluster, use [`RedisConfig::cluster_builder`].
    ///
    /// # Errors
    ///
    /// A configuration [`Error`](crate::Error) naming what is wrong with the URL;
    /// it never contains the password.
    pub fn from_url(url: &str) -> Result<Self, crate::Error> {
        Self::builder(url).build()
    }

    /// Starts a configuration from a URL (see [`RedisConfig::from_url`]); URL errors
    /// are reported by [`RedisConfigBuilder::build`].
    pub fn builder(url: &str) -> RedisConfigBuilder {
        RedisConfigBuilder::new(crate::parse::parse_url(url))
    }

    /// Starts a Redis Cluster configuration from its startup nodes (feature
    /// `cluster`): each a `redis://[user[:password]@]host[:port]` URL or a bare
    /// `host:port`. The cluster's other nodes are discovered from them.
    ///
    /// The first node's credentials and protocol are used for every node of the
    /// cluster: a later node may omit its credentials, but not name other ones, nor
    /// another protocol or TLS mode. No node may name a database other than 0
    /// (Redis Cluster has only database 0).
    ///
    /// # Errors
    ///
    /// Reported by [`RedisConfigBuilder::build`]: [`ErrorKind::NoNodes`](crate::ErrorKind::NoNodes),
    /// an error in one node's URL with [`Error::index`](crate::Error::index) its
    /// position, [`ErrorKind::MismatchedNode`](crate::ErrorKind::MismatchedNode),
    /// [`ErrorKind::TopologyNotEnabled`](crate::ErrorKind::TopologyNotEnabled)
    /// without the `cluster` feature.
    pub fn cluster_builder<I>(nodes: I) -> RedisConfigBuilder
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        RedisConfigBuilder::new(crate::parse::parse_cluster(nodes))
    }

    /// Starts a Sentinel configuration (feature `sentinel`): the master of
    /// `service_name`, found through `sentinels`, each a `redis://[user[:password]@]host[:port]`
    /// URL or a bare `host:port` (port 26379 by default).
    ///
    /// Credentials in the sentinels' URLs are the sentinels' own (the first
    /// sentinel's are used for all; a later one may omit them, not name others);
    /// the master's are set with [`RedisConfigBuilder::username`] and
    /// [`RedisConfigBuilder::password`], its database with
    /// [`RedisConfigBuilder::database`] (a database in a sentinel's URL is
    /// refused: it would say nothing about the master's).
    ///
    /// # Errors
    ///
    /// Reported by [`RedisConfigBuilder::build`], as for
    /// [`cluster_builder`](Self::cluster_builder), and
    /// [`ErrorKind::MissingServiceName`](crate::ErrorKind::MissingServiceName).
    pub fn sentinel_builder<I>(sentinels: I, service_name: &str) -> RedisConfigBuilder
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        RedisConfigBuilder::new(crate::parse::parse_sentinels(sentinels, service_name))
    }

    /// Which kind of deployment this configuration reaches.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// The host of the server, or of the first startup node or sentinel; without
    /// brackets for an IPv6 address.
    pub fn host(&self) -> &str {
        &self.first_node().host
    }

    /// The TCP port of the server, or of the first startup node or sentinel.
    pub fn port(&self) -> u16 {
        self.first_node().port
    }

    /// `host:port` of the server; for a cluster, its startup nodes, and for
    /// sentinel, the sentinels, comma-separated.
    pub fn addr(&self) -> String {
        self.nodes.iter().map(Node::to_string).collect::<Vec<_>>().join(",")
    }

    /// `host:port` of each node this configuration names: the server, the startup
    /// nodes, or the sentinels.
    pub fn node_addrs(&self) -> Vec<String> {
        self.nodes.iter().map(Node::to_string).collect()
    }

    /// What errors name: `host:port` for a standalone server, `cluster <nodes>`, or
    /// `sentinel service <name> via <sentinels>`.
    pub(crate) fn target(&self) -> String {
        match self.topology {
            Topology::Standalone => self.addr(),
            Topology::Cluster => format!("cluster {}", self.addr()),
            Topology::Sentinel => format!(
                "sentinel service `{}` via {}",
                self.service_name.as_deref().unwrap_or_default(),
                self.addr()
            ),
        }
    }

    fn first_node(&self) -> &Node {
        // The builders never produce an empty node list.
        &self.nodes[0]
    }

    /// The sentinel service (master group) name, for [`Topology::Sentinel`].
    pub fn service_name(&self) -> Option<&str> {
        self.service_name.as_deref()
    }

    /// Whether connections use TLS (a `rediss://` URL).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// How many extra root certificates a TLS connection trusts: every certificate
    /// added with [`RedisConfigBuilder::add_root_certificate_pem`] (a PEM bundle
    /// counts each of its certificates) or
    /// [`RedisConfigBuilder::add_root_certificate_der`], duplicates included.
    pub fn root_certificate_count(&self) -> usize {
        self.root_certificates.len()
    }

    /// The username, if any (for sentinel, the master's). It is sent only with a
    /// password: without one (`redis://user@host`), the connections are the
    /// server's default user, as with the `redis` crate itself.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Whether a password is set (the password itself is never handed out).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The sentinels' own username, if any (sentinel only).
    pub fn sentinel_username(&self) -> Option<&str> {
        self.sentinel_username.as_deref()
    }

    /// Whether the sentinels' own password is set (never handed out).
    pub fn has_sentinel_password(&self) -> bool {
        self.sentinel_password.is_some()
    }

    /// The database index selected on every connection (always 0 for a cluster).
    pub fn database(&self) -> i64 {
        self.database
    }

    /// The RESP protocol version.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The most connections the pool holds at once. Each one is a connection to the
    /// server (standalone), to the current master (sentinel), or a cluster
    /// connection that holds one connection to each node it talks to (cluster): so
    /// this is also the most connections the pool holds to any one node. See
    /// [`RedisClients::connection_budget`](crate::RedisClients::connection_budget).
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// How long opening one connection may take (the `redis` crate's connect
    /// timeout, per node). Creating one pool connection as a whole (for a cluster,
    /// reaching the startup nodes and reading the slot map; for sentinel, asking the
    /// sentinels and checking the master's role first) is bounded by the pool at
    /// twice the connect timeout plus twice the response timeout.
    ///
    /// For sentinel, this timeout and the response timeout apply to the connection
    /// to the master only: the sentinel lookup and the role checks use the `redis`
    /// crate's own defaults (1 s to connect, 500 ms per response), which its
    /// sentinel client does not let tenure change. A stopped or slow sentinel thus
    /// delays every creation by up to those defaults, and with timeouts so short
    /// that the pool's creation limit is under the lookup's time, every creation
    /// fails. A pool's creations share one sentinel client and take turns on it,
    /// each holding it for its whole lookup, and the wait counts against the
    /// creation's limit: with one sentinel stopped, a burst of simultaneous
    /// creations (a pool filling up under load) queues about one second per
    /// creation, and those behind the limit fail (measured: 1 s timeouts,
    /// 8 creations at once, 4 succeeded after 0.2 to 3.2 s and 4 failed at 4 s,
    /// while the deployment served).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long one command may wait for its response.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// How long a caller may wait for a free connection when the pool is full.
    /// A checkout as a whole is bounded by [`checkout_timeout`](Self::checkout_timeout).
    pub fn wait_timeout(&self) -> Duration {
        self.wait_timeout
    }

    /// The longest one [`RedisPool::get`](crate::RedisPool::get) on a pool the
    /// cache owns may take, whatever it does meanwhile: the wait timeout plus
    /// one connection's creation bound (twice the connect timeout plus twice
    /// the response timeout), 25 s with the defaults. Past it the checkout
    /// fails with [`ErrorKind::Connection`](crate::ErrorKind::Connection) and
    /// [`Error::is_timeout`](crate::Error::is_timeout) true.
    ///
    /// A checkout waits for a free slot (the wait timeout), then checks idle
    /// connections one after another, each within the response timeout, and
    /// connects a new one if none passes. With a stalled server, every idle
    /// connection would take its full response timeout: without this bound a
    /// pool of 16 idle connections took 16 response timeouts and a creation
    /// (about 85 s with the defaults). The bound is a full wait plus one full
    /// creation, and everything a checkout does shares it: time spent checking
    /// idle connections is taken from what a creation after them has left. An
    /// idle connection whose check is cut short is closed, never lent, and its
    /// slot is freed. A checkout that runs out reports a wait timeout
    /// (deadpool's `Timeout(Wait)`), whatever it was doing then.
    ///
    /// A pool handed in with
    /// [`insert_shared`](crate::RedisClients::insert_shared) keeps the
    /// timeouts its owner built it with: this bound does not apply to it.
    pub fn checkout_timeout(&self) -> Duration {
        self.wait_timeout.saturating_add(self.create_timeout())
    }

    /// The pool's bound on creating one connection: twice the connect timeout
    /// plus twice the response timeout (see [`connect_timeout`](Self::connect_timeout)).
    pub(crate) fn create_timeout(&self) -> Duration {
        self.connect_timeout
            .saturating_mul(2)
            .saturating_add(self.response_timeout.saturating_mul(2))
    }

    /// The `redis` crate's connection parameters for one node: its address, plus
    /// the database, protocol and credentials (the password is exposed here, for the
    /// handshake only; for TLS, the extra roots too).
    ///
    /// # Errors
    ///
    /// If the `redis` crate rejects the address or the root certificates (which the
    /// builder has already checked).
    pub(crate) fn node_connection_info(
        &self,
        node: &Node,
    ) -> deadpool_redis::redis::RedisResult<deadpool_redis::redis::ConnectionInfo> {
        use deadpool_redis::redis::{ConnectionAddr, IntoConnectionInfo};
        let redis = self.redis_settings();
        if self.tls {
            return self.tls_connection_info(node, redis);
        }
        let info = ConnectionAddr::Tcp(node.host.clone(), node.port).into_connection_info()?;
        Ok(info.set_redis_settings(redis))
    }

    /// The standalone server's connection parameters.
    pub(crate) fn connection_info(&self) -> deadpool_redis::redis::RedisResult<deadpool_redis::redis::ConnectionInfo> {
        self.node_connection_info(self.first_node())
    }

    /// Database, protocol and credentials of the data nodes.
    ///
    /// The username goes with a password only: the `redis` crate sends it only
    /// with one (`AUTH user password`, `HELLO 3 AUTH user password`), and
    /// without one it may be a password written in the username slot
    /// (`redis://s3cret@host`), which the `Debug` of a pool from
    /// [`create_pool`](RedisConfig::create_pool) would show.
    pub(crate) fn redis_settings(&self) -> deadpool_redis::redis::RedisConnectionInfo {
        let mut redis = deadpool_redis::redis::RedisConnectionInfo::default()
            .set_db(self.database)
            .set_protocol(self.redis_protocol());
        if let Some(password) = &self.password {
            if let Some(username) = &self.username {
                redis = redis.set_username(username);
            }
            redis = redis.set_password(password.expose());
        }
        redis
    }

    pub(crate) fn redis_protocol(&self) -> deadpool_redis::redis::ProtocolVersion {
        match self.protocol {
            Protocol::Resp2 => deadpool_redis::redis::ProtocolVersion::RESP2,
            Protocol::Resp3 => deadpool_redis::redis::ProtocolVersion::RESP3,
        }
    }

    /// The TLS connection parameters: host name verification on, the extra roots if
    /// any (else the web PKI roots).
    #[cfg(feature = "rustls")]
    fn tls_connection_info(
        &self,
        node: &Node,
        redis: deadpool_redis::redis::RedisConnectionInfo,
    ) -> deadpool_redis::redis::RedisResult<deadpool_redis::redis::ConnectionInfo> {
        use deadpool_redis::redis::{Client, ConnectionAddr, IntoConnectionInfo, TlsCertificates};
        install_crypto_provider();
        let addr = ConnectionAddr::TcpTls {
            host: node.host.clone(),
            port: node.port,
            insecure: false,
            tls_params: None,
        };
        let info = addr.into_connection_info()?.set_redis_settings(redis);
        if self.root_certificates.is_empty() {
            return Ok(info);
        }
        let bundle = crate::tls::pem_bundle(&self.root_certificates);
        let client = Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls: None,
                root_cert: Some(bundle),
            },
        )?;
        Ok(client.get_connection_info().clone())
    }

    /// Without the `rustls` feature no TLS configuration can be built (the URL
    /// parser refuses `rediss://`); this is never reached.
    #[cfg(not(feature = "rustls"))]
    fn tls_connection_info(
        &self,
        _node: &Node,
        _redis: deadpool_redis::redis::RedisConnectionInfo,
    ) -> deadpool_redis::redis::RedisResult<deadpool_redis::redis::ConnectionInfo> {
        Err(deadpool_redis::redis::RedisError::from((
            deadpool_redis::redis::ErrorKind::InvalidClientConfig,
            "TLS is not enabled in this build of tenure-redis",
        )))
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("topology", &self.topology)
            .field("nodes", &self.node_addrs())
            .field("service_name", &self.service_name)
            .field("username", &redacted(self.username.as_ref()))
            .field("password", &self.password)
            .field("sentinel_username", &redacted(self.sentinel_username.as_ref()))
            .field("sentinel_password", &self.sentinel_password)
            .field("tls", &self.tls)
            .field("root_certificates", &self.root_certificates.len())
            .field("database", &self.database)
            .field("protocol", &self.protocol)
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

/// The configuration as a URL with every username and password replaced by `***`:
/// `redis://***:***@host:port/db` for a standalone server,
/// `cluster redis://***:***@host:port,host:port/0` for a cluster,
/// `redis+sentinel://***:***@host:port,host:port/service/db` for sentinel (the
/// sentinels' own credentials are not shown). The username is hidden too: in
/// `redis://s3cret@host`, the password was written where the username goes.
impl fmt::Display for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.topology, self.tls) {
            (Topology::Sentinel, false) => "redis+sentinel://",
            (Topology::Sentinel, true) => "rediss+sentinel://",
            (_, false) => "redis://",
            (_, true) => "rediss://",
        };
        if self.topology == Topology::Cluster {
            f.write_str("cluster ")?;
        }
        f.write_str(scheme)?;
        match (&self.username, &self.password) {
            (Some(_), Some(_)) => f.write_str("***:***@")?,
            (Some(_), None) => f.write_str("***@")?,
            (None, Some(_)) => f.write_str(":***@")?,
            (None, None) => {}
        }
        f.write_str(&self.addr())?;
        if let Some(service) = &self.service_name {
            // Percent-encoded as a path segment, so that the text parses back
            // to this name (a `/` or `?` in it would otherwise end the segment).
            f.write_str("/")?;
            for byte in service.bytes() {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    write!(f, "{}", char::from(byte))?;
                } else {
                    write!(f, "%{byte:02X}")?;
                }
            }
        }
        write!(f, "/{}", self.database)?;
        if self.protocol == Protocol::Resp3 {
            f.write_str("?protocol=resp3")?;
        }
        Ok(())
    }
}

/// The ring provider as the process's rustls default, unless one is installed: the
/// `redis` crate builds its TLS configuration with the process default (or the one
/// rustls's crate features select, which is ambiguous if another crate enables
/// aws-lc-rs too). Installing fails only if another thread installed one first,
/// which is as good.
#[cfg(feature = "rustls")]
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    use crate::{Error, ErrorKind};

    /// The kind of a build's error, `None` if it built.
    fn kind(result: Result<RedisConfig, Error>) -> Option<ErrorKind> {
        result.err().map(|e| e.kind())
    }

    #[test]
    fn parses_a_full_url() {
        let c = RedisConfig::from_url("redis://user:p%40ss@example.com:7000/3?protocol=resp3").unwrap();
        assert_eq!(c.host(), "example.com");
        assert_eq!(c.port(), 7000);
        assert_eq!(c.username(), Some("user"));
        assert!(c.has_password());
        assert_eq!(c.password.as_ref().map(Password::expose), Some("p@ss"));
        assert_eq!(c.database(), 3);
        assert_eq!(c.protocol(), Protocol::Resp3);
        assert_eq!(c.max_connections(), RedisConfig::DEFAULT_MAX_CONNECTIONS);
        assert_eq!(c.to_string(), "redis://***:***@example.com:7000/3?protocol=resp3");
    }

    #[test]
    fn a_path_names_its_database_or_service_as_written() {
        use ErrorKind::{InvalidDatabase as Database, InvalidServiceName as ServiceName};
        for (url, refused) in [
            ("redis://h/5/..", Database),
            ("redis://h/5/../3", Database),
            ("redis://h/./7", Database),
            ("redis://h/%2e/7", Database),
            ("redis://h/+1", Database),
            ("redis://h//1", Database),
            ("redis://h/1/2", Database),
            ("redis+sentinel://s1/mymaster/2/../1", Database),
            ("redis+sentinel://s1/mymaster/%2E%2e", Database),
            ("redis+sentinel://s1/mymaster/../other", Database),
            ("redis+sentinel://s1/%2E%2E", ServiceName),
            ("redis+sentinel://s1/%2e", ServiceName),
            ("redis+sentinel://s1/./mymaster", ServiceName),
        ] {
            assert_eq!(kind(RedisConfig::from_url(url)), Some(refused), "{url}");
        }
        for (url, db) in [
            ("redis://h", 0),
            ("redis://h/", 0),
            ("redis://h/1/", 1),
            ("redis://h/12?protocol=resp3", 12),
        ] {
            assert_eq!(RedisConfig::from_url(url).unwrap().database(), db, "{url}");
        }
        let sentinel = RedisConfig::from_url("redis+sentinel://s1/my.master/3").unwrap();
        assert_eq!((sentinel.service_name(), sentinel.database()), (Some("my.master"), 3));
    }

    #[test]
    fn an_empty_username_is_the_default_user_as_in_a_url() {
        let from_url = RedisConfig::from_url("redis://:pw@h/0").unwrap();
        assert_eq!(from_url.username(), None);
        let set = |url: &str| RedisConfig::builder(url).username("").password("pw").build().unwrap();
        for url in ["redis://h/0", "redis://alice:other@h/0"] {
            let built = set(url);
            assert_eq!(built.username(), None, "{url}");
            assert_eq!(built, from_url, "{url}");
        }
        let sentinel = RedisConfig::builder("redis+sentinel://s1/mymaster")
            .sentinel_username("")
            .sentinel_password("pw")
            .build()
            .unwrap();
        assert_eq!(sentinel.sentinel_username(), None);
    }

    #[test]
    fn defaults_port_and_database() {
        let c = RedisConfig::from_url("redis://localhost").unwrap();
        assert_eq!(c.addr(), "localhost:6379");
        assert_eq!(c.database(), 0);
        assert_eq!(c.to_string(), "redis://localhost:6379/0");
        let v6 = RedisConfig::from_url("redis://[::1]:6390/").unwrap();
        assert_eq!(v6.host(), "::1");
        assert_eq!(v6.addr(), "[::1]:6390");
    }

    #[test]
    fn typed_errors_name_what_is_wrong() {
        // The kind, and what the message must name.
        let cases: &[(&str, ErrorKind, &str)] = &[
            ("http://h:1/0", ErrorKind::UnsupportedScheme, "`http`"),
            ("redis://", ErrorKind::MissingHost, "no host"),
            ("redis://h/x", ErrorKind::InvalidDatabase, "database index"),
            ("redis://h/-1", ErrorKind::InvalidDatabase, "database index"),
            ("redis://h/0#frag", ErrorKind::UnsupportedFragment, "fragments"),
            ("redis://h/0?protocol=4", ErrorKind::InvalidProtocol, "`protocol`"),
            ("redis://h/0?password=x", ErrorKind::UnsupportedParameter, "`password`"),
            ("redis://0.0.0.0:1", ErrorKind::WildcardHost, "0.0.0.0"),
            // The legacy numeric spellings `getaddrinfo` takes for 0.0.0.0.
            ("redis://0:1", ErrorKind::WildcardHost, "host 0 is"),
            ("redis://0x0:1", ErrorKind::WildcardHost, "0x0"),
            ("redis://0X00.0:1", ErrorKind::WildcardHost, "0X00.0"),
            ("redis://000.000.000.000:1", ErrorKind::WildcardHost, "000.000.000.000"),
            ("redis://0.0.0:1", ErrorKind::WildcardHost, "0.0.0"),
            ("redis://[::]:1", ErrorKind::WildcardHost, "::"),
            ("redis://[::ffff:0.0.0.0]:1", ErrorKind::WildcardHost, "::ffff:0.0.0.0"),
            ("redis://u:%FF@h/0", ErrorKind::InvalidCredentials, "password"),
            ("redis://h:99999/0", ErrorKind::InvalidUrl, "invalid port"),
            // Left percent-encoded by the URL parser: an encoded `@` would make
            // the credentials the host, and a non-ASCII name cannot be resolved.
            (
                "redis://app%3As3cret%40127.0.0.1:6379/0",
                ErrorKind::InvalidHost,
                "host name",
            ),
            ("redis://\u{127}unter.example/0", ErrorKind::InvalidHost, "punycode"),
            ("redis://h\u{202e}/0", ErrorKind::InvalidHost, "host name"),
            ("not a url", ErrorKind::InvalidUrl, "invalid Redis URL"),
        ];
        #[cfg(not(feature = "rustls"))]
        {
            let err = RedisConfig::from_url("rediss://h:6380/0").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TlsNotEnabled);
            assert_eq!(err.addr(), Some("h:6380"));
        }
        for (url, expected, named) in cases {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), *expected, "{url}: {err}");
            assert!(err.is_config(), "{url}");
            assert!(err.to_string().contains(named), "{url}: {err}");
            assert_eq!(err.index(), None, "{url}: a single URL is no node of a list");
        }
        let err = RedisConfig::from_url("redis://u:%FF@h/0").unwrap_err();
        assert_eq!(err.part(), Some("password"));
        let err = RedisConfig::from_url("redis://app%3As3cret%40127.0.0.1:6379/0").unwrap_err();
        assert!(!err.to_string().contains("s3cret") && !format!("{err:?}").contains("s3cret"));
        // Container and service names, and their domains, still pass, as do
        // names that are no zero address (`0x` is no number to the resolver,
        // five parts are no IPv4 address, `0.1` is 0.0.0.1).
        for url in [
            "redis://redis_cache-1.svc.local:6379/0",
            "redis://xn--hunter-3ib.example/0",
            "redis://0.0.0.0.0/0",
            "redis://0.1/0",
            "redis://0x1/0",
            "redis://0.0.0.0x/0",
            "redis://0-0/0",
        ] {
            RedisConfig::from_url(url).unwrap();
        }
        let err = RedisConfig::from_url("not a url").unwrap_err();
        assert!(
            err.source().is_some_and(|s| s.is::<url::ParseError>()),
            "the URL parser's error is the source: {err:?}"
        );
    }

    #[test]
    fn url_validation_refuses_port_zero_and_repeated_parameters() {
        for url in ["redis://h:0", "redis://h:0/1", "rediss://h:0"] {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidPort, "{url}: {err}");
            assert!(err.to_string().contains("port 0"), "{err}");
        }
        #[cfg(feature = "sentinel")]
        {
            let err = RedisConfig::from_url("redis+sentinel://s1,s2:0/m").unwrap_err();
            assert_eq!((err.kind(), err.index()), (ErrorKind::InvalidPort, Some(1)), "{err}");
        }
        #[cfg(feature = "cluster")]
        {
            let err = RedisConfig::cluster_builder(["h:1", "h:0"]).build().unwrap_err();
            assert_eq!((err.kind(), err.index()), (ErrorKind::InvalidPort, Some(1)), "{err}");
        }
        for url in [
            "redis://h:6379/0?protocol=3&protocol=2",
            "redis://h/0?protocol=3&protocol=3",
            "redis://h/0?protocol=2&protocol",
        ] {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DuplicateParameter, "{url}: {err}");
            assert!(err.to_string().contains("`protocol` is given more than once"), "{err}");
        }
        #[cfg(feature = "sentinel")]
        assert_eq!(
            kind(RedisConfig::from_url("redis+sentinel://s1/m?protocol=2&protocol=3")),
            Some(ErrorKind::DuplicateParameter)
        );
        assert_eq!(RedisConfig::from_url("redis://h:1").unwrap().port(), 1);
        assert_eq!(RedisConfig::from_url("redis://h:65535").unwrap().port(), 65535);
    }

    #[test]
    fn unsupported_parameters_are_named_only_if_plain_identifiers() {
        for (url, named) in [
            ("redis://h/0?timeout=1", Some("`timeout`")),
            ("redis://h/0?_x9=1", Some("`_x9`")),
            ("redis://h/0?pass%20word=1", None),
            ("redis://h/0?9lives=1", None),
            ("redis://h/0?p-w=1", None),
            ("redis://h/0?abcdefghijklmnopqrstuvwxyz0123456=1", None),
        ] {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedParameter, "{url}: {err}");
            let shown = format!("{err} {err:?}");
            match named {
                Some(name) => assert!(shown.contains(name), "{url}: {shown}"),
                None => {
                    assert!(shown.contains("a query parameter is not supported"), "{url}: {shown}");
                    for part in ["s3cret", "Tail", "pass", "9lives", "p-w", "abcdefghij"] {
                        assert!(!shown.contains(part), "{url}: {shown}");
                    }
                }
            }
        }
        // A scheme is echoed only when written as one.
        let err = RedisConfig::from_url("s3cret:x@host").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
        let err = RedisConfig::from_url("http://h").unwrap_err();
        assert!(err.to_string().contains("`http`"), "{err}");
    }

    /// A `/`, `?` or `#` left unencoded in the credentials ends the authority
    /// early: the user name would become a host, the rest of the credentials a
    /// path (a database index, a sentinel service name), a query parameter
    /// (whose name the error would show) or a fragment. Any `@` after the
    /// authority is refused, quoting none of the URL, as the HTTP proxy parser does.
    #[test]
    fn an_at_after_the_authority_is_refused_without_quoting() {
        let mut urls = vec![
            "redis://alice:123?hunter2=x@127.0.0.1:6390/0",
            "redis://alice:?hunter2&x@127.0.0.1/0",
            "redis://al?hunter2=1:pw@127.0.0.1/0",
            "redis://u:6379?s3cretTail@host",
            "redis://alice:1234/hunter2@host/0",
            "rediss://alice:1234/hunter2@host/0",
            "redis://alice:12#hunter2@host/0",
            "redis://host/0?protocol=3&x=alice@hunter2",
        ];
        #[cfg(feature = "sentinel")]
        urls.extend([
            "redis+sentinel://alice:1234/hunter2@mymaster",
            "redis+sentinel://al/ice:hunter2@mymaster",
            "redis+sentinel://alice:99/hunter2@sentinel-1/0",
            "rediss+sentinel://alice:99?hunter2@sentinel-1/m",
            "redis+sentinel://alice:99#hunter2@sentinel-1/m",
            "redis+sentinel://s1/my@master",
        ]);
        for url in urls {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{url}: {err}");
            assert_eq!(
                err.to_string(),
                "invalid Redis URL: an `@` comes after the end of the host \
                 (a `/`, `?` or `#` in its credentials must be percent-encoded)",
                "{url}"
            );
            let shown = format!("{err} {err:?}");
            for part in [
                "alice",
                "al/ice",
                "hunter2",
                "1234",
                "s3cret",
                "Tail",
                "master",
                "sentinel-1",
            ] {
                assert!(!shown.contains(part), "{url}: {shown}");
            }
        }
        #[cfg(feature = "cluster")]
        {
            let err = RedisConfig::cluster_builder(["h:1", "redis://alice:1/hunter2@h:2"])
                .build()
                .unwrap_err();
            assert_eq!((err.kind(), err.index()), (ErrorKind::InvalidUrl, Some(1)), "{err}");
            assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
        }
        #[cfg(feature = "sentinel")]
        {
            let err = RedisConfig::sentinel_builder(["redis://alice:1/hunter2@s1"], "m")
                .build()
                .unwrap_err();
            assert_eq!((err.kind(), err.index()), (ErrorKind::InvalidUrl, Some(0)), "{err}");
            assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
            // Encoded, they are credentials again; an `@` in a service name is `%40`.
            let c = RedisConfig::from_url("redis+sentinel://alice:1234%2Fhunter2@s1/my%40master").unwrap();
            assert_eq!(c.service_name(), Some("my@master"));
            assert_eq!(c.addr(), "s1:26379");
            assert_eq!(
                RedisConfig::from_url(&c.to_string().replace("***:***", "a:b"))
                    .unwrap()
                    .service_name(),
                Some("my@master")
            );
        }
        let c = RedisConfig::from_url("redis://alice:123%3Fhunter2%2F%23@127.0.0.1:6390/0").unwrap();
        assert_eq!((c.username(), c.port()), (Some("alice"), 6390));
    }

    #[test]
    fn usernames_are_never_shown() {
        // A password written in the username slot is a username to the URL parser.
        for url in [
            "redis://SECRETPW@host:6379",
            "redis://SECRETPW:pw@host:6379",
            #[cfg(feature = "rustls")]
            "rediss://SECRETPW@host",
        ] {
            let c = RedisConfig::from_url(url).unwrap();
            assert_eq!(c.username(), Some("SECRETPW"), "the accessor still hands it out");
            for shown in [
                c.to_string(),
                format!("{c:?}"),
                format!("{c:#?}"),
                format!("{:?}", RedisConfig::builder(url)),
            ] {
                assert!(!shown.contains("SECRETPW"), "{url}: {shown}");
            }
            assert!(c.to_string().contains("***@host:"), "{c}");
        }
        #[cfg(not(feature = "rustls"))]
        {
            let err = RedisConfig::from_url("rediss://SECRETPW@host").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TlsNotEnabled);
            assert!(!format!("{err} {err:?}").contains("SECRETPW"), "{err:?}");
        }
        assert_eq!(
            RedisConfig::from_url("redis://SECRETPW@host:6379").unwrap().to_string(),
            "redis://***@host:6379/0"
        );
        let c = RedisConfig::builder("redis://h").username("SECRETPW").build().unwrap();
        assert!(!format!("{c} {c:?}").contains("SECRETPW"), "{c:?}");
        #[cfg(feature = "sentinel")]
        {
            let c = RedisConfig::sentinel_builder(["redis://SECRETPW@s1"], "m")
                .username("SECRETPW2")
                .build()
                .unwrap();
            assert_eq!(c.sentinel_username(), Some("SECRETPW"));
            let shown = format!("{c} {c:?}");
            assert!(!shown.contains("SECRETPW"), "{shown}");
        }
    }

    #[test]
    fn max_connections_and_timeouts_are_bounded() {
        let b = || RedisConfig::builder("redis://127.0.0.1:1/0");
        for max in [RedisConfig::MAX_MAX_CONNECTIONS + 1, 1 << 40, usize::MAX] {
            let err = b().max_connections(max).build().unwrap_err();
            assert_eq!(
                (err.kind(), err.setting()),
                (ErrorKind::TooManyConnections, Some("max_connections")),
                "{err}"
            );
            assert!(
                err.to_string().contains(&format!("{max}: it must be at most 65536")),
                "{err}"
            );
        }
        let at_bound = b().max_connections(RedisConfig::MAX_MAX_CONNECTIONS).build().unwrap();
        assert_eq!(at_bound.create_pool().unwrap().status().max_size, 65_536);

        let max = RedisConfig::MAX_TIMEOUT;
        for huge in [
            max + Duration::from_nanos(1),
            Duration::from_secs(u64::MAX),
            Duration::MAX,
        ] {
            for (setting, builder) in [
                ("connect_timeout", b().connect_timeout(huge)),
                ("response_timeout", b().response_timeout(huge)),
                ("wait_timeout", b().wait_timeout(huge)),
            ] {
                let err = builder.build().unwrap_err();
                assert_eq!(
                    (err.kind(), err.setting()),
                    (ErrorKind::TimeoutTooLong, Some(setting)),
                    "{err}"
                );
                assert!(err.to_string().contains("at most 365 days"), "{err}");
            }
        }
        let c = b()
            .connect_timeout(max)
            .response_timeout(max)
            .wait_timeout(max)
            .build()
            .unwrap();
        assert!(c.create_pool().is_ok());
    }

    #[test]
    fn budget_sums_saturate() {
        use std::sync::Arc;
        let counters = Arc::new(crate::budget::BudgetCounters::default());
        let a = crate::budget::BudgetToken::new(&counters, usize::MAX);
        let b = crate::budget::BudgetToken::new(&counters, usize::MAX);
        assert_eq!(counters.snapshot(1, 0).peak_max_connections_per_node, u64::MAX);
        drop((a, b));
    }

    #[test]
    fn builder_validates_and_overrides() {
        let b = || RedisConfig::builder("redis://h/1");
        assert_eq!(b().build().unwrap().database(), 1);
        assert_eq!(b().database(5).build().unwrap().database(), 5);
        let err = b().database(-1).build().unwrap_err();
        assert_eq!(
            (err.kind(), err.setting()),
            (ErrorKind::NegativeDatabase, Some("database"))
        );
        assert!(err.to_string().contains("-1"), "{err}");
        let err = b().max_connections(0).build().unwrap_err();
        assert_eq!(
            (err.kind(), err.setting()),
            (ErrorKind::ZeroMaxConnections, Some("max_connections"))
        );
        for (setting, builder) in [
            ("connect_timeout", b().connect_timeout(Duration::ZERO)),
            ("response_timeout", b().response_timeout(Duration::ZERO)),
            ("wait_timeout", b().wait_timeout(Duration::ZERO)),
        ] {
            let err = builder.build().unwrap_err();
            assert_eq!((err.kind(), err.setting()), (ErrorKind::ZeroTimeout, Some(setting)));
            assert!(err.to_string().contains(setting), "{err}");
        }
        let c = b()
            .max_connections(3)
            .connect_timeout(Duration::from_millis(200))
            .response_timeout(Duration::from_millis(300))
            .wait_timeout(Duration::from_millis(400))
            .build()
            .unwrap();
        assert_eq!(c.max_connections(), 3);
        assert_eq!(c.connect_timeout(), Duration::from_millis(200));
        assert_eq!(c.response_timeout(), Duration::from_millis(300));
        assert_eq!(c.wait_timeout(), Duration::from_millis(400));
    }

    #[test]
    fn every_setting_is_part_of_the_key() {
        use std::collections::HashSet;
        let url = "redis://u:pw@h:1/0";
        let variants = [
            RedisConfig::from_url(url).unwrap(),
            RedisConfig::from_url("redis://u:other@h:1/0").unwrap(),
            RedisConfig::builder(url).database(1).build().unwrap(),
            RedisConfig::builder(url).max_connections(3).build().unwrap(),
            RedisConfig::builder(url)
                .response_timeout(Duration::from_secs(1))
                .build()
                .unwrap(),
        ];
        let set: HashSet<_> = variants.iter().cloned().collect();
        assert_eq!(set.len(), variants.len());
        assert!(set.contains(&RedisConfig::from_url(url).unwrap()));
    }

    #[test]
    fn connection_info_carries_everything() {
        let c = RedisConfig::from_url("redis://u:pw@h:7/4?protocol=3").unwrap();
        let info = c.connection_info().unwrap();
        assert_eq!(info.addr().to_string(), "h:7");
        let r = info.redis_settings();
        assert_eq!(r.db(), 4);
        assert_eq!(r.username(), Some("u"));
        assert_eq!(r.password(), Some("pw"));
        assert_eq!(r.protocol(), deadpool_redis::redis::ProtocolVersion::RESP3);
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn rediss_is_tls_and_part_of_the_key() {
        let tls = RedisConfig::from_url("rediss://u:pw@h:6380/1").unwrap();
        let plain = RedisConfig::from_url("redis://u:pw@h:6380/1").unwrap();
        assert!(tls.is_tls());
        assert!(!plain.is_tls());
        assert_ne!(tls, plain);
        assert_eq!(tls.to_string(), "rediss://***:***@h:6380/1");
        assert_eq!(tls.root_certificate_count(), 0);
        let info = tls.connection_info().unwrap();
        assert!(matches!(
            info.addr(),
            deadpool_redis::redis::ConnectionAddr::TcpTls { insecure: false, .. }
        ));
        assert_eq!(info.redis_settings().password(), Some("pw"));
        assert_eq!(info.redis_settings().db(), 1);
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn invalid_root_certificates_are_typed_errors() {
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let cases = [
            (
                RedisConfig::builder("rediss://h/0").add_root_certificate_pem(b"hello"),
                0,
                "(PEM): no `CERTIFICATE` block",
            ),
            (
                RedisConfig::builder("rediss://h/0").add_root_certificate_pem(garbage),
                0,
                "(PEM): not an X.509 certificate usable as a trust anchor",
            ),
            (
                RedisConfig::builder("rediss://h/0")
                    .add_root_certificate_pem("-----BEGIN CERTIFICATE-----\nAAAA\n")
                    .add_root_certificate_der([1, 2, 3]),
                0,
                "(PEM): invalid PEM",
            ),
            (
                RedisConfig::builder("rediss://h/0").add_root_certificate_der([1, 2, 3]),
                0,
                "(DER): not an X.509 certificate usable as a trust anchor",
            ),
        ];
        for (builder, index, why) in cases {
            let err = builder.build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRootCertificate, "{err}");
            assert_eq!((err.index(), err.setting()), (Some(index), Some("root_certificate")));
            assert!(
                err.to_string().contains(&format!("root certificate #{index} {why}")),
                "{err}"
            );
            assert!(!format!("{err} {err:?}").contains("AAAA"), "{err:?}");
        }
    }

    #[cfg(feature = "cluster")]
    #[test]
    fn cluster_nodes_parse_into_one_configuration() {
        let c = RedisConfig::cluster_builder(["redis://u:pw@10.0.0.1:7000", "10.0.0.2:7001", " [::1]:7002 "])
            .max_connections(3)
            .build()
            .unwrap();
        assert_eq!(c.topology(), Topology::Cluster);
        assert_eq!(c.node_addrs(), ["10.0.0.1:7000", "10.0.0.2:7001", "[::1]:7002"]);
        assert_eq!(c.addr(), "10.0.0.1:7000,10.0.0.2:7001,[::1]:7002");
        assert_eq!((c.host(), c.port()), ("10.0.0.1", 7000));
        assert_eq!(c.username(), Some("u"));
        assert!(c.has_password());
        assert_eq!(
            c.to_string(),
            "cluster redis://***:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0"
        );
        assert_eq!(c.target(), "cluster 10.0.0.1:7000,10.0.0.2:7001,[::1]:7002");
        // Every node is reached with the first node's credentials.
        for node in &c.nodes {
            let info = c.node_connection_info(node).unwrap();
            assert_eq!(info.redis_settings().password(), Some("pw"));
        }
        // The order of the nodes is part of the key, as every setting is.
        let reversed = RedisConfig::cluster_builder(["10.0.0.2:7001", "redis://u:pw@10.0.0.1:7000"]).build();
        assert!(reversed.is_err(), "the first node names the credentials");
        let a = RedisConfig::cluster_builder(["h1:1", "h2:2"]).build().unwrap();
        let b = RedisConfig::cluster_builder(["h2:2", "h1:1"]).build().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, RedisConfig::from_url("redis://h1:1").unwrap());
    }

    #[cfg(feature = "cluster")]
    #[test]
    fn cluster_errors_name_the_bad_node() {
        let no_nodes: [&str; 0] = [];
        let err = RedisConfig::cluster_builder(no_nodes).build().unwrap_err();
        assert_eq!(
            (err.kind(), err.topology()),
            (ErrorKind::NoNodes, Some(Topology::Cluster))
        );
        let err = RedisConfig::cluster_builder(["h:1", "redis://u:s3cret@h:99999"])
            .build()
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.index(), err.topology()),
            (ErrorKind::InvalidUrl, Some(1), Some(Topology::Cluster)),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("cluster node #1: invalid Redis URL"),
            "{err}"
        );
        let err = RedisConfig::cluster_builder(["redis://:s3cret@h:1", "redis://:other@h:2"])
            .build()
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.topology(), err.index(), err.part()),
            (
                ErrorKind::MismatchedNode,
                Some(Topology::Cluster),
                Some(1),
                Some("password")
            )
        );
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("s3cret") && !text.contains("other"), "{text}");
        }
        for (builder, database) in [
            (RedisConfig::cluster_builder(["redis://h:1/2"]), 2),
            (RedisConfig::cluster_builder(["h:1"]).database(1), 1),
        ] {
            let err = builder.build().unwrap_err();
            assert_eq!(
                (err.kind(), err.setting()),
                (ErrorKind::ClusterDatabase, Some("database"))
            );
            assert!(err.to_string().contains(&format!("database {database}")), "{err}");
        }
        let err = RedisConfig::cluster_builder(["h:1"])
            .sentinel_password("x")
            .build()
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.topology()),
            (ErrorKind::SentinelCredentialsWithoutSentinel, Some(Topology::Cluster))
        );
        #[cfg(feature = "rustls")]
        {
            let err = RedisConfig::cluster_builder(["rediss://h:1"]).build().unwrap_err();
            assert_eq!(
                (err.kind(), err.topology()),
                (ErrorKind::TlsNotSupported, Some(Topology::Cluster))
            );
        }
    }

    #[cfg(feature = "sentinel")]
    #[test]
    fn sentinel_urls_and_lists_parse() {
        let c = RedisConfig::from_url("redis+sentinel://app:s3cret@s1,s2:26380,[::1]/my%20svc/3?protocol=resp3");
        assert_eq!(
            kind(c),
            Some(ErrorKind::InvalidServiceName),
            "no whitespace in a service name"
        );
        let c =
            RedisConfig::from_url("redis+sentinel://app:s3cret@s1,s2:26380,[::1]/mymaster/3?protocol=resp3").unwrap();
        assert_eq!(c.topology(), Topology::Sentinel);
        assert_eq!(c.node_addrs(), ["s1:26379", "s2:26380", "[::1]:26379"]);
        assert_eq!(c.service_name(), Some("mymaster"));
        assert_eq!(c.database(), 3);
        assert_eq!(c.protocol(), Protocol::Resp3);
        assert_eq!(c.username(), Some("app"));
        assert!(c.has_password() && !c.has_sentinel_password());
        assert_eq!(
            c.to_string(),
            "redis+sentinel://***:***@s1:26379,s2:26380,[::1]:26379/mymaster/3?protocol=resp3"
        );
        assert_eq!(
            c.target(),
            "sentinel service `mymaster` via s1:26379,s2:26380,[::1]:26379"
        );
        // Display parses back to the same configuration, but for the credentials.
        let shown = RedisConfig::from_url(&c.to_string().replacen("***", "app", 1).replace("***", "s3cret")).unwrap();
        assert_eq!(shown, c);
        // Also with a service name that needs escaping in a path segment.
        for service in [
            "my%2Fmaster",
            "my%3Fmaster",
            "my%23master",
            "my%25master",
            "m%C3%A4ster",
        ] {
            let c = RedisConfig::from_url(&format!("redis+sentinel://s1/{service}/2")).unwrap();
            assert_eq!(RedisConfig::from_url(&c.to_string()).unwrap(), c, "{c}");
        }
        // Dot segments could not be written back: refused.
        for service in [".", ".."] {
            let err = RedisConfig::sentinel_builder(["s1"], service).build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidServiceName, "{service}");
        }

        let list = RedisConfig::sentinel_builder(["redis://:sentinel-pw@s1:5000", "s2"], "mymaster")
            .password("master-pw")
            .database(2)
            .build()
            .unwrap();
        assert_eq!(list.node_addrs(), ["s1:5000", "s2:26379"]);
        assert!(list.has_sentinel_password() && list.has_password());
        assert_eq!(list.database(), 2);
        assert_eq!(list.to_string(), "redis+sentinel://:***@s1:5000,s2:26379/mymaster/2");
        let debug = format!("{list:?}");
        assert!(
            !debug.contains("sentinel-pw") && !debug.contains("master-pw"),
            "{debug}"
        );
    }

    #[cfg(feature = "sentinel")]
    #[test]
    fn sentinel_errors_name_the_bad_part() {
        let cases: &[(&str, ErrorKind)] = &[
            ("redis+sentinel://s1:26379", ErrorKind::MissingServiceName),
            ("redis+sentinel://s1:26379/", ErrorKind::MissingServiceName),
            ("redis+sentinel:///mymaster", ErrorKind::NoNodes),
            ("redis+sentinel://s1/mymaster/x", ErrorKind::InvalidDatabase),
            ("redis+sentinel://s1/mymaster/1/2", ErrorKind::InvalidDatabase),
            ("redis+sentinel://s1/mymaster#f", ErrorKind::UnsupportedFragment),
            ("redis+sentinel://s1/mymaster?protocol=9", ErrorKind::InvalidProtocol),
            ("redis+sentinel://u:%FF@s1/mymaster", ErrorKind::InvalidCredentials),
        ];
        for (url, expected) in cases {
            assert_eq!(kind(RedisConfig::from_url(url)), Some(*expected), "{url}");
        }
        let err = RedisConfig::from_url("redis+sentinel:///mymaster").unwrap_err();
        assert_eq!(err.topology(), Some(Topology::Sentinel));
        let err = RedisConfig::from_url("redis+sentinel://u:%FF@s1/mymaster").unwrap_err();
        assert_eq!(err.part(), Some("password"));
        // A database in a sentinel's own URL would be ignored: refused, with
        // where the master's goes, whichever sentinel names it.
        for (sentinels, index) in [
            (["redis://s1:26379/5", "s2"], 0),
            (["redis://:s3cret@s1", "redis://s2:2/1"], 1),
        ] {
            let err = RedisConfig::sentinel_builder(sentinels, "mymaster")
                .build()
                .unwrap_err();
            assert_eq!((err.kind(), err.index()), (ErrorKind::InvalidUrl, Some(index)), "{err}");
            assert!(err.to_string().contains("RedisConfigBuilder::database"), "{err}");
            assert!(!format!("{err} {err:?}").contains("s3cret"));
        }
        let master_db = RedisConfig::sentinel_builder(["s1"], "mymaster")
            .database(5)
            .build()
            .unwrap();
        assert_eq!(master_db.database(), 5);
        // Credentials once, before the first sentinel: a host in front of them,
        // or credentials per sentinel, would drop hosts silently.
        for url in [
            "redis+sentinel://:s3cret@s1:26379,:s3cret@s2:26379/mymaster",
            "redis+sentinel://s1,alice:s3cret@s2/mymaster",
        ] {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{url}: {err}");
            assert!(err.to_string().contains("before the first sentinel"), "{err}");
            assert!(!err.to_string().contains("s3cret") && !format!("{err:?}").contains("s3cret"));
        }
        // An `@` in a password, encoded or not, still parses (the last `@` ends them).
        for url in [
            "redis+sentinel://:p%40ss@s1,s2/mymaster",
            "redis+sentinel://:p@ss@s1,s2/mymaster",
        ] {
            let c = RedisConfig::from_url(url).unwrap();
            assert_eq!(c.node_addrs(), ["s1:26379", "s2:26379"], "{url}");
            assert!(c.has_password());
        }
        let err = RedisConfig::from_url("redis+sentinel://u:s3cret@s1,s2:notaport/mymaster").unwrap_err();
        assert_eq!(
            (err.index(), err.topology()),
            (Some(1), Some(Topology::Sentinel)),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("sentinel #1: "), "{err}");
        assert!(!err.to_string().contains("s3cret") && !format!("{err:?}").contains("s3cret"));
        assert_eq!(
            kind(RedisConfig::sentinel_builder(["s1"], "").build()),
            Some(ErrorKind::MissingServiceName)
        );
        let err = RedisConfig::builder("redis://h/0")
            .sentinel_username("u")
            .build()
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.topology()),
            (
                ErrorKind::SentinelCredentialsWithoutSentinel,
                Some(Topology::Standalone)
            )
        );
    }
}
