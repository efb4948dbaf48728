//! One shard of the cache: a hash table of slab nodes plus the eviction policy.
//!
//! The policy is S3-FIFO (Yang et al., SOSP 2023): new keys enter a small FIFO
//! (a tenth of the shard); a key read again before it reaches the small queue's
//! end moves to the main FIFO, anything else is evicted and its hash remembered in
//! a ghost FIFO, so a key that comes back soon after goes straight to main. Main
//! gives each entry as many second chances as it had reads (up to 3). A hit only
//! bumps a small counter, never reorders a list, and one-hit wonders leave early:
//! higher hit ratios than LRU on skewed workloads, at lower cost per hit.
//!
//! Expiry comes first: before the policy picks a victim, an entry whose
//! time-to-live has passed is evicted (entries enter the TTL queue in deadline
//! order, since every entry has the same TTL), and a policy candidate that has
//! been idle past its time-to-idle is evicted without a second chance.
//!
//! Queues hold `(index, generation)` references and skip stale ones lazily; a queue
//! that grows past twice the capacity through removals is compacted.

use std::collections::VecDeque;

use hashbrown::HashTable;

use crate::{
    Scope,
    clock::Reading,
    expiry::Expiry,
    stats::{RemovalCause, ShardCounters},
};

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
    /// An entry at this slab index that has expired, and why: take it with
    /// [`Shard::take`] and retire it.
    Stale(u32, RemovalCause),
    /// A live entry that is due for a refresh, now marked as refreshing: serve it,
    /// and build its replacement for [`Shard::swap_refreshed`] (or give up with
    /// [`Shard::refresh_failed`]).
    Refresh(EntryId),
}

