//! [`RedisServer`]: a private `redis-server` process for tests and examples.
//!
//! [`RedisServer::start`] runs its own
//! `redis-server` process on a free loopback port, with persistence off
//! (`--save "" --appendonly no`) and its working directory in a fresh temporary
//! directory; it never touches a Redis that is already running (such as the one on
//! port 6379). Dropping the [`RedisServer`] kills the process.
//!
//! The process does not outlive the test process either when that one dies
//! without running destructors (`SIGTERM`, `SIGKILL`, a CI time limit): each
//! server has a small `sh` watcher that kills it and removes its directory as soon
//! as the test process has exited, and the first server a process starts first
//! kills and removes what earlier, dead test processes left behind (Linux). The
//! temporary directory is `<temp dir>/tenure-redis-test-<pid>-<n>`; it records its
//! owner (`owner`) and the server's process id (`server.pid`). Processes are
//! identified by their command line or working directory naming that directory,
//! never by port.
//!
//! [`RedisServer::start_tls`] starts one that also listens for TLS on a second
//! port ([`RedisServer::tls_url`]), with a server certificate for `127.0.0.1` and
//! `localhost` signed by a fresh [`TestCertificates`] CA and written to the
//! server's temporary directory; trust [`RedisServer::ca_cert_pem`] to connect.
//! Clients need no certificate. The plain port stays open, so the admin connection
//! and [`RedisServer::client_count`] work as for [`RedisServer::start`] (and count
//! TLS clients too).
//!
//! [`RedisServer::client_count`] counts the server's client connections with
//! `CLIENT LIST`, through a short-lived admin connection that names itself
//! [`ADMIN_CLIENT_NAME`] with `CLIENT SETNAME`. Every command this crate sends
//! itself (`INFO`, `CLIENT LIST`, `CLUSTER ...`, `SENTINEL ...`,
//! [`RedisServer::command`]) goes through such a connection, made with the `redis`
//! crate's sync API. Every line of the reply is one
//! connection; lines whose `name=` is the admin name are not counted. Counting by
//! exclusion of a name that only the harness uses is robust: the connections under
//! test need no name of their own (and cannot forget to set one), and an admin
//! connection from an earlier count that the server has not reaped yet is still
//! excluded. An admin connection is listed, unnamed, from the moment the
//! server accepts it until its `CLIENT SETNAME` arrives; the admin connections
//! of one process to one server take turns (one lock per port, held from
//! before the connect to after the reply), so a count never includes an admin
//! connection that another thread is still setting up.
//!
//! # Examples
//!
//! ```no_run
//! use tenure_test_support::RedisServer;
//!
//! # fn main() -> std::io::Result<()> {
//! let server = RedisServer::start()?; // fails with an install hint if redis-server is missing
//! println!("{} has {} clients", server.url(), server.client_count()?);
//! # Ok(())
//! # }
//! ```

