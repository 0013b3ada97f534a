//! Transactional offset commits (TxnOffsetCommit, KIP-98; member fencing of KIP-447): offsets a
//! transactional producer commits for a group as part of its transaction.
//!
//! Such offsets are *pending*: kept per producer id, invisible to OffsetFetch, until the
//! transaction's end marker reaches this `__consumer_offsets` partition. A COMMIT marker makes
//! them the group's committed offsets; an ABORT marker drops them. OffsetFetch with
//! `require_stable` answers UNSTABLE_OFFSET_COMMIT for a partition with a pending offset (the
//! consumer retries until the transaction ends); without it the last committed offset is
//! returned.
//!
//! On the log the records of one TxnOffsetCommit are ordinary OffsetCommit records in ONE
//! transactional batch carrying the transaction's producer id and epoch (the broker writes
//! it; see [`GroupCoordinator::txn_commit_offsets`]). Replay stages such a
//! batch's records with [`GroupCoordinator::replay_txn`] and applies markers with
//! [`GroupCoordinator::complete_transaction`], so a restart sees them only if a commit marker
//! follows.
//!
//! Ordering against plain commits follows Kafka: whichever write is later in the log wins. A
//! plain OffsetCommit (or its replay) of a partition after a pending transactional offset was
//! staged marks that pending offset superseded; its commit marker then leaves the plain
//! offset in place. A tombstone (OffsetDelete, DeleteGroups) drops pending offsets of the
//! partition outright, as Kafka's replay of an offset tombstone does.

use std::collections::{BTreeMap, BTreeSet};

use crate::coordinator::{validate_member, GroupCoordinator};
use crate::error::GroupError;
use crate::group::{ClassicGroup, GroupState};
use crate::offsets::{FetchedOffset, OffsetCommitEntry, PartitionResult};
use crate::record::{CoordinatorRecord, OffsetCommitValue};

/// One staged transactional offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingTxnOffset {
    pub(crate) value: OffsetCommitValue,
    /// A plain commit of the same partition came later: the commit marker must not override it.
    pub(crate) superseded: bool,
}

/// group -> (topic, partition) -> pending offset, for one producer id.
pub(crate) type PendingByGroup = BTreeMap<String, BTreeMap<(String, i32), PendingTxnOffset>>;

/// A TxnOffsetCommit request, decoded (API 28; v0–2 carry no member fields: empty member id,
/// generation -1, no instance id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitRequest {
    /// The producer's transactional id (for logs; fencing is the log's producer state's job).
    pub transactional_id: String,
    /// Group id.
    pub group_id: String,
    /// The transaction's producer id.
    pub producer_id: i64,
    /// The transaction's producer epoch.
    pub producer_epoch: i16,
    /// v3+: the member's generation (KIP-848 groups: its member epoch), -1 if unknown.
    pub generation_id: i32,
    /// v3+: the member id, empty if unknown.
    pub member_id: String,
    /// v3+: the static member id.
    pub group_instance_id: Option<String>,
    /// The offsets to stage.
    pub entries: Vec<OffsetCommitEntry>,
}

/// One partition of an OffsetFetch answer that honours `require_stable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableFetchedOffset {
    /// The committed offset (offset -1 when `error` is set).
    pub fetched: FetchedOffset,
    /// UNSTABLE_OFFSET_COMMIT when a transaction holds a pending offset for the partition.
    pub error: Option<GroupError>,
}

