//! The eviction policy: S3-FIFO (Yang et al., SOSP 2023) with frequency-gated
//! admission to main.
//!
//! New keys enter a small FIFO of [`SMALL_CAPACITY`] entry. A key read again
//! before the shard's next miss pushes it out moves to the main FIFO; anything
//! else is evicted and its hash remembered in the [ghost list](super::ghost)
//! (nine tenths of the shard's capacity, counted in entries), so a key that comes
//! back soon after goes straight to main. The ghost list, not the small queue,
//! is where a new key proves itself: it costs no cache space. Main gives each entry as many second
//! chances as it had reads (up to [`MAX_FREQ`]). A hit only bumps a small counter
//! ([`PolicyState::touch`]) and never reorders a list.
//!
//! Once main holds its share, a key moving there (from small, or back from the
//! ghost list) must have come more often lately than main's next victim, by the
//! shard's [frequency sketch](super::sketch) (as in TinyLFU, Einziger et al.);
//! otherwise the small-queue key is evicted, and a returning ghost starts in
//! small. This keeps a loop slightly larger than the cache from flushing main
//! over and over. The sketch is written on inserts and when main's clock hand
//! spends an entry's reads, never on a hit.

use std::sync::atomic::Ordering;

use super::{
    ghost::Ghost,
    list::{Linked, Links, List},
    sketch::Sketch,
};
use crate::sync::AtomicU8;

/// Reads counted per entry; each buys one second chance in main.
pub(super) const MAX_FREQ: u8 = 3;
/// Entries the small queue holds. S3-FIFO's paper gives it 10% of the cache;
/// with the ghost list and the admission gate in place, every entry it holds is
/// one a loop slightly larger than the shard cannot keep. On every workload of
/// `tenure-bench`'s hit-ratio table (scans and popularity shifts included) one
/// entry kept as many hits as 3% of the shard, to within the run-to-run spread
/// (±0.002: the hasher is seeded per cache), and more on loops. Caffeine-style
/// hill climbing of this size was tried and lost hits to sampling noise.
const SMALL_CAPACITY: usize = 1;
/// How many evicted hashes the ghost list keeps, against the shard's capacity.
const GHOST_PERCENT: usize = 90;

/// What the policy keeps in each entry.
#[derive(Debug)]
pub(super) struct PolicyState {
    /// Reads since the entry last spent one, capped at `MAX_FREQ`. Lookups raise
    /// it under the shard's read lock; two racing lookups may count one read.
    freq: AtomicU8,
    in_main: bool,
    links: Links,
}

impl PolicyState {
    /// The state of an entry not yet admitted.
    pub(super) fn new() -> Self {
        Self {
            freq: AtomicU8::new(0),
            in_main: false,
            links: Links::UNLINKED,
        }
    }

    /// Counts a read. Writes only while the count is below its cap, so a hot
    /// entry's line stays shared between cores.
    #[inline]
    pub(super) fn touch(&self) {
        let freq = self.freq();
        if freq < MAX_FREQ {
            self.freq.store(freq + 1, Ordering::Relaxed);
        }
    }

    #[inline]
    fn freq(&self) -> u8 {
        self.freq.load(Ordering::Relaxed)
    }

    fn set_freq(&mut self, freq: u8) {
        self.freq.store(freq, Ordering::Relaxed);
    }
}

/// The entries the policy orders, seen through what it needs of them.
pub(super) trait Residents {
    /// The policy state of the live entry at `index`.
    fn policy(&mut self, index: u32) -> &mut PolicyState;
    /// The hash of the live entry at `index`, for the ghost list.
    fn hash(&self, index: u32) -> u64;
    /// Whether the entry at `index` must go now, without a second chance
    /// (it is past its time-to-idle or time-to-live).
    fn doomed(&self, index: u32) -> bool;
}

/// The policy's links, for the queues.
struct Queues<'a, R>(&'a mut R);

impl<R: Residents> Linked for Queues<'_, R> {
    fn links(&mut self, index: u32) -> &mut Links {
        &mut self.0.policy(index).links
    }
}

/// The small and main queues, the ghost list and the frequency sketch of one shard.
#[derive(Debug)]
pub(super) struct S3Fifo {
    small: List,
    main: List,
    main_capacity: usize,
    ghost: Ghost,
    sketch: Sketch,
}

