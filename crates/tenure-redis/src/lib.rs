//! A cache of [deadpool-redis] connection pools typed by ownership: pools it creates
//! are closed after their last lease, pools handed in are never closed.
//!
//! [`RedisClients`] maps a [`RedisConfig`] (a standalone server's `redis://` or
//! `rediss://` URL, a Redis Cluster's startup nodes, or a Sentinel service; plus
//! pool settings, with `max_connections` honoured) to a [`RedisPool`]:
//!
//! - an **owned** pool, created by the cache on first use. When the cache retires
//!   it (capacity, time-to-live, invalidation, [`shutdown`](RedisClients::shutdown)),
//!   it drains: holders keep a working pool, in-flight commands complete, and the
//!   pool is closed once the last [`RedisPool`] and [`RedisConnection`] are dropped.
//!   None is closed under a caller, and none is left open once every handle
//!   lent from it has been dropped (one passed to `mem::forget` keeps it open). A pool still in use near
//!   its time-to-live is refreshed ahead (by default at four fifths of it): a new
//!   pool is built in the background and takes over, so hot pools rotate without
//!   a cold start ([`RedisClientsBuilder::refresh_after`]).
//! - a **shared** pool, handed in by the caller with
//!   [`insert_shared`](RedisClients::insert_shared) (pool passthrough): used as it
//!   is, never duplicated, never closed by the cache.
//!
//! Passwords (the servers' and the sentinels') never appear in `Debug`,
//! `Display`, this crate's errors or its tracing output, except in the text
//! the `redis` crate writes itself (below: its `log` records, and the
//! `RedisError` of a command, which is the source of an
//! [`ErrorKind::Command`]); nor do usernames, which
//! may hold a password written in the wrong place (`redis://s3cret@host`). That
//! holds for a server's reply that quotes them too: with `?protocol=3`, a server
//! that does not know `HELLO` (Redis before 6, or `HELLO` renamed or disabled)
//! answers the handshake with `unknown command 'HELLO', with args beginning
//! with: '3' 'AUTH' '<user>' '<password>'`. An [`ErrorKind::Connection`] error
//! (its message, `Debug` and [`source`](std::error::Error::source)) and this
//! crate's events cut the arguments a server quotes and show the
//! configuration's usernames and passwords as `***` wherever they stand as a
//! word of their own (not inside a longer word: a password `1` leaves
//! `os error 111` as it is), as written or as `Debug` escapes them. A URL
//! with an `@` after the end of its host (a `/`, `?` or `#` left unencoded in
//! the credentials) is refused without quoting any of it. A
//! password written where a name goes is another matter: an unsupported query
//! parameter's name, and an unknown setting's name in a configuration file, are
//! shown when they are plain identifiers (see
//! [`ErrorKind::UnsupportedParameter`]), so `?s3cret=1` shows `s3cret`.
//!
//! What the `redis` crate and deadpool write themselves is beyond this crate's
//! reach, in three places:
//!
//! - its [`log`](https://docs.rs/log) records. With `?protocol=3` against a
//!   server without `HELLO`, its cluster client logs the reply above, username
//!   and password included (`WARN redis::cluster_handling::async_connection:
//!   Failed to connect to node: ..., due to: ResponseError: unknown command
//!   'HELLO', with args beginning with: '3' 'AUTH' '<user>' '<password>'`, and
//!   `DEBUG` records alike). They are seen only if the application forwards
//!   `log` records (to `tracing` with `tracing-log`'s `LogTracer`, or with a
//!   `log` logger such as `env_logger`): drop the `redis` target's records
//!   there, or use `protocol=3` only with servers that know `HELLO`.
//! - the errors of commands: the `RedisError` a command on a
//!   [`RedisConnection`] returns is the `redis` crate's, made before tenure
//!   sees it. A cluster connection that connects to a node again while
//!   running a command may report that node's reply to the handshake as it
//!   is, credentials included (with `?protocol=3` against a server without
//!   `HELLO`). `?` turns it into an [`ErrorKind::Command`] whose message and
//!   `Debug` cut the arguments a server quotes (the conversion does not know
//!   the configuration, so nothing else is masked), but whose
//!   [`source`](std::error::Error::source) is that `RedisError` unchanged: a
//!   report that prints the chain (`anyhow`'s `{:?}`) shows it.
//! - a pool built with [`RedisConfig::create_pool`], used directly: it is
//!   deadpool-redis's own `Pool`. Its `Debug` shows the connection's username
//!   (the password as `<redacted>`), and the errors of its `get` are
//!   deadpool's and the `redis` crate's as they are (the `HELLO` reply above,
//!   password included). Handed to [`RedisClients::insert_shared`], it is
//!   checked out through this crate, and those errors are scrubbed.
//!
//! # Topologies
//!
//! | [`Topology`] | Configuration | Feature | A pool connection is |
//! |---|---|---|---|
//! | standalone | `redis://`, `rediss://` URL | always | a multiplexed connection to the server |
//! | cluster | [`RedisConfig::cluster_builder`] with the startup nodes | `cluster` | a cluster connection: one connection to each node it routes to; it follows `MOVED`/`ASK` |
//! | sentinel | `redis+sentinel://` URL or [`RedisConfig::sentinel_builder`] | `sentinel` | a multiplexed connection to the master the sentinels name at creation |
//!
//! After a sentinel failover, connections to the old master fail (commands return
//! errors, recycling discards them: a recycled connection must answer `ROLE` as
//! master) and new ones go to the master the sentinels name, through the same
//! cached pool. [`RedisClients::connection_budget`] reports how many connections
//! the owned pools may hold to any one node.
//!
//! A borrower's commands go to a connection that later borrowers get. Two
//! checks keep a borrower's connection state from reaching the next one:
//!
//! - **On drop, every topology, owned and handed-in pools.** A
//!   [`RedisConnection`] sees every command and pipeline sent through it,
//!   and tracks, without a round trip, whether its borrower left a
//!   transaction open (`MULTI` without an `EXEC` or `DISCARD` answered
//!   without an error), keys watched (`WATCH` without an answered
//!   `UNWATCH`, `EXEC` or `DISCARD`; for a cluster only an `UNWATCH` sent as
//!   a command of its own, which goes to every primary, while `EXEC` and a
//!   pipeline go to one node; so on a cluster, a borrower that watched keys
//!   and sends no `UNWATCH` after its transaction costs its connection), or sent a
//!   command whose state tenure cannot undo: `SUBSCRIBE`, `PSUBSCRIBE`,
//!   `SSUBSCRIBE`, `SELECT`, `AUTH`, `HELLO`, `READONLY`, `READWRITE`,
//!   `RESET`, `MONITOR`, `ASKING`, `SYNC`, `PSYNC`, `QUIT`, and `CLIENT TRACKING`,
//!   `REPLY`, `SETNAME`, `SETINFO`, `NO-EVICT`, `NO-TOUCH`, `CACHING`. Such a
//!   connection is discarded when dropped (closed, its slot freed), not
//!   returned to the pool. A command is marked before it is sent, and a mark
//!   is cleared only once the reply that ends it has come back, so a future
//!   dropped mid-flight leaves the connection discarded. So is a connection
//!   dropped with a command or pipeline that may still run on the server: its
//!   future was dropped before the reply came back, or the response timeout
//!   ended it, or the client made its reply up (a command sent with
//!   `set_no_response`), or it was a `WAIT`/`WAITAOF` that failed (a cluster
//!   returns at the first primary's error while others may still wait). A
//!   blocking command left running (`BLPOP key 0`, `XREAD BLOCK`, `WAIT`)
//!   would hold the connection from the next borrower, and take the item it
//!   waits for. Other errors keep the connection: an error reply (the server
//!   answered), a client-side error (nothing was sent), an I/O error (the
//!   server drops what a broken socket sent). An atomic pipeline
//!   (`pipe().atomic()`, sent as `MULTI` ... `EXEC`) leaves nothing, nor does
//!   a transaction the server aborted (`EXECABORT`, which ends it). This is
//!   the only check of a cluster connection, whose recycle waits on no server,
//!   and of a server before Redis 6.2.
//! - **On checkout, standalone and sentinel pools the cache owns.** A
//!   connection that comes back into use is first sent `UNWATCH` (with
//!   deadpool-redis's `PING`, or `ROLE` for sentinel), then checked with
//!   `CLIENT INFO`: one whose database, user, protocol, open transaction,
//!   watched keys, subscriptions or client-side tracking differs from a
//!   fresh one's is discarded, not lent. Only the fields the server reports
//!   are checked (watched keys from Redis 7.4, the protocol from 7.0); a
//!   server before Redis 6.2, without `CLIENT INFO`, skips the check. So does
//!   a user whom the server's ACL does not allow `CLIENT INFO` (`NOPERM`):
//!   its connections are lent unchecked (the pool does not ask again for its
//!   life), and a warning naming the server and the missing permission
//!   (`+client|info`) is logged once per pool. The
//!   recycle's other commands are needed: for a user without `UNWATCH` (or,
//!   for sentinel, `ROLE`) every recycled connection is discarded, so each
//!   checkout opens a new connection (tenure logs nothing); without `PING`
//!   there is no pool at all ([`RedisClients::get`] sends one on its first
//!   connection, and fails with [`ErrorKind::Connection`]).
//!
//! Neither sees commands sent on a connection obtained another way (a raw
//! `redis` client, or a connection taken out of a handed-in pool directly),
//! nor undoes state a command leaves on the server rather than on the
//! connection (`CLIENT PAUSE`, `CONFIG SET`, keys). Pools handed in with
//! [`RedisClients::insert_shared`] get the check on drop; their recycling is
//! the caller's, as the caller built them.
//!
//! A checkout ([`RedisPool::get`]) from a pool the cache owns takes at most
//! [`RedisConfig::checkout_timeout`]: the wait timeout plus one connection's
//! creation bound, whatever the pool waits on meanwhile (a stalled server
//! made it try every idle connection in turn, each for a response timeout).
//!
//! # Examples
//!
//! ```
//! use tenure_redis::{RedisClients, RedisConfig};
//! use tenure_redis::deadpool_redis::redis::AsyncCommands;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A private redis-server (never the one on 6379) with the user `app`.
//! # let server = tenure_test_support::RedisServer::start()?;
//! # server.command(&["ACL", "SETUSER", "app", "on", ">secret", "~*", "+@all"])?;
//! # let url = format!("redis://app:secret@127.0.0.1:{}/0", server.port());
//! let clients = RedisClients::builder()
//!     .max_capacity(200)
//!     .time_to_live(std::time::Duration::from_secs(600))
//!     .build()?;
//! // `url` is like "redis://app:secret@127.0.0.1:6390/0".
//! let config = RedisConfig::builder(&url)
//!     .max_connections(10)
//!     .build()?;
//!
//! let pool = clients.get(&config).await?;
//! let mut conn = pool.get().await?;
//! let () = conn.set("answer", 42).await?;
//! let answer: i64 = conn.get("answer").await?;
//! assert_eq!(answer, 42);
//!
//! drop((conn, pool));
//! let report = clients.shutdown().await; // every owned pool closed
//! assert!(report.is_complete());
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! | Feature     | Default | What it enables |
//! |-------------|---------|-----------------|
//! | `cluster`   | off     | Redis Cluster configurations and pools ([`RedisConfig::cluster_builder`]). |
//! | `sentinel`  | off     | Sentinel configurations and pools (`redis+sentinel://`, [`RedisConfig::sentinel_builder`]). |
//! | `serde`     | off     | `Deserialize` for [`RedisConfig`] (see [its file form](RedisConfig#from-a-file)); passwords stay redacted. |
//! | `rustls`    | on      | `rediss://` (TLS) through rustls with the ring provider, trusting the web PKI roots (webpki-roots) or the roots added with [`RedisConfigBuilder::add_root_certificate_pem`] and [`RedisConfigBuilder::add_root_certificate_der`]. |
//!
//! # TLS
//!
//! With the `rustls` feature, a `rediss://` URL connects over TLS and verifies the
//! server's certificate and host name; see [TLS](RedisConfig#tls). Without it, such
//! a URL gives [`ErrorKind::TlsNotEnabled`]. Client certificates (mutual TLS) and
//! the `redis` crate's `#insecure` mode are not supported. TLS is supported for
//! standalone servers only (a cluster or sentinel configuration with `rediss://`
//! gives [`ErrorKind::TlsNotSupported`]).
//!
//! # Supported Rust versions
//!
//! Rust 1.88 or newer (deadpool-redis 0.23 needs it).
//!
//! [deadpool-redis]: deadpool_redis

mod borrower_state;
mod budget;
mod builder;
mod clients;
#[cfg(feature = "cluster")]
mod cluster;
mod config;
mod connection_error;
mod connection_state;
mod error;
mod external;
mod handle;
mod parse;
mod pool;
mod scrub;
mod secret;
#[cfg(feature = "sentinel")]
mod sentinel;
#[cfg(feature = "serde")]
mod serde;
#[cfg(feature = "rustls")]
mod tls;
mod topology;

pub use budget::ConnectionBudget;
pub use builder::RedisConfigBuilder;
pub use clients::{RedisClients, RedisClientsBuilder};
pub use config::{Protocol, RedisConfig};
/// The backend, re-exported (with `redis` as `deadpool_redis::redis`).
pub use deadpool_redis;
pub use error::{Error, ErrorKind};
pub use external::ExternalPool;
pub use handle::{Ownership, RedisConnection, RedisPool};
pub use tenure_pool::{
    CachePolicy, CacheStats, Error as CacheError, ErrorKind as CacheErrorKind, EvictionListener, Evictions,
    MissingDriver, RemovalCause, ShutdownReport,
};
pub use topology::Topology;
