//! Which tokio runtime a caller is on, in a form that survives ID reuse.
//!
//! `tokio::runtime::Id` is unique only among running runtimes: a runtime started
//! after another shut down may get the same ID. A cache keyed by the ID alone
//! would hand the dead runtime's client (whose connection tasks died with it) to
//! the new one. So each runtime, the first time a scoped cache sees it, gets a
//! [`RuntimeLife`] with a tag that is never reused, and a sentinel task on that
//! runtime marks the life dead when the runtime drops its tasks at shutdown.

use std::{
    cell::RefCell,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use tokio::runtime::{Handle, Id};

/// One run of one tokio runtime.
#[derive(Debug)]
pub(crate) struct RuntimeLife {
    tag: u64,
    alive: AtomicBool,
}

impl RuntimeLife {
    /// Never 0 (0 means "not scoped") and never reused.
    #[inline]
    pub(crate) fn tag(&self) -> u64 {
        self.tag
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// A life with this tag, alive or not, that no runtime's sentinel marks.
    #[cfg(test)]
    pub(crate) fn for_test(tag: u64, alive: bool) -> Arc<Self> {
        Arc::new(Self {
            tag,
            alive: AtomicBool::new(alive),
        })
    }
}

/// How a runtime identifies itself: tokio's ID, which a later runtime may reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuntimeKey {
    Tokio(Id),
    /// Tests force an ID to replay reuse, which this tokio's counter never produces.
    #[cfg(test)]
    Forced(u64),
}

#[cfg(test)]
thread_local! {
    pub(crate) static FORCED_ID: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

impl RuntimeKey {
    fn of(handle: &Handle) -> Self {
        #[cfg(test)]
        if let Some(forced) = FORCED_ID.with(std::cell::Cell::get) {
            return Self::Forced(forced);
        }
        Self::Tokio(handle.id())
    }
}

static NEXT_TAG: AtomicU64 = AtomicU64::new(1);
static LIVES: parking_lot::Mutex<Vec<(RuntimeKey, Arc<RuntimeLife>)>> = parking_lot::Mutex::new(Vec::new());
/// How many lives have died so far, counted after each is marked dead.
static DEATHS: AtomicU64 = AtomicU64::new(0);

/// How many runtime lives have died so far. A life marked dead before this
/// count was read is seen dead by the reader (the count is bumped after the
/// mark, with release ordering).
pub(crate) fn deaths() -> u64 {
    DEATHS.load(Ordering::Acquire)
}

thread_local! {
    // The hit path asks on every lookup; the registry lock is for first sight only.
    static CURRENT: RefCell<Option<(RuntimeKey, Arc<RuntimeLife>)>> = const { RefCell::new(None) };
}

/// The life of the runtime this thread is running on, or `None` outside a runtime.
pub(crate) fn current() -> Option<Arc<RuntimeLife>> {
    with_current(Arc::clone)
}

/// The tag of the runtime this thread is running on, for lookups: no reference
/// count is touched when the thread has seen this runtime before.
pub(crate) fn current_tag() -> Option<u64> {
    with_current(|life| life.tag())
}

fn with_current<T>(read: impl Fn(&Arc<RuntimeLife>) -> T) -> Option<T> {
    let handle = Handle::try_current().ok()?;
    let id = RuntimeKey::of(&handle);
    let cached = CURRENT.with(|current| match &*current.borrow() {
        Some((cached_id, life)) if *cached_id == id && life.is_alive() => Some(read(life)),
        _ => None,
    });
    if cached.is_some() {
        return cached;
    }
    let life = register(&handle, id);
    let value = read(&life);
    CURRENT.with(|current| *current.borrow_mut() = Some((id, life)));
    Some(value)
}

fn register(handle: &Handle, id: RuntimeKey) -> Arc<RuntimeLife> {
    let mut lives = LIVES.lock();
    lives.retain(|(_, life)| life.is_alive());
    if let Some((_, life)) = lives.iter().find(|(known, _)| *known == id) {
        return Arc::clone(life);
    }
    let life = Arc::new(RuntimeLife {
        tag: NEXT_TAG.fetch_add(1, Ordering::Relaxed),
        alive: AtomicBool::new(true),
    });
    lives.push((id, Arc::clone(&life)));
    drop(lives);
    // Dropped with the runtime's other tasks when it shuts down.
    drop(handle.spawn(Sentinel {
        life: Arc::clone(&life),
    }));
    tracing::trace!(runtime = ?id, tag = life.tag, "first use of a runtime by a scoped cache");
    life
}

/// Pending forever; its drop is the runtime's death notice.
struct Sentinel {
    life: Arc<RuntimeLife>,
}

impl Future for Sentinel {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.life.alive.store(false, Ordering::Release);
        DEATHS.fetch_add(1, Ordering::Release);
        tracing::debug!(
            tag = self.life.tag,
            "runtime shut down; its scoped cache entries will be purged"
        );
    }
}

/// The runtime an entry belongs to; unscoped caches use [`Scope::NONE`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope(Option<Arc<RuntimeLife>>);

impl Scope {
    pub(crate) const NONE: Self = Self(None);

    pub(crate) fn of(life: Arc<RuntimeLife>) -> Self {
        Self(Some(life))
    }

    /// 0 for unscoped entries.
    #[inline]
    pub(crate) fn tag(&self) -> u64 {
        self.0.as_ref().map_or(0, |life| life.tag())
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.0.as_ref().is_none_or(|life| life.is_alive())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tenure_core::Shared;

    use super::*;
    use crate::ClientCache;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    /// tokio documents that a runtime ID may be reused once its runtime is gone
    /// (this version's counter happens not to). Replay it with a forced ID.
    #[test]
    fn a_reused_runtime_id_never_gets_the_dead_runtimes_entry() {
        let cache = ClientCache::<&str, Shared<u32>>::builder()
            .scope_by_runtime()
            .build()
            .unwrap();
        FORCED_ID.with(|id| id.set(Some(u64::MAX)));

        let first = runtime();
        let old_life = first.block_on(async {
            cache.insert("client", Shared::new(1)).unwrap();
            assert_eq!(cache.get(&"client").map(|c| *c), Some(1));
            current().unwrap()
        });
        drop(first);
        assert!(!old_life.is_alive(), "the sentinel died with its runtime");

        let second = runtime();
        second.block_on(async {
            let life = current().unwrap();
            assert_ne!(life.tag(), old_life.tag(), "same ID, new life");
            assert!(
                cache.get(&"client").is_none(),
                "the dead runtime's entry is never served"
            );
            cache.insert("client", Shared::new(2)).unwrap();
            assert_eq!(cache.get(&"client").map(|c| *c), Some(2));
            // The reaper (restarted on this runtime by the insert) purges the dead entry.
            tokio::time::sleep(Duration::from_millis(1100)).await;
        });
        FORCED_ID.with(|id| id.set(None));
        assert_eq!(cache.len(), 1);
        let stats = cache.stats();
        assert_eq!(stats.evictions.runtime_gone, 1, "{stats:?}");
    }
}
