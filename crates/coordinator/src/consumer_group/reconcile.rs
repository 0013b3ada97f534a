//! Moving one member from its current assignment toward its target (Kafka's
//! `CurrentAssignmentBuilder`), one heartbeat at a time:
//!
//! - `Stable` at an old epoch: compute the next step.
//! - `UnrevokedPartitions`: wait until the member's heartbeat no longer reports any partition
//!   pending revocation, then step to the next epoch.
//! - `UnreleasedPartitions`: retry, in case the partitions it waits for were released.
//! - `Unknown` (written by a newer coordinator): fenced unless it reports owning nothing.
//!
//! A step keeps `assigned ∩ target`, asks the member to revoke `assigned − target` (staying at
//! its epoch), and only when nothing is left to revoke gives it the target partitions that no
//! other member owns, moving it to the target epoch.

use uuid::Uuid;

use super::record::{Assignment, MemberState};
use super::ConsumerGroupMember;
use crate::error::GroupError;

/// Reconciles `member` toward `target` at `target_epoch`. `owned` is what the heartbeat
/// reports owning (`None`: not reported); `owned_elsewhere` says whether another member still
/// owns a partition.
pub fn reconcile(
    member: &ConsumerGroupMember,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
    owned_elsewhere: impl Fn(&Uuid, i32) -> bool,
) -> Result<ConsumerGroupMember, GroupError> {
    match member.state {
        MemberState::Stable if member.member_epoch == target_epoch => Ok(member.clone()),
        MemberState::Stable | MemberState::UnreleasedPartitions => Ok(next_step(
            member,
            member.member_epoch,
            target_epoch,
            target,
            owned,
            owned_elsewhere,
        )),
        MemberState::UnrevokedPartitions => {
            if still_owns_any(owned, &member.partitions_pending_revocation) {
                return Ok(member.clone());
            }
            Ok(next_step(
                member,
                member.member_epoch + 1,
                target_epoch,
                target,
                owned,
                owned_elsewhere,
            ))
        }
        MemberState::Unknown => {
            if owned.is_none_or(|o| o.values().any(|p| !p.is_empty())) {
                return Err(GroupError::FencedMemberEpoch);
            }
            Ok(next_step(
                member,
                target_epoch,
                target_epoch,
                target,
                owned,
                owned_elsewhere,
            ))
        }
    }
}

/// Whether the member still reports owning any of `pending`; not reporting counts as owning.
fn still_owns_any(owned: Option<&Assignment>, pending: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    owned.iter().any(|(topic_id, partitions)| {
        pending
            .get(topic_id)
            .is_some_and(|p| partitions.iter().any(|partition| p.contains(partition)))
    })
}

fn set_epoch(member: &mut ConsumerGroupMember, epoch: i32) {
    member.previous_member_epoch = member.member_epoch;
    member.member_epoch = epoch;
}

fn next_step(
    member: &ConsumerGroupMember,
    revoking_epoch: i32,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
    owned_elsewhere: impl Fn(&Uuid, i32) -> bool,
) -> ConsumerGroupMember {
    let mut assigned = Assignment::new();
    let mut revoking = Assignment::new();
    let mut incoming = Assignment::new();
    let mut unreleased = false;
    let topic_ids = target.keys().chain(member.assigned_partitions.keys());
    for topic_id in topic_ids {
        if assigned.contains_key(topic_id) || revoking.contains_key(topic_id) {
            continue;
        }
        let wanted = target.get(topic_id).cloned().unwrap_or_default();
        let current = member
            .assigned_partitions
            .get(topic_id)
            .cloned()
            .unwrap_or_default();
        let kept: std::collections::BTreeSet<i32> =
            current.intersection(&wanted).copied().collect();
        let revoked: std::collections::BTreeSet<i32> = current.difference(&kept).copied().collect();
        let mut new: std::collections::BTreeSet<i32> = wanted.difference(&kept).copied().collect();
        let before = new.len();
        new.retain(|partition| !owned_elsewhere(topic_id, *partition));
        unreleased |= new.len() != before;
        if !kept.is_empty() {
            assigned.insert(*topic_id, kept);
        }
        if !revoked.is_empty() {
            revoking.insert(*topic_id, revoked);
        }
        if !new.is_empty() {
            incoming.insert(*topic_id, new);
        }
    }
    let mut next = member.clone();
    if !revoking.is_empty() && still_owns_any(owned, &revoking) {
        next.state = MemberState::UnrevokedPartitions;
        set_epoch(&mut next, revoking_epoch);
        next.assigned_partitions = assigned;
        next.partitions_pending_revocation = revoking;
        return next;
    }
    for (topic_id, partitions) in incoming {
        assigned.entry(topic_id).or_default().extend(partitions);
    }
    next.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
    set_epoch(&mut next, target_epoch);
    next.assigned_partitions = assigned;
    next.partitions_pending_revocation = Assignment::new();
    next
}
