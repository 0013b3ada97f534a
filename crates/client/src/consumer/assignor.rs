//! Partition assignors the group leader runs: `range` (Java's RangeAssignor) and
//! `cooperative-sticky` (Java's CooperativeStickyAssignor, KIP-429).
//!
//! Members are ordered as Java orders them (`MemberInfo`): by `group.instance.id` when both
//! have one, members with one before members without, then by member id. Range gives each
//! topic's partitions out in consecutive runs, the first `partitions % members` members one
//! extra. Cooperative-sticky keeps every member's owned partitions where it can, balances the
//! rest so counts differ by at most one, and then withholds partitions that change owner: the
//! old owner revokes them first (its assignment lacks them, so it rejoins), and they are handed
//! to the new owner in the follow-up rebalance.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::cluster::TopicPartition;

pub const RANGE: &str = "range";
pub const COOPERATIVE_STICKY: &str = "cooperative-sticky";

/// The protocol name for a `partition.assignment.strategy` value (Java class name or short
/// name), if it is one this client runs.
pub fn name_of(class_or_name: &str) -> Option<&'static str> {
    match class_or_name.rsplit('.').next().unwrap_or(class_or_name) {
        "range" | "RangeAssignor" => Some(RANGE),
        "cooperative-sticky" | "CooperativeStickyAssignor" => Some(COOPERATIVE_STICKY),
        _ => None,
    }
}

/// One member's subscription as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSubscription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub topics: Vec<String>,
    pub owned_partitions: Vec<TopicPartition>,
    pub generation_id: i32,
}

