//! The server-side assignors (`group.consumer.assignors`): pure, deterministic functions from
//! the members' subscriptions, the subscribed topics' partition counts and the previous target
//! assignment to a new target assignment.
//!
//! - `uniform` (the default): every member ends with ⌊n/m⌋ or ⌈n/m⌉ of the partitions it can
//!   take, moving as few as it can. With identical subscriptions (the common case) each member
//!   first keeps up to ⌊n/m⌋ of its previous partitions, then up to `n % m` members keep one
//!   more, and only the rest moves (to the least loaded, smaller member id first): a member
//!   leaving moves only its partitions and a member joining takes only its share, so no other
//!   member has to revoke and reconcile (as Kafka's homogeneous uniform assignor does). With
//!   different subscriptions, partitions with the fewest eligible members are placed first;
//!   each goes to its previous owner when that owner is among the least loaded, else to the
//!   least loaded eligible member.
//! - `range`: per topic, the subscribed members sorted by member id take contiguous ranges, the
//!   first `n % m` one partition more, like the classic RangeAssignor.

use std::collections::{BTreeMap, HashMap, HashSet};

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
    let mut subscribed = spec.subscriptions.values().map(|topics| {
        let mut topics: Vec<&String> = topics.iter().collect();
        topics.sort();
        topics.dedup();
        topics
    });
    let homogeneous = match subscribed.next() {
        Some(first) => subscribed.all(|topics| topics == first),
        None => true,
    };
    if homogeneous {
        uniform_homogeneous(spec)
    } else {
        uniform_heterogeneous(spec)
    }
}

/// `uniform` when every member subscribes to the same topics: keep, then fill to the quota.
fn uniform_homogeneous(spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let mut result = empty_result(&spec);
    let Some(topic_names) = spec.subscriptions.values().next() else {
        return result;
    };
    // Every partition to place, in topic-name then partition order (deterministic).
    let mut all: Vec<(Uuid, i32)> = Vec::new();
    for topic in spec.topics.values() {
        if topic_names.contains(&topic.topic_name) {
            all.extend((0..topic.num_partitions.max(0)).map(|p| (topic.topic_id, p)));
        }
    }
    let members: Vec<&str> = spec.subscriptions.keys().map(String::as_str).collect();
    let min_quota = all.len() / members.len();
    let mut extra = all.len() % members.len();
    let placeable: HashSet<(Uuid, i32)> = all.iter().copied().collect();
    // Member -> the partitions it gets, in the order given.
    let mut given: BTreeMap<&str, Vec<(Uuid, i32)>> = BTreeMap::new();
    let mut placed: HashSet<(Uuid, i32)> = HashSet::new();
    // 1. Everyone keeps up to the minimum quota of its previous partitions; 2. the first
    // `extra` members that had more keep one more.
    let previous: Vec<(&str, Vec<(Uuid, i32)>)> = members
        .iter()
        .map(|m| {
            let kept = spec
                .previous
                .get(*m)
                .map(|a| {
                    a.iter()
                        .flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
                        .filter(|tp| placeable.contains(tp))
                        .collect()
                })
                .unwrap_or_default();
            (*m, kept)
        })
        .collect();
    // (A partition in two previous assignments, which a target never has, is kept once.)
    for (member, kept) in &previous {
        let mine = given.entry(member).or_default();
        for tp in kept {
            if mine.len() == min_quota {
                break;
            }
            if placed.insert(*tp) {
                mine.push(*tp);
            }
        }
    }
    for (member, kept) in &previous {
        if extra == 0 {
            break;
        }
        let mine = given.entry(member).or_default();
        if mine.len() != min_quota {
            continue;
        }
        if let Some(tp) = kept.iter().find(|tp| !placed.contains(tp)) {
            placed.insert(*tp);
            mine.push(*tp);
            extra -= 1;
        }
    }
    // 3. What is left fills the members below the minimum quota, then `extra` more members
    // (those at the minimum) by one each.
    let mut free = all.iter().filter(|tp| !placed.contains(tp));
    for member in &members {
        let mine = given.entry(member).or_default();
        while mine.len() < min_quota {
            match free.next() {
                Some(tp) => mine.push(*tp),
                None => break,
            }
        }
    }
    for member in &members {
        if extra == 0 {
            break;
        }
        let mine = given.entry(member).or_default();
        if mine.len() == min_quota {
            if let Some(tp) = free.next() {
                mine.push(*tp);
                extra -= 1;
            }
        }
    }
    for (member, partitions) in given {
        if let Some(assignment) = result.get_mut(member) {
            for (topic_id, partition) in partitions {
                assignment.entry(topic_id).or_default().insert(partition);
            }
        }
    }
    result
}

fn uniform_heterogeneous(spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
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

    /// (topic id, partition) -> owner.
    fn owners(result: &BTreeMap<String, Assignment>) -> BTreeMap<(Uuid, i32), String> {
        result
            .iter()
            .flat_map(|(m, a)| {
                a.iter()
                    .flat_map(move |(t, ps)| ps.iter().map(move |p| ((*t, *p), m.clone())))
            })
            .collect()
    }

    #[test]
    fn uniform_moves_only_what_a_leave_or_a_join_requires() {
        let topics: BTreeMap<_, _> = [topic("t", 1, 100)].into_iter().collect();
        let names: Vec<String> = (0..21).map(|i| format!("m{i:02}")).collect();
        let subs_of = |members: &[String]| -> BTreeMap<String, Vec<String>> {
            members
                .iter()
                .map(|m| (m.clone(), vec!["t".to_string()]))
                .collect()
        };
        let run = |subs: &BTreeMap<String, Vec<String>>,
                   previous: &BTreeMap<String, Assignment>| {
            assign(
                UNIFORM,
                AssignmentSpec {
                    subscriptions: subs,
                    topics: &topics,
                    previous,
                },
            )
        };
        let twenty = run(&subs_of(&names[..20]), &BTreeMap::new());
        assert_eq!(counts(&twenty), vec![5; 20]);
        assert_eq!(owners(&twenty).len(), 100);

        // m00 leaves: only its 5 partitions change owner; 5 members end with 6.
        let nineteen = run(&subs_of(&names[1..20]), &twenty);
        let mut c = counts(&nineteen);
        c.sort();
        assert_eq!(c, [vec![5; 14], vec![6; 5]].concat());
        let (before, after) = (owners(&twenty), owners(&nineteen));
        assert_eq!(after.len(), 100);
        let moved: Vec<_> = after.iter().filter(|(tp, m)| before[*tp] != **m).collect();
        assert_eq!(moved.len(), 5, "moved {moved:?}");
        assert!(moved.iter().all(|(tp, _)| before[*tp] == "m00"));

        // m20 joins: it takes its 5, each from a member that had 6; nothing else moves.
        let back = run(&subs_of(&names[1..21]), &nineteen);
        assert_eq!(counts(&back), vec![5; 20]);
        let again = owners(&back);
        let moved: Vec<_> = again.iter().filter(|(tp, m)| after[*tp] != **m).collect();
        assert_eq!(moved.len(), 5, "moved {moved:?}");
        assert!(moved.iter().all(|(_, m)| *m == "m20"));
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
