//! [`CachePolicy`]: the settings every tenure cache shares (capacity, expiry,
//! refresh, runtime scoping, drain warning, name, eviction listener), checked
//! in one place.

use std::{fmt, marker::PhantomData, sync::Arc, time::Duration};

use crate::{Error, RemovalCause, expiry::Expiry};

/// The most entries a cache may hold: 2²⁰. A client cache holds clients, each a
/// pool of connections or similar, so even this is far beyond real use; the
/// bound keeps a mistyped capacity (`u64::MAX`, say) a typed error instead of
/// an allocation that aborts the process. Each shard's frequency sketch is
/// sized by its capacity when the cache is built (a byte per entry, rounded up
/// to a power of two), and its slab and hash index are allocated for at most
/// 4,096 entries at build, growing on demand beyond (`shard.rs`).
const MAX_CAPACITY: u64 = 1 << 20;

/// A cache's settings: capacity, expiry, refresh ahead, runtime scoping, drain
/// warning, name and eviction listener.
///
/// [`ClientCache`](crate::ClientCache) and every adapter cache (`HttpClients`,
/// `ReqwestClients`, `RedisClients`) are configured by a `CachePolicy`. Their
/// builders have the same setters, which only record the value here, and a
/// `policy` setter that takes a whole `CachePolicy`; the refresh-ahead setters
/// exist only on builders of caches that can refresh (`RedisClientsBuilder`,
/// and an owned [`ClientCacheBuilder`](crate::ClientCacheBuilder)'s
/// `refresh_after(after, refresh)`). So a setting means the same thing, and a
/// bad value gets the same
/// [`ErrorKind::InvalidSetting`](crate::ErrorKind::InvalidSetting) message,
/// whichever cache it is given to; every check runs when the cache is built.
///
/// A policy only records what you set: a setting you leave unset takes the
/// default of the cache you give the policy to (each cache's builder documents
/// its defaults). `K` is the cache's key (an adapter's config type) and `H` the
/// handle its lookups return, which the eviction listener is given.
///
/// # Rules
///
/// `max_capacity` must be at least 1 and at most 2²⁰ (1,048,576). `time_to_live`,
/// `time_to_idle`, `drain_warning_after` and `refresh_after` must be greater
/// than zero; `refresh_after` must be shorter than the time-to-live, and
/// `refresh_after_ttl_percent` between 1 and 99. Only a cache of owned entries
/// with a refresh function can refresh ahead; a refresh setting given to any
/// other cache is refused by name. Building reports the first setting that
/// breaks a rule, with its value.
///
/// # Examples
///
/// ```
/// # use tenure_pool as tenure; // the facade re-exports these under the same names
/// use std::time::Duration;
/// use tenure::{CachePolicy, ClientCache, ErrorKind, Shared};
///
/// let policy = CachePolicy::new()
///     .max_capacity(50)
///     .time_to_idle(Duration::from_secs(300));
/// let cache = ClientCache::<String, Shared<String>>::builder().policy(policy).build()?;
/// assert_eq!(cache.max_capacity(), 50);
///
/// let err = ClientCache::<String, Shared<String>>::builder()
///     .policy(CachePolicy::new().max_capacity(0))
///     .build()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidSetting);
/// assert_eq!(err.to_string(), "invalid `max_capacity` = 0: must be between 1 and 1048576");
/// # Ok::<(), tenure::Error>(())
/// ```
#[must_use = "a policy does nothing until it is given to a cache builder"]
pub struct CachePolicy<K, H> {
    max_capacity: Option<u64>,
    time_to_live: Option<Option<Duration>>,
    time_to_idle: Option<Option<Duration>>,
    refresh: Option<Refresh>,
    scoped: Option<bool>,
    drain_warning: Option<Duration>,
    name: Option<Arc<str>>,
    listener: Option<EvictionListener<K, H>>,
}

/// When owned entries are rebuilt ahead of their expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    Off,
    After(Duration),
    /// At this percentage of the time-to-live; none without one.
    TtlPercent(u8),
}

impl<K, H> CachePolicy<K, H> {
    /// A policy that sets nothing: every setting takes the default of the cache
    /// it is given to.
    pub fn new() -> Self {
        Self {
            max_capacity: None,
            time_to_live: None,
            time_to_idle: None,
            refresh: None,
            scoped: None,
            drain_warning: None,
            name: None,
            listener: None,
        }
    }

