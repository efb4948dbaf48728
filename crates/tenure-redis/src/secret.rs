//! A password that never prints.

use std::fmt;

/// A password: compared and hashed (it is part of the cache key), never shown.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Password(String);

impl Password {
    pub(crate) fn new(password: String) -> Self {
        Self(password)
    }

    /// The password itself, for the connection handshake only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
