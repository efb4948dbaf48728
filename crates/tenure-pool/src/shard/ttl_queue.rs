//! The expiry queue: entries in time-to-live order, so the entry whose time to
//! live ends first is found in O(1).
//!
//! Every entry of a cache has the same time-to-live, so insertion order is
//! deadline order; an entry whose times restart (a refresh, a replacement) moves
//! to the back. The queue is intrusive ([`List`]): 8 bytes per entry, nothing
//! stale to skip.

use super::list::{Linked, Links, List};

/// The entries the queue orders, seen through what it needs of them.
pub(super) trait Deadlines {
    /// The queue's links in the live entry at `index`.
    fn ttl_links(&mut self, index: u32) -> &mut Links;
    /// When the live entry at `index` reaches its time-to-live.
    fn ttl_deadline(&self, index: u32) -> u64;
}

struct Queue<'a, D>(&'a mut D);

impl<D: Deadlines> Linked for Queue<'_, D> {
    fn links(&mut self, index: u32) -> &mut Links {
        self.0.ttl_links(index)
    }
}

/// Entries with a time-to-live, earliest deadline first.
#[derive(Debug)]
pub(super) struct TtlQueue {
    list: List,
}

impl TtlQueue {
    /// An empty queue.
    pub(super) const fn new() -> Self {
        Self { list: List::new() }
    }

    /// Appends an entry whose deadline is no earlier than any queued one's.
    pub(super) fn push(&mut self, entries: &mut impl Deadlines, index: u32) {
        self.list.push_back(&mut Queue(entries), index);
    }

    /// Takes a queued entry out.
    pub(super) fn remove(&mut self, entries: &mut impl Deadlines, index: u32) {
        self.list.remove(&mut Queue(entries), index);
    }

    /// Moves a queued entry whose deadline moved later to the back.
    pub(super) fn requeue(&mut self, entries: &mut impl Deadlines, index: u32) {
        self.remove(entries, index);
        self.push(entries, index);
    }

    /// The entry with the earliest deadline, if that deadline is at or before `now`.
    pub(super) fn due(&self, entries: &impl Deadlines, now: u64) -> Option<u32> {
        self.list.front().filter(|&index| entries.ttl_deadline(index) <= now)
    }

    /// Forgets every entry.
    pub(super) fn clear(&mut self) {
        self.list.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Entries(Vec<(Links, u64)>);

    impl Deadlines for Entries {
        fn ttl_links(&mut self, index: u32) -> &mut Links {
            &mut self.0[index as usize].0
        }
        fn ttl_deadline(&self, index: u32) -> u64 {
            self.0[index as usize].1
        }
    }

    #[test]
    fn the_earliest_deadline_is_due_first_and_requeued_entries_wait() {
        let mut entries = Entries((0..3).map(|i| (Links::UNLINKED, 10 * (i + 1))).collect());
        let mut queue = TtlQueue::new();
        for i in 0..3 {
            queue.push(&mut entries, i);
        }
        assert_eq!(queue.due(&entries, 9), None);
        assert_eq!(queue.due(&entries, 10), Some(0));
        // 0 restarts its time: it goes behind 2.
        entries.0[0].1 = 40;
        queue.requeue(&mut entries, 0);
        assert_eq!(queue.due(&entries, 25), Some(1));
        queue.remove(&mut entries, 1);
        assert_eq!(queue.due(&entries, 25), None);
        assert_eq!(queue.due(&entries, 30), Some(2));
        queue.remove(&mut entries, 2);
        assert_eq!(queue.due(&entries, 100), Some(0));
        queue.clear();
        assert_eq!(queue.due(&entries, 100), None);
    }
}
