//! [`FullBacklog`]: a loopback listener whose accept queue is full, so that a
//! connection to it hangs in the TCP handshake: what a connect timeout is tested
//! against.

use std::{
    io,
    net::{Ipv4Addr, SocketAddr, TcpStream},
    time::Duration,
};

/// The most connections made to fill the queue (a backlog of 1 fills with a
/// few on Linux).
const MAX_FILLERS: usize = 16;
/// How long one filling connect may take before the queue counts as full (a
/// bound on a blocking connect, not a timing assertion).
const FILL_CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// A loopback listener that never accepts, its accept queue filled: a TCP
/// connect to [`addr`](Self::addr) hangs in the handshake until the
/// connector's own timeout fires. Dropping it closes the listener and the
/// connections that fill it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let hole = tenure_test_support::FullBacklog::start()?;
/// let connect = tokio::net::TcpStream::connect(hole.addr());
/// let timed_out = tokio::time::timeout(std::time::Duration::from_millis(300), connect).await;
/// assert!(timed_out.is_err(), "the handshake never completes");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FullBacklog {
    addr: SocketAddr,
    _listener: tokio::net::TcpListener,
    fillers: Vec<TcpStream>,
}

impl FullBacklog {
    /// Binds a listener with a backlog of 1 on a free loopback port and connects
    /// to it until a connect no longer completes. Call it inside a tokio runtime
    /// (the listener registers with its reactor).
    ///
    /// # Errors
    ///
    /// An I/O error binding or listening, or [`io::ErrorKind::Other`] if
    /// 16 connections all completed (the kernel did not bound the queue).
    pub fn start() -> io::Result<Self> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let listener = socket.listen(1)?;
        let addr = listener.local_addr()?;
        let mut fillers = Vec::new();
        while fillers.len() < MAX_FILLERS {
            match TcpStream::connect_timeout(&addr, FILL_CONNECT_TIMEOUT) {
                Ok(stream) => fillers.push(stream),
                Err(_) => {
                    return Ok(Self {
                        addr,
                        _listener: listener,
                        fillers,
                    });
                }
            }
        }
        Err(io::Error::other(format!(
            "the backlog never filled ({MAX_FILLERS} connections accepted by the kernel)"
        )))
    }

    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections completed before the queue was full.
    pub fn fillers(&self) -> usize {
        self.fillers.len()
    }
}