/// A slab index with its generation: one particular entry, even after its slot
/// is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryId {
    pub(crate) index: u32,
    generation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ref {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
struct Node<K, S> {
    key: K,
    /// `scope.tag()`, kept inline so a probe compares two integers.
    tag: u64,
    scope: Scope,
    hash: u64,
    /// When the entry expires, given its insertion and last use (`u64::MAX`: never).
    expires_at: u64,
    stored: S,
    freq: u8,
    in_main: bool,
    inserted_at: u64,
    last_access: u64,
    /// When a lookup should start building a replacement (`u64::MAX`: never).
    refresh_at: u64,
    /// A replacement is being built; no other lookup starts one.
    refreshing: bool,
}

#[derive(Debug)]
struct SlabSlot<K, S> {
    generation: u32,
    node: Option<Node<K, S>>,
}

const MAX_FREQ: u8 = 3;

#[derive(Debug)]
pub(crate) struct Shard<K, S> {
    table: HashTable<u32>,
    slots: Vec<SlabSlot<K, S>>,
    free: Vec<u32>,
    small: VecDeque<Ref>,
    main: VecDeque<Ref>,
    ghost: VecDeque<u64>,
    ghost_set: HashTable<u64>,
    ttl_queue: VecDeque<(u64, Ref)>,
    len: usize,
    small_len: usize,
    capacity: usize,
    small_capacity: usize,
    ghost_capacity: usize,
    pub(crate) counters: ShardCounters,
}

impl<K: Eq, S> Shard<K, S> {
    pub(crate) fn new(capacity: usize) -> Self {
        let small_capacity = (capacity / 10).max(1);
        Self {
            table: HashTable::with_capacity(capacity),
            slots: Vec::with_capacity(capacity),
            free: Vec::new(),
            small: VecDeque::new(),
            main: VecDeque::new(),
            ghost: VecDeque::new(),
            ghost_set: HashTable::new(),
            ttl_queue: VecDeque::new(),
            len: 0,
            small_len: 0,
            capacity,
            small_capacity,
            ghost_capacity: (capacity - small_capacity).max(1),
            counters: ShardCounters::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn find(&self, hash: u64, key: &K, tag: u64) -> Option<u32> {
        let slots = &self.slots;
        self.table
            .find(hash, |&index| {
                slots[index as usize]
                    .node
                    .as_ref()
                    .is_some_and(|node| node.tag == tag && node.key == *key)
            })
            .copied()
    }

    fn node(&self, index: u32) -> &Node<K, S> {
        self.slots[index as usize]
            .node
            .as_ref()
            .expect("the table and queues only reach live slots")
    }

    fn node_mut(&mut self, index: u32) -> &mut Node<K, S> {
        self.slots[index as usize]
            .node
            .as_mut()
            .expect("the table and queues only reach live slots")
    }

    fn is_live(&self, entry: Ref) -> bool {
        let slot = &self.slots[entry.index as usize];
        slot.generation == entry.generation && slot.node.is_some()
    }

    /// The stored entry at a slab index from [`Lookup::Hit`].
    pub(crate) fn stored(&self, index: u32) -> &S {
        &self.node(index).stored
    }

    /// Looks a key up, counting a hit or a miss and removing it if it expired.
    pub(crate) fn get(&mut self, hash: u64, key: &K, tag: u64, time: &mut Reading<'_>, expiry: Expiry) -> Lookup {
        let Some(index) = self.find(hash, key, tag) else {
            self.counters.misses += 1;
            return Lookup::Miss;
        };
        let node = self.node_mut(index);
        if let Some(cause) = time.check(expiry, node.expires_at, node.inserted_at, node.last_access) {
            self.counters.misses += 1;
            return Lookup::Stale(index, cause);
        }
        // Write only what changes: a hot entry's node line then stays shared
        // between cores instead of bouncing on every hit.
        if node.freq < MAX_FREQ {
            node.freq += 1;
        }
        if expiry.tti.is_some() {
            let stamp = time.stamp();
            if stamp > node.last_access {
                node.last_access = stamp;
                node.expires_at = expiry.deadline(node.inserted_at, stamp).unwrap_or(u64::MAX);
            }
        }
        // Off (`u64::MAX`) unless `refresh_after` is set: then one comparison.
        let refresh = node.refresh_at != u64::MAX && !node.refreshing && time.reached(node.refresh_at);
        if refresh {
            node.refreshing = true;
        }
        self.counters.hits += 1;
        if refresh {
            let generation = self.slots[index as usize].generation;
            return Lookup::Refresh(EntryId { index, generation });
        }
        Lookup::Hit(index)
    }

    /// Puts a refreshed value in place of the entry `id`, which keeps its key,
    /// place in the policy and hit history; its times restart at `now`. Returns
    /// the old value to retire, or `stored` back if that entry is gone.
    pub(crate) fn swap_refreshed(
        &mut self,
        id: EntryId,
        stored: S,
        now: u64,
        expiry: Expiry,
    ) -> Result<Removed<K, S>, S>
    where
        K: Clone,
    {
        let live = Ref {
            index: id.index,
            generation: id.generation,
        };
        if !self.is_live(live) {
            return Err(stored);
        }
        let node = self.node_mut(id.index);
        let old = std::mem::replace(&mut node.stored, stored);
        node.inserted_at = now;
        node.last_access = now;
        node.expires_at = expiry.deadline(now, now).unwrap_or(u64::MAX);
        node.refresh_at = expiry.refresh_at(now);
        node.refreshing = false;
        let key = node.key.clone();
        if let Some(ttl) = expiry.ttl {
            // The entry's earlier record is recognised as stale by `evict_one`.
            self.ttl_queue.push_back((now.saturating_add(ttl), live));
        }
        self.counters.evictions.count(RemovalCause::Refreshed);
        self.compact();
        Ok(Removed {
            key,
            stored: old,
            cause: RemovalCause::Refreshed,
        })
    }

    /// A refresh of `id` failed: it serves on and is due again one period after `now`.
    pub(crate) fn refresh_failed(&mut self, id: EntryId, now: u64, expiry: Expiry) {
        let live = Ref {
            index: id.index,
            generation: id.generation,
        };
        if self.is_live(live) {
            let node = self.node_mut(id.index);
            node.refreshing = false;
            node.refresh_at = expiry.refresh_at(now);
        }
    }

    /// Inserts an entry, pushing what it displaced (an old value, a victim) to `removed`.
    /// Returns the new entry's slab index.
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
        removed: &mut Vec<Removed<K, S>>,
    ) -> u32 {
        if let Some(index) = self.find(hash, &key, scope.tag()) {
            removed.push(self.take(index, RemovalCause::Replaced));
        }
        if self.len >= self.capacity
            && let Some(victim) = self.evict_one(now, expiry)
        {
            removed.push(victim);
        }
        let to_main = self.forget_ghost(hash);
        let node = Node {
            key,
            tag: scope.tag(),
            scope,
            hash,
            expires_at: expiry.deadline(now, now).unwrap_or(u64::MAX),
            stored,
            freq: 0,
            in_main: to_main,
            inserted_at: now,
            last_access: now,
            refresh_at: expiry.refresh_at(now),
            refreshing: false,
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index as usize].node = Some(node);
                index
            }
            None => {
                let index = u32::try_from(self.slots.len()).expect("shard capacity fits in u32");
                self.slots.push(SlabSlot {
                    generation: 0,
                    node: Some(node),
                });
                index
            }
        };
        let entry = Ref {
            index,
            generation: self.slots[index as usize].generation,
        };
        let slots = &self.slots;
        self.table.insert_unique(hash, index, |&i| {
            slots[i as usize].node.as_ref().map_or(0, |node| node.hash)
        });
        self.len += 1;
        if to_main {
            self.main.push_back(entry);
        } else {
            self.small.push_back(entry);
            self.small_len += 1;
        }
        if let Some(ttl) = expiry.ttl {
            self.ttl_queue.push_back((now.saturating_add(ttl), entry));
        }
        self.counters.inserts += 1;
        self.compact();
        index
    }

    /// Removes the entries under `key` in every scope.
    pub(crate) fn remove_all_scopes(&mut self, hash: u64, key: &K, removed: &mut Vec<Removed<K, S>>) {
        let matching: Vec<u32> = self
            .table
            .iter_hash(hash)
            .copied()
            .filter(|&index| self.node(index).key == *key)
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
        for index in 0..self.slots.len() {
            let Some(node) = &self.slots[index].node else {
                continue;
            };
            if let Some(cause) = why(&node.scope, node.inserted_at, node.last_access) {
                let index = u32::try_from(index).expect("shard capacity fits in u32");
                removed.push(self.take(index, cause));
            }
        }
        self.compact();
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
        let slot = &mut self.slots[index as usize];
        let node = slot.node.take().expect("only live slots are taken");
        slot.generation = slot.generation.wrapping_add(1);
        if let Ok(entry) = self.table.find_entry(node.hash, |&i| i == index) {
            entry.remove();
        }
        self.free.push(index);
        self.len -= 1;
        if !node.in_main {
            self.small_len -= 1;
        }
        self.counters.evictions.count(cause);
        Removed {
            key: node.key,
            stored: node.stored,
            cause,
        }
    }

    /// Picks and removes one victim: an expired entry if there is one, else S3-FIFO's choice.
    fn evict_one(&mut self, now: u64, expiry: Expiry) -> Option<Removed<K, S>> {
        while let Some(&(deadline, entry)) = self.ttl_queue.front() {
            if !self.is_live(entry) {
                self.ttl_queue.pop_front();
                continue;
            }
            if deadline <= now {
                self.ttl_queue.pop_front();
                // A refreshed entry leaves its earlier record behind: skip it.
                let node = self.node(entry.index);
                if expiry.check(node.inserted_at, node.last_access, now) != Some(RemovalCause::Expired) {
                    continue;
                }
                return Some(self.take(entry.index, RemovalCause::Expired));
            }
            break;
        }
        // Each turn pops one reference; second chances are bounded by MAX_FREQ, so this ends.
        while self.len > 0 {
            let from_small =
                self.small_len > 0 && (self.small_len >= self.small_capacity || self.small_len == self.len);
            let queue = if from_small { &mut self.small } else { &mut self.main };
            let entry = queue.pop_front()?;
            if !self.is_live(entry) || self.node(entry.index).in_main == from_small {
                continue;
            }
            let node = self.node_mut(entry.index);
            if let Some(cause) = expiry.check(node.inserted_at, node.last_access, now) {
                return Some(self.take(entry.index, cause));
            }
            if from_small {
                if node.freq > 0 {
                    node.freq = 0;
                    node.in_main = true;
                    self.small_len -= 1;
                    self.main.push_back(entry);
                    continue;
                }
                let hash = node.hash;
                self.remember_ghost(hash);
            } else if node.freq > 0 {
                node.freq -= 1;
                self.main.push_back(entry);
                continue;
            }
            return Some(self.take(entry.index, RemovalCause::Capacity));
        }
        None
    }

    fn remember_ghost(&mut self, hash: u64) {
        if self.ghost_set.find(hash, |&h| h == hash).is_some() {
            return;
        }
        self.ghost_set.insert_unique(hash, hash, |&h| h);
        self.ghost.push_back(hash);
        while self.ghost.len() > self.ghost_capacity {
            if let Some(old) = self.ghost.pop_front()
                && let Ok(entry) = self.ghost_set.find_entry(old, |&h| h == old)
            {
                entry.remove();
            }
        }
    }

    /// Whether `hash` was recently evicted from the small queue (and forgets it).
    fn forget_ghost(&mut self, hash: u64) -> bool {
        match self.ghost_set.find_entry(hash, |&h| h == hash) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Drops stale references once they outnumber the live ones, keeping queues bounded.
    fn compact(&mut self) {
        let limit = 2 * self.capacity + 16;
        let slots = &self.slots;
        let live_in = |entry: &Ref, main: bool| {
            let slot = &slots[entry.index as usize];
            slot.generation == entry.generation && slot.node.as_ref().is_some_and(|node| node.in_main == main)
        };
        if self.small.len() > limit {
            self.small.retain(|entry| live_in(entry, false));
        }
        if self.main.len() > limit {
            self.main.retain(|entry| live_in(entry, true));
        }
        if self.ttl_queue.len() > limit {
            self.ttl_queue.retain(|(_, entry)| {
                let slot = &slots[entry.index as usize];
                slot.generation == entry.generation && slot.node.is_some()
            });
        }
    }

    /// Removes every entry (for `invalidate_all`, shutdown and drop).
    pub(crate) fn clear(&mut self, removed: &mut Vec<Removed<K, S>>) {
        self.remove_where(|_, _, _| Some(RemovalCause::Explicit), removed);
        self.small.clear();
        self.main.clear();
        self.ttl_queue.clear();
    }
}
