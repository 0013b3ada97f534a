//! The cleaner's offset map: key digest → latest offset seen for that key in the dirty section,
//! in a fixed amount of memory (Kafka's `SkimpyOffsetMap`).
//!
//! Layout: one flat `Vec` of slots, each a 128-bit digest of the key and the offset (24 bytes),
//! open addressing with linear probing. The digest is two SipHash-1-3 values under random keys
//! drawn per map, so colliding keys cannot be precomputed by a producer; a collision between
//! two live keys (probability ~n²/2¹²⁹) would make the cleaner drop the older of the two, the
//! same trade Kafka makes with its MD5 digests.
//!
//! The map never grows: the cleaner asks [`OffsetMap::has_room_for`] before adding a batch and
//! stops its dirty scan when the map is as full as the load factor allows; the next round
//! carries on from there.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Bytes one slot takes: a 16-byte digest and an 8-byte offset.
pub(crate) const SLOT_BYTES: usize = 24;

/// Kafka's `log.cleaner.io.buffer.load.factor`: how full the table may get before the cleaner
/// stops adding keys (probing gets slow near 1.0).
pub(crate) const LOAD_FACTOR: f64 = 0.9;

#[derive(Clone, Copy, Default)]
struct Slot {
    digest: [u64; 2],
    /// -1 marks an empty slot (offsets are never negative).
    offset: i64,
}

pub(crate) struct OffsetMap {
    slots: Vec<Slot>,
    hashers: (RandomState, RandomState),
    entries: usize,
    max_entries: usize,
    latest_offset: i64,
}

impl OffsetMap {
    /// A map of at most `memory_bytes` (at least one slot), sized down to what `expected_keys`
    /// distinct keys need: a small dirty section never allocates the whole dedupe buffer.
    pub(crate) fn new(memory_bytes: usize, expected_keys: usize) -> OffsetMap {
        let budget_slots = (memory_bytes / SLOT_BYTES).max(1);
        let wanted_slots = ((expected_keys as f64 / LOAD_FACTOR).ceil() as usize).max(1) + 1;
        let capacity = budget_slots.min(wanted_slots);
        OffsetMap {
            slots: vec![
                Slot {
                    digest: [0, 0],
                    offset: -1
                };
                capacity
            ],
            hashers: (RandomState::new(), RandomState::new()),
            entries: 0,
            max_entries: ((capacity as f64 * LOAD_FACTOR) as usize).clamp(1, capacity),
            latest_offset: -1,
        }
    }

    /// Distinct keys stored.
    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    /// Bytes of memory the table holds.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots.len() * SLOT_BYTES
    }

    /// True when `keys` more keys (each maybe new) still fit under the load factor.
    pub(crate) fn has_room_for(&self, keys: usize) -> bool {
        self.entries + keys <= self.max_entries
    }

    /// The largest offset ever put (-1 when empty): records after it were not looked at.
    pub(crate) fn latest_offset(&self) -> i64 {
        self.latest_offset
    }

    /// Marks every offset up to `offset` as seen (batches whose records carry no key, or a
    /// dirty section that ends after the last keyed record).
    pub(crate) fn advance_latest_offset(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    fn digest(&self, key: &[u8]) -> [u64; 2] {
        [self.hashers.0.hash_one(key), self.hashers.1.hash_one(key)]
    }

    /// The slot holding `digest`, or the empty slot where it would go; `None` when the table
    /// is full and does not hold it (probing stops after one lap).
    fn probe(&self, digest: [u64; 2]) -> Option<usize> {
        let n = self.slots.len();
        let start = (digest[0] % n as u64) as usize;
        (0..n).map(|step| (start + step) % n).find(|&i| {
            let slot = &self.slots[i];
            slot.offset < 0 || slot.digest == digest
        })
    }

    /// Records `offset` as the latest for `key`. The caller checked `has_room_for`; a new key
    /// that does not fit is refused (returns false).
    pub(crate) fn put(&mut self, key: &[u8], offset: i64) -> bool {
        let digest = self.digest(key);
        let Some(i) = self.probe(digest) else {
            return false;
        };
        if self.slots[i].offset < 0 {
            if self.entries >= self.max_entries {
                return false;
            }
            self.entries += 1;
        }
        self.slots[i] = Slot { digest, offset };
        self.latest_offset = self.latest_offset.max(offset);
        true
    }

    /// The latest offset recorded for `key`, -1 when the key is not in the map.
    pub(crate) fn get(&self, key: &[u8]) -> i64 {
        if self.entries == 0 {
            return -1;
        }
        let digest = self.digest(key);
        self.probe(digest)
            .map_or(-1, |i| self.slots[i].offset.max(-1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_offset_per_key_wins() {
        let mut map = OffsetMap::new(1024 * 1024, 100);
        assert_eq!(map.get(b"a"), -1);
        assert!(map.put(b"a", 1));
        assert!(map.put(b"b", 2));
        assert!(map.put(b"a", 7));
        assert_eq!(map.get(b"a"), 7);
        assert_eq!(map.get(b"b"), 2);
        assert_eq!(map.get(b"c"), -1);
        assert_eq!(map.len(), 2);
        assert_eq!(map.latest_offset(), 7);
    }

    #[test]
    fn memory_is_bounded_and_sized_to_the_work() {
        let small = OffsetMap::new(128 * 1024 * 1024, 10);
        assert!(small.memory_bytes() < 1024, "{}", small.memory_bytes());
        let mut tiny = OffsetMap::new(10 * SLOT_BYTES, 1_000_000);
        assert_eq!(tiny.memory_bytes(), 10 * SLOT_BYTES);
        let mut added = 0;
        while tiny.has_room_for(1) {
            assert!(tiny.put(format!("k{added}").as_bytes(), added));
            added += 1;
        }
        assert_eq!(added, 9);
        for i in 0..added {
            assert_eq!(tiny.get(format!("k{i}").as_bytes()), i);
        }
        // A one-slot map holds one key and still answers lookups for absent ones.
        let mut one = OffsetMap::new(0, 5);
        assert!(one.put(b"x", 3));
        assert!(!one.put(b"y", 4));
        assert_eq!(one.get(b"y"), -1);
        assert_eq!(one.get(b"x"), 3);
    }
}
