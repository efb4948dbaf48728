use std::fmt;

use crate::Close;

/// A value whose sole owner is the cache.
///
/// Insert an `Owned<T>` into a cache and callers get [`Lease<T>`](crate::Lease)s
/// for it. When the entry is retired (evicted, expired, replaced, invalidated or
/// shut down), the cache stops handing out leases and closes the value exactly once,
/// after the last lease is dropped: drain, then close. (If no tokio runtime is
/// left to run the close, the value is dropped unclosed instead, counted as
/// `closes_abandoned` and logged.)
///
/// `Owned` is deliberately poor in conversions: it is not `Clone`, it cannot be
/// built from an `Arc<T>` (an `Arc` is shared by definition), and its `T` cannot be
/// taken back out. Once a cache holds it, the only way out is
/// [`EvictClose`](crate::EvictClose), which closes it. An `Owned` that no cache
/// ever holds (never inserted; refused by a runtime-scoped cache outside a
/// runtime; made by an `init` whose caller was cancelled; passed to an insert
/// whose key's `Hash` or `Clone` panicked, which the cache runs before it takes
/// the entry) is dropped like any value, unclosed.
///
/// # Examples
///
/// ```
/// # use tenure_core as tenure; // the facade re-exports these under the same names
/// use tenure::{Close, Closing, Owned};
///
/// struct Pool;
/// impl Close for Pool {
///     async fn close(self, _: &Closing) {}
/// }
///
/// let entry = Owned::new(Pool);
/// # let _ = entry;
/// ```
///
/// An `Owned` cannot be cloned, since two owners could both close it:
///
/// ```compile_fail,E0277
/// # use tenure_core::{Close, Closing, Owned};
/// # struct Pool;
/// # impl Close for Pool { async fn close(self, _: &Closing) {} }
/// let entry = Owned::new(Pool);
/// let copy = entry.clone();
/// ```
///
/// Nor can it wrap an `Arc`, whose other clones would be closed under their users:
///
/// ```compile_fail,E0277
/// # use std::sync::Arc;
/// # use tenure_core::{Close, Closing, Owned};
/// # struct Pool;
/// # impl Close for Pool { async fn close(self, _: &Closing) {} }
/// let entry = Owned::new(Arc::new(Pool));
/// ```
#[must_use = "an `Owned` value does nothing until it is inserted into a cache"]
pub struct Owned<T: Close> {
    value: T,
}

impl<T: Close> Owned<T> {
    /// Wraps a value that the cache will own alone.
    pub fn new(value: T) -> Self {
        Self { value }
    }

    /// Refused at compile time: an owned entry has one owner.
    ///
    /// This method exists only so that `owned.clone()` explains itself instead of
    /// saying "no method named `clone`".
    #[doc(hidden)]
    #[allow(private_bounds, clippy::should_implement_trait)]
    pub fn clone(&self)
    where
        Self: crate::sealed::SoleOwner,
    {
    }

    /// The value, for the lease that derefs to it.
    pub(crate) fn value(&self) -> &T {
        &self.value
    }

    /// Gives the value to [`EvictClose`](crate::EvictClose), the one path that closes it.
    pub(crate) fn into_value(self) -> T {
        self.value
    }
}

impl<T: Close> fmt::Debug for Owned<T> {
    // `T` may hold secrets; an owned entry is identified by its key, not its value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owned")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
