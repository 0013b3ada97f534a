//! Which internal-topic partition holds a group (`__consumer_offsets`) or a transactional id
//! (`__transaction_state`): Kafka's `Utils.abs(id.hashCode()) % partitionCount`, where `hashCode` is Java's
//! `String.hashCode` (`h = 31 * h + c` over the UTF-16 code units, wrapping in 32 bits) and
//! `Utils.abs` maps `Integer.MIN_VALUE` to 0 (unlike `Math.abs`, which leaves it negative).
//! Matching Kafka exactly means a `__consumer_offsets` directory moved between fjord and Kafka
//! keeps each group and transaction where the other expects it, and every broker a client asks
//! names the same coordinator.

/// Java's `String.hashCode` of `s`.
pub fn java_string_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `Utils.abs`: `i32::MIN` becomes 0, every other value its absolute value.
pub fn kafka_abs(n: i32) -> i32 {
    if n == i32::MIN {
        0
    } else {
        n.abs()
    }
}

/// The partition (of `partition_count`, at least 1) that holds the group or transactional id
/// `id`.
pub fn partition_for(id: &str, partition_count: i32) -> i32 {
    kafka_abs(java_string_hash_code(id)) % partition_count.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_codes_match_java() {
        // Values printed by `"...".hashCode()` in jshell.
        assert_eq!(java_string_hash_code(""), 0);
        assert_eq!(java_string_hash_code("a"), 97);
        assert_eq!(java_string_hash_code("hello"), 99_162_322);
        // Outside the BMP a character is two UTF-16 units (a surrogate pair).
        assert_eq!(java_string_hash_code("😀"), 1_772_899);
    }

    #[test]
    fn abs_and_partitions_follow_kafka() {
        assert_eq!(kafka_abs(i32::MIN), 0);
        assert_eq!(kafka_abs(-5), 5);
        // "polygenelubricants".hashCode() is Integer.MIN_VALUE: partition 0, not negative.
        assert_eq!(java_string_hash_code("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert_eq!(partition_for("hello", 50), 99_162_322 % 50);
        assert_eq!(partition_for("anything", 1), 0);
        assert_eq!(partition_for("x", 0), 0);
        // "Aa" and "BB" collide in Java.
        assert_eq!(partition_for("Aa", 7), partition_for("BB", 7));
    }
}
