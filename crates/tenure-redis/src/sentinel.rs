//! Sentinel pools (feature `sentinel`): a deadpool manager whose objects are
//! multiplexed connections to the master the sentinels name.

use deadpool_redis::redis::{
    self, AsyncConnectionConfig, ConnectionAddr, RedisError, Role,
    aio::MultiplexedConnection,
    sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType},
};
use tenure_pool::deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use tokio::sync::Mutex;

use crate::{Error, RedisConfig};

/// Creates connections to the current master of one sentinel service, and
/// recycles only connections whose server still says it is the master.
///
/// The configuration's connect and response timeouts apply to the connection to
/// the master only (deadpool-redis's own sentinel manager takes neither). The
/// lookup before it does not use them: the `redis` crate's `SentinelClientBuilder`
/// has no timeout setting, so the sentinel connections and the role checks use the
/// `redis` crate's defaults (1 s to connect, 500 ms per response). It asks up to 3
/// sentinels at once and takes their answers in list order, so with the first
/// sentinel stopped (`SIGSTOP`) each new connection took about 1.25 s, and with
/// connect and response timeouts of 150 ms (a pool creation limit of 600 ms) every
/// creation failed.
///
/// Each creation asks the sentinels for the master's address and checks its role
/// on a connection closed right after (one per sentinel lookup that names a
/// master) before connecting, so after a failover new connections go to the new
/// master. The connections to the sentinels stay open for the pool's life.
/// Recycling sends `UNWATCH` and `ROLE` in one round trip: a connection to a
/// server that is no longer the master (demoted, or gone) is discarded, and
/// keys a borrower left watched are unwatched.
pub(crate) struct SentinelManager {
    /// `SentinelClient` needs `&mut` to look up the master; creations take turns.
    client: Mutex<SentinelClient>,
    connection: AsyncConnectionConfig,
}

impl SentinelManager {
    pub(crate) fn new(config: &RedisConfig) -> Result<Self, Error> {
        let sentinels = config
            .nodes
            .iter()
            .map(|node| ConnectionAddr::Tcp(node.host.clone(), node.port));
        let service = config.service_name().unwrap_or_default();
        let mut builder = SentinelClientBuilder::new(sentinels, service, SentinelServerType::Master)
            .map_err(|e| config.build_error(e.to_string()))?
            .set_client_to_redis_db(config.database())
            .set_client_to_redis_protocol(config.redis_protocol());
        // A username goes with a password only, as for the other topologies
        // (`RedisConfig::redis_settings`): the `redis` crate sends it only with one.
        if let Some(password) = &config.password {
            if let Some(username) = &config.username {
                builder = builder.set_client_to_redis_username(username);
            }
            builder = builder.set_client_to_redis_password(password.expose());
        }
        if let Some(password) = &config.sentinel_password {
            if let Some(username) = &config.sentinel_username {
                builder = builder.set_client_to_sentinel_username(username);
            }
            builder = builder.set_client_to_sentinel_password(password.expose());
        }
        let client = builder.build().map_err(|e| config.build_error(e.to_string()))?;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.connect_timeout()))
            .set_response_timeout(Some(config.response_timeout()));
        Ok(Self {
            client: Mutex::new(client),
            connection,
        })
    }
}

impl managed::Manager for SentinelManager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        let mut client = self.client.lock().await;
        client.get_async_connection_with_config(&self.connection).await
    }

    // `UNWATCH` first, as deadpool-redis's standalone recycle sends it: a
    // borrower's `WATCH` would otherwise abort the next borrower's transaction,
    // and `CLIENT INFO` (the `post_recycle` check) reports watched keys only
    // from Redis 7.4. One round trip for both.
    async fn recycle(&self, conn: &mut MultiplexedConnection, _: &Metrics) -> RecycleResult<RedisError> {
        let (role,): (Role,) = redis::pipe()
            .cmd("UNWATCH")
            .ignore()
            .cmd("ROLE")
            .query_async(conn)
            .await?;
        match role {
            Role::Primary { .. } => Ok(()),
            _ => Err(RecycleError::message("the server is no longer the master")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tenure_pool::deadpool::managed::Manager;
    use tenure_test_support::RedisSentinels;

    use super::*;

    /// The recycle alone (the client-side tracking of `RedisConnection` is
    /// not involved): a connection returned with a key watched is unwatched,
    /// so a transaction on it commits although the key changed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recycling_unwatches_what_a_borrower_watched() {
        let deployment = RedisSentinels::start(1, 1, Duration::from_millis(1000))
            .unwrap_or_else(|e| panic!("cannot start a Sentinel deployment: {e}"));
        let config = RedisConfig::from_url(&deployment.sentinel_url()).unwrap();
        let manager = SentinelManager::new(&config).unwrap();
        let mut conn = manager.create().await.unwrap();
        let () = redis::cmd("WATCH").arg("watched").query_async(&mut conn).await.unwrap();
        deployment.servers()[0].command(&["SET", "watched", "changed"]).unwrap();
        manager.recycle(&mut conn, &Metrics::default()).await.unwrap();
        let committed: Option<(i64,)> = redis::pipe()
            .atomic()
            .incr("mine", 1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(committed, Some((1,)), "the recycled connection still watched the key");
    }
}
