//! [`RedisCluster`]: private Redis Cluster nodes, joined with `redis-cli --cluster create`.

use std::{
    io,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::redis_server::{Mode, POLL_INTERVAL, RedisServer};

/// What to do when `redis-cli` is missing.
pub const REDIS_CLI_HINT: &str = "redis-cli is not installed (it creates the test cluster): install it with \
     `apt-get install redis-tools` (Debian/Ubuntu) or `brew install redis` (macOS), or set REDIS_CLI_BIN to its path";

/// How long the cluster may take to agree on its slots after `redis-cli --cluster create`.
const CLUSTER_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `redis-cli --cluster create` may run.
const CREATE_TIMEOUT: Duration = Duration::from_secs(60);
/// Number of hash slots in a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// A private Redis Cluster of masters only (no replicas), each a `redis-server
/// --cluster-enabled yes` on free loopback ports (client port and bus port), joined
/// with `redis-cli --cluster create`. Dropping it kills every node.
///
/// [`RedisCluster::client_counts`] counts each node's clients as
/// [`RedisServer::client_count`] does (cluster bus links are not clients).
///
/// # Examples
///
/// ```no_run
/// use tenure_test_support::RedisCluster;
///
/// # fn main() -> std::io::Result<()> {
/// let cluster = RedisCluster::start(3)?;
/// println!("startup nodes: {:?}, clients {:?}", cluster.node_urls(), cluster.client_counts()?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

/// The `redis-cli` binary: `$REDIS_CLI_BIN`, else `/usr/bin/redis-cli` if it exists,
/// else `redis-cli` on `PATH`.
fn cli_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("REDIS_CLI_BIN") {
        return PathBuf::from(bin);
    }
    let system = Path::new("/usr/bin/redis-cli");
    if system.exists() {
        system.to_path_buf()
    } else {
        PathBuf::from("redis-cli")
    }
}

