//! Whether the current tokio runtime can run an HTTP client: a client needs
//! the runtime's IO driver (its sockets) and its timer (timeouts, the
//! connection pool's idle timer). On a runtime built without either, tokio
//! panics at the first request, inside hyper-util or in this crate's timeout;
//! checked when a client is built, the mistake is a typed error there instead.
//!
//! tokio has no query for its drivers: the check makes a timer and registers a
//! socket, and catches the panic tokio raises for a missing driver. So on such
//! a runtime the process's panic hook runs (once per missing driver and client
//! built; on a runtime with both drivers nothing panics). Built with
//! `panic = "abort"`, a caught panic would still abort the process: the check
//! is then skipped, and on a runtime without a driver the process aborts at
//! tokio's first use of it (the first request, or the cache's reaper, which
//! needs the timer), as without tenure.

use std::{net::Ipv4Addr, panic, time::Duration};

use crate::error::{Error, ErrorKind};

/// `Ok` if a tokio runtime is current and has both its timer and its IO driver.
pub(crate) fn check_current_runtime() -> Result<(), Error> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::message(ErrorKind::Runtime, "no tokio runtime is running"));
    }
    if cfg!(panic = "abort") {
        return Ok(());
    }
    // tokio has no query for its drivers; making a timer or registering a
    // socket without one panics, so each is tried once (a cached client is
    // built once per config and runtime).
    if panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_err() {
        return Err(Error::message(
            ErrorKind::Runtime,
            "the tokio runtime has no timer: build it with `enable_time()` (or `enable_all()`)",
        ));
    }
    let has_io = match std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) {
        // Registering a socket needs the IO driver.
        Ok(socket) => {
            socket.set_nonblocking(true).is_err()
                || panic::catch_unwind(panic::AssertUnwindSafe(|| {
                    drop(tokio::net::UdpSocket::from_std(socket))
                }))
                .is_ok()
        }
        // No socket to try with: leave it to the first request.
        Err(_) => true,
    };
    if !has_io {
        return Err(Error::message(
            ErrorKind::Runtime,
            "the tokio runtime has no IO driver: build it with `enable_io()` (or `enable_all()`)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_without_a_timer_or_io_is_a_typed_error() {
        for (runtime, missing) in [
            (
                tokio::runtime::Builder::new_current_thread().enable_io().build(),
                "timer",
            ),
            (
                tokio::runtime::Builder::new_current_thread().enable_time().build(),
                "IO driver",
            ),
        ] {
            let runtime = runtime.expect("a runtime");
            let error = runtime.block_on(async { check_current_runtime() }).expect_err(missing);
            assert_eq!(error.kind(), ErrorKind::Runtime);
            assert!(error.to_string().contains(missing), "{error}");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        assert!(runtime.block_on(async { check_current_runtime() }).is_ok());
        assert_eq!(check_current_runtime().expect_err("outside").kind(), ErrorKind::Runtime);
    }
}