    /// The most entries the cache holds. Must be between 1 and 2²⁰ (1,048,576).
    pub fn max_capacity(mut self, max_capacity: u64) -> Self {
        self.max_capacity = Some(max_capacity);
        self
    }

    /// How long an entry lives after insertion. Must be greater than zero.
    ///
    /// An entry is not served after it (see `docs/design.md`, "Expiry and
    /// eviction", for the one exception, an OS that starves the heartbeat
    /// thread). It may expire up to one heartbeat period (5 ms, more if the OS
    /// runs the heartbeat thread late) early: an insert takes its time from the
    /// cache's last clock reading when that reading is this fresh.
    pub fn time_to_live(mut self, time_to_live: Duration) -> Self {
        self.time_to_live = Some(Some(time_to_live));
        self
    }

    /// No time-to-live: entries live until evicted, idle or invalidated.
    ///
    /// Pair it with [`time_to_idle`](Self::time_to_idle) for clients that should
    /// stay warm while in use and go when unused.
    pub fn without_time_to_live(mut self) -> Self {
        self.time_to_live = Some(None);
        self
    }

    /// How long an entry lives after its last lookup. Must be greater than zero.
    pub fn time_to_idle(mut self, time_to_idle: Duration) -> Self {
        self.time_to_idle = Some(Some(time_to_idle));
        self
    }

    /// No time-to-idle: an entry's lookups do not decide when it goes.
    pub fn without_time_to_idle(mut self) -> Self {
        self.time_to_idle = Some(None);
        self
    }

    /// Refresh ahead: a lookup of an owned entry older than `after` starts
    /// building its replacement in the background, and is served the current
    /// entry meanwhile; the new entry then takes the old one's place, and the
    /// old one is retired as [`RemovalCause::Refreshed`] (it drains, then
    /// closes).
    ///
    /// Must be greater than zero and shorter than the time-to-live. Only caches
    /// of owned entries with a refresh function refresh (`RedisClients`, or a
    /// [`ClientCache`](crate::ClientCache) given one with
    /// [`ClientCacheBuilder::refresh_with`](crate::ClientCacheBuilder::refresh_with));
    /// any other cache refuses the setting when it is built.
    pub fn refresh_after(mut self, after: Duration) -> Self {
        self.refresh = Some(Refresh::After(after));
        self
    }

    /// Refresh ahead once an entry has lived `percent` % of its time-to-live
    /// (as [`refresh_after`](Self::refresh_after) with that duration), whatever
    /// the time-to-live is set to; no refresh without a time-to-live, nor when
    /// that share rounds down to zero. Must be between 1 and 99. A cache that
    /// cannot refresh refuses it when it is built, with or without a
    /// time-to-live, as it refuses [`refresh_after`](Self::refresh_after).
    pub fn refresh_after_ttl_percent(mut self, percent: u8) -> Self {
        self.refresh = Some(Refresh::TtlPercent(percent));
        self
    }

    /// No refresh ahead: an owned entry is dropped at its time-to-live, and the
    /// next lookup builds a new one.
    pub fn without_refresh(mut self) -> Self {
        self.refresh = Some(Refresh::Off);
        self
    }

    /// Keys entries by the tokio runtime that created them as well as by key.
    ///
    /// A lookup finds only the current runtime's entry, so a runtime-bound client
    /// (whose connection tasks run on its runtime) is never handed to another
    /// runtime. When a runtime shuts down, its entries are never served again, even
    /// to a new runtime that reuses its `tokio::runtime::Id`, and the reaper purges
    /// them as [`RemovalCause::RuntimeGone`]. Until its next pass they still
    /// count toward the capacity, but an insert that needs room evicts a dead
    /// runtime's entry (also as `RuntimeGone`) before any live one of the same
    /// shard (except an entry inserted in the moment its runtime shut down,
    /// which waits for the reaper). The cache's capacity is split over shards
    /// (one below 512 entries) by key hash, so an insert into a shard that
    /// holds no dead entry evicts by the policy even while another shard still
    /// holds some. Outside a runtime, lookups miss and
    /// inserts fail with [`ErrorKind::NoRuntime`](crate::ErrorKind::NoRuntime).
    pub fn scope_by_runtime(mut self) -> Self {
        self.scoped = Some(true);
        self
    }

    /// How long a retired entry may stay leased before a warning is logged.
    /// Must be greater than zero.
    ///
    /// The entry is never force-closed; the warning names its key.
    pub fn drain_warning_after(mut self, after: Duration) -> Self {
        self.drain_warning = Some(after);
        self
    }

