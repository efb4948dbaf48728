//! A private `redis-server` for tests and examples. **Not for production use.**
//!
//! Enabled by the `test-util` feature. [`RedisServer::start`] runs its own
//! `redis-server` process on a free loopback port, with persistence off
//! (`--save "" --appendonly no`) and its working directory in a fresh temporary
//! directory; it never touches a Redis that is already running (such as the one on
//! port 6379). Dropping the [`RedisServer`] kills the process.
//!
//! [`RedisServer::client_count`] counts the server's client connections with
//! `CLIENT LIST`, through a short-lived admin connection that names itself
//! [`ADMIN_CLIENT_NAME`] with `CLIENT SETNAME`. Every line of the reply is one
//! connection; lines whose `name=` is the admin name are not counted. Counting by
//! exclusion of a name that only the harness uses is robust: the connections under
//! test need no name of their own (and cannot forget to set one), and an admin
//! connection from an earlier count that the server has not reaped yet is still
//! excluded.
//!
//! # Examples
//!
//! ```no_run
//! use tenure_redis::testing::RedisServer;
//!
//! # fn main() -> std::io::Result<()> {
//! let server = RedisServer::start()?; // fails with an install hint if redis-server is missing
//! println!("{} has {} clients", server.url(), server.client_count()?);
//! # Ok(())
//! # }
//! ```

use std::{
    fs,
    io::{self, BufRead, BufReader, Write},
    net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// What to do when `redis-server` is missing.
pub const INSTALL_HINT: &str = "redis-server is not installed: install it with \
     `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), \
     or set REDIS_SERVER_BIN to its path";

/// The `CLIENT SETNAME` of the harness's admin connections, which
/// [`RedisServer::client_count`] does not count.
pub const ADMIN_CLIENT_NAME: &str = "tenure-test-admin";

/// How long a server may take to accept connections after it is spawned.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Attempts at finding a free port (another process may take it in between).
const START_ATTEMPTS: u32 = 5;
/// Connect, read and write timeout of the admin connection.
const ADMIN_IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest reply the admin connection accepts (a `CLIENT LIST` of thousands of clients fits).
const MAX_REPLY_BYTES: usize = 16 << 20;
/// Deepest nesting of arrays the admin connection accepts.
const MAX_REPLY_DEPTH: u32 = 8;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Process ids and directories of the servers this process started and has not
/// reaped yet.
static LIVE_SERVERS: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());

fn live_servers() -> std::sync::MutexGuard<'static, Vec<(u32, PathBuf)>> {
    LIVE_SERVERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills (`SIGKILL`) every `redis-server` this process started and still runs,
/// and removes their temporary directories.
///
/// For a test watchdog that is about to end a hung test process with
/// [`std::process::exit`], which runs no destructor: without this, the servers
/// would outlive the process. A [`RedisServer`] whose process was killed this way
/// reports it as not running.
pub fn kill_all_servers() {
    for (pid, dir) in live_servers().iter() {
        // The processes are this process's unreaped children, so their ids cannot
        // have been reused by anybody else.
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = fs::remove_dir_all(dir);
    }
}

/// The `redis-server` binary: `$REDIS_SERVER_BIN`, else `/usr/bin/redis-server` if it
/// exists, else `redis-server` on `PATH`.
fn server_binary() -> PathBuf {
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
    Command::new(server_binary())
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A private `redis-server` process on a loopback port; killed on drop.
///
/// See the [module docs](self) for how it is started and how clients are counted.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
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
        if !redis_server_available() {
            return Err(io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT));
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tenure-redis-test-{}-{id}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let mut server = Self {
                port,
                dir: dir.clone(),
                child: None,
            };
            match server.spawn_and_wait() {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
            // `server` is dropped here, which kills the process and removes `dir`.
            fs::create_dir_all(&dir)?;
        }
        let _ = fs::remove_dir_all(&dir);
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's port (the same across [`RedisServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// Whether the process is running (it may have been stopped or have died).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server (clients see their connections reset) and waits for it to exit.
    /// Stopping a stopped server does nothing.
    ///
    /// # Errors
    ///
    /// If the process could not be killed or waited for.
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            match child.kill() {
                Ok(()) => {}
                // It has already exited.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
                Err(e) => return Err(e),
            }
            child.wait()?;
            live_servers().retain(|(pid, _)| *pid != child.id());
        }
        Ok(())
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
        let stream = TcpStream::connect_timeout(&self.addr(), ADMIN_IO_TIMEOUT)?;
        stream.set_read_timeout(Some(ADMIN_IO_TIMEOUT))?;
        stream.set_write_timeout(Some(ADMIN_IO_TIMEOUT))?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        writer.write_all(&encode(&["CLIENT", "SETNAME", ADMIN_CLIENT_NAME]))?;
        writer.write_all(&encode(args))?;
        read_reply(&mut reader, 0)?;
        read_reply(&mut reader, 0)
    }

    fn spawn_and_wait(&mut self) -> io::Result<()> {
        let log = self.dir.join("redis.log");
        let child = Command::new(server_binary())
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT)
                } else {
                    e
                }
            })?;
        live_servers().push((child.id(), self.dir.clone()));
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if !self.is_running() {
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited at startup; log: {}",
                    self.port,
                    log_tail(&log)
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
                        log_tail(&log)
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

/// A port that was free a moment ago.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

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

/// A command as a RESP array of bulk strings.
fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("malformed reply: {what}"))
}

/// Reads one RESP2 reply, rendered as text.
fn read_reply(reader: &mut impl BufRead, depth: u32) -> io::Result<String> {
    if depth > MAX_REPLY_DEPTH {
        return Err(malformed("nested too deeply"));
    }
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line
        .strip_suffix("\r\n")
        .ok_or_else(|| malformed("line without CRLF"))?;
    let (kind, rest) = line.split_at_checked(1).ok_or_else(|| malformed("empty line"))?;
    let length = || -> io::Result<Option<usize>> {
        let n: i64 = rest.parse().map_err(|_| malformed("bad length"))?;
        if n < 0 {
            return Ok(None);
        }
        let n = usize::try_from(n).map_err(|_| malformed("bad length"))?;
        if n > MAX_REPLY_BYTES {
            return Err(malformed("too long"));
        }
        Ok(Some(n))
    };
    match kind {
        "+" | ":" => Ok(rest.to_owned()),
        "-" => Err(io::Error::other(format!("redis error: {rest}"))),
        "$" => match length()? {
            None => Ok(String::new()),
            Some(n) => {
                let mut data = vec![0; n + 2];
                reader.read_exact(&mut data)?;
                data.truncate(n);
                String::from_utf8(data).map_err(|_| malformed("bulk string is not UTF-8"))
            }
        },
        "*" => match length()? {
            None => Ok(String::new()),
            Some(n) => {
                let items = (0..n)
                    .map(|_| read_reply(reader, depth + 1))
                    .collect::<io::Result<Vec<_>>>()?;
                Ok(items.join("\n"))
            }
        },
        _ => Err(malformed("unknown type")),
    }
}
