//! [`ExternalPool`]: a pool the caller built and hands in.

use std::fmt;

use crate::Topology;

/// A deadpool-redis pool the caller built and owns, to hand in with
/// [`RedisClients::insert_shared`](crate::RedisClients::insert_shared): one variant
/// per [`Topology`]. The cache never closes it.
///
/// Each deadpool-redis pool type converts into it with `From`, so `insert_shared`
/// takes the pool itself.
///
/// # Examples
///
/// ```
/// # mod tenure { pub use tenure_redis as redis; } // the facade: `tenure::redis`
/// use tenure::redis::{ExternalPool, RedisConfig, Topology};
///
/// let config = RedisConfig::from_url("redis://127.0.0.1:6390/0")?;
/// let pool: ExternalPool = config.create_pool()?.into();
/// assert_eq!(pool.topology(), Topology::Standalone);
/// # Ok::<(), tenure_redis::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum ExternalPool {
    /// A standalone server's pool.
    Standalone(deadpool_redis::Pool),
    /// A Redis Cluster pool (feature `cluster`).
    #[cfg(feature = "cluster")]
    Cluster(deadpool_redis::cluster::Pool),
    /// A Sentinel pool (feature `sentinel`).
    #[cfg(feature = "sentinel")]
    Sentinel(deadpool_redis::sentinel::Pool),
}

impl ExternalPool {
    /// Which kind of deployment the pool reaches.
    pub fn topology(&self) -> Topology {
        match self {
            Self::Standalone(_) => Topology::Standalone,
            #[cfg(feature = "cluster")]
            Self::Cluster(_) => Topology::Cluster,
            #[cfg(feature = "sentinel")]
            Self::Sentinel(_) => Topology::Sentinel,
        }
    }

    /// The pool's size, idle connections and waiters.
    pub fn status(&self) -> deadpool_redis::Status {
        match self {
            Self::Standalone(pool) => pool.status(),
            #[cfg(feature = "cluster")]
            Self::Cluster(pool) => pool.status(),
            #[cfg(feature = "sentinel")]
            Self::Sentinel(pool) => pool.status(),
        }
    }

    /// Whether its owner closed it.
    pub fn is_closed(&self) -> bool {
        match self {
            Self::Standalone(pool) => pool.is_closed(),
            #[cfg(feature = "cluster")]
            Self::Cluster(pool) => pool.is_closed(),
            #[cfg(feature = "sentinel")]
            Self::Sentinel(pool) => pool.is_closed(),
        }
    }
}

impl From<deadpool_redis::Pool> for ExternalPool {
    fn from(pool: deadpool_redis::Pool) -> Self {
        Self::Standalone(pool)
    }
}

#[cfg(feature = "cluster")]
impl From<deadpool_redis::cluster::Pool> for ExternalPool {
    fn from(pool: deadpool_redis::cluster::Pool) -> Self {
        Self::Cluster(pool)
    }
}

#[cfg(feature = "sentinel")]
impl From<deadpool_redis::sentinel::Pool> for ExternalPool {
    fn from(pool: deadpool_redis::sentinel::Pool) -> Self {
        Self::Sentinel(pool)
    }
}

impl fmt::Debug for ExternalPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalPool")
            .field("topology", &self.topology())
            .field("status", &self.status())
            .finish()
    }
}