use std::{
    fs, io,
    net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{TestCertificates, redis_admin, redis_orphans};

/// What to do when `redis-server` is missing.
pub const INSTALL_HINT: &str = "redis-server is not installed: install it with \
     `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), \
     or set REDIS_SERVER_BIN to its path";

/// Why no `redis-server` runs, for a message: [`INSTALL_HINT`], or, when
/// `REDIS_SERVER_BIN` is set, that the binary it names does not run.
pub fn missing_server_hint() -> String {
    match std::env::var_os("REDIS_SERVER_BIN") {
        Some(path) => format!(
            "REDIS_SERVER_BIN={} does not run (`--version` failed): point it at a redis-server \
             binary, or unset it to use redis-server from PATH (install one with \
             `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS))",
            path.to_string_lossy()
        ),
        None => INSTALL_HINT.to_owned(),
    }
}

/// The `CLIENT SETNAME` of the harness's admin connections, which
/// [`RedisServer::client_count`] does not count.
pub const ADMIN_CLIENT_NAME: &str = "tenure-test-admin";

/// How long a server may take to accept connections after it is spawned.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two readiness probes.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Attempts at finding a free port (another process may take it in between).
const START_ATTEMPTS: u32 = 5;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A server this process started and has not reaped yet.
#[derive(Debug)]
struct LiveServer {
    /// The server's process id.
    pid: u32,
    /// Its watcher's process id (not reaped yet either), if it has one.
    watcher: Option<u32>,
    dir: PathBuf,
}

/// The servers this process started and has not reaped yet. A server is reaped
/// (and its watcher killed and reaped first) with this lock held, so that
/// [`kill_all_servers`] only ever signals process ids that cannot have been reused.
static LIVE_SERVERS: Mutex<Vec<LiveServer>> = Mutex::new(Vec::new());

fn live_servers() -> std::sync::MutexGuard<'static, Vec<LiveServer>> {
    LIVE_SERVERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `kill -KILL <pid>`.
pub(crate) fn kill_pid(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kills (`SIGKILL`) every `redis-server` this process started and still runs,
/// and removes their temporary directories.
///
/// For a test watchdog that is about to end a hung test process with
/// [`std::process::exit`], which runs no destructor: without this, the servers
/// would outlive the process. A [`RedisServer`] whose process was killed this way
/// reports it as not running.
pub fn kill_all_servers() {
    for server in live_servers().iter() {
        // The processes are this process's unreaped children, so their ids cannot
        // have been reused by anybody else. The watcher first, so that it does not
        // act once this process has exited.
        if let Some(watcher) = server.watcher {
            kill_pid(watcher);
        }
        kill_pid(server.pid);
        let _ = fs::remove_dir_all(&server.dir);
    }
}

/// The `redis-server` binary: `$REDIS_SERVER_BIN`, else `/usr/bin/redis-server` if it
/// exists, else `redis-server` on `PATH`.
pub(crate) fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("REDIS_SERVER_BIN") {
        return PathBuf::from(bin);
    }
    let system = Path::new("/usr/bin/redis-server");
    if system.exists() {
        system.to_path_buf()
    } else {
        PathBuf::from("redis-server")
    }
}

/// Whether a `redis-server` binary can be run (see [`INSTALL_HINT`] if not).
pub fn redis_server_available() -> bool {
    server_version().is_some()
}

/// What `redis-server --version` prints, if it runs.
fn server_version() -> Option<String> {
    Command::new(server_binary())
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A private `redis-server` process on a loopback port; killed on drop.
///
/// See the [module docs](self) for how it is started and how clients are counted.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// The watcher that kills the server if this process dies without dropping
    /// it (see the [module docs](self)). Its stdin must stay open while the server
    /// runs.
    watcher: Option<Child>,
    /// Whether to run with `set-proc-title no` (so that the arguments naming
    /// `dir` stay visible), which older servers do not know.
    keep_title: bool,
    tls: Option<TlsListener>,
    mode: Mode,
    /// The cluster bus port of a cluster node.
    bus_port: Option<u16>,
    /// Arguments appended to the server's command line ([`RedisServer::start_with_args`]).
    extra_args: Vec<String>,
}

/// What kind of process a [`RedisServer`] runs.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// A server, optionally a replica of another one on `127.0.0.1`.
    Server {
        /// `--replicaof 127.0.0.1 <port>`.
        replica_of: Option<u16>,
    },
    /// A server with `--cluster-enabled yes`, its bus on a second free port.
    ClusterNode,
    /// `redis-server <config> --sentinel`, monitoring `service` at `127.0.0.1:master_port`.
    Sentinel {
        service: String,
        master_port: u16,
        quorum: u32,
        down_after: Duration,
        failover_timeout: Duration,
    },
}

/// The TLS side of a server started with [`RedisServer::start_tls`].
#[derive(Debug)]
struct TlsListener {
    port: u16,
    material: TestCertificates,
}

