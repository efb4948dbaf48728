//! Redis Cluster pools (feature `cluster`): a deadpool manager whose objects are the
//! `redis` crate's async cluster connections.

use std::sync::atomic::AtomicUsize;

use deadpool_redis::redis::{
    RedisError,
    cluster::{ClusterClient, ClusterClientBuilder},
    cluster_async::ClusterConnection,
};
use tenure_pool::deadpool::managed::{self, Metrics, RecycleResult};

use crate::{Error, RedisConfig};

/// Creates and recycles cluster connections for one configuration, with its
/// connect and response timeouts (deadpool-redis's own cluster manager takes
/// neither).
///
/// A cluster connection discovers the cluster's nodes from the startup nodes, holds
/// one multiplexed connection to each node it routes to, and follows `MOVED` and
/// `ASK` redirections itself.
pub(crate) struct ClusterManager {
    client: ClusterClient,
    ping_number: AtomicUsize,
}

impl ClusterManager {
    pub(crate) fn new(config: &RedisConfig) -> Result<Self, Error> {
        let nodes = config
            .nodes
            .iter()
            .map(|node| config.node_connection_info(node))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config.build_error(e.to_string()))?;
        let client = ClusterClientBuilder::new(nodes)
            .connection_timeout(config.connect_timeout())
            .response_timeout(config.response_timeout())
            .build()
            .map_err(|e| config.build_error(e.to_string()))?;
        Ok(Self {
            client,
            ping_number: AtomicUsize::new(0),
        })
    }
}

impl managed::Manager for ClusterManager {
    type Type = ClusterConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<ClusterConnection, RedisError> {
        self.client.get_async_connection().await
    }

    async fn recycle(&self, conn: &mut ClusterConnection, _: &Metrics) -> RecycleResult<RedisError> {
        crate::pool::ping(conn, &self.ping_number).await
    }
}
