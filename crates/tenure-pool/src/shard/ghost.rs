//! The ghost list: hashes of keys recently evicted from the small queue, so a key
//! that comes back soon after goes straight to the main queue.
//!
//! A bounded FIFO of hashes with a hash set beside it for O(1) membership. Only
//! hashes are kept: a collision readmits a different key to main, which costs
//! at most one misplaced entry, never a wrong value.

use std::collections::VecDeque;

use hashbrown::HashTable;

/// Recently evicted hashes, oldest first, at most `capacity` of them.
#[derive(Debug)]
pub(super) struct Ghost {
    fifo: VecDeque<u64>,
    set: HashTable<u64>,
    capacity: usize,
}

impl Ghost {
    /// A ghost list that remembers at most `capacity` hashes (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            fifo: VecDeque::new(),
            set: HashTable::new(),
            capacity: capacity.max(1),
        }
    }

    /// How many hashes are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.fifo.len()
    }

    /// Remembers `hash`, forgetting the oldest beyond the capacity.
    pub(super) fn remember(&mut self, hash: u64) {
        if self.set.find(hash, |&h| h == hash).is_some() {
            return;
        }
        self.set.insert_unique(hash, hash, |&h| h);
        self.fifo.push_back(hash);
        while self.fifo.len() > self.capacity {
            if let Some(old) = self.fifo.pop_front()
                && let Ok(entry) = self.set.find_entry(old, |&h| h == old)
            {
                entry.remove();
            }
        }
    }

    /// Whether `hash` is remembered; it is forgotten either way.
    ///
    /// The FIFO keeps its copy until it reaches the front; `remember` finds it
    /// gone from the set then and removes nothing else.
    pub(super) fn forget(&mut self, hash: u64) -> bool {
        match self.set.find_entry(hash, |&h| h == hash) {
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
    }
}
