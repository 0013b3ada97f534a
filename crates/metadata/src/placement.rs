//! Replica placement for new partitions: Kafka's rack-unaware round robin.
//!
//! Partition `p`'s first replica is broker `(start_index + p) % n`; the followers follow it at a
//! shift that grows by one every `n` partitions, so leaders spread over all brokers and no two
//! brokers always follow each other. `start_index` and the initial shift are chosen per topic
//! (from its id) so that many single-partition topics do not all land on the first broker.

use crate::error::{MetadataError, Result};

/// Where to start the round robin: derived from the topic id so placement is deterministic
/// for a given topic (replay and tests see the same layout) yet differs between topics.
#[derive(Clone, Copy, Debug)]
pub struct PlacementSeed {
    pub start_index: usize,
    pub replica_shift: usize,
}

impl PlacementSeed {
    pub fn from_topic_id(topic_id: &uuid::Uuid) -> Self {
        let (hi, lo) = topic_id.as_u64_pair();
        PlacementSeed {
            start_index: hi as usize,
            replica_shift: lo as usize,
        }
    }
}

/// Replica lists for partitions `first_partition .. first_partition + count` over `brokers`
/// (usable broker ids, any order; they are sorted here).
pub fn assign_replicas(
    brokers: &[i32],
    first_partition: i32,
    count: i32,
    replication_factor: i16,
    seed: PlacementSeed,
) -> Result<Vec<Vec<i32>>> {
    let mut brokers = brokers.to_vec();
    brokers.sort_unstable();
    brokers.dedup();
    let n = brokers.len();
    if replication_factor < 1 {
        return Err(MetadataError::InvalidReplicationFactor(
            "Replication factor must be larger than 0, or -1 to use the default value.".into(),
        ));
    }
    let rf = replication_factor as usize;
    if rf > n {
        return Err(MetadataError::InvalidReplicationFactor(format!(
            "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {n} broker(s) are registered."
        )));
    }
    let start_index = seed.start_index % n;
    let first_partition = first_partition.max(0) as usize;
    // the shifts the partitions before `first_partition` would have made, so that adding
    // partitions later continues the same pattern
    let mut shift = seed.replica_shift % n + first_partition.saturating_sub(1) / n;
    let mut out = Vec::with_capacity(count.max(0) as usize);
    for p in first_partition..first_partition + count.max(0) as usize {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start_index) % n;
        let mut replicas = Vec::with_capacity(rf);
        replicas.push(brokers[first]);
        for j in 0..rf - 1 {
            // followers sit 1..n-1 places after the first replica, never on it
            let offset = 1 + (shift + j) % (n - 1);
            replicas.push(brokers[(first + offset) % n]);
        }
        out.push(replicas);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    const SEED: PlacementSeed = PlacementSeed {
        start_index: 0,
        replica_shift: 0,
    };

    #[test]
    fn single_broker() {
        let a = assign_replicas(&[1], 0, 3, 1, SEED).unwrap();
        assert_eq!(a, vec![vec![1], vec![1], vec![1]]);
    }

    #[test]
    fn replicas_are_distinct_and_leaders_spread() {
        let brokers = [3, 1, 2, 4, 5];
        for rf in 1..=5 {
            for seed in 0..7 {
                let seed = PlacementSeed {
                    start_index: seed,
                    replica_shift: seed * 3,
                };
                let a = assign_replicas(&brokers, 0, 20, rf, seed).unwrap();
                let mut leaders = BTreeMap::new();
                for replicas in &a {
                    assert_eq!(replicas.len(), rf as usize);
                    let set: BTreeSet<_> = replicas.iter().collect();
                    assert_eq!(set.len(), replicas.len(), "{replicas:?}");
                    *leaders.entry(replicas[0]).or_insert(0) += 1;
                }
                assert!(leaders.values().all(|&c| c == 4), "{leaders:?}");
            }
        }
    }

    #[test]
    fn too_few_brokers_is_invalid_replication_factor() {
        let err = assign_replicas(&[1], 0, 1, 3, SEED).unwrap_err();
        assert_eq!(err.error_code().code(), 38);
        assert!(err.to_string().contains("only 1 broker(s)"));
        assert!(assign_replicas(&[], 0, 1, 1, SEED).is_err());
        assert!(assign_replicas(&[1, 2], 0, 1, 0, SEED).is_err());
    }

    #[test]
    fn continuing_partitions_keep_the_pattern() {
        let all = assign_replicas(&[1, 2, 3], 0, 6, 2, SEED).unwrap();
        let tail = assign_replicas(&[1, 2, 3], 3, 3, 2, SEED).unwrap();
        assert_eq!(&all[3..], &tail[..]);
        let all = assign_replicas(&[1, 2, 3], 0, 20, 3, SEED).unwrap();
        let tail = assign_replicas(&[1, 2, 3], 7, 13, 3, SEED).unwrap();
        assert_eq!(&all[7..], &tail[..]);
    }
}
