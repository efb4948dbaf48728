//! Helpers shared by the integration tests. Each test starts its own server.
#![allow(dead_code, unreachable_pub)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use tenure_redis::{
    RedisConfig, RedisPool,
    deadpool_redis::redis::{self, AsyncCommands},
};
use tenure_test_support::RedisServer;

/// The longest a test waits for the server's client count to settle.
pub const SETTLE: Duration = Duration::from_secs(5);

/// Starts a private server, failing the test (with the install hint) if it cannot.
pub fn start_server() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("cannot start redis-server: {e}"))
}

/// The server's config with short timeouts, so that no failure hangs a test long.
pub fn config(server: &RedisServer) -> RedisConfig {
    RedisConfig::builder(&server.url())
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .wait_timeout(Duration::from_secs(5))
        .build()
        .expect("the harness URL is valid")
}

/// Waits until the server's client count is `expected`, and asserts it.
pub async fn assert_settles(server: &RedisServer, expected: usize, what: &str) -> usize {
    let after = server
        .wait_for_client_count(expected, SETTLE)
        .await
        .expect("the server answers CLIENT LIST");
    assert_eq!(
        after, expected,
        "{what}: the server still has {after} clients, expected {expected} (waited up to {SETTLE:?})"
    );
    after
}

/// SET then GET a unique key through `pool`.
pub async fn set_get(pool: &RedisPool, key: &str) -> redis::RedisResult<()> {
    let mut conn = pool
        .get()
        .await
        .map_err(|e| redis::RedisError::from((redis::ErrorKind::Io, "no connection", e.to_string())))?;
    let () = conn.set(key, "v").await?;
    let v: String = conn.get(key).await?;
    assert_eq!(v, "v");
    Ok(())
}

/// The longest a test waits for `RedisClients::shutdown` to drain.
pub const SHUTDOWN_LIMIT: Duration = Duration::from_secs(20);

/// Shuts the cache down, failing the test if a pool is still leased after
/// [`SHUTDOWN_LIMIT`].
pub async fn shutdown(clients: &tenure_redis::RedisClients) {
    let report = clients.shutdown_within(SHUTDOWN_LIMIT).await;
    assert!(report.is_complete(), "shutdown left pools open: {report:?}");
}

/// The longest any cache test may run; past it the watchdog ends the process.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);

/// Ends the test process if the test holding it runs longer than `limit`.
///
/// A hang with the runtime's worker threads blocked cannot be caught by
/// `tokio::time::timeout`; this plain thread can. It kills every redis-server the
/// process started (so none outlives it) and exits with a failure message.
#[must_use = "the watchdog stops watching when dropped"]
pub struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    pub fn new(test: &'static str, limit: Duration) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        std::thread::spawn(move || {
            let deadline = Instant::now() + limit;
            while Instant::now() < deadline {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !flag.load(Ordering::SeqCst) {
                eprintln!(
                    "{test}: still running after {limit:?}: it hangs. Killing its redis-server processes and exiting."
                );
                tenure_test_support::redis_server::kill_all_servers();
                std::process::exit(101);
            }
        });
        Self { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of the key, or of its
/// `{hash tag}`, modulo 16384), as the cluster specification defines it.
pub fn slot_of(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    };
    let mut crc: u16 = 0;
    for &byte in hashed {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// One key for every hash slot: `keys[slot]` hashes to `slot`.
pub fn key_for_every_slot() -> Vec<String> {
    let mut keys: Vec<Option<String>> = vec![None; 16384];
    let mut missing = keys.len();
    // Bounded: about 170 000 candidates cover every slot; the bound is far above.
    for i in 0..10_000_000u64 {
        if missing == 0 {
            break;
        }
        let key = format!("k{i}");
        let slot = usize::from(slot_of(&key));
        if keys[slot].is_none() {
            keys[slot] = Some(key);
            missing -= 1;
        }
    }
    keys.into_iter().map(|key| key.expect("a key for every slot")).collect()
}
