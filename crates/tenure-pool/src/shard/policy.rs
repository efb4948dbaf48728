//! The eviction policy: S3-FIFO (Yang et al., SOSP 2023).
//!
//! New keys enter a small FIFO (a tenth of the shard). A key read again before
//! it reaches the small queue's end moves to the main FIFO; anything else is
//! evicted and its hash remembered in the [ghost list](super::ghost), so a key that
//! comes back soon after goes straight to main. Main gives each entry as many
//! second chances as it had reads (up to [`MAX_FREQ`]). A hit only bumps a small
//! counter ([`PolicyState::touch`]) and never reorders a list.

use super::{
    ghost::Ghost,
    list::{Linked, Links, List},
};

/// Reads counted per entry; each buys one second chance in main.
pub(super) const MAX_FREQ: u8 = 3;

/// What the policy keeps in each entry.
#[derive(Debug)]
pub(super) struct PolicyState {
    freq: u8,
    in_main: bool,
    links: Links,
}

impl PolicyState {
    /// The state of an entry not yet admitted.
    pub(super) const fn new() -> Self {
        Self {
            freq: 0,
            in_main: false,
            links: Links::UNLINKED,
        }
    }

    /// Counts a read. Writes only while the count is below its cap, so a hot
    /// entry's line stays shared between cores.
    #[inline]
    pub(super) fn touch(&mut self) {
        if self.freq < MAX_FREQ {
            self.freq += 1;
        }
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

/// The small and main queues and the ghost list of one shard.
#[derive(Debug)]
pub(super) struct S3Fifo {
    small: List,
    main: List,
    small_capacity: usize,
    ghost: Ghost,
}

impl S3Fifo {
    /// The policy of a shard holding at most `capacity` entries.
    pub(super) fn new(capacity: usize) -> Self {
        let small_capacity = (capacity / 10).max(1);
        Self {
            small: List::new(),
            main: List::new(),
            small_capacity,
            ghost: Ghost::new(capacity.saturating_sub(small_capacity)),
        }
    }

    /// Queues a new entry: in main if its hash is in the ghost list, else in small.
    pub(super) fn admit(&mut self, residents: &mut impl Residents, index: u32, hash: u64) {
        let to_main = self.ghost.forget(hash);
        let state = residents.policy(index);
        *state = PolicyState::new();
        state.in_main = to_main;
        let queue = if to_main { &mut self.main } else { &mut self.small };
        queue.push_back(&mut Queues(residents), index);
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
        // Each turn moves or returns one entry; second chances are bounded by
        // MAX_FREQ per entry, so this ends.
        loop {
            let total = self.small.len() + self.main.len();
            if total == 0 {
                return None;
            }
            let from_small =
                self.small.len() > 0 && (self.small.len() >= self.small_capacity || self.small.len() == total);
            let queue = if from_small { &mut self.small } else { &mut self.main };
            let index = queue.front()?;
            if residents.doomed(index) {
                return Some(index);
            }
            let state = residents.policy(index);
            if state.freq == 0 {
                if from_small {
                    let hash = residents.hash(index);
                    self.ghost.remember(hash);
                }
                return Some(index);
            }
            queue.pop_front(&mut Queues(residents));
            let state = residents.policy(index);
            if from_small {
                state.freq = 0;
                state.in_main = true;
            } else {
                state.freq -= 1;
            }
            self.main.push_back(&mut Queues(residents), index);
        }
    }

    /// Forgets every queued entry (the ghost list stays).
    pub(super) fn clear(&mut self) {
        self.small.clear();
        self.main.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries 0..n with their hash equal to their index; `doomed` ones must go.
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
            u64::from(index)
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
            policy.admit(&mut entries, i, u64::from(i));
        }
        entries.policy(0).touch();
        // 0 was read: it moves to main; 1 was not: it goes, remembered as a ghost.
        assert_eq!(evict(&mut policy, &mut entries), 1);
        assert!(entries.states[0].in_main);
        // 1 comes back: straight to main.
        policy.admit(&mut entries, 1, 1);
        assert!(entries.states[1].in_main);
    }

    #[test]
    fn main_gives_one_second_chance_per_read_up_to_the_cap() {
        let mut entries = Entries::new(2);
        let mut policy = S3Fifo::new(40);
        // Both were evicted from small lately: they come back straight to main.
        for i in 0..2 {
            policy.ghost.remember(u64::from(i));
            policy.admit(&mut entries, i, u64::from(i));
            assert!(entries.states[i as usize].in_main);
        }
        entries.policy(0).touch();
        for _ in 0..(MAX_FREQ + 2) {
            entries.policy(1).touch();
        }
        assert_eq!(entries.states[1].freq, MAX_FREQ, "the count stops at its cap");
        // 0 spends its one chance, 1 one of its three; then 0 goes.
        assert_eq!(evict(&mut policy, &mut entries), 0);
        assert_eq!(entries.states[1].freq, MAX_FREQ - 1);
        assert_eq!(evict(&mut policy, &mut entries), 1);
        assert_eq!(policy.victim(&mut entries), None);
    }

    #[test]
    fn a_doomed_entry_gets_no_second_chance() {
        let mut entries = Entries::new(3);
        let mut policy = S3Fifo::new(10);
        policy.admit(&mut entries, 0, 0);
        policy.admit(&mut entries, 1, 1);
        entries.policy(0).touch();
        entries.doomed[0] = true;
        assert_eq!(evict(&mut policy, &mut entries), 0);
        // A doomed entry is not remembered as a ghost.
        policy.admit(&mut entries, 0, 0);
        assert!(!entries.states[0].in_main);
    }
}
