//! Building a deadpool-redis pool from a [`RedisConfig`], honouring every setting.

use deadpool_redis::{Manager, Pool, Runtime, redis::AsyncConnectionConfig};
use tenure_pool::deadpool::managed::{self, Object};

use crate::{ConfigError, RedisConfig};

impl RedisConfig {
    /// Builds a new pool for this configuration: at most
    /// [`max_connections`](RedisConfig::max_connections) connections, the connect
    /// and response timeouts on every connection, the wait timeout on checkout, and
    /// the database index selected on connect.
    ///
    /// The pool is lazy: no connection is opened until the first `get`. The caller
    /// owns it (and closes it when done); to share it with
    /// [`RedisClients`](crate::RedisClients), hand it in with
    /// [`RedisClients::insert_shared`](crate::RedisClients::insert_shared).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Build`] if the `redis` crate or deadpool rejects the settings.
    pub fn create_pool(&self) -> Result<Pool, ConfigError> {
        self.pool_builder::<deadpool_redis::Connection>()?
            .build()
            .map_err(|e| self.build_error(e.to_string()))
    }

    /// A pool builder with every setting of this configuration applied; `W` is
    /// deadpool-redis' `Connection` for a caller's pool, deadpool's `Object` for
    /// one the cache owns (whose guard hides it).
    pub(crate) fn pool_builder<W: From<Object<Manager>>>(
        &self,
    ) -> Result<managed::PoolBuilder<Manager, W>, ConfigError> {
        let info = self.connection_info().map_err(|e| self.build_error(e.to_string()))?;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout()))
            .set_response_timeout(Some(self.response_timeout()));
        let manager = Manager::new_with_config(info, connection).map_err(|e| self.build_error(e.to_string()))?;
        Ok(managed::Pool::<Manager, W>::builder(manager)
            .max_size(self.max_connections())
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.wait_timeout()))
            // Connecting is bounded by the connect timeout plus the handshake's round trips.
            .create_timeout(Some(self.connect_timeout().saturating_add(self.response_timeout())))
            // Recycling is one `PING`.
            .recycle_timeout(Some(self.response_timeout())))
    }

    pub(crate) fn build_error(&self, reason: String) -> ConfigError {
        ConfigError::Build {
            addr: self.addr(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::RedisConfig;

    #[test]
    fn max_connections_is_honoured() {
        let config = RedisConfig::builder("redis://127.0.0.1:1/0")
            .max_connections(3)
            .build()
            .unwrap();
        let pool = config.create_pool().unwrap();
        let status = pool.status();
        assert_eq!(status.max_size, 3);
        assert_eq!(status.size, 0, "the pool is lazy");
    }
}
