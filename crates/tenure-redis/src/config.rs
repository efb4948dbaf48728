//! [`RedisConfig`]: where a pool connects and how big it may grow; also the cache key.

use std::{fmt, time::Duration};

use url::{Host, Url};

use crate::{ConfigError, secret::Password};

/// The port used when a URL names none.
const DEFAULT_PORT: u16 = 6379;
/// Longest query-parameter name echoed back in an error.
const MAX_ECHOED_PARAMETER: usize = 32;

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

/// Where a Redis pool connects, and how it behaves: the key of the client cache.
///
/// Built from a `redis://` or `rediss://` URL with [`RedisConfig::from_url`] or
/// [`RedisConfig::builder`]. Every setting is part of equality and hashing, so two
/// configurations that differ in any way (database index, `max_connections`, a
/// timeout, the credentials, TLS and its extra roots) get two different pools. A
/// `RedisConfig` is always valid: the builder checks everything.
///
/// Its [`Debug`] and [`Display`](fmt::Display) never show the password; `Debug`
/// shows how many extra root certificates there are, not the certificates.
///
/// # TLS
///
/// With the `rustls` feature (on by default), a `rediss://` URL connects over TLS
/// (rustls with the ring provider) and verifies the server's certificate and host
/// name. It trusts the web PKI roots (webpki-roots), or, if any are added with
/// [`RedisConfigBuilder::add_root_certificate_pem`], exactly the added roots.
/// Without the feature, `rediss://` gives [`ConfigError::TlsNotEnabled`].
///
/// The `redis` crate builds its TLS settings with rustls's process-wide
/// `CryptoProvider`; if none is installed when a `rediss://` pool is built, the
/// ring provider is installed as the default.
///
/// # Examples
///
/// ```
/// use tenure_redis::RedisConfig;
///
/// let config = RedisConfig::builder("redis://app:s3cret@127.0.0.1:6380/2")
///     .max_connections(8)
///     .build()?;
/// assert_eq!(config.addr(), "127.0.0.1:6380");
/// assert_eq!(config.database(), 2);
/// assert_eq!(config.max_connections(), 8);
/// assert_eq!(config.to_string(), "redis://app:***@127.0.0.1:6380/2");
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # Ok::<(), tenure_redis::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedisConfig {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<Password>,
    tls: bool,
    /// Extra trusted roots, each as the PEM it was added as (validated by the builder).
    root_certificates: Vec<Vec<u8>>,
    database: i64,
    protocol: Protocol,
    max_connections: usize,
    connect_timeout: Duration,
    response_timeout: Duration,
    wait_timeout: Duration,
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

    /// Parses a `redis://[user[:password]@]host[:port][/db][?protocol=resp3]` URL
    /// (or the same with `rediss://` for TLS; see [TLS](RedisConfig#tls)),
    /// with every other setting at its default.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming what is wrong with the URL; it never contains the
    /// password. Without the `rustls` feature, `rediss://` gives
    /// [`ConfigError::TlsNotEnabled`].
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        Self::builder(url).build()
    }

    /// Starts a configuration from a URL (see [`RedisConfig::from_url`]); URL errors
    /// are reported by [`RedisConfigBuilder::build`].
    pub fn builder(url: &str) -> RedisConfigBuilder {
        RedisConfigBuilder {
            parsed: parse_url(url),
            root_certificates: Vec::new(),
            database: None,
            max_connections: None,
            connect_timeout: None,
            response_timeout: None,
            wait_timeout: None,
        }
    }

    /// The host, without brackets for an IPv6 address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, the form in which errors name the server.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether connections use TLS (a `rediss://` URL).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// How many extra root certificates (PEM blocks as added with
    /// [`RedisConfigBuilder::add_root_certificate_pem`]) a TLS connection trusts.
    pub fn root_certificate_count(&self) -> usize {
        self.root_certificates.len()
    }

    /// The username, if any.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Whether a password is set (the password itself is never handed out).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The database index selected on every connection.
    pub fn database(&self) -> i64 {
        self.database
    }

    /// The RESP protocol version.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The most connections the pool opens to the server at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// How long opening one connection may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long one command may wait for its response.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// How long a caller may wait for a free connection when the pool is full.
    pub fn wait_timeout(&self) -> Duration {
        self.wait_timeout
    }

    /// The connection parameters for the `redis` crate (they hold the password, and
    /// for TLS the extra roots).
    ///
    /// # Errors
    ///
    /// If the `redis` crate rejects the address or the root certificates (which the
    /// builder has already checked).
    pub(crate) fn connection_info(&self) -> deadpool_redis::redis::RedisResult<deadpool_redis::redis::ConnectionInfo> {
        use deadpool_redis::redis::{ConnectionAddr, IntoConnectionInfo, ProtocolVersion, RedisConnectionInfo};
        let protocol = match self.protocol {
            Protocol::Resp2 => ProtocolVersion::RESP2,
            Protocol::Resp3 => ProtocolVersion::RESP3,
        };
        let mut redis = RedisConnectionInfo::default()
            .set_db(self.database)
            .set_protocol(protocol);
        if let Some(username) = &self.username {
            redis = redis.set_username(username);
        }
        if let Some(password) = &self.password {
            redis = redis.set_password(password.expose());
        }
        if self.tls {
            return self.tls_connection_info(redis);
        }
        let info = ConnectionAddr::Tcp(self.host.clone(), self.port).into_connection_info()?;
        Ok(info.set_redis_settings(redis))
    }

    /// The TLS connection parameters: host name verification on, the extra roots if
    /// any (else the web PKI roots).
    #[cfg(feature = "rustls")]
    fn tls_connection_info(
        &self,
        redis: deadpool_redis::redis::RedisConnectionInfo,
    ) -> deadpool_redis::redis::RedisResult<deadpool_redis::redis::ConnectionInfo> {
        use deadpool_redis::redis::{Client, ConnectionAddr, IntoConnectionInfo, TlsCertificates};
        install_crypto_provider();
        let addr = ConnectionAddr::TcpTls {
            host: self.host.clone(),
            port: self.port,
            insecure: false,
            tls_params: None,
        };
        let info = addr.into_connection_info()?.set_redis_settings(redis);
        if self.root_certificates.is_empty() {
            return Ok(info);
        }
        let mut bundle = Vec::new();
        for pem in &self.root_certificates {
            bundle.extend_from_slice(pem);
            bundle.push(b'\n');
        }
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
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password)
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