impl GroupCoordinator {
    /// TxnOffsetCommit: validates the member (KIP-447) and stages the offsets as pending for
    /// `request.producer_id`. Returns per-partition results and the records, which the broker
    /// must append as ONE transactional batch with the request's producer id and epoch. A
    /// group-level refusal is the `Err`.
    pub fn txn_commit_offsets(
        &mut self,
        request: &TxnOffsetCommitRequest,
        now_ms: i64,
    ) -> Result<(Vec<PartitionResult>, Vec<CoordinatorRecord>), GroupError> {
        let group_id = request.group_id.as_str();
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        self.validate_txn_commit(request, now_ms)?;
        let max_bytes = self.config.offset_metadata_max_bytes;
        let mut results = Vec::with_capacity(request.entries.len());
        let mut records = Vec::with_capacity(request.entries.len());
        for entry in &request.entries {
            let metadata = entry.metadata.clone().unwrap_or_default();
            let error = if metadata.len() > max_bytes {
                Some(GroupError::OffsetMetadataTooLarge {
                    metadata_bytes: metadata.len(),
                })
            } else {
                let value = OffsetCommitValue {
                    offset: entry.offset,
                    leader_epoch: entry.leader_epoch,
                    metadata,
                    commit_timestamp_ms: now_ms,
                    expire_timestamp_ms: None,
                };
                let record = CoordinatorRecord::OffsetCommit {
                    group_id: group_id.to_string(),
                    topic: entry.topic.clone(),
                    partition: entry.partition,
                    value: Some(value),
                };
                self.replay_txn(request.producer_id, &record, now_ms);
                records.push(record);
                None
            };
            results.push(PartitionResult {
                topic: entry.topic.clone(),
                partition: entry.partition,
                error,
            });
        }
        Ok((results, records))
    }

    /// Kafka's checks of a transactional commit: a group it does not know is created as a
    /// "simple" group when the request carries no generation (ILLEGAL_GENERATION otherwise);
    /// requests without member fields (v0–2, or a producer outside group management) are
    /// accepted whatever the group's state; a member must be known, not fenced, and at the
    /// group's generation. Unlike OffsetCommit, a group completing its rebalance is no
    /// refusal: the transaction may still be aborted if the member was fenced.
    fn validate_txn_commit(
        &mut self,
        request: &TxnOffsetCommitRequest,
        now_ms: i64,
    ) -> Result<(), GroupError> {
        let group_id = request.group_id.as_str();
        let member_id = request.member_id.as_str();
        let generation_id = request.generation_id;
        let instance_id = request.group_instance_id.as_deref();
        if self.consumer_groups.contains_key(group_id) {
            if generation_id < 0 && member_id.is_empty() && instance_id.is_none() {
                return Ok(());
            }
            return self
                .validate_consumer_group_commit(group_id, member_id, generation_id)
                .unwrap_or(Ok(()));
        }
        let Some(group) = self.groups.get_mut(group_id) else {
            if generation_id >= 0 {
                return Err(GroupError::IllegalGeneration);
            }
            let group = ClassicGroup::new(group_id.to_string(), now_ms);
            self.groups.insert(group_id.to_string(), group);
            return Ok(());
        };
        if group.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if generation_id < 0 && group.state == GroupState::Empty {
            return Ok(());
        }
        if generation_id >= 0 || !member_id.is_empty() || instance_id.is_some() {
            validate_member(group, member_id, instance_id, generation_id)?;
            if let Some(member) = group.members.get_mut(member_id) {
                member.last_heartbeat_ms = now_ms;
            }
        }
        Ok(())
    }

    /// Stages one record of a transactional `__consumer_offsets` batch written by
    /// `producer_id` (live, or read back during replay). Only offset commits are
    /// transactional; anything else is applied as a plain record would be.
    pub fn replay_txn(&mut self, producer_id: i64, record: &CoordinatorRecord, now_ms: i64) {
        let CoordinatorRecord::OffsetCommit {
            group_id,
            topic,
            partition,
            value: Some(value),
        } = record
        else {
            self.replay(record, now_ms);
            return;
        };
        // A group that only has transactional offsets is still a group (Kafka creates it on
        // the first TxnOffsetCommit), so DescribeGroups and expiry see it.
        if !self.groups.contains_key(group_id) && !self.consumer_groups.contains_key(group_id) {
            self.groups.insert(
                group_id.clone(),
                ClassicGroup::new(group_id.clone(), now_ms),
            );
        }
        self.pending_txn_offsets
            .entry(producer_id)
            .or_default()
            .entry(group_id.clone())
            .or_default()
            .insert(
                (topic.clone(), *partition),
                PendingTxnOffset {
                    value: value.clone(),
                    superseded: false,
                },
            );
    }