impl RedisCluster {
    /// Starts `masters` nodes (at least 3, as `redis-cli` requires), joins them into
    /// one cluster with the slots split evenly, and waits until every node reports
    /// `cluster_state:ok` with all slots assigned and every node known.
    ///
    /// # Errors
    ///
    /// The install hint if `redis-server` or `redis-cli` is missing; a one-line
    /// hint plus the node's log if `redis-server` lacks cluster support; else why
    /// the cluster did not form.
    pub fn start(masters: usize) -> io::Result<Self> {
        if masters < 3 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Redis Cluster needs at least 3 masters",
            ));
        }
        let mut nodes = Vec::with_capacity(masters);
        for _ in 0..masters {
            let node = RedisServer::start_mode(false, Mode::ClusterNode).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    e
                } else {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot start a cluster node (does this redis-server support `--cluster-enabled`?): {e}"
                        ),
                    )
                }
            })?;
            nodes.push(node);
        }
        let cluster = Self { nodes };
        cluster.create()?;
        cluster.wait_until_ready()?;
        Ok(cluster)
    }

    fn create(&self) -> io::Result<()> {
        let mut command = Command::new(cli_binary());
        command.args(["--cluster", "create"]);
        for node in &self.nodes {
            command.arg(format!("127.0.0.1:{}", node.port()));
        }
        command
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                io::Error::new(io::ErrorKind::NotFound, REDIS_CLI_HINT)
            } else {
                e
            }
        })?;
        let deadline = Instant::now() + CREATE_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                let output = child.wait_with_output()?;
                if status.success() {
                    return Ok(());
                }
                let text =
                    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                return Err(io::Error::other(format!(
                    "`redis-cli --cluster create` failed ({status}): {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                )));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("`redis-cli --cluster create` did not finish within {CREATE_TIMEOUT:?}"),
                ));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn wait_until_ready(&self) -> io::Result<()> {
        let deadline = Instant::now() + CLUSTER_READY_TIMEOUT;
        let want_known = format!("cluster_known_nodes:{}", self.nodes.len());
        loop {
            let mut ready = true;
            for node in &self.nodes {
                let info = node.command(&["CLUSTER", "INFO"])?;
                let ok = info.lines().any(|l| l.trim() == "cluster_state:ok")
                    && info.lines().any(|l| l.trim() == format!("cluster_slots_ok:{SLOTS}"))
                    && info.lines().any(|l| l.trim() == want_known);
                ready &= ok;
            }
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the cluster did not reach cluster_state:ok within {CLUSTER_READY_TIMEOUT:?}"),
                ));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The nodes, in start order.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// `redis://127.0.0.1:<port>` of every node: the startup nodes.
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port()))
            .collect()
    }

    /// Each node's client count (see [`RedisServer::client_count`]), in node order.
    ///
    /// # Errors
    ///
    /// If a node cannot be reached.
    pub fn client_counts(&self) -> io::Result<Vec<usize>> {
        self.nodes.iter().map(RedisServer::client_count).collect()
    }

    /// Polls [`client_counts`](Self::client_counts) until they equal `expected` or
    /// `timeout` elapses, and returns the last counts seen.
    ///
    /// # Errors
    ///
    /// If a node cannot be reached.
    pub async fn wait_for_client_counts(&self, expected: &[usize], timeout: Duration) -> io::Result<Vec<usize>> {
        let deadline = Instant::now() + timeout;
        loop {
            let counts = self.client_counts()?;
            if counts == expected || Instant::now() >= deadline {
                return Ok(counts);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The index of the node serving `slot`, as `CLUSTER SHARDS`/`CLUSTER NODES`
    /// on the first node says.
    ///
    /// # Errors
    ///
    /// If the node cannot be reached or no node serves the slot.
    pub fn node_for_slot(&self, slot: u16) -> io::Result<usize> {
        let nodes = self.nodes[0].command(&["CLUSTER", "NODES"])?;
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            let Some(addr) = fields.get(1) else { continue };
            let serves = fields.iter().skip(8).any(|range| match range.split_once('-') {
                Some((lo, hi)) => {
                    matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if lo <= slot && slot <= hi)
                }
                None => range.parse::<u16>() == Ok(slot),
            });
            if serves {
                let port = addr.split('@').next().and_then(|a| a.rsplit(':').next());
                if let Some(index) = self
                    .nodes
                    .iter()
                    .position(|n| Some(n.port().to_string().as_str()) == port)
                {
                    return Ok(index);
                }
            }
        }
        Err(io::Error::other(format!("no node serves slot {slot}")))
    }

    /// Moves `slot` and its keys to node `to`, the way `redis-cli --cluster
    /// reshard` does (`SETSLOT IMPORTING`/`MIGRATING`, `MIGRATE` of every key,
    /// `SETSLOT NODE` on every node), and returns the index of the node that served
    /// it before. Clients that still route the slot to the old node get `MOVED`.
    /// The connection `MIGRATE` opened from the old node to the new one is closed
    /// before it returns, so it does not show in the client counts.
    ///
    /// # Errors
    ///
    /// If a node cannot be reached or refuses a step; if `to` already serves it.
    pub fn move_slot(&self, slot: u16, to: usize) -> io::Result<usize> {
        let from = self.node_for_slot(slot)?;
        if from == to {
            return Err(io::Error::other(format!("node {to} already serves slot {slot}")));
        }
        let (source, target) = (&self.nodes[from], &self.nodes[to]);
        let source_id = source.command(&["CLUSTER", "MYID"])?;
        let target_id = target.command(&["CLUSTER", "MYID"])?;
        let slot_text = slot.to_string();
        target.command(&["CLUSTER", "SETSLOT", &slot_text, "IMPORTING", &source_id])?;
        source.command(&["CLUSTER", "SETSLOT", &slot_text, "MIGRATING", &target_id])?;
        loop {
            let keys: Vec<String> = source.query(&["CLUSTER", "GETKEYSINSLOT", &slot_text, "100"])?;
            if keys.is_empty() {
                break;
            }
            let port = target.port().to_string();
            let mut args = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
            args.extend(keys.iter().map(String::as_str));
            source.command(&args)?;
        }
        // The source keeps its MIGRATE connection open for 10 s; it is the harness's,
        // not a client under test, so it is closed now (by its id on the target).
        let clients = target.command(&["CLIENT", "LIST"])?;
        for line in clients
            .lines()
            .filter(|l| l.split(' ').any(|f| f == "cmd=restore-asking"))
        {
            if let Some(id) = line.split(' ').find_map(|f| f.strip_prefix("id=")) {
                target.command(&["CLIENT", "KILL", "ID", id])?;
            }
        }
        for node in [target, source] {
            node.command(&["CLUSTER", "SETSLOT", &slot_text, "NODE", &target_id])?;
        }
        for (index, node) in self.nodes.iter().enumerate() {
            if index != from && index != to {
                node.command(&["CLUSTER", "SETSLOT", &slot_text, "NODE", &target_id])?;
            }
        }
        Ok(from)
    }
}
