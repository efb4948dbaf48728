//! [`Topology`]: which kind of Redis deployment a configuration reaches.

use std::fmt;

/// Which kind of Redis deployment a [`RedisConfig`](crate::RedisConfig) reaches.
///
/// # Examples
///
/// ```
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::{RedisConfig, Topology};
///
/// let config = RedisConfig::from_url("redis://127.0.0.1:6390/0")?;
/// assert_eq!(config.topology(), Topology::Standalone);
/// # Ok::<(), tenure_redis::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Topology {
    /// One server (`redis://` or `rediss://`).
    Standalone,
    /// A Redis Cluster, reached through its startup nodes (feature `cluster`).
    Cluster,
    /// The master of a Sentinel-managed service, found through its sentinels
    /// (feature `sentinel`).
    Sentinel,
}

impl Topology {
    /// `"standalone"`, `"cluster"` or `"sentinel"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standalone => "standalone",
            Self::Cluster => "cluster",
            Self::Sentinel => "sentinel",
        }
    }

    /// The name of the cargo feature this topology needs, if any.
    pub(crate) fn feature(self) -> Option<&'static str> {
        match self {
            Self::Standalone => None,
            Self::Cluster => Some("cluster"),
            Self::Sentinel => Some("sentinel"),
        }
    }

    /// Whether this build of tenure-redis supports the topology.
    pub(crate) fn is_enabled(self) -> bool {
        match self {
            Self::Standalone => true,
            Self::Cluster => cfg!(feature = "cluster"),
            Self::Sentinel => cfg!(feature = "sentinel"),
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server's host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Node {
    /// The host, without brackets for an IPv6 address.
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}
