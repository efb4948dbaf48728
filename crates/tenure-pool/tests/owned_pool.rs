//! `OwnedPool` against a real deadpool pool of real loopback TCP connections:
//! nothing a caller can keep reaches the pool, a retired pool is closed once
//! after its last lease, and nothing one lease holder does breaks another's lease.
//!
//! The compile-time half (no `Object`, no `Pool`, no `Closing` reachable) is in
//! the trybuild catalogue (`tests/ui/owned_pool_*.rs`, `tests/ui/close_*.rs`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tenure_pool::{
    ClientCache, Owned, OwnedPool, PoolGuard,
    deadpool::managed::{Manager, Metrics, Pool, RecycleResult},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// A loopback echo server that counts the connections open on its side.
struct EchoServer {
    addr: std::net::SocketAddr,
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

impl EchoServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let open = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (o, a) = (Arc::clone(&open), Arc::clone(&accepted));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let o = Arc::clone(&o);
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self { addr, open, accepted }
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until the server sees `n` open connections.
    async fn until_open(&self, n: usize) {
        for _ in 0..500 {
            if self.open() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server still sees {} open connections, expected {n}", self.open());
    }
}

struct Tcp(std::net::SocketAddr);

impl Manager for Tcp {
    type Type = TcpStream;
    type Error = std::io::Error;

    async fn create(&self) -> Result<TcpStream, std::io::Error> {
        TcpStream::connect(self.0).await
    }

    async fn recycle(&self, _: &mut TcpStream, _: &Metrics) -> RecycleResult<std::io::Error> {
        Ok(())
    }
}

/// One round trip through a checked-out connection.
async fn echo(conn: &mut PoolGuard<Tcp>, byte: u8) -> std::io::Result<u8> {
    conn.write_all(&[byte]).await?;
    let mut reply = [0u8; 1];
    conn.read_exact(&mut reply).await?;
    Ok(reply[0])
}

type Pools = ClientCache<&'static str, Owned<OwnedPool<Tcp>>>;

async fn lease(cache: &Pools, addr: std::net::SocketAddr) -> tenure_pool::Lease<OwnedPool<Tcp>> {
    cache
        .get_or_try_insert_with("db", || async move {
            OwnedPool::from_builder(Pool::builder(Tcp(addr)).max_size(4)).map(Owned::new)
        })
        .await
        .expect("the pool builds")
}

#[tokio::test]
async fn nothing_a_lease_holder_keeps_reaches_the_pool_or_breaks_another_lease() {
    let server = EchoServer::start().await;
    let cache = Pools::builder().max_capacity(4).build().unwrap();

    let a = lease(&cache, server.addr).await;
    let b = lease(&cache, server.addr).await;
    let mut b_conn = b.get().await.expect("b checks out");
    assert_eq!(echo(&mut b_conn, 1).await.unwrap(), 1);

    // Everything holder A can do through the public API of what it holds.
    let a2 = a.clone();
    let mut kept = a2.get().await.expect("a checks out");
    assert_eq!(echo(&mut kept, 2).await.unwrap(), 2);
    let _ = (a.status(), format!("{a:?} {kept:?}"));
    let mut other = a.get().await.unwrap();
    assert_eq!(echo(&mut other, 3).await.unwrap(), 3);
    drop(other);
    drop(a2);
    drop(a); // A keeps only `kept`, a checked-out connection

    // B's lease is untouched by all of it.
    assert_eq!(echo(&mut b_conn, 4).await.unwrap(), 4);
    let mut b_second = b.get().await.expect("b checks out again");
    assert_eq!(echo(&mut b_second, 5).await.unwrap(), 5);
    drop(b_second);
    assert_eq!(cache.stats().closes, 0, "nothing is closed while a lease lives");

    // Retire the entry; B's lease and connection keep working until B lets go.
    cache.invalidate(&"db");
    assert_eq!(echo(&mut b_conn, 6).await.unwrap(), 6);
    drop(b_conn);
    drop(b);
    tokio::time::timeout(Duration::from_secs(10), cache.shutdown())
        .await
        .expect("the pool closes once its last lease is dropped");
    assert_eq!(cache.stats().closes, 1, "closed exactly once");

    // The pool is closed: its idle connections are gone; the one connection A
    // kept is the only one left, still usable, and it is not returned to any
    // pool when dropped: the server sees 0 connections afterwards.
    server.until_open(1).await;
    assert_eq!(
        echo(&mut kept, 7).await.unwrap(),
        7,
        "a connection checked out before the close keeps working"
    );
    drop(kept);
    server.until_open(0).await;

    // A new lookup gets a new pool with a new connection; the closed one is unreachable.
    let cache = Pools::builder().build().unwrap();
    let fresh = lease(&cache, server.addr).await;
    let accepted = server.accepted.load(Ordering::SeqCst);
    let mut conn = fresh.get().await.unwrap();
    assert_eq!(echo(&mut conn, 8).await.unwrap(), 8);
    assert_eq!(
        server.accepted.load(Ordering::SeqCst),
        accepted + 1,
        "a new pool opens a new connection"
    );
    drop((conn, fresh));
    cache.shutdown().await;
    server.until_open(0).await;
}

#[tokio::test]
async fn a_closed_pool_refuses_checkouts_from_a_guard_kept_past_the_close() {
    // What a holder can still do with a kept guard after the close: use that one
    // connection. It cannot check out another one, because it reaches no pool.
    let server = EchoServer::start().await;
    let cache = Pools::builder().build().unwrap();
    let a = lease(&cache, server.addr).await;
    let mut kept = a.get().await.unwrap();
    cache.invalidate(&"db");
    drop(a);
    tokio::time::timeout(Duration::from_secs(10), cache.shutdown())
        .await
        .expect("closed after the last lease");
    assert_eq!(cache.stats().closes, 1);
    assert_eq!(echo(&mut kept, 9).await.unwrap(), 9);
    // `kept` is a `PoolGuard`: the only pool operations reachable from it are
    // none at all (see tests/ui/owned_pool_object_pool.rs). A fresh lookup
    // misses, so nobody is served the closed pool either.
    assert!(cache.get(&"db").is_none());
    drop(kept);
    server.until_open(0).await;
}