fn member_order(a: &MemberSubscription, b: &MemberSubscription) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y).then_with(|| a.member_id.cmp(&b.member_id)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

/// member id -> assigned partitions.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

/// Runs the assignor named `protocol`; `None` for an unknown name.
pub fn assign(
    protocol: &str,
    members: &[MemberSubscription],
    partition_counts: &BTreeMap<String, i32>,
) -> Option<Assignment> {
    match protocol {
        RANGE => Some(range(members, partition_counts)),
        COOPERATIVE_STICKY => Some(cooperative_sticky(members, partition_counts)),
        _ => None,
    }
}

/// Java's RangeAssignor.
pub fn range(
    members: &[MemberSubscription],
    partition_counts: &BTreeMap<String, i32>,
) -> Assignment {
    let mut out: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    for (topic, count) in partition_counts {
        let mut subscribed: Vec<&MemberSubscription> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        subscribed.sort_by(|a, b| member_order(a, b));
        let per_member = *count as usize / subscribed.len();
        let extra = *count as usize % subscribed.len();
        let mut next = 0;
        for (i, member) in subscribed.iter().enumerate() {
            let n = per_member + usize::from(i < extra);
            let partitions = out.entry(member.member_id.clone()).or_default();
            partitions
                .extend((next..next + n).map(|p| TopicPartition::new(topic.clone(), p as i32)));
            next += n;
        }
    }
    out
}

/// Java's CooperativeStickyAssignor (sticky balance, then cooperative withholding).
pub fn cooperative_sticky(
    members: &[MemberSubscription],
    partition_counts: &BTreeMap<String, i32>,
) -> Assignment {
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| member_order(a, b));
    let all: BTreeSet<TopicPartition> = partition_counts
        .iter()
        .flat_map(|(t, n)| (0..*n).map(move |p| TopicPartition::new(t.clone(), p)))
        .collect();
    // Previous owner of each partition: the claim from the highest generation wins.
    let mut previous: HashMap<TopicPartition, (&str, i32)> = HashMap::new();
    for m in &sorted {
        for tp in &m.owned_partitions {
            let better = previous.get(tp).is_none_or(|(_, g)| m.generation_id > *g);
            if better {
                previous.insert(tp.clone(), (m.member_id.as_str(), m.generation_id));
            }
        }
    }
    let subscribed = |m: &MemberSubscription, tp: &TopicPartition| m.topics.contains(&tp.topic);
    let mut target: BTreeMap<&str, BTreeSet<TopicPartition>> = sorted
        .iter()
        .map(|m| (m.member_id.as_str(), BTreeSet::new()))
        .collect();
    let mut unassigned = Vec::new();
    for tp in &all {
        match previous.get(tp) {
            Some((owner, _))
                if sorted
                    .iter()
                    .any(|m| m.member_id == *owner && subscribed(m, tp)) =>
            {
                target.entry(owner).or_default().insert(tp.clone());
            }
            _ => unassigned.push(tp.clone()),
        }
    }
    // Hand out the rest, each to the least-loaded subscribed member.
    for tp in unassigned {
        let least = sorted
            .iter()
            .filter(|m| subscribed(m, &tp))
            .min_by_key(|m| target[m.member_id.as_str()].len());
        if let Some(m) = least {
            target.entry(m.member_id.as_str()).or_default().insert(tp);
        }
    }
    // Move partitions from the most to the least loaded member while that helps.
    loop {
        let mut moved = false;
        let loads: Vec<(&str, usize)> = sorted
            .iter()
            .map(|m| (m.member_id.as_str(), target[m.member_id.as_str()].len()))
            .collect();
        let Some(&(max_id, max_load)) = loads.iter().max_by_key(|(_, l)| *l) else {
            break;
        };
        let Some(&(min_id, min_load)) = loads.iter().min_by_key(|(_, l)| *l) else {
            break;
        };
        if max_load <= min_load + 1 {
            break;
        }
        let receiver = sorted.iter().find(|m| m.member_id == min_id);
        if let Some(receiver) = receiver {
            let candidate = target[max_id]
                .iter()
                .rev()
                .find(|tp| subscribed(receiver, tp))
                .cloned();
            if let Some(tp) = candidate {
                target.entry(max_id).or_default().remove(&tp);
                target.entry(min_id).or_default().insert(tp);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    // Cooperative step: a partition moving away from a live previous owner is withheld now.
    let live: BTreeSet<&str> = sorted.iter().map(|m| m.member_id.as_str()).collect();
    target
        .into_iter()
        .map(|(member, partitions)| {
            let kept = partitions
                .into_iter()
                .filter(|tp| match previous.get(tp) {
                    Some((owner, _)) => *owner == member || !live.contains(owner),
                    None => true,
                })
                .collect();
            (member.to_string(), kept)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str], owned: &[(&str, i32)]) -> MemberSubscription {
        MemberSubscription {
            member_id: id.to_string(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned_partitions: owned
                .iter()
                .map(|(t, p)| TopicPartition::new(*t, *p))
                .collect(),
            generation_id: 1,
        }
    }

    fn tps(topic: &str, ps: &[i32]) -> Vec<TopicPartition> {
        ps.iter().map(|p| TopicPartition::new(topic, *p)).collect()
    }

    #[test]
    fn range_gives_the_first_members_the_extra_partitions() {
        let members = vec![member("b", &["t"], &[]), member("a", &["t", "u"], &[])];
        let counts = BTreeMap::from([("t".to_string(), 5), ("u".to_string(), 2)]);
        let out = range(&members, &counts);
        let mut a = tps("t", &[0, 1, 2]);
        a.extend(tps("u", &[0, 1]));
        assert_eq!(out["a"], a);
        assert_eq!(out["b"], tps("t", &[3, 4]));
    }

    #[test]
    fn static_members_sort_before_dynamic_ones() {
        let mut z = member("z", &["t"], &[]);
        z.group_instance_id = Some("i1".to_string());
        let members = vec![member("a", &["t"], &[]), z];
        let out = range(&members, &BTreeMap::from([("t".to_string(), 3)]));
        assert_eq!(out["z"], tps("t", &[0, 1]));
        assert_eq!(out["a"], tps("t", &[2]));
    }

    #[test]
    fn cooperative_sticky_keeps_owners_and_withholds_moves() {
        let counts = BTreeMap::from([("t".to_string(), 4)]);
        // First generation: one member takes all.
        let first = cooperative_sticky(&[member("a", &["t"], &[])], &counts);
        assert_eq!(first["a"], tps("t", &[0, 1, 2, 3]));
        // A second member joins: a keeps two, the two that move are withheld this round.
        let owned: Vec<(&str, i32)> = (0..4).map(|p| ("t", p)).collect();
        let second = cooperative_sticky(
            &[member("a", &["t"], &owned), member("b", &["t"], &[])],
            &counts,
        );
        assert_eq!(second["a"].len(), 2);
        assert!(second["b"].is_empty());
        // After a revokes, the follow-up rebalance hands them to b.
        let kept: Vec<(&str, i32)> = second["a"].iter().map(|tp| ("t", tp.partition)).collect();
        let third = cooperative_sticky(
            &[member("a", &["t"], &kept), member("b", &["t"], &[])],
            &counts,
        );
        assert_eq!(third["a"], second["a"]);
        assert_eq!(third["b"].len(), 2);
        let all: BTreeSet<_> = third.values().flatten().cloned().collect();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn strategy_names_accept_java_class_names() {
        assert_eq!(
            name_of("org.apache.kafka.clients.consumer.CooperativeStickyAssignor"),
            Some(COOPERATIVE_STICKY)
        );
        assert_eq!(name_of("range"), Some(RANGE));
        assert_eq!(name_of("roundrobin"), None);
    }
}