    /// Names the cache: the `cache` label of its metrics (feature `metrics`) and
    /// a field of its tracing spans. Give each cache of a process its own name.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Calls `listener` for every entry that leaves the cache, with its key, the
    /// handle a lookup would return, and the cause: once per entry counted in
    /// [`evictions`](crate::CacheStats::evictions). An entry that never entered
    /// (an insert refused after `shutdown`, counted in `inserts_refused`; a
    /// refresh's new entry whose predecessor had left, counted in
    /// `refreshes_discarded`) is let go of without a call.
    ///
    /// It runs on the thread that removed the entry, outside the cache's locks,
    /// before the cache drops its reference. The handle is a lease (or a handle
    /// holding one) for an owned entry, a clone for a shared one; neither can be
    /// closed: the cache closes owned entries itself, after their last lease.
    /// Keep it short, and do not call back into the cache from it.
    ///
    /// ```compile_fail,E0277
    /// # use tenure_pool::{ClientCache, Close, Closing, Shared};
    /// # struct HttpClient;
    /// # impl Close for HttpClient { async fn close(self, _: &Closing) {} }
    /// let cache = ClientCache::<String, Shared<HttpClient>>::builder()
    ///     .eviction_listener(|_key, client, _cause| {
    ///         // The incident: closing a client that others still hold.
    ///         let _ = client.clone().close();
    ///     })
    ///     .build();
    /// ```
    #[doc(alias = "on_retire")]
    pub fn eviction_listener(mut self, listener: impl Fn(&K, &H, RemovalCause) + Send + Sync + 'static) -> Self {
        self.listener = Some(EvictionListener::new(listener));
        self
    }

    /// The eviction listener, if one is set.
    pub fn listener(&self) -> Option<&EvictionListener<K, H>> {
        self.listener.as_ref()
    }

    /// This policy, with every setting it leaves unset taken from `defaults`
    /// (the listener too). Adapters layer the caller's policy over their own
    /// defaults with it.
    pub fn or(self, defaults: Self) -> Self {
        Self {
            max_capacity: self.max_capacity.or(defaults.max_capacity),
            time_to_live: self.time_to_live.or(defaults.time_to_live),
            time_to_idle: self.time_to_idle.or(defaults.time_to_idle),
            refresh: self.refresh.or(defaults.refresh),
            scoped: self.scoped.or(defaults.scoped),
            drain_warning: self.drain_warning.or(defaults.drain_warning),
            name: self.name.or(defaults.name),
            listener: self.listener.or(defaults.listener),
        }
    }

