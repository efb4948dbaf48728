//! [`ConnectionBudget`]: how many connections this process's pools may hold to one node.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

/// How many connections the pools of one [`RedisClients`](crate::RedisClients) may
/// hold to any one Redis node: the process's share of a node's `maxclients`.
///
/// Every owned pool holds at most [`max_connections`](crate::RedisConfig::max_connections)
/// connections to any one node: a standalone pool to its server, a sentinel pool to
/// the current master, a cluster pool to each node (each of its connections is a
/// cluster connection holding one connection per node). So the owned pools open at
/// any moment can hold at most the **sum of their `max_connections`** to one node:
/// that is [`max_connections_per_node`](Self::max_connections_per_node), counted
/// from creation until the pool is closed (retired pools that are still draining
/// included).
///
/// In the steady state at most [`max_pools`](Self::max_pools) owned pools are
/// cached, so one process holds at most `max_pools x max_connections` connections to
/// a node (with the same `max_connections` everywhere), and `P` processes sharing a
/// cluster at most `P x max_pools x max_connections` per node. Retired pools still
/// draining add theirs until their last lease is dropped; the
/// [`peak_max_connections_per_node`](Self::peak_max_connections_per_node) shows the
/// most this has been.
///
/// Not counted: pools handed in with
/// [`insert_shared`](crate::RedisClients::insert_shared) (their owner sizes them),
/// and a sentinel pool's helper connections. To create a connection, a sentinel
/// pool asks the sentinels for the master (the `redis` crate asks up to 3 of them at
/// once, each on a connection the pool keeps open for its whole life: one per
/// sentinel asked), and each sentinel lookup that names a master checks that
/// master's role on a connection of its own, closed right after. So creating one
/// sentinel-managed connection can make the master accept up to 4 connections (the
/// pooled one and up to 3 role checks), and each sentinel holds one connection per
/// open sentinel pool that asked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionBudget {
    /// The most owned pools the cache keeps (its `max_capacity`).
    pub max_pools: u64,
    /// Owned pools created and not yet closed (cached or draining).
    pub open_pools: u64,
    /// The sum of `max_connections` over [`open_pools`](Self::open_pools): the most
    /// connections they can hold to any one node right now.
    pub max_connections_per_node: u64,
    /// The highest [`max_connections_per_node`](Self::max_connections_per_node) so far.
    pub peak_max_connections_per_node: u64,
    /// Pools handed in with [`insert_shared`](crate::RedisClients::insert_shared)
    /// and registered now (not counted above).
    pub shared_pools: u64,
}

impl ConnectionBudget {
    /// The steady-state bound for pools that all use `max_connections`:
    /// `max_pools x max_connections` connections to one node from this process.
    pub fn steady_state_bound(&self, max_connections: usize) -> u64 {
        self.max_pools.saturating_mul(max_connections as u64)
    }
}

/// The live counters behind [`ConnectionBudget`].
#[derive(Debug, Default)]
pub(crate) struct BudgetCounters {
    open_pools: AtomicU64,
    max_connections: AtomicU64,
    peak: AtomicU64,
}

impl BudgetCounters {
    pub(crate) fn snapshot(&self, max_pools: u64, shared_pools: u64) -> ConnectionBudget {
        ConnectionBudget {
            max_pools,
            open_pools: self.open_pools.load(Ordering::Relaxed),
            max_connections_per_node: self.max_connections.load(Ordering::Relaxed),
            peak_max_connections_per_node: self.peak.load(Ordering::Relaxed),
            shared_pools,
        }
    }
}

/// One open owned pool's share of the budget, given back when the pool is dropped
/// (after it is closed).
#[derive(Debug)]
pub(crate) struct BudgetToken {
    counters: Arc<BudgetCounters>,
    max_connections: u64,
}

impl BudgetToken {
    pub(crate) fn new(counters: &Arc<BudgetCounters>, max_connections: usize) -> Self {
        let max_connections = max_connections as u64;
        counters.open_pools.fetch_add(1, Ordering::Relaxed);
        // Saturating: the builder bounds `max_connections`, but a sum must never
        // overflow (and panic in a debug build) whatever it is given.
        let now = counters
            .max_connections
            .fetch_add(max_connections, Ordering::Relaxed)
            .saturating_add(max_connections);
        counters.peak.fetch_max(now, Ordering::Relaxed);
        Self {
            counters: Arc::clone(counters),
            max_connections,
        }
    }
}

impl Drop for BudgetToken {
    fn drop(&mut self) {
        self.counters.open_pools.fetch_sub(1, Ordering::Relaxed);
        self.counters
            .max_connections
            .fetch_sub(self.max_connections, Ordering::Relaxed);
    }
}
