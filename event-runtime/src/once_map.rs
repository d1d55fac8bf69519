//! A map whose values are made on their key's first use and never removed, read without
//! a lock.
//!
//! Every publish looks up its event type's aggregates and its topic's librdkafka handle.
//! Behind a `RwLock` each lookup cost two atomic read-modify-writes, on a cache line every
//! publishing thread shares. Here a lookup hashes its key (a `TypeId`, already a hash, or
//! an address) and reads entries that are written once: `OnceLock` publishes each one
//! safely, so no `unsafe` is needed. A level whose probes are all taken by other keys
//! chains to a larger one.

use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::OnceLock;

/// How many entries of a level a lookup tries before it moves on to the next level.
const PROBES: usize = 8;

/// Entries in the first level; each next level has twice as many.
const FIRST_LEVEL: usize = 64;

pub(crate) struct OnceMap<K, V> {
    first: Level<K, V>,
}

struct Level<K, V> {
    entries: Box<[OnceLock<(K, V)>]>,
    next: OnceLock<Box<Level<K, V>>>,
}

impl<K, V> Level<K, V> {
    fn with_capacity(capacity: usize) -> Self {
        Level {
            entries: (0..capacity).map(|_| OnceLock::new()).collect(),
            next: OnceLock::new(),
        }
    }
}

impl<K, V> Default for OnceMap<K, V> {
    fn default() -> Self {
        OnceMap {
            first: Level::with_capacity(FIRST_LEVEL),
        }
    }
}

impl<K: Hash + Eq + Copy, V> OnceMap<K, V> {
    /// The value for `key`, made with `make` if it has none yet. Every lookup of one key
    /// probes the same entries, so threads racing on a new key wait for one `make`.
    #[inline]
    pub fn get_or_insert_with(&self, key: K, make: impl Fn() -> V) -> &V {
        let hash = BuildHasherDefault::<WordHasher>::default().hash_one(key) as usize;
        // Nearly every lookup ends at its key's first entry in the first level: that one
        // check is inlined into the publish, the search is not.
        match self.first.entries[hash & (FIRST_LEVEL - 1)].get() {
            Some((found, value)) if *found == key => value,
            _ => self.search(hash, key, &make),
        }
    }

    /// `make` is a `dyn`: generic, the search was compiled once per caller's closure, which
    /// for the aggregates means once per event type.
    fn search(&self, hash: usize, key: K, make: &dyn Fn() -> V) -> &V {
        let mut level = &self.first;
        loop {
            let mask = level.entries.len() - 1;
            for probe in 0..PROBES {
                let entry = &level.entries[hash.wrapping_add(probe) & mask];
                // An empty entry is claimed; one claimed by another key is passed over.
                let (found, value) = match entry.get() {
                    Some(pair) => pair,
                    None => entry.get_or_init(|| (key, make())),
                };
                if *found == key {
                    return value;
                }
            }
            let capacity = level.entries.len() * 2;
            level = level
                .next
                .get_or_init(|| Box::new(Level::with_capacity(capacity)));
        }
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        std::iter::successors(Some(&self.first), |level| level.next.get().map(|l| &**l))
            .flat_map(|level| level.entries.iter().filter_map(OnceLock::get))
            .map(|(_, value)| value)
    }
}

/// Hashes keys made of words (a `TypeId`, which is already a hash, or an address and a
/// length): SipHash on every publish would cost more than the rest of the lookup.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves its best-mixed bits at the top; the index takes the bottom.
        self.0 ^ self.0 >> 32
    }
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use super::*;

    /// 501 distinct types, more than the first level holds.
    fn ids() -> Vec<TypeId> {
        struct T<const N: usize>;
        fn id<const N: usize>() -> TypeId {
            TypeId::of::<T<N>>()
        }
        macro_rules! ids {
            ($($n:literal)*) => { vec![$(id::<$n>(), id::<{ $n + 100 }>(), id::<{ $n + 200 }>(), id::<{ $n + 300 }>(), id::<{ $n + 400 }>()),*] };
        }
        let mut ids = ids!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99);
        ids.push(TypeId::of::<u8>());
        ids
    }

    #[test]
    fn each_type_keeps_the_value_made_on_its_first_use() {
        let map = OnceMap::default();
        let ids = ids();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(*map.get_or_insert_with(*id, || i), i);
        }
        // Found again, not made again, past the first level too.
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(*map.get_or_insert_with(*id, || usize::MAX), i);
        }
        let mut values: Vec<usize> = map.values().copied().collect();
        values.sort_unstable();
        assert_eq!(values, (0..ids.len()).collect::<Vec<_>>());
    }

    #[test]
    fn threads_racing_on_a_new_type_agree_on_one_value() {
        let map = OnceMap::default();
        let ids = ids();
        let seen: Vec<Vec<usize>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|thread| {
                    let (map, ids) = (&map, &ids);
                    scope.spawn(move || {
                        ids.iter()
                            .map(|id| *map.get_or_insert_with(*id, || thread))
                            .collect()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert!(seen.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(map.values().count(), ids.len());
    }
}
