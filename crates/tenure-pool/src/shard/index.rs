//! The shard's hash index: from a key's hash to the slab indices of its entries.
//!
//! It stores only `u32` slab indices; the caller compares keys (through the slab)
//! and supplies the hash it computed once per lookup, so nothing is hashed twice.

use hashbrown::HashTable;

/// Slab indices by hash.
#[derive(Debug)]
pub(super) struct Index {
    table: HashTable<u32>,
}

impl Index {
    /// An index with room for `capacity` entries before it reallocates.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            table: HashTable::with_capacity(capacity),
        }
    }

    /// The first index under `hash` for which `is_match` holds.
    #[inline]
    pub(super) fn find(&self, hash: u64, mut is_match: impl FnMut(u32) -> bool) -> Option<u32> {
        self.table.find(hash, |&index| is_match(index)).copied()
    }

    /// Every index stored under `hash` (entries whose hashes collide included).
    pub(super) fn under(&self, hash: u64) -> impl Iterator<Item = u32> + '_ {
        self.table.iter_hash(hash).copied()
    }

    /// Adds `index` under `hash`; `hash_of` gives the hash of any stored index, for
    /// when the table rearranges itself.
    pub(super) fn insert(&mut self, hash: u64, index: u32, hash_of: impl Fn(u32) -> u64) {
        self.table.insert_unique(hash, index, |&i| hash_of(i));
    }

    /// Removes every index, keeping the table's allocation.
    pub(super) fn clear(&mut self) {
        self.table.clear();
    }

    /// Removes `index` from under `hash`; whether it was there.
    pub(super) fn remove(&mut self, hash: u64, index: u32) -> bool {
        match self.table.find_entry(hash, |&i| i == index) {
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
    fn finds_removes_and_keeps_collisions_apart() {
        // `under` may also yield indices of other hashes (it filters by a 7-bit
        // tag), so callers compare keys; the test filters by the full hash.
        let (a, b) = (0x1000_0000_0000_0010_u64, 0x2000_0000_0000_0020_u64);
        let hashes = [a, a, b];
        let mut index = Index::with_capacity(2);
        for (i, &hash) in hashes.iter().enumerate() {
            index.insert(hash, i as u32, |i| hashes[i as usize]);
        }
        assert_eq!(index.find(a, |i| i == 1), Some(1));
        assert_eq!(index.find(b, |_| true), Some(2));
        assert_eq!(index.find(0x3000_0000_0000_0030, |_| true), None);
        let mut colliding: Vec<u32> = index.under(a).filter(|&i| hashes[i as usize] == a).collect();
        colliding.sort_unstable();
        assert_eq!(colliding, [0, 1]);
        assert!(index.remove(a, 0));
        assert!(!index.remove(a, 0));
        assert_eq!(
            index.under(a).filter(|&i| hashes[i as usize] == a).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(index.find(a, |i| i == 0), None);
    }
}