impl S3Fifo {
    /// The policy of a shard holding at most `capacity` entries.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            small: List::new(),
            main: List::new(),
            main_capacity: capacity.saturating_sub(SMALL_CAPACITY).max(1),
            ghost: Ghost::new(capacity * GHOST_PERCENT / 100),
            sketch: Sketch::new(capacity),
        }
    }

    /// Queues a new entry: in main if its hash is in the ghost list (and, when
    /// main is full, it has come more often lately than main's next victim),
    /// else in small.
    pub(super) fn admit(&mut self, residents: &mut impl Residents, index: u32, hash: u64) {
        self.sketch.record(hash);
        let to_main = self.ghost.forget(hash) && self.main_admits(residents, hash, 0);
        let state = residents.policy(index);
        *state = PolicyState::new();
        state.in_main = to_main;
        let queue = if to_main { &mut self.main } else { &mut self.small };
        queue.push_back(&mut Queues(residents), index);
    }

    /// Counts a replacement of the entry at `index` as a read.
    pub(super) fn replaced(&mut self, residents: &mut impl Residents, index: u32, hash: u64) {
        self.sketch.record(hash);
        residents.policy(index).touch();
    }

    /// Whether a candidate for main (`hash`, with `reads` not yet in the sketch)
    /// beats main's next victim; always while main is below its share.
    fn main_admits(&mut self, residents: &mut impl Residents, hash: u64, reads: u8) -> bool {
        if self.main.len() < self.main_capacity {
            return true;
        }
        let Some(victim) = self.main_victim(residents) else {
            return true;
        };
        if residents.doomed(victim) {
            return true;
        }
        let victim = self.sketch.estimate(residents.hash(victim));
        self.sketch.estimate(hash).saturating_add(reads) > victim
    }

    /// Turns main's clock until its front entry has no second chance left (or
    /// must go anyway), crediting the reads spent to the sketch; returns it.
    fn main_victim(&mut self, residents: &mut impl Residents) -> Option<u32> {
        loop {
            let index = self.main.front()?;
            if residents.doomed(index) {
                return Some(index);
            }
            let state = residents.policy(index);
            let freq = state.freq();
            if freq == 0 {
                return Some(index);
            }
            state.set_freq(freq - 1);
            let hash = residents.hash(index);
            self.sketch.record(hash);
            self.main.pop_front(&mut Queues(residents));
            self.main.push_back(&mut Queues(residents), index);
        }
    }

    /// Takes an entry that is leaving the shard out of its queue.
    pub(super) fn remove(&mut self, residents: &mut impl Residents, index: u32) {
        let queue = if residents.policy(index).in_main {
            &mut self.main
        } else {
            &mut self.small
        };
        queue.remove(&mut Queues(residents), index);
    }

    /// Picks the next victim, giving second chances on the way; the victim is
    /// still queued (the caller removes it through [`Self::remove`]).
    pub(super) fn victim(&mut self, residents: &mut impl Residents) -> Option<u32> {
        // Each turn moves one entry from small to main or returns; main's clock
        // turns are bounded by MAX_FREQ per entry, so this ends.
        loop {
            let total = self.small.len() + self.main.len();
            if total == 0 {
                return None;
            }
            let from_small = self.small.len() > 0 && (self.small.len() >= SMALL_CAPACITY || self.small.len() == total);
            if !from_small {
                return self.main_victim(residents);
            }
            let index = self.small.front()?;
            if residents.doomed(index) {
                return Some(index);
            }
            let freq = residents.policy(index).freq();
            let hash = residents.hash(index);
            let promote = freq > 0 && self.main_admits(residents, hash, freq);
            if !promote {
                self.ghost.remember(hash);
                return Some(index);
            }
            for _ in 0..freq {
                self.sketch.record(hash);
            }
            self.small.pop_front(&mut Queues(residents));
            let state = residents.policy(index);
            state.set_freq(0);
            state.in_main = true;
            self.main.push_back(&mut Queues(residents), index);
        }
    }

    /// Forgets every queued entry (the ghost list and sketch stay).
    pub(super) fn clear(&mut self) {
        self.small.clear();
        self.main.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash of test entry `index`.
    fn h(index: u32) -> u64 {
        u64::from(index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Entries 0..n with hash `h(index)`; `doomed` ones must go.
    struct Entries {
        states: Vec<PolicyState>,
        doomed: Vec<bool>,
    }

    impl Entries {
        fn new(n: usize) -> Self {
            Self {
                states: (0..n).map(|_| PolicyState::new()).collect(),
                doomed: vec![false; n],
            }
        }
    }

    impl Residents for Entries {
        fn policy(&mut self, index: u32) -> &mut PolicyState {
            &mut self.states[index as usize]
        }
        fn hash(&self, index: u32) -> u64 {
            h(index)
        }
        fn doomed(&self, index: u32) -> bool {
            self.doomed[index as usize]
        }
    }

    fn evict(policy: &mut S3Fifo, entries: &mut Entries) -> u32 {
        let victim = policy.victim(entries).expect("a victim");
        policy.remove(entries, victim);
        victim
    }

    #[test]
    fn one_hit_wonders_leave_through_small_and_read_ones_stay() {
        let mut entries = Entries::new(20);
        let mut policy = S3Fifo::new(10); // small queue: 1
        for i in 0..10 {
            policy.admit(&mut entries, i, h(i));
        }
        entries.policy(0).touch();
        // 0 was read: it moves to main; 1 was not: it goes, remembered as a ghost.
        assert_eq!(evict(&mut policy, &mut entries), 1);
        assert!(entries.states[0].in_main);
        // 1 comes back: straight to main.
        policy.admit(&mut entries, 1, h(1));
        assert!(entries.states[1].in_main);
    }

    #[test]
    fn main_gives_one_second_chance_per_read_up_to_the_cap() {
        let mut entries = Entries::new(2);
        let mut policy = S3Fifo::new(40);
        // Both were evicted from small lately: they come back straight to main.
        for i in 0..2 {
            policy.ghost.remember(h(i));
            policy.admit(&mut entries, i, h(i));
            assert!(entries.states[i as usize].in_main);
        }
        entries.policy(0).touch();
        for _ in 0..(MAX_FREQ + 2) {
            entries.policy(1).touch();
        }
        assert_eq!(entries.states[1].freq(), MAX_FREQ, "the count stops at its cap");
        // 0 spends its one chance, 1 one of its three; then 0 goes.
        assert_eq!(evict(&mut policy, &mut entries), 0);
        assert_eq!(entries.states[1].freq(), MAX_FREQ - 1);
        assert_eq!(evict(&mut policy, &mut entries), 1);
        assert_eq!(policy.victim(&mut entries), None);
    }

    #[test]
    fn a_doomed_entry_gets_no_second_chance() {
        let mut entries = Entries::new(3);
        let mut policy = S3Fifo::new(10);
        policy.admit(&mut entries, 0, h(0));
        policy.admit(&mut entries, 1, h(1));
        entries.policy(0).touch();
        entries.doomed[0] = true;
        assert_eq!(evict(&mut policy, &mut entries), 0);
        // A doomed entry is not remembered as a ghost.
        policy.admit(&mut entries, 0, h(0));
        assert!(!entries.states[0].in_main);
    }

    #[test]
    fn a_loop_one_larger_than_the_shard_keeps_all_but_the_small_queue() {
        // Keys 0..101 over and over through a shard of 100, each looked up and
        // inserted on a miss: main keeps nearly all of its 99 and the small
        // queue's one entry turns over, so at least 98 lookups in 101 hit (a
        // small queue of 3% of the shard would leave at most 97).
        let mut entries = Entries::new(101);
        let mut policy = S3Fifo::new(100);
        let mut resident = [false; 101];
        let (mut hits, mut lookups) = (0, 0);
        for round in 0..200 {
            for key in 0..101_u32 {
                let hit = resident[key as usize];
                if hit {
                    entries.policy(key).touch();
                } else {
                    if resident.iter().filter(|&&r| r).count() == 100 {
                        resident[evict(&mut policy, &mut entries) as usize] = false;
                    }
                    policy.admit(&mut entries, key, h(key));
                    resident[key as usize] = true;
                }
                if round >= 100 {
                    lookups += 1;
                    hits += u32::from(hit);
                }
            }
        }
        assert!(hits * 101 >= lookups * 98, "{hits} hits in {lookups} lookups");
    }

    /// A policy of capacity 10 (small 1, main 9) whose main is full of entries
    /// 0..9, each seen once.
    fn full_main(entries: &mut Entries) -> S3Fifo {
        let mut policy = S3Fifo::new(10);
        for i in 0..9 {
            policy.ghost.remember(h(i));
            policy.admit(entries, i, h(i));
            assert!(entries.states[i as usize].in_main);
        }
        policy
    }

    #[test]
    fn a_returning_ghost_enters_a_full_main_only_if_seen_more_than_its_victim() {
        let mut entries = Entries::new(12);
        let mut policy = full_main(&mut entries);
        // Seen as often as main's next victim (once): it starts in small.
        policy.ghost.remember(h(9));
        policy.admit(&mut entries, 9, h(9));
        assert!(!entries.states[9].in_main);
        // Seen more often lately: it goes to main.
        for _ in 0..3 {
            policy.sketch.record(h(10));
        }
        policy.ghost.remember(h(10));
        policy.admit(&mut entries, 10, h(10));
        assert!(entries.states[10].in_main);
    }

    #[test]
    fn a_read_small_entry_is_evicted_if_main_is_full_of_more_frequent_ones() {
        let mut entries = Entries::new(12);
        let mut policy = full_main(&mut entries);
        for i in 0..9 {
            for _ in 0..4 {
                policy.sketch.record(h(i));
            }
        }
        policy.admit(&mut entries, 9, h(9));
        entries.policy(9).touch();
        // Read once, seen once: not more than main's victim (seen five times).
        assert_eq!(evict(&mut policy, &mut entries), 9);
        // Seen often lately and read: it takes the place of main's victim.
        for _ in 0..8 {
            policy.sketch.record(h(10));
        }
        policy.admit(&mut entries, 10, h(10));
        entries.policy(10).touch();
        assert_eq!(evict(&mut policy, &mut entries), 0);
        assert!(entries.states[10].in_main);
    }
}
