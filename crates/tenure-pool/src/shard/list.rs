//! Intrusive FIFO lists over slab indices: each entry carries its own links, so a
//! list costs 8 bytes per entry, removal from the middle is O(1), and no stale
//! reference is ever left behind to skip or compact.

/// The links of one entry in one list (meaningless while it is in none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Links {
    prev: u32,
    next: u32,
}

impl Links {
    /// Links of an entry in no list.
    pub(super) const UNLINKED: Self = Self {
        prev: u32::MAX,
        next: u32::MAX,
    };
}

/// Where a list finds the links of the entry at a slab index.
pub(super) trait Linked {
    /// The links of the entry at `index`, which the caller knows is live.
    fn links(&mut self, index: u32) -> &mut Links;
}

/// A circular, doubly linked FIFO of slab indices.
#[derive(Debug)]
pub(super) struct List {
    head: Option<u32>,
    len: usize,
}

impl List {
    /// An empty list.
    pub(super) const fn new() -> Self {
        Self { head: None, len: 0 }
    }

    /// How many entries are in the list.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The oldest entry.
    pub(super) fn front(&self) -> Option<u32> {
        self.head
    }

    /// Appends `index`, which must be in no list.
    pub(super) fn push_back(&mut self, nodes: &mut impl Linked, index: u32) {
        self.len += 1;
        let Some(head) = self.head else {
            *nodes.links(index) = Links {
                prev: index,
                next: index,
            };
            self.head = Some(index);
            return;
        };
        let tail = nodes.links(head).prev;
        *nodes.links(index) = Links { prev: tail, next: head };
        nodes.links(tail).next = index;
        nodes.links(head).prev = index;
    }

    /// Takes `index`, which must be in this list, out of it.
    pub(super) fn remove(&mut self, nodes: &mut impl Linked, index: u32) {
        let Links { prev, next } = std::mem::replace(nodes.links(index), Links::UNLINKED);
        self.len -= 1;
        if self.len == 0 {
            self.head = None;
            return;
        }
        nodes.links(prev).next = next;
        nodes.links(next).prev = prev;
        if self.head == Some(index) {
            self.head = Some(next);
        }
    }

    /// Takes the oldest entry out.
    pub(super) fn pop_front(&mut self, nodes: &mut impl Linked) -> Option<u32> {
        let head = self.head?;
        self.remove(nodes, head);
        Some(head)
    }

    /// Forgets every entry (their links become meaningless).
    pub(super) fn clear(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Linked for Vec<Links> {
        fn links(&mut self, index: u32) -> &mut Links {
            &mut self[index as usize]
        }
    }

    fn drain(list: &mut List, nodes: &mut Vec<Links>) -> Vec<u32> {
        std::iter::from_fn(|| list.pop_front(nodes)).collect()
    }

    #[test]
    fn first_in_first_out_with_removal_anywhere() {
        let mut nodes = vec![Links::UNLINKED; 5];
        let mut list = List::new();
        assert_eq!(list.front(), None);
        for i in 0..5 {
            list.push_back(&mut nodes, i);
        }
        assert_eq!(list.len(), 5);
        list.remove(&mut nodes, 0); // the head
        list.remove(&mut nodes, 2); // the middle
        list.remove(&mut nodes, 4); // the tail
        assert_eq!(nodes[2], Links::UNLINKED);
        assert_eq!(list.front(), Some(1));
        list.push_back(&mut nodes, 2); // back in, at the end
        assert_eq!(drain(&mut list, &mut nodes), [1, 3, 2]);
        assert_eq!(list.len(), 0);
        list.push_back(&mut nodes, 4);
        list.remove(&mut nodes, 4);
        assert_eq!(list.front(), None);
        list.push_back(&mut nodes, 1);
        list.clear();
        assert_eq!((list.len(), list.front()), (0, None));
    }
}
