//! The end of a group's life: DeleteGroups, and offset expiry (`offsets.retention.minutes`)
//! which tombstones old offsets and then removes groups left Empty with no offsets.
//!
//! Expiry rules (KIP-211, as Kafka 4.x applies them):
//! - an offset carrying an explicit `expire_timestamp` (OffsetCommit v1 records) expires at it;
//! - a group with no protocol type (offsets committed by standalone consumers or admin tools)
//!   expires each offset `retention_ms` after its commit;
//! - a classic group with a protocol type expires offsets only while Empty, `retention_ms`
//!   after it became Empty (its `current_state_timestamp`; the commit time when unknown); a
//!   classic group with members keeps every offset, since we do not decode subscriptions;
//! - a KIP-848 consumer group expires offsets of topics no member subscribes to, `retention_ms`
//!   after their commit.
//!
//! A group whose offsets all expired (or that had none) and that is empty is deleted too:
//! its metadata is tombstoned, as Kafka's `cleanupGroupMetadata` does.

use std::collections::BTreeSet;

use crate::consumer_group::heartbeat::member_tombstones;
use crate::consumer_group::ConsumerGroupRecord;
use crate::coordinator::GroupCoordinator;
use crate::error::GroupError;
use crate::group::GroupState;
use crate::record::{CoordinatorRecord, OffsetCommitValue};

/// `offsets.retention.minutes` default: 7 days, in milliseconds.
pub const DEFAULT_OFFSETS_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// One group's answer in a batched group request (DeleteGroups): its id and the outcome.
pub type GroupResult = (String, Result<(), GroupError>);

/// How an offset of a group ages.
enum Expiry {
    /// Never, for now (a classic group with members).
    Never,
    /// `retention_ms` after this base time, or its commit time when `None`.
    After(Option<i64>),
}

impl Expiry {
    fn expired(&self, value: &OffsetCommitValue, now_ms: i64, retention_ms: i64) -> bool {
        if let Some(expire_timestamp_ms) = value.expire_timestamp_ms {
            // An explicit expiry predates KIP-211 and keeps its old meaning.
            return now_ms >= expire_timestamp_ms;
        }
        match self {
            Expiry::Never => false,
            Expiry::After(base_ms) => {
                let base_ms = base_ms.unwrap_or(value.commit_timestamp_ms);
                now_ms.saturating_sub(base_ms) >= retention_ms
            }
        }
    }
}

impl GroupCoordinator {
    /// DeleteGroups: removes each Empty (or Dead) group with all its offsets. Results come in
    /// request order; the records (offset tombstones, then the group's metadata tombstones)
    /// must be appended before answering.
    pub fn delete_groups(
        &mut self,
        group_ids: &[String],
        now_ms: i64,
    ) -> (Vec<GroupResult>, Vec<CoordinatorRecord>) {
        let _ = now_ms; // Deletion is immediate; the argument keeps every handler's shape.
        let mut records = Vec::new();
        let results = group_ids
            .iter()
            .map(|group_id| {
                let result = self.delete_group(group_id, &mut records);
                (group_id.clone(), result)
            })
            .collect();
        (results, records)
    }