    /// The same policy for a cache whose lookups hand out another handle type
    /// `H2`: the listener is called with `to_handle`'s output.
    ///
    /// An adapter that wraps a [`ClientCache`](crate::ClientCache) in its own
    /// handle type uses it to give the cache its caller's listener; `to_handle`
    /// runs only when there is a listener to call.
    pub fn map_handle<H2: 'static>(self, to_handle: impl Fn(&K, &H2) -> H + Send + Sync + 'static) -> CachePolicy<K, H2>
    where
        K: 'static,
        H: 'static,
    {
        CachePolicy {
            max_capacity: self.max_capacity,
            time_to_live: self.time_to_live,
            time_to_idle: self.time_to_idle,
            refresh: self.refresh,
            scoped: self.scoped,
            drain_warning: self.drain_warning,
            name: self.name,
            listener: self.listener.map(|listener| {
                EvictionListener::new(move |key: &K, handle: &H2, cause| {
                    listener.notify(key, &to_handle(key, handle), cause);
                })
            }),
        }
    }

    /// Checks every setting and decides the unset ones ([`ClientCache`]'s
    /// defaults): the one place settings are validated. `can_refresh`: the cache
    /// has a refresh function.
    ///
    /// [`ClientCache`]: crate::ClientCache
    pub(crate) fn resolve(self, can_refresh: bool) -> Result<Resolved<K, H>, Error> {
        let policy = self;
        let max_capacity = policy.max_capacity.unwrap_or(DEFAULT_CAPACITY);
        if max_capacity == 0 || max_capacity > MAX_CAPACITY {
            return Err(Error::invalid_setting(
                "max_capacity",
                max_capacity,
                "must be between 1 and 1048576",
            ));
        }
        let time_to_live = policy.time_to_live.unwrap_or(Some(DEFAULT_TTL));
        let time_to_idle = policy.time_to_idle.flatten();
        let drain_warning = policy.drain_warning.unwrap_or(DEFAULT_DRAIN_WARNING);
        for (setting, value) in [
            ("time_to_live", time_to_live),
            ("time_to_idle", time_to_idle),
            ("drain_warning_after", Some(drain_warning)),
        ] {
            if value == Some(Duration::ZERO) {
                return Err(Error::invalid_setting(
                    setting,
                    Duration::ZERO,
                    "must be greater than zero",
                ));
            }
        }
        // A cache that cannot refresh refuses a refresh setting after its own
        // rules (so every cache gives the same message for a value out of
        // range), whatever the time-to-live, quoting the value as given: a
        // setting that can never take effect is a mistake, not a no-op.
        const CANNOT_REFRESH: &str = "this cache cannot refresh ahead: only a cache of owned entries with a refresh function can (shared entries are never rebuilt)";
        let refresh_after = match policy.refresh.unwrap_or(Refresh::Off) {
            Refresh::Off => None,
            Refresh::After(after) => {
                if after.is_zero() {
                    return Err(Error::invalid_setting(
                        "refresh_after",
                        after,
                        "must be greater than zero",
                    ));
                }
                if let Some(ttl) = time_to_live
                    && after >= ttl
                {
                    return Err(Error::invalid_setting(
                        "refresh_after",
                        after,
                        "must be shorter than time_to_live, or no entry is ever refreshed before it expires",
                    ));
                }
                if !can_refresh {
                    return Err(Error::invalid_setting("refresh_after", after, CANNOT_REFRESH));
                }
                Some(after)
            }
            Refresh::TtlPercent(percent) => {
                if !(1..=99).contains(&percent) {
                    return Err(Error::invalid_setting(
                        "refresh_after_ttl_percent",
                        percent,
                        "must be between 1 and 99",
                    ));
                }
                if !can_refresh {
                    return Err(Error::invalid_setting(
                        "refresh_after_ttl_percent",
                        percent,
                        CANNOT_REFRESH,
                    ));
                }
                time_to_live
                    // `ttl * percent` overflows for a time-to-live near `Duration::MAX`.
                    .map(|ttl| {
                        ttl.checked_mul(u32::from(percent))
                            .map_or_else(|| ttl / 100 * u32::from(percent), |scaled| scaled / 100)
                    })
                    .filter(|after| !after.is_zero())
            }
        };
        Ok(Resolved {
            max_capacity,
            expiry: Expiry {
                ttl: time_to_live.map(crate::clock::nanos),
                tti: time_to_idle.map(crate::clock::nanos),
                refresh: refresh_after.map(crate::clock::nanos),
            },
            shortest_expiry: [time_to_live, time_to_idle].into_iter().flatten().min(),
            scoped: policy.scoped.unwrap_or(false),
            drain_warning,
            name: policy.name.unwrap_or_else(|| Arc::from(DEFAULT_NAME)),
            listener: policy.listener,
        })
    }
}

/// [`ClientCache`](crate::ClientCache)'s defaults, and those of any setting an
/// adapter's defaults leave unset.
const DEFAULT_CAPACITY: u64 = 200;
const DEFAULT_TTL: Duration = Duration::from_secs(600);
const DEFAULT_DRAIN_WARNING: Duration = Duration::from_secs(60);
const DEFAULT_NAME: &str = "tenure";

/// A checked policy, every setting decided.
pub(crate) struct Resolved<K, H> {
    pub(crate) max_capacity: u64,
    pub(crate) expiry: Expiry,
    pub(crate) shortest_expiry: Option<Duration>,
    pub(crate) scoped: bool,
    pub(crate) drain_warning: Duration,
    pub(crate) name: Arc<str>,
    pub(crate) listener: Option<EvictionListener<K, H>>,
}

impl<K, H> Default for CachePolicy<K, H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, H> Clone for CachePolicy<K, H> {
    fn clone(&self) -> Self {
        Self {
            max_capacity: self.max_capacity,
            time_to_live: self.time_to_live,
            time_to_idle: self.time_to_idle,
            refresh: self.refresh,
            scoped: self.scoped,
            drain_warning: self.drain_warning,
            name: self.name.clone(),
            listener: self.listener.clone(),
        }
    }
}

