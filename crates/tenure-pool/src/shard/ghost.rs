//! The ghost list: hashes of keys recently evicted from the small queue, so a key
//! that comes back soon after goes straight to the main queue.
//!
//! A bounded FIFO of hashes with a hash set beside it for O(1) membership. Only
//! hashes are kept: a collision readmits a different key to main, which costs
//! at most one misplaced entry, never a wrong value.

use std::collections::VecDeque;

use hashbrown::HashTable;

/// Recently evicted hashes, oldest first, at most `capacity` of them.
///
/// Each remembered hash carries a sequence number, in the FIFO and in the set,
/// so a forgotten hash's leftover FIFO record never removes a later one.
#[derive(Debug)]
pub(super) struct Ghost {
    fifo: VecDeque<(u64, u32)>,
    set: HashTable<(u64, u32)>,
    capacity: usize,
    sequence: u32,
}

impl Ghost {
    /// A ghost list that remembers at most `capacity` hashes (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            fifo: VecDeque::new(),
            set: HashTable::new(),
            capacity: capacity.max(1),
            sequence: 0,
        }
    }

    /// How many hashes are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.set.len()
    }

    /// Remembers `hash`, forgetting the oldest beyond the capacity.
    pub(super) fn remember(&mut self, hash: u64) {
        // One probe: a hash already remembered keeps its place.
        let hashbrown::hash_table::Entry::Vacant(vacant) = self.set.entry(hash, |&(h, _)| h == hash, |&(h, _)| h)
        else {
            return;
        };
        self.sequence = self.sequence.wrapping_add(1);
        let record = (hash, self.sequence);
        vacant.insert(record);
        self.fifo.push_back(record);
        while self.set.len() > self.capacity
            && let Some(old) = self.fifo.pop_front()
        {
            if let Ok(entry) = self.set.find_entry(old.0, |&r| r == old) {
                entry.remove();
            }
        }
        // Records of forgotten hashes: drop them once they outnumber the live ones.
        if self.fifo.len() > 2 * self.capacity + 16 {
            let set = &self.set;
            self.fifo
                .retain(|&record| set.find(record.0, |&r| r == record).is_some());
        }
    }

    /// Whether `hash` is remembered; it is forgotten either way.
    pub(super) fn forget(&mut self, hash: u64) -> bool {
        match self.set.find_entry(hash, |&(h, _)| h == hash) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_most_recent_up_to_capacity() {
        let mut ghost = Ghost::new(2);
        ghost.remember(1);
        ghost.remember(2);
        ghost.remember(2); // once only
        assert_eq!(ghost.len(), 2);
        ghost.remember(3); // forgets 1
        assert!(!ghost.forget(1));
        assert!(ghost.forget(3));
        assert!(!ghost.forget(3), "forgotten once found");
        assert!(ghost.forget(2));
        assert_eq!(ghost.len(), 0);
    }

    #[test]
    fn a_hash_forgotten_and_remembered_again_is_kept_as_new() {
        let mut ghost = Ghost::new(2);
        ghost.remember(1);
        assert!(ghost.forget(1));
        ghost.remember(1); // its old record is still first in the FIFO
        ghost.remember(2);
        ghost.remember(3); // one over: the oldest *live* record goes, which is 1's new one
        assert_eq!(ghost.len(), 2);
        assert!(ghost.forget(2));
        assert!(ghost.forget(3));
        for key in 10..100 {
            ghost.remember(key);
            ghost.forget(key);
        }
        assert!(ghost.fifo.len() <= 2 * 2 + 16, "forgotten records are dropped");
    }
}
