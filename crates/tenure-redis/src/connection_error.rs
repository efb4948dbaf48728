//! The source of an [`ErrorKind::Connection`](crate::ErrorKind::Connection)
//! error: deadpool's `PoolError`, shown without the configuration's secrets.

use std::{error::Error as StdError, fmt, time::Duration};

use deadpool_redis::PoolError;
use tenure_pool::deadpool::managed::TimeoutType;

use crate::scrub::Secrets;

/// Why no connection could be had: deadpool's [`PoolError`], whose `Display`
/// and `Debug` are its own with the configuration's secrets removed (see
/// [`Secrets::scrub`]). A server's reply to the handshake may quote the
/// credentials, and deadpool and the `redis` crate copy it into their
/// errors, so the `PoolError` itself is never shown, and is not a
/// [`source`](StdError::source) (its chain would show the reply again).
pub(crate) struct ConnectionError {
    error: PoolError,
    display: String,
    debug: String,
}

impl ConnectionError {
    pub(crate) fn new(error: PoolError, secrets: &Secrets) -> Self {
        Self {
            display: secrets.scrub(&error.to_string()),
            debug: secrets.scrub(&format!("{error:?}")),
            error,
        }
    }

    /// A checkout that did not end within `limit`
    /// ([`RedisConfig::checkout_timeout`](crate::RedisConfig::checkout_timeout)):
    /// a timeout, as deadpool's own are.
    pub(crate) fn checkout_timed_out(limit: Duration) -> Self {
        let display = format!(
            "no connection within the checkout timeout of {limit:?} (the wait timeout plus one connection's creation: \
             twice the connect timeout plus twice the response timeout)"
        );
        Self {
            error: PoolError::Timeout(TimeoutType::Wait),
            debug: format!("CheckoutTimeout({limit:?})"),
            display,
        }
    }

    /// The error itself, to tell what happened (never to show).
    pub(crate) fn pool_error(&self) -> &PoolError {
        &self.error
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.debug)
    }
}

impl StdError for ConnectionError {}
