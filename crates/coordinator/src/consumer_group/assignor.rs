//! The server-side assignors (`group.consumer.assignors`): pure, deterministic functions from
//! the members' subscriptions, the subscribed topics' partition counts and the previous target
//! assignment to a new target assignment.
//!
//! - `uniform` (the default): balances partition counts across the members that can take each
//!   partition. Partitions with the fewest eligible members are placed first; each goes to its
//!   previous owner when that owner is among the least loaded (stickiness), else to the least
//!   loaded eligible member (smaller member id on ties). With identical subscriptions every
//!   member ends with ⌊n/m⌋ or ⌈n/m⌉ partitions.
//! - `range`: per topic, the subscribed members sorted by member id take contiguous ranges, the
//!   first `n % m` one partition more, like the classic RangeAssignor.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::record::{Assignment, TopicMetadata};

/// The uniform assignor's name.
pub const UNIFORM: &str = "uniform";
/// The range assignor's name.
pub const RANGE: &str = "range";

/// Whether fjord implements the assignor `name`.
pub fn is_known(name: &str) -> bool {
    name == UNIFORM || name == RANGE
}

/// What an assignor works from.
#[derive(Debug, Clone, Copy)]
pub struct AssignmentSpec<'a> {
    /// Member id -> subscribed topic names.
    pub subscriptions: &'a BTreeMap<String, Vec<String>>,
    /// Subscribed topics that exist, by name.
    pub topics: &'a BTreeMap<String, TopicMetadata>,
    /// The previous target assignment, for stickiness.
    pub previous: &'a BTreeMap<String, Assignment>,
}

/// Runs assignor `name` (unknown names run `uniform`). Every member gets an entry, possibly
/// empty.
pub fn assign(name: &str, spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    if name == RANGE {
        range(spec)
    } else {
        uniform(spec)
    }
}

fn empty_result(spec: &AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    spec.subscriptions
        .keys()
        .map(|member_id| (member_id.clone(), Assignment::new()))
        .collect()
}

/// Members subscribed to `topic`, in member-id order.
fn subscribers<'a>(spec: &AssignmentSpec<'a>, topic: &str) -> Vec<&'a str> {
    spec.subscriptions
        .iter()
        .filter(|(_, topics)| topics.iter().any(|t| t == topic))
        .map(|(member_id, _)| member_id.as_str())
        .collect()
}

fn uniform(spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let mut result = empty_result(&spec);
    let mut previous_owner: HashMap<(Uuid, i32), &str> = HashMap::new();
    for (member_id, assignment) in spec.previous {
        for (topic_id, partitions) in assignment {
            for partition in partitions {
                previous_owner.insert((*topic_id, *partition), member_id.as_str());
            }
        }
    }
    let mut partitions: Vec<(Vec<&str>, &TopicMetadata, i32)> = Vec::new();
    for topic in spec.topics.values() {
        let eligible = subscribers(&spec, &topic.topic_name);
        if eligible.is_empty() {
            continue;
        }
        for partition in 0..topic.num_partitions.max(0) {
            partitions.push((eligible.clone(), topic, partition));
        }
    }
    // Most constrained first; then by topic name and partition, for determinism.
    partitions
        .sort_by(|a, b| (a.0.len(), &a.1.topic_name, a.2).cmp(&(b.0.len(), &b.1.topic_name, b.2)));
    let mut load: HashMap<&str, usize> = HashMap::new();
    for (eligible, topic, partition) in partitions {
        let load_of = |m: &str| load.get(m).copied().unwrap_or(0);
        let min_load = eligible.iter().map(|m| load_of(m)).min().unwrap_or(0);
        let sticky = previous_owner
            .get(&(topic.topic_id, partition))
            .filter(|owner| eligible.contains(owner) && load_of(owner) == min_load)
            .copied();
        let chosen = sticky.or_else(|| eligible.iter().copied().find(|m| load_of(m) == min_load));
        if let Some(member_id) = chosen {
            *load.entry(member_id).or_default() += 1;
            if let Some(assignment) = result.get_mut(member_id) {
                assignment
                    .entry(topic.topic_id)
                    .or_default()
                    .insert(partition);
            }
        }
    }
    result
}

