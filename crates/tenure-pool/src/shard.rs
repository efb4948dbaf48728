//! One shard of the cache: entries in a [slab](slab), found through a [hash
//! index](index), ordered for eviction by the [policy](policy) (S3-FIFO, with its
//! [ghost list](ghost)) and for expiry by the [TTL queue](ttl_queue).
//!
//! A victim is chosen in this order: an entry of a runtime that shut down
//! ([dead sweep](dead_sweep)), then an entry whose time-to-live has passed,
//! then the policy's choice; a policy candidate that has been idle past its
//! time-to-idle is evicted without a second chance.
//!
//! Each part is its own module with its own tests; this one keeps them in step
//! (every entry is in the index, in one policy queue, and in the TTL queue when
//! there is a time-to-live) and holds the per-entry data they share.
//!
//! A lookup ([`Shard::get`]) takes `&self`: it runs under the shard's read lock,
//! beside other lookups. What it writes is atomic and local to the entry: its
//! frequency, last use and refresh time. (The cache counts hits and misses in
//! per-thread counters, `read_counters.rs`.)
//! Everything else (inserts, removals, eviction, refresh results) takes `&mut self`.

mod dead_sweep;
mod ghost;
mod index;
mod list;
mod policy;
mod sketch;
mod slab;
mod ttl_queue;

use dead_sweep::DeadSweep;
use index::Index;
use list::Links;
use policy::{PolicyState, Residents, S3Fifo};
pub(crate) use slab::EntryId;
use slab::Slab;
use ttl_queue::{Deadlines, TtlQueue};

use crate::{
    Scope,
    clock::Reading,
    expiry::Expiry,
    runtime_scope,
    stats::{RemovalCause, ShardCounters},
    sync::AtomicU64,
};

/// Relaxed throughout: an entry's atomics are heuristics read under the shard
/// lock (frequency, last use) or a refresh time that one compare-exchange takes; the
/// lock orders everything else.
const RELAXED: std::sync::atomic::Ordering = std::sync::atomic::Ordering::Relaxed;

/// 2⁶⁴ divided by the golden ratio, odd: a hash times it (Fibonacci hashing)
/// has top bits that depend on every bit of the hash, to pick a shard (in the
/// cache) or a ghost bucket by.
pub(crate) const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

/// The most entries a shard's slab and hash index are allocated for when the
/// shard is made; a larger shard grows them as it fills (a cache built with a
/// large capacity and used for a few entries does not hold memory for all).
const PREALLOCATED: usize = 4096;

/// An entry that left a shard; the cache retires it once the shard lock is released.
#[derive(Debug)]
pub(crate) struct Removed<K, S> {
    pub(crate) key: K,
    pub(crate) stored: S,
    pub(crate) cause: RemovalCause,
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// A live entry at this slab index.
    Hit(u32),
    /// Nothing under this key.
    Miss,
    /// An entry that has expired, and why: take it with [`Shard::take_stale`]
    /// (under the write lock) and retire it.
    Stale(EntryId, RemovalCause),
    /// A live entry that is due for a refresh, its refresh time now taken: serve it,
    /// and build its replacement for [`Shard::swap_refreshed`] (or give up with
    /// [`Shard::refresh_failed`]).
    Refresh(EntryId),
}

#[derive(Debug)]
struct Node<K, S> {
    key: K,
    /// `scope.tag()`, kept inline so a probe compares two integers.
    tag: u64,
    scope: Scope,
    hash: u64,
    /// When the entry expires, given its insertion and last use (`u64::MAX`:
    /// never). Lookups move it forward (time-to-idle), never back.
    expires_at: AtomicU64,
    stored: S,
    policy: PolicyState,
    inserted_at: u64,
    /// The latest use; lookups move it forward, never back.
    last_access: AtomicU64,
    /// When a lookup should start building a replacement (`u64::MAX`: never,
    /// or a replacement is being built). The lookup that moves it to
    /// `u64::MAX` (one compare-exchange) starts the refresh; no other does.
    refresh_at: AtomicU64,
    ttl_links: Links,
}

/// The shard's entries as the policy and the TTL queue see them.
struct View<'a, K, S> {
    slab: &'a mut Slab<Node<K, S>>,
    now: u64,
    expiry: Expiry,
}

impl<K, S> Residents for View<'_, K, S> {
    fn policy(&mut self, index: u32) -> &mut PolicyState {
        &mut self.slab.get_mut(index).policy
    }

    fn hash(&self, index: u32) -> u64 {
        self.slab.get(index).hash
    }

    fn doomed(&self, index: u32) -> bool {
        let node = self.slab.get(index);
        self.expiry
            .check(node.inserted_at, node.last_access.load(RELAXED), self.now)
            .is_some()
    }
}