/// Shows what is set; unset settings print as `None`.
impl<K, H> fmt::Debug for CachePolicy<K, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachePolicy")
            .field("max_capacity", &self.max_capacity)
            .field("time_to_live", &self.time_to_live)
            .field("time_to_idle", &self.time_to_idle)
            .field("refresh", &self.refresh)
            .field("scope_by_runtime", &self.scoped)
            .field("drain_warning_after", &self.drain_warning)
            .field("name", &self.name)
            .field("eviction_listener", &self.listener.is_some())
            .finish()
    }
}

/// An eviction listener: told the key, the handle and the cause of every entry
/// that leaves a cache. Set with [`CachePolicy::eviction_listener`].
///
/// Cloning it is cheap and calls the same function.
pub struct EvictionListener<K, H> {
    listener: Arc<ListenerFn<K, H>>,
    _types: PhantomData<fn(&K, &H)>,
}

/// What an [`EvictionListener`] calls.
type ListenerFn<K, H> = dyn Fn(&K, &H, RemovalCause) + Send + Sync;

impl<K, H> EvictionListener<K, H> {
    /// Wraps `listener`.
    pub fn new(listener: impl Fn(&K, &H, RemovalCause) + Send + Sync + 'static) -> Self {
        Self {
            listener: Arc::new(listener),
            _types: PhantomData,
        }
    }

    /// Calls the listener.
    pub fn notify(&self, key: &K, handle: &H, cause: RemovalCause) {
        (self.listener)(key, handle, cause);
    }

    /// The function, as the cache stores it.
    pub(crate) fn into_fn(self) -> Arc<ListenerFn<K, H>> {
        self.listener
    }
}

impl<K, H> Clone for EvictionListener<K, H> {
    fn clone(&self) -> Self {
        Self {
            listener: Arc::clone(&self.listener),
            _types: PhantomData,
        }
    }
}

impl<K, H> fmt::Debug for EvictionListener<K, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvictionListener").finish_non_exhaustive()
    }
}