impl RedisServer {
    /// Starts a server on a free port of 127.0.0.1 and waits (up to 10 s) until it
    /// answers, checking that the answer comes from the process it started.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotFound`] with [`INSTALL_HINT`] if `redis-server` is missing;
    /// otherwise why it did not start, with the end of its log.
    pub fn start() -> io::Result<Self> {
        Self::start_with(false)
    }

    /// Like [`RedisServer::start`], and also listens for TLS on a second free port
    /// of 127.0.0.1, with a certificate for `127.0.0.1` and `localhost` signed by a
    /// fresh [`TestCertificates`] CA ([`RedisServer::ca_cert_pem`]). Clients are not asked for a
    /// certificate.
    ///
    /// # Errors
    ///
    /// As [`RedisServer::start`]; also if the certificates cannot be generated or
    /// written, or if this `redis-server` was built without TLS support (its log
    /// says so).
    pub fn start_tls() -> io::Result<Self> {
        Self::start_with(true)
    }

    /// Like [`RedisServer::start`], with `args` appended to the server's
    /// command line, after the harness's own: for instance
    /// `["--rename-command", "HELLO", ""]` for a server without `HELLO`. They
    /// must leave the server reachable by the harness's own connections (which
    /// have no password, and use `CLIENT SETNAME` and `INFO`): set a password
    /// afterwards, with [`RedisServer::command`] (`CONFIG SET requirepass`).
    ///
    /// # Errors
    ///
    /// As [`RedisServer::start`]; a bad argument makes the server exit at
    /// startup, and the error has its message.
    pub fn start_with_args(args: &[&str]) -> io::Result<Self> {
        Self::start_mode_with(false, Mode::Server { replica_of: None }, args)
    }

    fn start_with(tls: bool) -> io::Result<Self> {
        Self::start_mode(tls, Mode::Server { replica_of: None })
    }

    /// Starts a process of the given kind on free ports of 127.0.0.1.
    pub(crate) fn start_mode(tls: bool, mode: Mode) -> io::Result<Self> {
        Self::start_mode_with(tls, mode, &[])
    }

    /// [`RedisServer::start_mode`], with `extra_args` on the command line.
    fn start_mode_with(tls: bool, mode: Mode, extra_args: &[&str]) -> io::Result<Self> {
        let Some(version) = server_version() else {
            return Err(io::Error::new(io::ErrorKind::NotFound, missing_server_hint()));
        };
        let keep_title = redis_orphans::has_set_proc_title(&version);
        // What dead test processes left behind: their servers and directories.
        redis_orphans::reap_orphans_once();
        let dir = redis_orphans::claim_dir(|| NEXT_ID.fetch_add(1, Ordering::Relaxed))?;
        let material = if tls {
            match TestCertificates::generate() {
                Ok(material) => Some(material),
                Err(e) => {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(e);
                }
            }
        } else {
            None
        };
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let (port, second_port) = free_ports()?;
            let mut server = Self {
                port,
                dir: dir.clone(),
                child: None,
                watcher: None,
                keep_title,
                tls: material.clone().map(|material| TlsListener {
                    port: second_port,
                    material,
                }),
                bus_port: matches!(mode, Mode::ClusterNode).then_some(second_port),
                mode: mode.clone(),
                extra_args: extra_args.iter().map(|&arg| arg.to_owned()).collect(),
            };
            match server.spawn_and_wait() {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
            // A port taken between choosing it and binding it: try others shortly.
            std::thread::sleep(Duration::from_millis(100));
            // `server` is dropped here, which kills the process and removes `dir`
            // (the certificates are written again at each start).
            fs::create_dir_all(&dir)?;
        }
        let _ = fs::remove_dir_all(&dir);
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `rediss://127.0.0.1:<tls port>/0`, for a server started with
    /// [`RedisServer::start_tls`]; `None` for a plain one.
    pub fn tls_url(&self) -> Option<String> {
        self.tls
            .as_ref()
            .map(|tls| format!("rediss://127.0.0.1:{}/0", tls.port))
    }

    /// The TLS port, for a server started with [`RedisServer::start_tls`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls.as_ref().map(|tls| tls.port)
    }

