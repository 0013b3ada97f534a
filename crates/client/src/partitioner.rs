//! The default partitioner, placing records exactly where Java's producer places them.
//!
//! A keyed record goes to `toPositive(murmur2(key)) % partitions` (Java's
//! `BuiltInPartitioner.partitionForKey`), so a key lands on the same partition whichever client
//! wrote it. murmur2 here is Kafka's variant: seed `0x9747b28c`, little-endian 4-byte blocks,
//! wrapping 32-bit arithmetic, the tail folded in before the final mix; `toPositive` clears the
//! sign bit (it is not `abs`). An unkeyed record goes to a "sticky" partition that changes only
//! when a batch for it is completed (KIP-480), so unkeyed traffic fills whole batches.

use rand::Rng;

/// Kafka's murmur2 hash of `data` (`org.apache.kafka.common.utils.Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len() as u32;
    let mut h: u32 = SEED ^ length;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        // Java's switch falls through from case 3 to case 1.
        if tail.len() == 3 {
            h ^= u32::from(tail[2]) << 16;
        }
        if tail.len() >= 2 {
            h ^= u32::from(tail[1]) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's `Utils.toPositive`: clears the sign bit.
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Java's default partitioner picks for `key` among `num_partitions`.
pub fn partition_for_key(key: &[u8], num_partitions: usize) -> i32 {
    debug_assert!(num_partitions > 0);
    (to_positive(murmur2(key)) as usize % num_partitions.max(1)) as i32
}

/// A random partition for an unkeyed record's new sticky batch, different from `previous`
/// when there is a choice.
pub fn next_sticky_partition(num_partitions: usize, previous: Option<i32>) -> i32 {
    let mut rng = rand::thread_rng();
    if num_partitions <= 1 {
        return 0;
    }
    loop {
        let candidate = rng.gen_range(0..num_partitions) as i32;
        if Some(candidate) != previous {
            return candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own vectors (UtilsTest.testMurmur2).
    #[test]
    fn murmur2_matches_kafka_utils_test() {
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key), *expected, "{}", String::from_utf8_lossy(key));
        }
    }

    /// Produced by running kafka-clients 4.4.0: `Utils.murmur2(key)` and
    /// `BuiltInPartitioner.partitionForKey(key, n)` for n = 3, 7, 100 (UTF-8 keys).
    #[test]
    fn partitions_match_java_built_in_partitioner() {
        let cases: &[(&str, i32, [i32; 3])] = &[
            ("", 275_646_681, [0, 2, 81]),
            ("a", -1_563_381_124, [1, 5, 24]),
            ("key-0", 29_210_041, [1, 0, 41]),
            ("key-1", 193_331_640, [0, 5, 40]),
            ("key-42", -187_086_521, [0, 3, 27]),
            ("user-1234", -1_663_159_204, [1, 2, 44]),
            ("order:987654321", 134_983_840, [1, 5, 40]),
            ("\u{e9}t\u{e9}", -2_101_193_575, [1, 4, 73]),
            ("0123456789abcdef", 1_438_427_052, [0, 6, 52]),
        ];
        for (key, hash, partitions) in cases {
            assert_eq!(murmur2(key.as_bytes()), *hash, "{key:?}");
            for (n, expected) in [3usize, 7, 100].into_iter().zip(partitions) {
                assert_eq!(
                    partition_for_key(key.as_bytes(), n),
                    *expected,
                    "{key:?} % {n}"
                );
            }
        }
    }

    #[test]
    fn to_positive_clears_the_sign_bit_not_abs() {
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(5), 5);
    }

    #[test]
    fn sticky_partition_changes_when_it_can() {
        for _ in 0..100 {
            assert_ne!(next_sticky_partition(3, Some(1)), 1);
            assert!((0..3).contains(&next_sticky_partition(3, None)));
        }
        assert_eq!(next_sticky_partition(1, Some(0)), 0);
    }
}
