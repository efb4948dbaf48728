use std::{fmt, ops::Deref, sync::Arc};

/// A value that other code holds references to; the cache never closes it.
///
/// Retiring a `Shared` entry only drops the cache's reference: whoever still holds a
/// clone keeps a working value, and the last holder's drop frees it. This is the
/// entry type for clients such as HTTP clients that are handed out and kept by
/// routers, models or tasks the cache knows nothing about.
///
/// Lookups return a cheap clone of the handle (one reference-count increment).
///
/// What holds: the cache never closes a `Shared` value. It is not
/// [`EvictClose`](crate::EvictClose), so no cache path can close it, and tenure's
/// own [`Close::close`](crate::Close::close) cannot be run on it outside a running
/// close: that needs the value by move and a [`Closing`](crate::Closing) that only
/// the cache makes, for an owned entry's close. (Code inside such a close can
/// close a clone of `T` taken through `Deref`: see [`Closing`](crate::Closing).)
///
/// What the types cannot see: a client's own `close(&self)` method, reached
/// through `Deref` (`Pool::close(&shared)` on a deadpool or sqlx pool), compiles,
/// because it only needs `&T`; so does cloning `T` out through `Deref` when `T`
/// is `Clone`. The cache never calls such a method; to keep your own code from
/// doing so, wrap the client so the method is out of reach, or list it under
/// clippy's `disallowed-methods` (see `docs/adopting.md`).
///
/// The spellings of a close through tenure are refused, each with the reason:
///
/// ```compile_fail,E0277
/// # use tenure_core::{Close, Closing, EvictClose, Shared};
/// # struct Client;
/// # impl Close for Client { async fn close(self, _: &Closing) {} }
/// // Even with a token in hand (inside a close the cache runs), a `Shared` is not
/// // `EvictClose`: the cache's one path to closing refuses it.
/// struct Tenant(Shared<Client>);
/// impl Close for Tenant {
///     async fn close(self, closing: &Closing) {
///         EvictClose::evict_close(self.0, closing).await;
///     }
/// }
/// ```
///
/// ```compile_fail,E0277
/// # use tenure_core::{Close, Closing, Shared};
/// # struct Client;
/// # impl Close for Client { async fn close(self, _: &Closing) {} }
/// async fn evict(client: Shared<Client>) {
///     client.close().await;
/// }
/// ```
pub struct Shared<T> {
    value: Arc<T>,
}

impl<T> Shared<T> {
    /// Wraps a value that will be shared with other code.
    pub fn new(value: T) -> Self {
        Self { value: Arc::new(value) }
    }

    /// Wraps a value the caller already shares through an `Arc`.
    pub fn from_arc(value: Arc<T>) -> Self {
        Self { value }
    }

    /// The `Arc` behind this handle, for code that stores `Arc<T>`.
    pub fn as_arc(this: &Self) -> &Arc<T> {
        &this.value
    }

    /// Whether two handles point at the same value.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        Arc::ptr_eq(&this.value, &other.value)
    }

    /// Refused at compile time: the cache does not own a shared value, so it may not close it.
    ///
    /// This method exists only so that `shared.close()` explains itself instead of
    /// reaching `T::close` through `Deref`.
    #[doc(hidden)]
    pub fn close(self) -> std::future::Ready<()>
    where
        Self: crate::EvictClose,
    {
        std::future::ready(())
    }

    /// Refused at compile time, like [`close`](Self::close): without it,
    /// `shared.evict_close()` says "no method found" and suggests implementing the
    /// sealed trait.
    #[doc(hidden)]
    pub fn evict_close(self) -> std::future::Ready<()>
    where
        Self: crate::EvictClose,
    {
        std::future::ready(())
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self {
            value: Arc::clone(&self.value),
        }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> From<Arc<T>> for Shared<T> {
    fn from(value: Arc<T>) -> Self {
        Self::from_arc(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shared").field(&self.value).finish()
    }
}