/// Setters that record each [`CachePolicy`] setting in a builder's `policy`
/// field, so that every builder has the same setters, documented and checked
/// once (in `CachePolicy`). `$pool` is the path the invoking crate names
/// tenure-pool by (for doc links); `refresh` adds the refresh-ahead setters.
#[doc(hidden)]
#[macro_export]
macro_rules! __cache_policy_setters {
    (pool: $pool:path, key: $key:ty, handle: $handle:ty $(, refresh: $refresh:tt)?) => {
        $crate::__cache_policy_setters!(@one $pool,
            "The most entries the cache holds.", max_capacity, max_capacity: u64);
        $crate::__cache_policy_setters!(@one $pool,
            "How long an entry lives after insertion.", time_to_live, time_to_live: std::time::Duration);
        $crate::__cache_policy_setters!(@one $pool,
            "No time-to-live: entries live until evicted, idle or invalidated.", without_time_to_live,);
        $crate::__cache_policy_setters!(@one $pool,
            "How long an entry lives after its last lookup.", time_to_idle, time_to_idle: std::time::Duration);
        $crate::__cache_policy_setters!(@one $pool,
            "No time-to-idle.", without_time_to_idle,);
        $crate::__cache_policy_setters!(@one $pool,
            "Keys entries by the tokio runtime that created them as well as by key.", scope_by_runtime,);
        $crate::__cache_policy_setters!(@one $pool,
            "How long a retired entry may stay leased before a warning is logged.",
            drain_warning_after, after: std::time::Duration);

        #[doc = "Names the cache: the `cache` label of its metrics and a field of its tracing spans."]
        #[doc = ""]
        #[doc = concat!("See [`CachePolicy::name`](", stringify!($pool), "::CachePolicy::name).")]
        pub fn name(mut self, name: impl Into<std::sync::Arc<str>>) -> Self {
            self.policy = self.policy.name(name);
            self
        }

        #[doc = "Calls `listener` for every entry that leaves the cache, with its key, the handle a lookup would return, and the cause."]
        #[doc = ""]
        #[doc = "It runs on the thread that removed the entry, outside the cache's locks; it cannot close the handle."]
        #[doc = concat!("See [`CachePolicy::eviction_listener`](", stringify!($pool), "::CachePolicy::eviction_listener).")]
        #[doc(alias = "on_retire")]
        pub fn eviction_listener(
            mut self,
            listener: impl Fn(&$key, &$handle, $crate::RemovalCause) + Send + Sync + 'static,
        ) -> Self {
            self.policy = self.policy.eviction_listener(listener);
            self
        }

        #[doc = "Replaces every cache setting made so far with `policy`; what it leaves unset takes this cache's default."]
        pub fn policy(mut self, policy: $crate::CachePolicy<$key, $handle>) -> Self {
            self.policy = policy;
            self
        }

        $($crate::__cache_policy_setters!(@refresh $pool, $refresh);)?
    };
    (@refresh $pool:path, yes) => {
        $crate::__cache_policy_setters!(@one $pool,
            "Refresh ahead: a lookup of an entry older than `after` builds its replacement in the background.",
            refresh_after, after: std::time::Duration);
        $crate::__cache_policy_setters!(@one $pool,
            "Refresh ahead once an entry has lived `percent` % of its time-to-live.",
            refresh_after_ttl_percent, percent: u8);
        $crate::__cache_policy_setters!(@one $pool,
            "No refresh ahead: an entry is dropped at its time-to-live.", without_refresh,);
    };
    (@one $pool:path, $summary:literal, $setter:ident, $($arg:ident: $ty:ty)?) => {
        #[doc = $summary]
        #[doc = ""]
        #[doc = concat!("See [`CachePolicy::", stringify!($setter), "`](", stringify!($pool), "::CachePolicy::", stringify!($setter), ").")]
        pub fn $setter(mut self, $($arg: $ty)?) -> Self {
            self.policy = self.policy.$setter($($arg)?);
            self
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::nanos;

    type Policy = CachePolicy<u32, u32>;

    #[test]
    fn unset_settings_take_the_defaults_and_set_ones_stay() {
        let defaults = Policy::new()
            .max_capacity(7)
            .without_time_to_live()
            .time_to_idle(Duration::from_secs(9));
        let resolved = Policy::new()
            .max_capacity(3)
            .or(defaults)
            .resolve(false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resolved.max_capacity, 3);
        assert_eq!(resolved.expiry.ttl, None);
        assert_eq!(resolved.expiry.tti, Some(nanos(Duration::from_secs(9))));
        assert!(!resolved.scoped);
        let resolved = Policy::new().resolve(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resolved.max_capacity, DEFAULT_CAPACITY);
        assert_eq!(resolved.expiry.ttl, Some(nanos(DEFAULT_TTL)));
        assert_eq!(&*resolved.name, DEFAULT_NAME);
    }

    #[test]
    fn a_ttl_percent_refresh_follows_the_time_to_live() {
        let refresh = |policy: Policy| policy.resolve(true).map(|r| r.expiry.refresh);
        let percent = || Policy::new().refresh_after_ttl_percent(80);
        assert_eq!(
            refresh(percent().time_to_live(Duration::from_secs(10))),
            Ok(Some(nanos(Duration::from_secs(8))))
        );
        assert_eq!(refresh(percent().without_time_to_live()), Ok(None));
        assert_eq!(refresh(percent().time_to_live(Duration::from_nanos(1))), Ok(None));
        assert_eq!(
            refresh(percent().time_to_live(Duration::from_secs(10)).without_refresh()),
            Ok(None)
        );
    }

    #[test]
    fn a_cache_that_cannot_refresh_refuses_any_refresh_setting_quoting_it() {
        for policy in [
            Policy::new().refresh_after_ttl_percent(80),
            Policy::new().refresh_after_ttl_percent(80).without_time_to_live(),
        ] {
            let err = policy.resolve(false).map(|_| ()).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("invalid `refresh_after_ttl_percent` = 80: this cache cannot refresh ahead"),
                "{err}"
            );
        }
        let err = Policy::new()
            .refresh_after(Duration::from_secs(60))
            .without_time_to_live()
            .resolve(false)
            .map(|_| ())
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid `refresh_after` = 60s: this cache cannot refresh ahead"),
            "{err}"
        );
        assert!(Policy::new().without_refresh().resolve(false).is_ok());
        assert!(Policy::new().resolve(false).is_ok());
    }

    #[test]
    fn map_handle_gives_the_listener_the_converted_handle() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let policy = CachePolicy::<u32, String>::new()
            .eviction_listener(move |key, handle: &String, cause| {
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((*key, handle.clone(), cause));
            })
            .map_handle(|key: &u32, handle: &u64| format!("{key}:{handle}"));
        let listener = policy
            .listener()
            .cloned()
            .unwrap_or_else(|| panic!("the listener is kept"));
        listener.notify(&1, &2, RemovalCause::Capacity);
        assert_eq!(
            *seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            vec![(1, "1:2".to_owned(), RemovalCause::Capacity)]
        );
        assert!(format!("{policy:?}").contains("eviction_listener: true"));
    }
}