fn range(spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let mut result = empty_result(&spec);
    for topic in spec.topics.values() {
        let members = subscribers(&spec, &topic.topic_name);
        if members.is_empty() {
            continue;
        }
        let count = members.len() as i32;
        let partitions = topic.num_partitions.max(0);
        let (per_member, extra) = (partitions / count, partitions % count);
        for (index, member_id) in (0i32..).zip(members) {
            let start = index * per_member + index.min(extra);
            let len = per_member + i32::from(index < extra);
            if len == 0 {
                continue;
            }
            if let Some(assignment) = result.get_mut(member_id) {
                assignment
                    .entry(topic.topic_id)
                    .or_default()
                    .extend(start..start + len);
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, id: u128, partitions: i32) -> (String, TopicMetadata) {
        let metadata = TopicMetadata {
            topic_id: Uuid::from_u128(id),
            topic_name: name.into(),
            num_partitions: partitions,
        };
        (name.to_string(), metadata)
    }

    fn subscriptions(members: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        members
            .iter()
            .map(|(m, topics)| {
                (
                    m.to_string(),
                    topics.iter().map(|t| t.to_string()).collect(),
                )
            })
            .collect()
    }

    fn counts(result: &BTreeMap<String, Assignment>) -> Vec<usize> {
        result
            .values()
            .map(|a| a.values().map(|p| p.len()).sum())
            .collect()
    }

    #[test]
    fn range_gives_contiguous_ranges_with_the_extra_to_the_first() {
        let topics: BTreeMap<_, _> = [topic("a", 1, 7), topic("b", 2, 2)].into_iter().collect();
        let subs = subscriptions(&[("m1", &["a", "b"]), ("m2", &["a"]), ("m3", &["a", "b"])]);
        let previous = BTreeMap::new();
        let spec = AssignmentSpec {
            subscriptions: &subs,
            topics: &topics,
            previous: &previous,
        };
        let result = assign(RANGE, spec);
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let of = |m: &str, t: &Uuid| -> Vec<i32> {
            result[m]
                .get(t)
                .map(|p| p.iter().copied().collect())
                .unwrap_or_default()
        };
        assert_eq!(of("m1", &a), vec![0, 1, 2]);
        assert_eq!(of("m2", &a), vec![3, 4]);
        assert_eq!(of("m3", &a), vec![5, 6]);
        assert_eq!(of("m1", &b), vec![0]);
        assert_eq!(of("m3", &b), vec![1]);
        assert_eq!(of("m2", &b), Vec::<i32>::new());
    }

    #[test]
    fn uniform_balances_and_keeps_previous_owners_where_it_can() {
        let topics: BTreeMap<_, _> = [topic("a", 1, 5), topic("b", 2, 4)].into_iter().collect();
        let subs = subscriptions(&[("m1", &["a", "b"]), ("m2", &["a", "b"])]);
        let none = BTreeMap::new();
        let spec = AssignmentSpec {
            subscriptions: &subs,
            topics: &topics,
            previous: &none,
        };
        let first = assign(UNIFORM, spec);
        let mut c = counts(&first);
        c.sort();
        assert_eq!(c, vec![4, 5]);
        // A third member: balanced again, and nobody keeps fewer than before minus the
        // partitions the newcomer needs.
        let subs3 = subscriptions(&[
            ("m1", &["a", "b"]),
            ("m2", &["a", "b"]),
            ("m3", &["a", "b"]),
        ]);
        let spec = AssignmentSpec {
            subscriptions: &subs3,
            topics: &topics,
            previous: &first,
        };
        let second = assign(UNIFORM, spec);
        assert_eq!(counts(&second), vec![3, 3, 3]);
        let same = assign(UNIFORM, spec);
        assert_eq!(second, same, "deterministic");
        let kept: usize = ["m1", "m2"]
            .iter()
            .map(|m| {
                second[*m]
                    .iter()
                    .map(|(t, ps)| ps.iter().filter(|p| first[*m][t].contains(p)).count())
                    .sum::<usize>()
            })
            .sum();
        assert!(kept >= 5, "sticky: kept {kept} of 9");
    }

    #[test]
    fn uniform_respects_heterogeneous_subscriptions() {
        let topics: BTreeMap<_, _> = [topic("a", 1, 4), topic("b", 2, 2)].into_iter().collect();
        let subs = subscriptions(&[("m1", &["a"]), ("m2", &["a", "b"])]);
        let none = BTreeMap::new();
        let spec = AssignmentSpec {
            subscriptions: &subs,
            topics: &topics,
            previous: &none,
        };
        let result = assign(UNIFORM, spec);
        assert!(!result["m1"].contains_key(&Uuid::from_u128(2)));
        assert_eq!(counts(&result), vec![3, 3]);
    }
}
