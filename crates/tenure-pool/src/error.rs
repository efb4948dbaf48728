use std::{error::Error as StdError, fmt, sync::Arc};

/// An error from the cache itself: a bad setting, a shut-down cache, no runtime.
///
/// The message names what was wrong (the setting and its value); keys and
/// values never appear in it, so it is safe to log.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
}

/// What kind of [`Error`] happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A builder setting is out of range.
    InvalidSetting,
    /// The cache has been shut down and takes no new entries.
    ShutDown,
    /// The cache scopes entries by runtime and was used outside a tokio runtime.
    NoRuntime,
    /// A `get_or_try_insert_with` call made inside an `init` would wait for a
    /// flight that waits for that `init`: the key `init` is creating, or a
    /// cycle of keys whose `init`s wait for each other.
    InitWaitsForItself,
}

impl Error {
    pub(crate) fn invalid_setting(setting: &str, value: impl fmt::Debug, rule: &str) -> Self {
        Self {
            kind: ErrorKind::InvalidSetting,
            detail: format!("invalid `{setting}` = {value:?}: {rule}"),
        }
    }

    pub(crate) fn shut_down() -> Self {
        Self {
            kind: ErrorKind::ShutDown,
            detail: "the cache has been shut down and takes no new entries".to_owned(),
        }
    }

    pub(crate) fn no_runtime() -> Self {
        Self {
            kind: ErrorKind::NoRuntime,
            detail: "this cache scopes entries by tokio runtime, and no runtime is running on this thread".to_owned(),
        }
    }

    pub(crate) fn init_waits_for_itself() -> Self {
        Self {
            kind: ErrorKind::InitWaitsForItself,
            detail: "refused to wait for this key's `init`: the call was made inside an `init` \
                     that this key's `init` waits for (the same key, or a cycle of keys), \
                     and both would wait for ever"
                .to_owned(),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("detail", &self.detail)
            .finish()
    }
}

impl StdError for Error {}

/// Why [`ClientCache::get_or_try_insert_with`](crate::ClientCache::get_or_try_insert_with) failed.
///
/// Initialisation errors are shared: every caller that waited on the same
/// initialisation receives the same `Arc`. They are never cached; the next call
/// runs `init` again.
#[non_exhaustive]
pub enum GetError<Err> {
    /// `init` returned this error.
    Init(Arc<Err>),
    /// The cache refused the entry.
    Cache(Error),
}

impl<Err> GetError<Err> {
    /// The initialisation error, if that is what this is.
    pub fn init_error(&self) -> Option<&Err> {
        match self {
            Self::Init(err) => Some(err),
            Self::Cache(_) => None,
        }
    }
}

impl<Err> Clone for GetError<Err> {
    fn clone(&self) -> Self {
        match self {
            Self::Init(err) => Self::Init(Arc::clone(err)),
            Self::Cache(err) => Self::Cache(err.clone()),
        }
    }
}

impl<Err: fmt::Debug> fmt::Debug for GetError<Err> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Init(err) => f.debug_tuple("Init").field(err).finish(),
            Self::Cache(err) => f.debug_tuple("Cache").field(err).finish(),
        }
    }
}

impl<Err: fmt::Display> fmt::Display for GetError<Err> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Init(err) => write!(f, "creating the cache entry failed: {err}"),
            Self::Cache(err) => fmt::Display::fmt(err, f),
        }
    }
}

/// Implemented for every printable `Err`, `Box<dyn Error + Send + Sync>` and
/// `anyhow::Error` included, so `?` converts a `GetError` into those. The init
/// error's message is part of this error's message; its typed value (and its own
/// `source()` chain) is [`init_error`](GetError::init_error). (A `source()` that
/// returned it would need `Err: Error`, which `Box<dyn Error>` is not.)
impl<Err: fmt::Debug + fmt::Display> StdError for GetError<Err> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Init(_) => None,
            Self::Cache(err) => Some(err),
        }
    }
}
