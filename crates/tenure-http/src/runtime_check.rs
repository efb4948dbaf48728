//! Whether the current tokio runtime can run an HTTP client: a client needs
//! the runtime's IO driver (its sockets) and its timer (timeouts, the
//! connection pool's idle timer). On a runtime built without either, tokio
//! panics at the first request, inside hyper-util or in this crate's timeout;
//! checked when a client is built, the mistake is a typed error there instead.
//!
//! The check is tenure-pool's [`check_runtime_drivers`](tenure_pool::check_runtime_drivers),
//! shared with the other adapters; its docs say how it works (it catches the
//! panic tokio raises for a missing driver, so the panic hook runs, and it is
//! skipped with `panic = "abort"`).

use crate::error::{Error, ErrorKind};

/// `Ok` if a tokio runtime is current and has both its timer and its IO driver.
pub(crate) fn check_current_runtime() -> Result<(), Error> {
    tenure_pool::check_runtime_drivers().map_err(|missing| Error::message(ErrorKind::Runtime, missing.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probing itself is tested in tenure-pool; here, that a missing driver
    /// is this crate's `Runtime` error with tenure-pool's message.
    #[test]
    fn a_missing_driver_is_a_runtime_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("a runtime");
        let error = runtime
            .block_on(async { check_current_runtime() })
            .expect_err("no timer");
        assert_eq!(error.kind(), ErrorKind::Runtime);
        assert!(
            error.to_string().ends_with(tenure_pool::MissingDriver::Timer.message()),
            "{error}"
        );
        assert_eq!(check_current_runtime().expect_err("outside").kind(), ErrorKind::Runtime);
    }
}
