//! Whether the current tokio runtime has the drivers a client needs: its
//! timer (timeouts, pool timers) and its IO driver (sockets). On a runtime
//! built without either, tokio panics at the first use of it, deep inside a
//! client library (hyper-util, deadpool, the `redis` crate); checked up front,
//! the mistake is a typed error instead. The adapters call
//! [`check_runtime_drivers`] where they build clients or pools.
//!
//! tokio has no query for its drivers: the check makes a timer and registers a
//! socket, and catches the panic tokio raises for a missing driver. So on such
//! a runtime the process's panic hook runs, once per missing driver, thread
//! and runtime (the outcome is remembered, see [`check_runtime_drivers`]); on
//! a runtime with both drivers nothing panics. Built with `panic = "abort"`, a
//! caught panic would still abort the process: the check is then skipped, and
//! on a runtime without a driver the process aborts at tokio's first use of
//! it, as without tenure.

use std::{cell::RefCell, error::Error as StdError, fmt, net::Ipv4Addr, panic, time::Duration};

use crate::runtime_scope;

/// What the current tokio runtime lacks for a client; see
/// [`check_runtime_drivers`].
///
/// Its `Display` says what is missing and how to fix it.
///
/// ```
/// use tenure_pool::MissingDriver;
///
/// assert_eq!(
///     MissingDriver::Timer.to_string(),
///     "the tokio runtime has no timer: build it with `enable_time()` (or `enable_all()`)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MissingDriver {
    /// No tokio runtime is running on this thread: call from within one.
    NoRuntime,
    /// The runtime was built without its timer: build it with `enable_time()`
    /// (or `enable_all()`).
    Timer,
    /// The runtime was built without its IO driver: build it with
    /// `enable_io()` (or `enable_all()`).
    Io,
}

impl MissingDriver {
    /// What is missing and how to fix it (the `Display` text), as a
    /// `&'static str` for error types that keep fixed messages.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            MissingDriver::NoRuntime => "no tokio runtime is running",
            MissingDriver::Timer => "the tokio runtime has no timer: build it with `enable_time()` (or `enable_all()`)",
            MissingDriver::Io => "the tokio runtime has no IO driver: build it with `enable_io()` (or `enable_all()`)",
        }
    }
}

impl fmt::Display for MissingDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl StdError for MissingDriver {}

/// How many runtimes each thread remembers the outcome for.
const REMEMBERED: usize = 4;

thread_local! {
    /// The runtimes this thread checked last (most recent first), by their
    /// never-reused scope tag (`runtime_scope.rs`: tokio's runtime IDs may be
    /// reused), and the outcome: a runtime's drivers are fixed when it is
    /// built, so each is checked once per thread while remembered.
    static CHECKED: RefCell<Vec<(u64, Result<(), MissingDriver>)>> = const { RefCell::new(Vec::new()) };
}

/// `Ok` if a tokio runtime is current and has both its timer and its IO
/// driver; else what is missing ([`MissingDriver`]), the runtime itself
/// first, then the timer, then the IO driver.
///
/// tokio has no query for its drivers: the check makes a timer and registers
/// a loopback UDP socket, and catches the panic tokio raises for a missing
/// driver. So the first check of a runtime without a driver runs the
/// process's panic hook; on a runtime with both nothing panics. Built with
/// `panic = "abort"`, a caught panic would still abort the process: only the
/// runtime itself is checked then, and on a runtime without a driver the
/// process aborts at tokio's first use of it, as it would without this check.
///
/// The outcome is remembered per thread for the last four runtimes it
/// checked (a runtime's drivers are fixed when it is built), so a check on
/// every operation costs, after the first on a thread, a runtime handle
/// lookup and thread-local reads (and, on a thread that alternates between
/// runtimes, a short global lock at each switch, to find the other
/// runtime's tag).
///
/// # Errors
///
/// [`MissingDriver::NoRuntime`] outside a tokio runtime,
/// [`MissingDriver::Timer`] on one built without `enable_time()`,
/// [`MissingDriver::Io`] on one built without `enable_io()`.
///
/// # Examples
///
/// ```
/// use tenure_pool::{MissingDriver, check_runtime_drivers};
///
/// assert_eq!(check_runtime_drivers(), Err(MissingDriver::NoRuntime));
///
/// let complete = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// assert_eq!(complete.block_on(async { check_runtime_drivers() }), Ok(()));
///
/// // Without a timer: a typed error where tokio would panic at the first timeout.
/// let no_timer = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
/// let missing = no_timer.block_on(async { check_runtime_drivers() }).unwrap_err();
/// assert_eq!(missing, MissingDriver::Timer);
/// assert!(missing.to_string().contains("enable_time()"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn check_runtime_drivers() -> Result<(), MissingDriver> {
    let Some(tag) = runtime_scope::current_tag() else {
        return Err(MissingDriver::NoRuntime);
    };
    let remembered = CHECKED.with(|checked| {
        let checked = checked.borrow();
        checked
            .iter()
            .find(|(known, _)| *known == tag)
            .map(|&(_, outcome)| outcome)
    });
    if let Some(outcome) = remembered {
        return outcome;
    }
    let outcome = probe_drivers();
    CHECKED.with(|checked| {
        let mut checked = checked.borrow_mut();
        checked.truncate(REMEMBERED - 1);
        checked.insert(0, (tag, outcome));
    });
    outcome
}

/// Tries the current runtime's timer, then its IO driver.
fn probe_drivers() -> Result<(), MissingDriver> {
    if cfg!(panic = "abort") {
        return Ok(());
    }
    // Making a timer without the timer driver panics.
    if panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_err() {
        return Err(MissingDriver::Timer);
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
        // No socket to try with: leave it to the first use.
        Err(_) => true,
    };
    if has_io { Ok(()) } else { Err(MissingDriver::Io) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_without_a_timer_or_io_is_a_typed_error() {
        for (runtime, missing, text) in [
            (
                tokio::runtime::Builder::new_current_thread().enable_io().build(),
                MissingDriver::Timer,
                "timer",
            ),
            (
                tokio::runtime::Builder::new_current_thread().enable_time().build(),
                MissingDriver::Io,
                "IO driver",
            ),
        ] {
            let runtime = runtime.expect("a runtime");
            for _ in 0..2 {
                // The second time from the remembered outcome.
                let error = runtime.block_on(async { check_runtime_drivers() }).expect_err(text);
                assert_eq!(error, missing);
                assert!(error.to_string().contains(text), "{error}");
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        assert!(runtime.block_on(async { check_runtime_drivers() }).is_ok());
        assert_eq!(check_runtime_drivers(), Err(MissingDriver::NoRuntime));
        assert_eq!(MissingDriver::NoRuntime.to_string(), "no tokio runtime is running");
    }
}