    /// The end of `producer_id`'s transaction reached this partition: on commit its pending
    /// offsets become committed (unless a later plain commit superseded them), on abort they
    /// are dropped. No records: the marker itself is the record. Returns how many offsets
    /// became visible.
    pub fn complete_transaction(&mut self, producer_id: i64, commit: bool, now_ms: i64) -> usize {
        let Some(pending) = self.pending_txn_offsets.remove(&producer_id) else {
            return 0;
        };
        if !commit {
            return 0;
        }
        let mut applied = 0;
        for (group_id, offsets) in pending {
            for ((topic, partition), offset) in offsets {
                if offset.superseded {
                    continue;
                }
                self.offsets
                    .entry(group_id.clone())
                    .or_default()
                    .insert((topic, partition), offset.value);
                applied += 1;
            }
            if !self.groups.contains_key(&group_id) && !self.consumer_groups.contains_key(&group_id)
            {
                self.groups.insert(
                    group_id.clone(),
                    ClassicGroup::new(group_id.clone(), now_ms),
                );
            }
        }
        applied
    }

    /// Whether some transaction holds a pending offset of the group for this partition.
    pub fn has_pending_txn_offset(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        let key = (topic.to_string(), partition);
        self.pending_txn_offsets
            .values()
            .any(|groups| groups.get(group_id).is_some_and(|o| o.contains_key(&key)))
    }

    /// Whether some transaction holds pending offsets of the group.
    pub fn has_pending_txn_offsets(&self, group_id: &str) -> bool {
        self.pending_txn_offsets
            .values()
            .any(|groups| groups.contains_key(group_id))
    }

    /// The producer ids with pending offsets in this partition (open transactions here).
    pub fn pending_txn_producers(&self) -> Vec<i64> {
        self.pending_txn_offsets.keys().copied().collect()
    }

    /// The partitions of the group some transaction holds a pending offset for.
    pub(crate) fn pending_txn_partitions(&self, group_id: &str) -> BTreeSet<(String, i32)> {
        self.pending_txn_offsets
            .values()
            .filter_map(|groups| groups.get(group_id))
            .flat_map(|offsets| offsets.keys().cloned())
            .collect()
    }

    /// A plain commit of (group, partition) was written: pending transactional offsets staged
    /// before it lose to it.
    pub(crate) fn supersede_pending(&mut self, group_id: &str, topic: &str, partition: i32) {
        if self.pending_txn_offsets.is_empty() {
            return;
        }
        let key = (topic.to_string(), partition);
        for groups in self.pending_txn_offsets.values_mut() {
            if let Some(offset) = groups.get_mut(group_id).and_then(|o| o.get_mut(&key)) {
                offset.superseded = true;
            }
        }
    }

    /// A tombstone of (group, partition) was written: pending transactional offsets of it
    /// are dropped.
    pub(crate) fn drop_pending(&mut self, group_id: &str, topic: &str, partition: i32) {
        if self.pending_txn_offsets.is_empty() {
            return;
        }
        let key = (topic.to_string(), partition);
        for groups in self.pending_txn_offsets.values_mut() {
            if let Some(offsets) = groups.get_mut(group_id) {
                offsets.remove(&key);
                if offsets.is_empty() {
                    groups.remove(group_id);
                }
            }
        }
        self.pending_txn_offsets
            .retain(|_, groups| !groups.is_empty());
    }

    /// OffsetFetch honouring `require_stable` (v7+): like [`GroupCoordinator::fetch_offsets`],
    /// but a partition with a pending transactional offset answers UNSTABLE_OFFSET_COMMIT with
    /// offset -1 when `require_stable` is set.
    pub fn fetch_offsets_stable(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
        require_stable: bool,
    ) -> Vec<StableFetchedOffset> {
        let fetched = self.fetch_offsets(group_id, partitions);
        if !require_stable {
            return fetched
                .into_iter()
                .map(|fetched| StableFetchedOffset {
                    fetched,
                    error: None,
                })
                .collect();
        }
        let pending = self.pending_txn_partitions(group_id);
        fetched
            .into_iter()
            .map(|fetched| {
                if pending.contains(&(fetched.topic.clone(), fetched.partition)) {
                    StableFetchedOffset {
                        fetched: FetchedOffset {
                            offset: -1,
                            leader_epoch: -1,
                            metadata: String::new(),
                            ..fetched
                        },
                        error: Some(GroupError::UnstableOffsetCommit),
                    }
                } else {
                    StableFetchedOffset {
                        fetched,
                        error: None,
                    }
                }
            })
            .collect()
    }
}
