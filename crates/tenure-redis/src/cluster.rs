//! Redis Cluster pools (feature `cluster`): a deadpool manager whose objects are the
//! `redis` crate's async cluster connections.

use std::time::Duration;

use deadpool_redis::redis::{
    self, RedisError,
    cluster::{ClusterClient, ClusterClientBuilder},
    cluster_async::ClusterConnection,
    cluster_routing::{RoutingInfo, SingleNodeRoutingInfo},
};
use tenure_pool::deadpool::managed::{self, Metrics, RecycleError, RecycleResult};

use crate::{Error, RedisConfig};

/// Creates and recycles cluster connections for one configuration, with its
/// connect and response timeouts (deadpool-redis's own cluster manager takes
/// neither).
///
/// A cluster connection discovers the cluster's nodes from the startup nodes, holds
/// one multiplexed connection to each node it routes to, and follows `MOVED` and
/// `ASK` redirections itself.
///
/// Recycling waits on no server: it only checks that the connection's driver
/// task still runs (the comment on `recycle` below says why). What a borrower
/// leaves on a connection (`MULTI` without `EXEC`, `WATCH`, ...) is caught
/// client-side instead, when the borrower drops it (`borrower_state.rs`).
pub(crate) struct ClusterManager {
    client: ClusterClient,
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
        Ok(Self { client })
    }
}

impl managed::Manager for ClusterManager {
    type Type = ClusterConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<ClusterConnection, RedisError> {
        self.client
            .get_async_connection()
            .await
            .map_err(as_timeout_if_timed_out)
    }

    // No wait on the servers, on purpose. A `PING` sent on a cluster connection
    // goes to every primary and succeeds only if every one answers, so one paused or
    // slow primary made every checkout wait for it, and one dead primary made every
    // checkout discard the whole cluster connection (one connection per node) and
    // build a new one, though commands for the other primaries' slots worked. A
    // `PING` routed to one node and awaited has the same problem whenever it picks
    // the bad node. Nor is a node check needed: a cluster connection repairs itself
    // (its driver task reconnects to a node whose connection failed, refreshes the
    // slot map on `MOVED`, and goes back to the startup nodes when it has lost them
    // all), so a failing node shows up as errors on the commands routed to it.
    //
    // What must be caught is a connection whose driver task is gone (the Tokio
    // runtime it was created on has shut down): every command on it fails. Handing
    // the driver a `PING` for a random node shows that at once, without waiting
    // for any node: the hand-over fails immediately when the driver is gone, and
    // otherwise the `PING` is left to the driver and its answer is not awaited.
    async fn recycle(&self, conn: &mut ClusterConnection, _: &Metrics) -> RecycleResult<RedisError> {
        let ping = conn.route_command(
            redis::cmd("PING"),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        );
        match tokio::time::timeout(Duration::ZERO, ping).await {
            // Handed over; not answered yet (or answered at once): the driver runs.
            Err(_) | Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(RecycleError::Backend(error)),
        }
    }
}

/// The `redis` crate reports a cluster whose startup nodes all timed out as an
/// `Io` error holding only the text of the timeout ("Failed to create initial
/// connections" - "timed out"), which [`RedisError::is_timeout`] does not
/// recognise; standalone and sentinel connections report it as a timeout. Made
/// into one, with the same message, so `Error::is_timeout` says the same for
/// every topology.
fn as_timeout_if_timed_out(error: RedisError) -> RedisError {
    let timed_out = error.kind() == redis::ErrorKind::Io
        && !error.is_timeout()
        && error.detail().is_some_and(|detail| detail.ends_with("timed out"));
    if timed_out {
        RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, error.to_string()))
    } else {
        error
    }
}