    fn delete_group(
        &mut self,
        group_id: &str,
        records: &mut Vec<CoordinatorRecord>,
    ) -> Result<(), GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        match self.groups.get(group_id) {
            Some(group) if group.state == GroupState::Dead => {
                return Err(GroupError::GroupIdNotFound)
            }
            Some(group) if group.state != GroupState::Empty => {
                return Err(GroupError::NonEmptyGroup)
            }
            Some(_) => {}
            None if self.consumer_groups.contains_key(group_id) => {
                return self.delete_consumer_group(group_id, records)
            }
            None if self.offsets.contains_key(group_id) => {}
            None => return Err(GroupError::GroupIdNotFound),
        }
        self.tombstone_offsets(group_id, records);
        self.groups.remove(group_id);
        records.push(CoordinatorRecord::GroupMetadata {
            group_id: group_id.to_string(),
            value: None,
        });
        Ok(())
    }

    /// DeleteGroups for a KIP-848 group: only without members.
    fn delete_consumer_group(
        &mut self,
        group_id: &str,
        records: &mut Vec<CoordinatorRecord>,
    ) -> Result<(), GroupError> {
        let group = self
            .consumer_groups
            .get(group_id)
            .ok_or(GroupError::GroupIdNotFound)?;
        if !group.members.is_empty() {
            return Err(GroupError::NonEmptyGroup);
        }
        self.tombstone_offsets(group_id, records);
        self.remove_consumer_group(group_id, records);
        Ok(())
    }

    /// Forgets a consumer group, writing its tombstones in Kafka's order: each member's, then
    /// the target assignment epoch, the subscription metadata and the group epoch.
    fn remove_consumer_group(&mut self, group_id: &str, records: &mut Vec<CoordinatorRecord>) {
        let Some(group) = self.consumer_groups.remove(group_id) else {
            return;
        };
        for member_id in group.members.keys() {
            records.extend(member_tombstones(group_id, member_id));
        }
        let group_id = group_id.to_string();
        records.extend(
            [
                ConsumerGroupRecord::TargetAssignmentMetadata {
                    group_id: group_id.clone(),
                    assignment_epoch: None,
                },
                ConsumerGroupRecord::PartitionMetadata {
                    group_id: group_id.clone(),
                    topics: None,
                },
                ConsumerGroupRecord::GroupMetadata {
                    group_id,
                    epoch: None,
                },
            ]
            .map(CoordinatorRecord::ConsumerGroup),
        );
    }

    /// Tombstones (and forgets) every committed offset of the group, and every offset an
    /// open transaction staged for it (Kafka 4.x's `deleteAllOffsets`: the commit marker that
    /// may follow then finds nothing to commit). One tombstone per partition.
    pub(crate) fn tombstone_offsets(
        &mut self,
        group_id: &str,
        records: &mut Vec<CoordinatorRecord>,
    ) {
        let mut partitions: BTreeSet<(String, i32)> = self
            .offsets
            .remove(group_id)
            .into_iter()
            .flatten()
            .map(|(key, _)| key)
            .collect();
        partitions.extend(self.pending_txn_partitions(group_id));
        for (topic, partition) in partitions {
            self.drop_pending(group_id, &topic, partition);
            records.push(CoordinatorRecord::OffsetCommit {
                group_id: group_id.to_string(),
                topic,
                partition,
                value: None,
            });
        }
    }

    /// Expires offsets older than `retention_ms` (`offsets.retention.minutes`) under the rules
    /// in this module's docs, then deletes the empty groups left with no offsets. Returns the
    /// tombstones to append. The broker calls it every `offsets.retention.check.interval.ms`.
    pub fn expire_offsets(&mut self, now_ms: i64, retention_ms: i64) -> Vec<CoordinatorRecord> {
        let mut records = Vec::new();
        let mut group_ids: BTreeSet<String> = self.offsets.keys().cloned().collect();
        group_ids.extend(self.groups.keys().cloned());
        group_ids.extend(self.consumer_groups.keys().cloned());
        for group_id in group_ids {
            let Some((expiry, subscribed)) = self.expiry_of(&group_id) else {
                continue;
            };
            // An open transaction's offsets keep their partitions (Kafka skips partitions with
            // pending transactional offsets) and the group alive.
            let pending = self.pending_txn_partitions(&group_id);
            let mut all_expired = pending.is_empty();
            if let Some(committed) = self.offsets.get_mut(&group_id) {
                let expired: Vec<(String, i32)> = committed
                    .iter()
                    .filter(|(key, value)| {
                        !subscribed.contains(&key.0)
                            && !pending.contains(*key)
                            && expiry.expired(value, now_ms, retention_ms)
                    })
                    .map(|(key, _)| key.clone())
                    .collect();
                all_expired &= expired.len() == committed.len();
                for (topic, partition) in expired {
                    committed.remove(&(topic.clone(), partition));
                    records.push(CoordinatorRecord::OffsetCommit {
                        group_id: group_id.clone(),
                        topic,
                        partition,
                        value: None,
                    });
                }
                if committed.is_empty() {
                    self.offsets.remove(&group_id);
                }
            }
            if all_expired {
                self.remove_if_empty(&group_id, &mut records);
            }
        }
        records
    }

    /// How the group's offsets age, and the topics its members subscribe to (never expired).
    /// `None` when the group is being removed.
    fn expiry_of(&self, group_id: &str) -> Option<(Expiry, BTreeSet<String>)> {
        if let Some(subscribed) = self.consumer_group_subscriptions(group_id) {
            return Some((Expiry::After(None), subscribed));
        }
        let expiry = match self.groups.get(group_id) {
            None => Expiry::After(None),
            Some(group) if group.state == GroupState::Dead => return None,
            Some(group) if group.protocol_type.is_none() => Expiry::After(None),
            Some(group) if group.state == GroupState::Empty => {
                Expiry::After((group.state_timestamp_ms >= 0).then_some(group.state_timestamp_ms))
            }
            Some(_) => Expiry::Never,
        };
        Some((expiry, BTreeSet::new()))
    }

    /// Deletes a group with no offsets left if it has no members: Kafka's `maybeDeleteGroup`.
    fn remove_if_empty(&mut self, group_id: &str, records: &mut Vec<CoordinatorRecord>) {
        if self.offsets.contains_key(group_id) || self.has_pending_txn_offsets(group_id) {
            return;
        }
        match self.groups.get(group_id) {
            // A KIP-394 member about to rejoin with its new id still needs the group.
            Some(group) if group.state == GroupState::Empty && group.pending_members.is_empty() => {
                self.groups.remove(group_id);
                records.push(CoordinatorRecord::GroupMetadata {
                    group_id: group_id.to_string(),
                    value: None,
                });
            }
            Some(_) => {}
            None => {
                if self
                    .consumer_groups
                    .get(group_id)
                    .is_some_and(|g| g.members.is_empty())
                {
                    self.remove_consumer_group(group_id, records);
                }
            }
        }
    }
}
