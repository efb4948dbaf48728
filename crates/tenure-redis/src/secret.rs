//! A password that never prints, and the stand-in shown for a username.

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

/// What `Debug` shows for a username: a password written in the username slot
/// (`redis://s3cret@host`) is a username to the URL parser, so usernames are never
/// shown either.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Some(<redacted>)` for a username that is set, `None` otherwise.
pub(crate) fn redacted(username: Option<&String>) -> Option<Redacted> {
    username.map(|_| Redacted)
}
