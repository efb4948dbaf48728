//! The shard's storage: values in numbered slots that are reused after a removal.
//!
//! A slot's generation grows on every removal, so an [`EntryId`] (index and
//! generation) names one particular value even after its slot holds another.
//! Generations are 64 bits: a slot would need 2^64 removals before an old id
//! could name its value again (with 32 bits, 2^32 removals of one slot while a
//! refresh was in flight would have let that refresh replace another key's
//! value). The slot pays nothing for it: its value is 8-byte aligned, so the
//! 32 bits beside a 32-bit generation were padding.
//! Removed slots go on a free list and are filled again before the slab grows.

/// A slot index with its generation: one particular value, even after its slot is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryId {
    pub(crate) index: u32,
    generation: u64,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u64,
    value: Option<T>,
}

/// Slots of `T`, a free list of empty ones, and the count of full ones.
#[derive(Debug)]
pub(super) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    /// A slab with room for `capacity` values before it reallocates.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            slots: Vec::with_capacity(capacity),
            free: Vec::new(),
            len: 0,
        }
    }

    /// How many slots hold a value.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value` in a free slot (or a new one) and returns its index.
    pub(super) fn insert(&mut self, value: T) -> u32 {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            self.slots[index as usize].value = Some(value);
            return index;
        }
        let index = u32::try_from(self.slots.len()).expect("shard capacity fits in u32");
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        index
    }

    /// Takes the value out of a full slot; the slot's generation moves on.
    ///
    /// # Panics
    ///
    /// If the slot is empty: callers only remove what they found.
    pub(super) fn remove(&mut self, index: u32) -> T {
        let slot = &mut self.slots[index as usize];
        let value = slot.value.take().expect("only full slots are removed");
        slot.generation += 1;
        self.free.push(index);
        self.len -= 1;
        value
    }

    /// Removes every value, passing each to `each` in slot order, as
    /// [`remove`](Self::remove) would one by one (each slot gets a new
    /// generation and goes on the free list), in one pass.
    pub(super) fn drain(&mut self, mut each: impl FnMut(T)) {
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Some(value) = slot.value.take() {
                slot.generation += 1;
                self.free
                    .push(u32::try_from(index).expect("shard capacity fits in u32"));
                each(value);
            }
        }
        self.len = 0;
    }

    /// Gives a full slot a new generation, so ids of the value it held no longer
    /// name what it holds now (its value was replaced in place).
    pub(super) fn renew(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.generation += 1;
    }

    /// The value at a full slot.
    ///
    /// # Panics
    ///
    /// If the slot is empty: the shard's index and queues only reach full slots.
    #[inline]
    pub(super) fn get(&self, index: u32) -> &T {
        self.slots[index as usize]
            .value
            .as_ref()
            .expect("the index and queues only reach full slots")
    }

    /// The value at a full slot, mutably (panics as [`Self::get`]).
    pub(super) fn get_mut(&mut self, index: u32) -> &mut T {
        self.slots[index as usize]
            .value
            .as_mut()
            .expect("the index and queues only reach full slots")
    }

    /// The value at `index`, if that slot is full.
    pub(super) fn try_get(&self, index: u32) -> Option<&T> {
        self.slots.get(index as usize)?.value.as_ref()
    }

    /// The id of the value now at a full slot.
    pub(super) fn id(&self, index: u32) -> EntryId {
        EntryId {
            index,
            generation: self.slots[index as usize].generation,
        }
    }

    /// Whether the value `id` names is still there.
    pub(super) fn holds(&self, id: EntryId) -> bool {
        self.slots
            .get(id.index as usize)
            .is_some_and(|slot| slot.generation == id.generation && slot.value.is_some())
    }

    /// The value `id` names, if it is still there.
    pub(super) fn get_id_mut(&mut self, id: EntryId) -> Option<&mut T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.value.as_mut()
    }

    /// Moves a slot's generation on by `by`, as that many renewals would.
    #[cfg(test)]
    fn fast_forward(&mut self, index: u32, by: u64) {
        let slot = &mut self.slots[index as usize];
        slot.generation += by;
    }

    /// One past the highest slot index ever used: every full slot is below it.
    pub(super) fn bound(&self) -> u32 {
        u32::try_from(self.slots.len()).expect("shard capacity fits in u32")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_slots_are_reused_under_a_new_generation() {
        let mut slab = Slab::with_capacity(2);
        let a = slab.insert("a");
        let b = slab.insert("b");
        assert_ne!(a, b);
        assert_eq!(slab.len(), 2);
        let id_a = slab.id(a);
        assert_eq!(slab.remove(a), "a");
        assert_eq!(slab.len(), 1);
        assert!(slab.try_get(a).is_none());
        assert!(slab.get_id_mut(id_a).is_none());
        assert!(!slab.holds(id_a));
        let c = slab.insert("c");
        assert_eq!(c, a, "the free slot is filled before the slab grows");
        assert_eq!(*slab.get(c), "c");
        assert!(slab.get_id_mut(id_a).is_none(), "the old id names the old value, gone");
        let id_c = slab.id(c);
        assert!(slab.holds(id_c));
        *slab.get_id_mut(id_c).expect("live") = "c2";
        assert_eq!(*slab.get(c), "c2");
        slab.renew(c);
        assert!(slab.get_id_mut(id_c).is_none(), "a renewed slot's old id is stale");
        assert!(!slab.holds(id_c));
        *slab.get_mut(b) = "b2";
        assert_eq!(*slab.get(b), "b2");
        assert_eq!(slab.bound(), 2);
    }

    #[test]
    #[should_panic(expected = "only full slots are removed")]
    fn removing_an_empty_slot_is_a_bug() {
        let mut slab = Slab::with_capacity(1);
        let a = slab.insert(1);
        slab.remove(a);
        slab.remove(a);
    }

    #[test]
    fn a_drain_empties_every_slot_as_removals_one_by_one_would() {
        let mut slab = Slab::with_capacity(4);
        let indices: Vec<u32> = ["a", "b", "c", "d"].into_iter().map(|v| slab.insert(v)).collect();
        slab.remove(indices[1]);
        let ids: Vec<EntryId> = [0, 2, 3].into_iter().map(|i| slab.id(indices[i])).collect();
        let mut drained = Vec::new();
        slab.drain(|value| drained.push(value));
        assert_eq!(drained, ["a", "c", "d"], "every value, in slot order, once");
        assert_eq!(slab.len(), 0);
        for &id in &ids {
            assert!(!slab.holds(id), "a drained value's id names nothing");
        }
        let mut refilled: Vec<u32> = (0..4).map(|i| slab.insert(["w", "x", "y", "z"][i])).collect();
        refilled.sort_unstable();
        assert_eq!(refilled, indices, "the drained slots are reused before the slab grows");
        assert_eq!(slab.bound(), 4);
        assert_eq!(slab.len(), 4);
    }

    #[test]
    fn an_id_does_not_name_a_value_2_pow_32_renewals_later() {
        let mut slab = Slab::with_capacity(1);
        let index = slab.insert("old");
        let old = slab.id(index);
        // What a refresh in flight holds while the slot is renewed 2^32 times
        // (with 32-bit generations the old id named the new value again).
        slab.fast_forward(index, 1 << 32);
        *slab.get_mut(index) = "new";
        assert!(!slab.holds(old));
        assert!(slab.get_id_mut(old).is_none());
        let next = slab.id(index);
        slab.renew(index);
        assert!(!slab.holds(next), "a renewal past 2^32 still moves the generation on");
    }

    #[test]
    fn a_64_bit_generation_costs_an_aligned_slot_nothing() {
        // The shard's nodes hold `AtomicU64`s: 8-byte aligned, as this value is.
        type Value = (u64, u32);
        assert_eq!(
            std::mem::size_of::<Slot<Value>>(),
            std::mem::size_of::<Option<Value>>() + 8,
            "a 64-bit generation takes the 8 bytes a 32-bit one took with its padding"
        );
    }
}