    /// The PEM of the test CA that signed the server's certificate, for a server
    /// started with [`RedisServer::start_tls`]: trust it in the client (with
    /// tenure-redis, `RedisConfigBuilder::add_root_certificate_pem`).
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|tls| tls.material.ca_pem())
    }

    /// The server's plain port (the same across [`RedisServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// Whether the process is running (it may have been stopped or have died).
    pub fn is_running(&mut self) -> bool {
        let Some(child) = &mut self.child else {
            return false;
        };
        // Held while the process may be reaped: see `LIVE_SERVERS`.
        let mut live = live_servers();
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) => {
                // Reaped: its pid may now be reused, so its watcher must not act on it.
                let pid = child.id();
                stop_watcher(&mut self.watcher);
                live.retain(|server| server.pid != pid);
                false
            }
            Err(_) => false,
        }
    }

    /// Kills the server (clients see their connections reset) and waits for it to exit.
    /// Stopping a stopped server does nothing.
    ///
    /// # Errors
    ///
    /// If the process could not be killed or waited for.
    pub fn stop(&mut self) -> io::Result<()> {
        // Held while the process is reaped: see `LIVE_SERVERS`.
        let mut live = live_servers();
        // The watcher first: it must be gone before the server's pid can be reused.
        stop_watcher(&mut self.watcher);
        if let Some(mut child) = self.child.take() {
            match child.kill() {
                Ok(()) => {}
                // It has already exited.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
                Err(e) => {
                    self.child = Some(child);
                    return Err(e);
                }
            }
            child.wait()?;
            live.retain(|server| server.pid != child.id());
        }
        Ok(())
    }

    /// Suspends the server process (`SIGSTOP`), until [`RedisServer::resume`]:
    /// the kernel still completes TCP connections through the listen backlog,
    /// but no command is answered and no timer of the server runs (unlike
    /// `CLIENT PAUSE`, which ends on its own). Dropping or stopping a suspended
    /// server kills it all the same. Admin calls ([`RedisServer::command`],
    /// [`RedisServer::client_count`]) to a suspended server time out (about
    /// 10 s each: connecting, then naming the connection), one after another,
    /// since admin connections to one server take turns.
    ///
    /// # Errors
    ///
    /// If the server is not running or the signal could not be sent.
    pub fn suspend(&self) -> io::Result<()> {
        self.signal("-STOP")
    }

    /// Resumes a server suspended with [`RedisServer::suspend`] (`SIGCONT`);
    /// resuming a running one does nothing.
    ///
    /// # Errors
    ///
    /// If the server is not running or the signal could not be sent.
    pub fn resume(&self) -> io::Result<()> {
        self.signal("-CONT")
    }

    /// Sends `signal` to the server process with `kill(1)` (no `unsafe`
    /// `libc` call). The process is this one's unreaped child, so its pid
    /// cannot have been reused.
    fn signal(&self, signal: &str) -> io::Result<()> {
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| io::Error::other("the server is not running"))?;
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill {signal} failed: {status}")))
        }
    }

    /// Stops the server if it runs, then starts a new, empty one on the same port
    /// and waits until it answers.
    ///
    /// # Errors
    ///
    /// If the old process could not be stopped or the new one did not start
    /// (after a few attempts, in case the port is briefly unavailable).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        fs::create_dir_all(&self.dir)?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match self.spawn_and_wait() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last_error = Some(e);
                    self.stop()?;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server did not restart")))
    }

    /// The number of client connections the server has, from `CLIENT LIST`, not
    /// counting the harness's own admin connections (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// If the server cannot be reached or its reply is malformed.
    pub fn client_count(&self) -> io::Result<usize> {
        let list = self.command(&["CLIENT", "LIST"])?;
        let admin = format!("name={ADMIN_CLIENT_NAME}");
        Ok(list
            .lines()
            .filter(|line| !line.trim().is_empty())
            .filter(|line| !line.split(' ').any(|field| field == admin))
            .count())
    }

    /// The value of `field` in the `section` of `INFO` (`INFO clients`,
    /// `blocked_clients` → `"0"`), or `None` if the server does not report it.
    ///
    /// # Errors
    ///
    /// If the server cannot be reached.
    pub fn info_field(&self, section: &str, field: &str) -> io::Result<Option<String>> {
        let info = self.command(&["INFO", section])?;
        Ok(info.lines().find_map(|line| {
            let (name, value) = line.trim().split_once(':')?;
            (name == field).then(|| value.to_owned())
        }))
    }

    /// Polls [`RedisServer::client_count`] until it equals `expected` or `timeout`
    /// elapses (checking every 20 ms), and returns the last count seen: the caller
    /// asserts on it, so that a failure shows both numbers.
    ///
    /// It sleeps with `tokio::time::sleep`, so the connections being closed keep
    /// making progress on the caller's runtime.
    ///
    /// # Errors
    ///
    /// If the server cannot be reached.
    pub async fn wait_for_client_count(&self, expected: usize, timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.client_count()?;
            if count == expected || Instant::now() >= deadline {
                return Ok(count);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Runs one command on a fresh admin connection and returns its reply as text:
    /// strings as they are, integers in decimal, nil as the empty string, arrays one
    /// element a line.
    ///
    /// # Errors
    ///
    /// If the server cannot be reached, replies with an error, or replies malformed.
    pub fn command(&self, args: &[&str]) -> io::Result<String> {
        self.query::<redis::Value>(args)
            .map(|value| redis_admin::render(&value))
    }

    /// Runs one command on a fresh admin connection (through the `redis` crate,
    /// named [`ADMIN_CLIENT_NAME`]) and converts its reply to `T`.
    ///
    /// # Errors
    ///
    /// If the server cannot be reached, replies with an error, or its reply is not a `T`.
    pub fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> io::Result<T> {
        redis_admin::query(self.port, args)
    }

    fn spawn_and_wait(&mut self) -> io::Result<()> {
        // redis-server exits before it opens its log if `--dir` is missing.
        fs::create_dir_all(&self.dir)?;
        redis_orphans::write_owner(&self.dir)?;
        let log = self.dir.join("redis.log");
        let mut command = Command::new(server_binary());
        // Where the server `chdir`s anyway (to its `--dir`): from its start on, so
        // that its working directory identifies it (see `redis_orphans`).
        command.current_dir(&self.dir);
        let title = if self.keep_title { "set-proc-title no\n" } else { "" };
        if let Mode::Sentinel {
            service,
            master_port,
            quorum,
            down_after,
            failover_timeout,
        } = &self.mode
        {
            // Sentinel rewrites its configuration file, so it lives in the temporary directory.
            let conf = self.dir.join("sentinel.conf");
            fs::write(
                &conf,
                format!(
                    "{title}port {port}\nbind 127.0.0.1\ndaemonize no\ndir {dir}\nlogfile {log}\n\
                     sentinel monitor {service} 127.0.0.1 {master_port} {quorum}\n\
                     sentinel down-after-milliseconds {service} {down}\n\
                     sentinel failover-timeout {service} {failover}\n\
                     sentinel parallel-syncs {service} 1\n",
                    port = self.port,
                    dir = self.dir.display(),
                    log = log.display(),
                    down = down_after.as_millis(),
                    failover = failover_timeout.as_millis(),
                ),
            )?;
            command.arg(&conf).arg("--sentinel");
            return self.spawn_command(command, &log);
        }
        command.arg("--port").arg(self.port.to_string());
        match &self.mode {
            Mode::Server {
                replica_of: Some(master),
            } => {
                command.args(["--replicaof", "127.0.0.1"]).arg(master.to_string());
            }
            Mode::ClusterNode => {
                command
                    .args(["--cluster-enabled", "yes"])
                    .args(["--cluster-config-file", "nodes.conf"])
                    .args(["--cluster-node-timeout", "2000"])
                    .arg("--cluster-port")
                    .arg(self.bus_port.unwrap_or_default().to_string());
            }
            _ => {}
        }
        if let Some(tls) = &self.tls {
            let [cert, key, ca] = TLS_FILE_NAMES.map(|name| self.dir.join(name));
            fs::write(&cert, tls.material.cert_pem())?;
            fs::write(&key, tls.material.key_pem())?;
            fs::write(&ca, tls.material.ca_pem())?;
            command
                .arg("--tls-port")
                .arg(tls.port.to_string())
                .arg("--tls-cert-file")
                .arg(&cert)
                .arg("--tls-key-file")
                .arg(&key)
                .arg("--tls-ca-cert-file")
                .arg(&ca)
                .args(["--tls-auth-clients", "no"]);
        }
        command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log);
        if self.keep_title {
            command.args(["--set-proc-title", "no"]);
        }
        command.args(&self.extra_args);
        self.spawn_command(command, &log)
    }

    /// Spawns `command` and waits until the process answers on its port.
    fn spawn_command(&mut self, mut command: Command, log: &Path) -> io::Result<()> {
        // What redis-server says before its log is open (a bad argument, a
        // missing directory) goes here, and into the error below.
        let stderr_path = self.dir.join("stderr.log");
        let stderr = fs::File::create(&stderr_path)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(io::ErrorKind::NotFound, missing_server_hint())
                } else {
                    e
                }
            })?;
        let pid = child.id();
        // Recorded right away, for the reaping at start of a later test process,
        // should this one die before the watcher is up.
        let _ = redis_orphans::write_pid(&self.dir, pid);
        let watcher = redis_orphans::spawn_watcher(pid, &self.dir);
        live_servers().push(LiveServer {
            pid,
            watcher: watcher.as_ref().map(Child::id),
            dir: self.dir.clone(),
        });
        self.child = Some(child);
        self.watcher = watcher;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if !self.is_running() {
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited at startup; log: {}; stderr: {}",
                    self.port,
                    log_tail(log),
                    log_tail(&stderr_path)
                )));
            }
            // Ours, not another process that took the port in between.
            let pid = self.child.as_ref().map(Child::id);
            let marker = pid.map(|pid| format!("process_id:{pid}"));
            let ours = |info: String| info.lines().any(|l| Some(l.trim()) == marker.as_deref());
            if self.command(&["INFO", "server"]).is_ok_and(ours) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "redis-server on port {} did not answer within {STARTUP_TIMEOUT:?}; log: {}",
                        self.port,
                        log_tail(log)
                    ),
                ));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Kills and reaps a server's watcher, so that it does nothing more. Call it before
/// the server is reaped, with the [`LIVE_SERVERS`] lock held.
fn stop_watcher(watcher: &mut Option<Child>) {
    if let Some(mut watcher) = watcher.take() {
        // Killed before its stdin closes (`wait` closes it), so it never acts.
        let _ = watcher.kill();
        let _ = watcher.wait();
    }
}

/// Two distinct ports that were free a moment ago.
fn free_ports() -> io::Result<(u16, u16)> {
    let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let second = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok((first.local_addr()?.port(), second.local_addr()?.port()))
}

/// The certificate files' names in the server's directory: server certificate,
/// server key, CA certificate.
const TLS_FILE_NAMES: [&str; 3] = ["server.crt", "server.key", "ca.crt"];

/// The last lines of the server's log, for error messages.
fn log_tail(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(5)..].join(" | ")
        }
        Err(e) => format!("<no log: {e}>"),
    }
}