/// The URL with the password replaced by `***`.
impl fmt::Display for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tls { "rediss://" } else { "redis://" })?;
        match (&self.username, &self.password) {
            (Some(user), Some(_)) => write!(f, "{user}:***@")?,
            (Some(user), None) => write!(f, "{user}@")?,
            (None, Some(_)) => f.write_str(":***@")?,
            (None, None) => {}
        }
        write!(f, "{}/{}", self.addr(), self.database)?;
        if self.protocol == Protocol::Resp3 {
            f.write_str("?protocol=resp3")?;
        }
        Ok(())
    }
}

/// Builds a [`RedisConfig`]; see [`RedisConfig::builder`].
///
/// Its `Debug` never shows the password, nor the root certificates (only how many).
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisConfigBuilder {
    parsed: Result<RedisConfig, ConfigError>,
    root_certificates: Vec<Vec<u8>>,
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
            .field("database", &self.database)
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

impl RedisConfigBuilder {
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

    /// Selects this database index, overriding the URL's path.
    pub fn database(mut self, database: i64) -> Self {
        self.database = Some(database);
        self
    }

    /// The most connections the pool may open at once (default
    /// [`RedisConfig::DEFAULT_MAX_CONNECTIONS`]); honoured for URL configurations.
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
    /// The URL's [`ConfigError`], else [`ConfigError::NegativeDatabase`],
    /// [`ConfigError::ZeroMaxConnections`], [`ConfigError::ZeroTimeout`] or
    /// [`ConfigError::InvalidRootCertificate`].
    pub fn build(self) -> Result<RedisConfig, ConfigError> {
        let mut config = self.parsed?;
        for (index, pem) in self.root_certificates.iter().enumerate() {
            check_root_certificate(pem).map_err(|reason| ConfigError::InvalidRootCertificate { index, reason })?;
        }
        config.root_certificates = self.root_certificates;
        if let Some(database) = self.database {
            if database < 0 {
                return Err(ConfigError::NegativeDatabase { database });
            }
            config.database = database;
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

/// Parses a Redis URL into a configuration with default pool settings.
fn parse_url(input: &str) -> Result<RedisConfig, ConfigError> {
    let url = Url::parse(input).map_err(|e| ConfigError::InvalidUrl { reason: e.to_string() })?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        other => return Err(ConfigError::unsupported_scheme(other)),
    };
    let host = match url.host() {
        Some(Host::Domain(name)) if !name.is_empty() => name.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err(ConfigError::MissingHost),
    };
    if host == "0.0.0.0" || host == "::" {
        return Err(ConfigError::WildcardHost { host });
    }
    let port = url.port().unwrap_or(DEFAULT_PORT);
    if tls && !cfg!(feature = "rustls") {
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        return Err(ConfigError::TlsNotEnabled { addr });
    }
    if url.fragment().is_some() {
        return Err(ConfigError::UnsupportedFragment);
    }
    let database = match url.path().trim_matches('/') {
        "" => 0,
        path => match path.parse::<i64>() {
            Ok(db) if db >= 0 => db,
            _ => return Err(ConfigError::InvalidDatabase),
        },
    };
    let mut protocol = Protocol::Resp2;
    for (name, value) in url.query_pairs() {
        if name != "protocol" {
            return Err(ConfigError::UnsupportedParameter {
                name: name.chars().take(MAX_ECHOED_PARAMETER).collect(),
            });
        }
        protocol = match value.as_ref() {
            "2" | "resp2" => Protocol::Resp2,
            "3" | "resp3" => Protocol::Resp3,
            _ => return Err(ConfigError::InvalidProtocol),
        };
    }
    let username = match url.username() {
        "" => None,
        raw => Some(percent_decode(raw).ok_or(ConfigError::InvalidCredentials { part: "username" })?),
    };
    let password = match url.password() {
        None => None,
        Some(raw) => Some(Password::new(
            percent_decode(raw).ok_or(ConfigError::InvalidCredentials { part: "password" })?,
        )),
    };
    Ok(RedisConfig {
        host,
        port,
        username,
        password,
        tls,
        root_certificates: Vec::new(),
        database,
        protocol,
        max_connections: RedisConfig::DEFAULT_MAX_CONNECTIONS,
        connect_timeout: RedisConfig::DEFAULT_CONNECT_TIMEOUT,
        response_timeout: RedisConfig::DEFAULT_RESPONSE_TIMEOUT,
        wait_timeout: RedisConfig::DEFAULT_WAIT_TIMEOUT,
    })
}

/// Checks that `pem` holds at least one certificate and that each one is a usable
/// trust anchor; the error says why not (it never quotes the PEM).
#[cfg(feature = "rustls")]
fn check_root_certificate(pem: &[u8]) -> Result<(), String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a valid PEM certificate: {e}"))?;
        store
            .add(cert)
            .map_err(|e| format!("not a usable CA certificate: {e}"))?;
    }
    if store.is_empty() {
        return Err("no `CERTIFICATE` block in the PEM".to_owned());
    }
    Ok(())
}

/// Without the `rustls` feature no root can be added.
#[cfg(not(feature = "rustls"))]
fn check_root_certificate(_pem: &[u8]) -> Result<(), String> {
    Ok(())
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

/// Decodes `%XX` escapes; `None` if the result is not UTF-8. A `%` not followed by
/// two hex digits is kept as is, as the `redis` crate does.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Two hex digits are at most 0xFF.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.to_string(), "redis://user:***@example.com:7000/3?protocol=resp3");
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
        let cases: &[(&str, ConfigError)] = &[
            ("http://h:1/0", ConfigError::unsupported_scheme("http")),
            ("redis://", ConfigError::MissingHost),
            ("redis://h/x", ConfigError::InvalidDatabase),
            ("redis://h/-1", ConfigError::InvalidDatabase),
            ("redis://h/0#frag", ConfigError::UnsupportedFragment),
            ("redis://h/0?protocol=4", ConfigError::InvalidProtocol),
            (
                "redis://h/0?password=x",
                ConfigError::UnsupportedParameter {
                    name: "password".into(),
                },
            ),
            (
                "redis://0.0.0.0:1",
                ConfigError::WildcardHost { host: "0.0.0.0".into() },
            ),
            (
                "redis://u:%FF@h/0",
                ConfigError::InvalidCredentials { part: "password" },
            ),
        ];
        #[cfg(not(feature = "rustls"))]
        assert_eq!(
            RedisConfig::from_url("rediss://h:6380/0"),
            Err(ConfigError::TlsNotEnabled { addr: "h:6380".into() })
        );
        for (url, expected) in cases {
            assert_eq!(RedisConfig::from_url(url).as_ref(), Err(expected), "{url}");
        }
        assert!(matches!(
            RedisConfig::from_url("redis://h:99999/0"),
            Err(ConfigError::InvalidUrl { .. })
        ));
        assert!(matches!(
            RedisConfig::from_url("not a url"),
            Err(ConfigError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn builder_validates_and_overrides() {
        let b = || RedisConfig::builder("redis://h/1");
        assert_eq!(b().build().unwrap().database(), 1);
        assert_eq!(b().database(5).build().unwrap().database(), 5);
        assert_eq!(
            b().database(-1).build(),
            Err(ConfigError::NegativeDatabase { database: -1 })
        );
        assert_eq!(b().max_connections(0).build(), Err(ConfigError::ZeroMaxConnections));
        assert_eq!(
            b().response_timeout(Duration::ZERO).build(),
            Err(ConfigError::ZeroTimeout { which: "response" })
        );
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
        assert_eq!(tls.to_string(), "rediss://u:***@h:6380/1");
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
        let not_pem = RedisConfig::builder("rediss://h/0")
            .add_root_certificate_pem(b"hello".to_vec())
            .build();
        assert!(
            matches!(not_pem, Err(ConfigError::InvalidRootCertificate { index: 0, .. })),
            "{not_pem:?}"
        );
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let bad_der = RedisConfig::builder("rediss://h/0")
            .add_root_certificate_pem(garbage)
            .build();
        assert!(
            matches!(bad_der, Err(ConfigError::InvalidRootCertificate { index: 0, .. })),
            "{bad_der:?}"
        );
    }
}