impl<K, S> Deadlines for View<'_, K, S> {
    fn ttl_links(&mut self, index: u32) -> &mut Links {
        &mut self.slab.get_mut(index).ttl_links
    }

    fn ttl_deadline(&self, index: u32) -> u64 {
        let ttl = self.expiry.ttl.unwrap_or(u64::MAX);
        self.slab.get(index).inserted_at.saturating_add(ttl)
    }
}

fn view<K, S>(slab: &mut Slab<Node<K, S>>, now: u64, expiry: Expiry) -> View<'_, K, S> {
    View { slab, now, expiry }
}

#[derive(Debug)]
pub(crate) struct Shard<K, S> {
    index: Index,
    slab: Slab<Node<K, S>>,
    policy: S3Fifo,
    ttl_queue: TtlQueue,
    /// Where the shard stands in its look for a shut-down runtime's entries.
    dead_sweep: DeadSweep,
    capacity: usize,
    /// Inserts and evictions (counted under the write lock; hits and misses
    /// are counted by the cache, see `read_counters.rs`).
    counters: ShardCounters,
}

impl<K: Eq, S> Shard<K, S> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            index: Index::with_capacity(capacity.min(PREALLOCATED)),
            slab: Slab::with_capacity(capacity.min(PREALLOCATED)),
            policy: S3Fifo::new(capacity),
            ttl_queue: TtlQueue::new(),
            dead_sweep: DeadSweep::default(),
            capacity,
            counters: ShardCounters::default(),
        }
    }

    /// The shard's insert and eviction counts.
    pub(crate) fn counters(&self) -> &ShardCounters {
        &self.counters
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    #[inline]
    fn find(&self, hash: u64, key: &K, tag: u64) -> Option<u32> {
        let slab = &self.slab;
        self.index.find(hash, |index| {
            let node = slab.get(index);
            node.tag == tag && node.key == *key
        })
    }

    /// The stored entry at a slab index from [`Lookup::Hit`].
    #[inline]
    pub(crate) fn stored(&self, index: u32) -> &S {
        &self.slab.get(index).stored
    }

    /// The stored entry `id` names, if it is still that entry (see
    /// [`take_stale`](Self::take_stale)).
    pub(crate) fn stored_if_holds(&self, id: EntryId) -> Option<&S> {
        self.slab.holds(id).then(|| self.stored(id.index))
    }

    /// Looks a key up (under the read lock). A `Miss` or `Stale` is a miss for
    /// the cache's counters, a `Hit` or `Refresh` a hit.
    #[inline]
    pub(crate) fn get(&self, hash: u64, key: &K, tag: u64, time: &mut Reading<'_>, expiry: Expiry) -> Lookup {
        let Some(index) = self.find(hash, key, tag) else {
            return Lookup::Miss;
        };
        let node = self.slab.get(index);
        let deadline = node.expires_at.load(RELAXED);
        if let Some(cause) = time.check(expiry, deadline, node.inserted_at, || node.last_access.load(RELAXED)) {
            return Lookup::Stale(self.slab.id(index), cause);
        }
        // Write only what changes: a hot entry's node line then stays shared
        // between cores instead of bouncing on every hit.
        node.policy.touch();
        if expiry.tti.is_some() {
            let stamp = time.stamp();
            if stamp > node.last_access.load(RELAXED) {
                // Both move forward only: of two lookups racing here, the later
                // stamp wins (the deadline grows with the last use).
                node.last_access.fetch_max(stamp, RELAXED);
                let deadline = expiry.deadline(node.inserted_at, stamp).unwrap_or(u64::MAX);
                node.expires_at.fetch_max(deadline, RELAXED);
            }
        }
        // Off (`u64::MAX`) unless `refresh_after` is set: then one comparison.
        let refresh_at = node.refresh_at.load(RELAXED);
        if refresh_at != u64::MAX
            && time.reached(refresh_at)
            && node
                .refresh_at
                .compare_exchange(refresh_at, u64::MAX, RELAXED, RELAXED)
                .is_ok()
        {
            return Lookup::Refresh(self.slab.id(index));
        }
        Lookup::Hit(index)
    }

    /// Removes the entry a lookup found stale, if it is still the same entry
    /// (not replaced, refreshed or removed since the lookup released its read
    /// lock: each of those gives the slot a new generation).
    pub(crate) fn take_stale(&mut self, id: EntryId, cause: RemovalCause) -> Option<Removed<K, S>> {
        self.slab.holds(id).then(|| self.take(id.index, cause))
    }

    /// Puts a refreshed value in place of the entry `id`, which keeps its key,
    /// place in the policy and hit history; its times restart at `now`. Returns
    /// the old value to retire (the caller holds the key: no user code runs
    /// under the lock), or `stored` back if that entry is gone.
    pub(crate) fn swap_refreshed(&mut self, id: EntryId, stored: S, now: u64, expiry: Expiry) -> Result<S, S> {
        if !self.slab.holds(id) {
            return Err(stored);
        }
        Ok(self.put_value(id.index, stored, now, expiry, RemovalCause::Refreshed))
    }

    /// The entry at `index` takes a new value, which counts as an insert (and
    /// the old one as a removal for `cause`): its times restart at `now`, its
    /// time-to-live queues behind every other entry's, and its slot gets a new
    /// generation, so ids taken for the old value (a refresh in flight, a lookup
    /// that found it stale) no longer name the entry. Returns the old value.
    fn put_value(&mut self, index: u32, stored: S, now: u64, expiry: Expiry, cause: RemovalCause) -> S {
        self.slab.renew(index);
        let node = self.slab.get_mut(index);
        let old = std::mem::replace(&mut node.stored, stored);
        node.inserted_at = now;
        node.last_access.store(now, RELAXED);
        node.expires_at
            .store(expiry.deadline(now, now).unwrap_or(u64::MAX), RELAXED);
        node.refresh_at.store(expiry.refresh_at(now), RELAXED);
        if expiry.ttl.is_some() {
            self.ttl_queue.requeue(&mut view(&mut self.slab, now, expiry), index);
        }
        self.counters.inserts += 1;
        self.counters.evictions.count(cause);
        old
    }

    /// A refresh of `id` failed: it serves on and is due again one period after `now`.
    pub(crate) fn refresh_failed(&mut self, id: EntryId, now: u64, expiry: Expiry) {
        if let Some(node) = self.slab.get_id_mut(id) {
            node.refresh_at.store(expiry.refresh_at(now), RELAXED);
        }
    }

    /// Inserts an entry. Returns the new entry's slab index and what it
    /// displaced, if anything: the old value under its key, or a victim (never
    /// both: a replacement takes the old value's place).
    // The key's parts and the clock reading arrive separately from the caller's
    // one hash computation; bundling them would only add a struct to unpack.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: K,
        scope: Scope,
        stored: S,
        now: u64,
        expiry: Expiry,
    ) -> (u32, Option<Removed<K, S>>) {
        if let Some(index) = self.find(hash, &key, scope.tag()) {
            return (index, Some(self.replace(index, hash, key, scope, stored, now, expiry)));
        }
        let victim = if self.slab.len() >= self.capacity {
            self.evict_one(now, expiry)
        } else {
            None
        };
        self.dead_sweep.added(&scope);
        let index = self.slab.insert(Node {
            key,
            tag: scope.tag(),
            scope,
            hash,
            expires_at: AtomicU64::new(expiry.deadline(now, now).unwrap_or(u64::MAX)),
            stored,
            policy: PolicyState::new(),
            inserted_at: now,
            last_access: AtomicU64::new(now),
            refresh_at: AtomicU64::new(expiry.refresh_at(now)),
            ttl_links: Links::UNLINKED,
        });
        let slab = &self.slab;
        self.index.insert(hash, index, |i| slab.get(i).hash);
        let mut view = view(&mut self.slab, now, expiry);
        self.policy.admit(&mut view, index, hash);
        if expiry.ttl.is_some() {
            self.ttl_queue.push(&mut view, index);
        }
        self.counters.inserts += 1;
        (index, victim)
    }

    /// Puts a new value in place of the entry at `index` (same key and scope): it
    /// keeps its place in the policy, and the replacement counts as a read, as a
    /// lookup would; its times restart at `now`. Returns the old value to retire.
    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        index: u32,
        hash: u64,
        key: K,
        scope: Scope,
        stored: S,
        now: u64,
        expiry: Expiry,
    ) -> Removed<K, S> {
        let old = self.put_value(index, stored, now, expiry, RemovalCause::Replaced);
        let node = self.slab.get_mut(index);
        let old_key = std::mem::replace(&mut node.key, key);
        node.scope = scope;
        self.policy
            .replaced(&mut view(&mut self.slab, now, expiry), index, hash);
        Removed {
            key: old_key,
            stored: old,
            cause: RemovalCause::Replaced,
        }
    }

    /// Removes the entries under `key` in every scope.
    pub(crate) fn remove_all_scopes(&mut self, hash: u64, key: &K, removed: &mut Vec<Removed<K, S>>) {
        let matching: Vec<u32> = self
            .index
            .under(hash)
            .filter(|&index| self.slab.get(index).key == *key)
            .collect();
        for index in matching {
            removed.push(self.take(index, RemovalCause::Explicit));
        }
    }

    /// Removes every entry for which `why` gives a cause.
    pub(crate) fn remove_where(
        &mut self,
        mut why: impl FnMut(&Scope, u64, u64) -> Option<RemovalCause>,
        removed: &mut Vec<Removed<K, S>>,
    ) {
        for index in 0..self.slab.bound() {
            let Some(node) = self.slab.try_get(index) else {
                continue;
            };
            if let Some(cause) = why(&node.scope, node.inserted_at, node.last_access.load(RELAXED)) {
                removed.push(self.take(index, cause));
            }
        }
    }

    /// Removes entries whose time-to-live or time-to-idle has passed, or whose runtime is gone.
    pub(crate) fn remove_expired(&mut self, now: u64, expiry: Expiry, removed: &mut Vec<Removed<K, S>>) {
        self.remove_where(
            |scope, inserted_at, last_access| {
                if !scope.is_alive() {
                    return Some(RemovalCause::RuntimeGone);
                }
                expiry.check(inserted_at, last_access, now)
            },
            removed,
        );
    }

    pub(crate) fn take(&mut self, index: u32, cause: RemovalCause) -> Removed<K, S> {
        let hash = self.slab.get(index).hash;
        self.index.remove(hash, index);
        // Times do not matter for unlinking.
        let mut view = view(&mut self.slab, 0, Expiry::default());
        self.policy.remove(&mut view, index);
        if view.slab.get(index).ttl_links != Links::UNLINKED {
            self.ttl_queue.remove(&mut view, index);
        }
        let node = self.slab.remove(index);
        self.dead_sweep.removed(node.tag);
        self.counters.evictions.count(cause);
        Removed {
            key: node.key,
            stored: node.stored,
            cause,
        }
    }

    /// Picks and removes one victim: a shut-down runtime's entry if there is
    /// one, else an expired entry if there is one, else the policy's choice.
    fn evict_one(&mut self, now: u64, expiry: Expiry) -> Option<Removed<K, S>> {
        let slab = &self.slab;
        let dead = self.dead_sweep.next(runtime_scope::deaths(), slab.bound(), |slot| {
            slab.try_get(slot).is_some_and(|node| !node.scope.is_alive())
        });
        if let Some(index) = dead {
            return Some(self.take(index, RemovalCause::RuntimeGone));
        }
        let mut view = view(&mut self.slab, now, expiry);
        if expiry.ttl.is_some()
            && let Some(index) = self.ttl_queue.due(&view, now)
        {
            return Some(self.take(index, RemovalCause::Expired));
        }
        let index = self.policy.victim(&mut view)?;
        let node = self.slab.get(index);
        let cause = expiry
            .check(node.inserted_at, node.last_access.load(RELAXED), now)
            .unwrap_or(RemovalCause::Capacity);
        Some(self.take(index, cause))
    }

    /// Removes every entry (for `invalidate_all`, shutdown and drop).
    ///
    /// In one pass over the slab: the index, the policy's queues and the TTL
    /// queue are emptied whole rather than unlinked entry by entry (a shutdown
    /// of a large cache spent a fifth of its own work unlinking). The ghost list
    /// and the frequency sketch keep their history, as after removals one by one.
    pub(crate) fn clear(&mut self, removed: &mut Vec<Removed<K, S>>) {
        self.index.clear();
        self.policy.clear();
        self.ttl_queue.clear();
        self.dead_sweep.cleared();
        let cause = RemovalCause::Explicit;
        removed.reserve(self.slab.len());
        let counters = &mut self.counters;
        self.slab.drain(|node| {
            counters.evictions.count(cause);
            removed.push(Removed {
                key: node.key,
                stored: node.stored,
                cause,
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl() -> Expiry {
        Expiry {
            ttl: Some(1_000),
            ..Expiry::default()
        }
    }

    fn hash(key: u64) -> u64 {
        key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn a_clear_removes_every_entry_and_leaves_a_shard_that_fills_and_evicts_again() {
        let mut shard = Shard::<u64, u64>::new(40);
        let mut removed = Vec::new();
        for key in 0..100 {
            shard.insert(hash(key), key, Scope::NONE, key, key, ttl());
        }
        let held: Vec<u64> = (0..100)
            .filter(|&key| shard.find(hash(key), &key, 0).is_some())
            .collect();
        assert_eq!(held.len(), 40);
        shard.clear(&mut removed);
        let mut cleared: Vec<u64> = removed.iter().map(|r| r.key).collect();
        cleared.sort_unstable();
        assert_eq!(cleared, held, "every held entry, once");
        assert!(
            removed
                .iter()
                .all(|r| r.cause == RemovalCause::Explicit && r.stored == r.key)
        );
        assert_eq!(shard.counters().evictions.explicit, 40);
        assert_eq!(shard.len(), 0);
        assert!((0..100).all(|key| shard.find(hash(key), &key, 0).is_none()));
        // The queues were emptied with the slab: refilled past capacity, the
        // shard evicts only what it holds (a queue still naming a drained slot
        // would evict a new entry's slot under the old one's links, or panic).
        removed.clear();
        for key in 100..300 {
            removed.extend(shard.insert(hash(key), key, Scope::NONE, key, 1_000 + key, ttl()).1);
            assert_eq!(shard.len(), (key as usize - 99).min(40));
        }
        assert_eq!(removed.len(), 200 - 40);
        assert!(removed.iter().all(|r| (100..300).contains(&r.key) && r.stored == r.key));
        let present = (100..300)
            .filter(|&key| shard.find(hash(key), &key, 0).is_some())
            .count();
        assert_eq!(present, 40);
        // Expiry still finds the refilled entries through the emptied TTL queue.
        removed.clear();
        shard.remove_expired(u64::MAX, ttl(), &mut removed);
        assert_eq!(removed.len(), 40);
        assert_eq!(shard.len(), 0);
    }

    #[test]
    fn a_full_shard_stays_full_and_consistent() {
        let mut shard = Shard::<u64, u64>::new(78);
        let mut removed = Vec::new();
        for key in 0..500 {
            removed.extend(shard.insert(hash(key), key, Scope::NONE, key, key, ttl()).1);
            assert_eq!(shard.len(), (key as usize + 1).min(78));
        }
        assert_eq!(removed.len(), 500 - 78);
        let present = (0..500).filter(|&key| shard.find(hash(key), &key, 0).is_some()).count();
        assert_eq!(present, 78);
    }

    #[test]
    fn a_replacement_keeps_its_slot_and_voids_a_refresh_of_the_old_value() {
        let mut shard = Shard::<u64, &str>::new(4);
        let mut removed = Vec::new();
        let (index, none) = shard.insert(hash(1), 1, Scope::NONE, "old", 0, ttl());
        assert!(none.is_none());
        let in_flight = shard.slab.id(index);
        let (again, old) = shard.insert(hash(1), 1, Scope::NONE, "new", 5, ttl());
        removed.extend(old);
        assert_eq!(again, index);
        assert_eq!(shard.len(), 1);
        assert_eq!(removed.len(), 1);
        assert_eq!((removed[0].stored, removed[0].cause), ("old", RemovalCause::Replaced));
        assert_eq!(*shard.stored(index), "new");
        // A refresh of the old value finds it gone and hands its result back.
        assert!(matches!(
            shard.swap_refreshed(in_flight, "refreshed", 6, ttl()),
            Err("refreshed")
        ));
        assert_eq!(*shard.stored(index), "new");
        // The replacement restarted the time-to-live.
        let mut removed = Vec::new();
        shard.remove_expired(1_000, ttl(), &mut removed);
        assert!(removed.is_empty());
        shard.remove_expired(1_005, ttl(), &mut removed);
        assert_eq!(removed.len(), 1);
    }

    #[test]
    fn a_stale_entry_refreshed_or_replaced_before_it_is_taken_is_left_alone() {
        let mut shard = Shard::<u64, &str>::new(4);
        let (index, _) = shard.insert(hash(1), 1, Scope::NONE, "old", 0, ttl());
        // What a lookup that found "old" expired holds while it waits for the write lock.
        let seen_stale = shard.slab.id(index);
        let refreshing = shard.slab.id(index);
        assert!(shard.swap_refreshed(refreshing, "refreshed", 1, ttl()).is_ok());
        assert!(shard.take_stale(seen_stale, RemovalCause::Expired).is_none());
        let seen_stale = shard.slab.id(index);
        let (_, replaced) = shard.insert(hash(1), 1, Scope::NONE, "new", 2, ttl());
        assert!(replaced.is_some());
        assert!(shard.take_stale(seen_stale, RemovalCause::Expired).is_none());
        assert_eq!(*shard.stored(index), "new");
        let current = shard.slab.id(index);
        let taken = shard
            .take_stale(current, RemovalCause::Expired)
            .expect("still the same entry");
        assert_eq!(taken.stored, "new");
        assert_eq!(shard.len(), 0);
    }
}
