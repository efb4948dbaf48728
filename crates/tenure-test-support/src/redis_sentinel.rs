//! [`RedisSentinels`]: a private master, its replicas and the sentinels watching it.

use std::{
    io,
    time::{Duration, Instant},
};

use crate::redis_server::{Mode, POLL_INTERVAL, RedisServer};

/// How long replication and sentinel discovery may take at startup.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A private Sentinel deployment: a master, `replicas` replicas of it and
/// `sentinels` sentinels (`redis-server <config> --sentinel`, each with a generated
/// configuration file in its temporary directory) monitoring it as
/// [`RedisSentinels::SERVICE`], all on free loopback ports. Dropping it kills
/// every process.
///
/// The sentinels declare the master down after `down_after` without a reply and a
/// failover needs a majority of them.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use tenure_test_support::RedisSentinels;
///
/// # fn main() -> std::io::Result<()> {
/// let deployment = RedisSentinels::start(1, 3, Duration::from_millis(1000))?;
/// println!("{}", deployment.sentinel_url());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisSentinels {
    /// The original master first, then the replicas.
    servers: Vec<RedisServer>,
    sentinels: Vec<RedisServer>,
}

impl RedisSentinels {
    /// The service (master group) name the sentinels monitor.
    pub const SERVICE: &'static str = "tenure-test";

    /// Starts the master, its replicas (waiting until each replicates), then the
    /// sentinels, and waits until every sentinel knows every replica and every
    /// other sentinel and is connected to them (so that a failover can happen at
    /// once, and client counts taken afterwards are a stable baseline).
    ///
    /// # Errors
    ///
    /// The install hint if `redis-server` is missing; a one-line hint plus the log
    /// if it lacks sentinel support; else why the deployment did not become ready.
    pub fn start(replicas: usize, sentinels: usize, down_after: Duration) -> io::Result<Self> {
        let master = RedisServer::start_mode(false, Mode::Server { replica_of: None })?;
        let master_port = master.port();
        let mut servers = vec![master];
        for _ in 0..replicas {
            servers.push(RedisServer::start_mode(
                false,
                Mode::Server {
                    replica_of: Some(master_port),
                },
            )?);
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        for replica in &servers[1..] {
            wait_until(deadline, "a replica to sync with the master", || {
                Ok(replica.info_field("replication", "master_link_status")?.as_deref() == Some("up"))
            })?;
        }
        let mut started = Vec::with_capacity(sentinels);
        for _ in 0..sentinels {
            let mode = Mode::Sentinel {
                service: Self::SERVICE.to_owned(),
                master_port,
                quorum: u32::try_from(sentinels / 2 + 1).unwrap_or(u32::MAX),
                down_after,
                failover_timeout: down_after.saturating_mul(4),
            };
            let sentinel = RedisServer::start_mode(false, mode).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    e
                } else {
                    io::Error::new(
                        e.kind(),
                        format!("cannot start a sentinel (does this redis-server support `--sentinel`?): {e}"),
                    )
                }
            })?;
            started.push(sentinel);
        }
        let deployment = Self {
            servers,
            sentinels: started,
        };
        for sentinel in &deployment.sentinels {
            wait_until(
                deadline,
                "the sentinels to discover each other and the replicas",
                || {
                    let master = sentinel.command(&["SENTINEL", "MASTER", Self::SERVICE])?;
                    let fields: Vec<&str> = master.lines().collect();
                    let field = |name: &str| {
                        fields
                            .iter()
                            .position(|f| *f == name)
                            .and_then(|i| fields.get(i + 1))
                            .and_then(|v| v.parse::<usize>().ok())
                    };
                    Ok(field("num-slaves") == Some(replicas) && field("num-other-sentinels") == Some(sentinels - 1))
                },
            )?;
        }
        // Each sentinel holds a command connection to every other one; wait until
        // they are all up, so that client counts taken now are a stable baseline.
        for sentinel in &deployment.sentinels {
            wait_until(deadline, "the sentinels to connect to each other", || {
                Ok(sentinel.client_count()? == sentinels - 1)
            })?;
        }
        Ok(deployment)
    }

    /// The servers: the original master first, then the replicas. After a
    /// failover, [`master_index`](Self::master_index) says which is the master.
    pub fn servers(&self) -> &[RedisServer] {
        &self.servers
    }

    /// Mutable access, to stop (kill) a server.
    pub fn servers_mut(&mut self) -> &mut [RedisServer] {
        &mut self.servers
    }

    /// The sentinels.
    pub fn sentinels(&self) -> &[RedisServer] {
        &self.sentinels
    }

    /// `redis+sentinel://127.0.0.1:<port>,.../<service>/0`.
    pub fn sentinel_url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        format!("redis+sentinel://{}/{}/0", hosts.join(","), Self::SERVICE)
    }

    /// `127.0.0.1:<port>` of each sentinel.
    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect()
    }

    /// The index in [`servers`](Self::servers) of the server the first reachable
    /// sentinel names as the master.
    ///
    /// # Errors
    ///
    /// If no sentinel answers, or the master they name is not one of the servers.
    pub fn master_index(&self) -> io::Result<usize> {
        let mut last = io::Error::other("no sentinel");
        for sentinel in &self.sentinels {
            match sentinel.query::<Vec<String>>(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", Self::SERVICE]) {
                Ok(addr) => {
                    let port = addr.get(1).and_then(|p| p.parse::<u16>().ok());
                    return self
                        .servers
                        .iter()
                        .position(|s| Some(s.port()) == port)
                        .ok_or_else(|| io::Error::other(format!("the sentinels name an unknown master {addr:?}")));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// Polls `ready` until it is true or `deadline` passes.
fn wait_until(deadline: Instant, what: &str, mut ready: impl FnMut() -> io::Result<bool>) -> io::Result<()> {
    loop {
        if ready().unwrap_or(false) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out waiting for {what} (within {READY_TIMEOUT:?})"),
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
