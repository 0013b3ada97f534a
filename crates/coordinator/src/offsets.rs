//! Committed offsets (OffsetCommit, OffsetFetch, OffsetDelete) and `replay`, which rebuilds
//! the coordinator from `__consumer_offsets` records after a restart or fail-over.

use bytes::Bytes;

use crate::coordinator::{validate_member, GroupCoordinator};
use crate::error::GroupError;
use crate::group::{ClassicGroup, GroupState, Member};
use crate::record::{CoordinatorRecord, GroupMetadataValue, OffsetCommitValue};

/// OffsetCommit v2-4's `retention_time_ms` meaning "the broker's retention" (Kafka's
/// `OffsetCommitRequest.DEFAULT_RETENTION_TIME`).
pub const DEFAULT_RETENTION_TIME_MS: i64 = -1;

/// One partition of an OffsetCommit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitEntry {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Next offset to consume.
    pub offset: i64,
    /// Leader epoch of the last consumed record, -1 if unknown.
    pub leader_epoch: i32,
    /// Opaque client metadata; `None` is stored as an empty string, as Kafka does.
    pub metadata: Option<String>,
}

/// Per-partition result of an OffsetCommit or OffsetDelete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionResult {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// `None` on success.
    pub error: Option<GroupError>,
}

/// One partition of an OffsetFetch answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Committed offset, -1 if none.
    pub offset: i64,
    /// Committed leader epoch, -1 if none.
    pub leader_epoch: i32,
    /// Committed metadata, empty if none.
    pub metadata: String,
}

impl GroupCoordinator {
    /// OffsetCommit. A member commits with its member id and generation; an admin tool or a
    /// consumer without a group uses an empty member id and generation -1, which only an Empty
    /// (or unknown) group accepts. Returns per-partition results and the records to append;
    /// a group-level refusal is the `Err`.
    #[allow(clippy::too_many_arguments)]
    pub fn commit_offsets(
        &mut self,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        entries: &[OffsetCommitEntry],
        now_ms: i64,
    ) -> Result<(Vec<PartitionResult>, Vec<CoordinatorRecord>), GroupError> {
        self.commit_offsets_with_retention(
            group_id,
            member_id,
            group_instance_id,
            generation_id,
            entries,
            DEFAULT_RETENTION_TIME_MS,
            now_ms,
        )
    }

    /// OffsetCommit v2-4, whose request carries `retention_time_ms`. Kafka 4.x still honours
    /// it: [`DEFAULT_RETENTION_TIME_MS`] (-1) leaves the offsets to `offsets.retention.minutes`
    /// like every later version; any other value gives each offset the explicit expire
    /// timestamp `now_ms + retention_time_ms`, written as an offset value v1 (the only version
    /// with that field) and honoured by offset expiry.
    #[allow(clippy::too_many_arguments)]
    pub fn commit_offsets_with_retention(
        &mut self,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        entries: &[OffsetCommitEntry],
        retention_time_ms: i64,
        now_ms: i64,
    ) -> Result<(Vec<PartitionResult>, Vec<CoordinatorRecord>), GroupError> {
        let expire_timestamp_ms = (retention_time_ms != DEFAULT_RETENTION_TIME_MS)
            .then(|| now_ms.saturating_add(retention_time_ms));
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        if let Some(check) = self.validate_consumer_group_commit(group_id, member_id, generation_id)
        {
            // A KIP-848 group: `generation_id` carries the member epoch.
            check?;
        } else {
            match self.groups.get_mut(group_id) {
                None if generation_id < 0 => {
                    // A "simple" consumer group: created on its first offset commit.
                    let group = ClassicGroup::new(group_id.to_string(), now_ms);
                    self.groups.insert(group_id.to_string(), group);
                }
                None => return Err(GroupError::IllegalGeneration),
                Some(group) if group.state == GroupState::Dead => {
                    return Err(GroupError::CoordinatorNotAvailable)
                }
                Some(group) if generation_id < 0 && member_id.is_empty() => {
                    if !group.is_empty() {
                        // Tools (kafka-consumer-groups --reset-offsets) rely on this refusal.
                        return Err(GroupError::UnknownMemberId);
                    }
                }
                Some(group) => {
                    validate_member(group, member_id, group_instance_id, generation_id)?;
                    if group.state == GroupState::CompletingRebalance {
                        // The assignment of this generation is not known yet: rejoin first.
                        return Err(GroupError::RebalanceInProgress);
                    }
                    if let Some(member) = group.members.get_mut(member_id) {
                        member.last_heartbeat_ms = now_ms;
                    }
                }
            }
        }
        let max_bytes = self.config.offset_metadata_max_bytes;
        let mut results = Vec::with_capacity(entries.len());
        let mut records = Vec::with_capacity(entries.len());
        for entry in entries {
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
                    expire_timestamp_ms,
                };
                self.offsets
                    .entry(group_id.to_string())
                    .or_default()
                    .insert((entry.topic.clone(), entry.partition), value.clone());
                self.supersede_pending(group_id, &entry.topic, entry.partition);
                records.push(CoordinatorRecord::OffsetCommit {
                    group_id: group_id.to_string(),
                    topic: entry.topic.clone(),
                    partition: entry.partition,
                    value: Some(value),
                });
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

    /// OffsetFetch: the asked partitions (every unknown one answers offset -1), or all the
    /// group's committed partitions when `partitions` is `None`.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Vec<FetchedOffset> {
        let committed = self.offsets.get(group_id);
        let fetched =
            |topic: &str, partition: i32, value: Option<&OffsetCommitValue>| FetchedOffset {
                topic: topic.to_string(),
                partition,
                offset: value.map_or(-1, |v| v.offset),
                leader_epoch: value.map_or(-1, |v| v.leader_epoch),
                metadata: value.map(|v| v.metadata.clone()).unwrap_or_default(),
            };
        match partitions {
            Some(partitions) => partitions
                .iter()
                .map(|(topic, partition)| {
                    let key = (topic.clone(), *partition);
                    fetched(topic, *partition, committed.and_then(|c| c.get(&key)))
                })
                .collect(),
            None => committed
                .into_iter()
                .flatten()
                .map(|((topic, partition), value)| fetched(topic, *partition, Some(value)))
                .collect(),
        }
    }

    /// OffsetDelete. Refused per partition with GROUP_SUBSCRIBED_TO_TOPIC while the group has
    /// members: we do not decode subscriptions, so any member might be consuming the topic.
    pub fn delete_offsets(
        &mut self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<(Vec<PartitionResult>, Vec<CoordinatorRecord>), GroupError> {
        let group = self.groups.get(group_id);
        if group.is_some_and(|g| g.state == GroupState::Dead) {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        let has_members = group.is_some_and(|g| !g.is_empty());
        // Consumer groups know their subscriptions: only subscribed topics are protected.
        let subscribed = self.consumer_group_subscriptions(group_id);
        let mut results = Vec::with_capacity(partitions.len());
        let mut records = Vec::new();
        for (topic, partition) in partitions {
            let protected = match &subscribed {
                Some(topics) => topics.contains(topic),
                None => has_members,
            };
            let error = if protected {
                Some(GroupError::GroupSubscribedToTopic)
            } else {
                let removed = self
                    .offsets
                    .get_mut(group_id)
                    .and_then(|c| c.remove(&(topic.clone(), *partition)));
                let pending = self.has_pending_txn_offset(group_id, topic, *partition);
                self.drop_pending(group_id, topic, *partition);
                if removed.is_some() || pending {
                    records.push(CoordinatorRecord::OffsetCommit {
                        group_id: group_id.to_string(),
                        topic: topic.clone(),
                        partition: *partition,
                        value: None,
                    });
                }
                None
            };
            results.push(PartitionResult {
                topic: topic.clone(),
                partition: *partition,
                error,
            });
        }
        Ok((results, records))
    }

    /// Applies one record read back from `__consumer_offsets`, in log order. A loaded group
    /// with members comes back Stable in its last generation; sessions restart at `now_ms`
    /// (the load time), as in Kafka, so live members are not expired by the fail-over itself.
    pub fn replay(&mut self, record: &CoordinatorRecord, now_ms: i64) {
        match record {
            CoordinatorRecord::OffsetCommit {
                group_id,
                topic,
                partition,
                value: Some(value),
            } => {
                self.offsets
                    .entry(group_id.clone())
                    .or_default()
                    .insert((topic.clone(), *partition), value.clone());
                self.supersede_pending(group_id, topic, *partition);
                // A group that only ever had offsets (admin or standalone commits) has no
                // GroupMetadata record: rebuild it Empty, as Kafka's replay does, so ListGroups
                // and DescribeGroups still show it after a restart.
                if !self.groups.contains_key(group_id)
                    && !self.consumer_groups.contains_key(group_id)
                {
                    self.groups.insert(
                        group_id.clone(),
                        ClassicGroup::new(group_id.clone(), now_ms),
                    );
                }
            }
            CoordinatorRecord::OffsetCommit {
                group_id,
                topic,
                partition,
                value: None,
            } => {
                self.drop_pending(group_id, topic, *partition);
                if let Some(committed) = self.offsets.get_mut(group_id) {
                    committed.remove(&(topic.clone(), *partition));
                    if committed.is_empty() {
                        self.offsets.remove(group_id);
                    }
                }
            }
            CoordinatorRecord::GroupMetadata {
                group_id,
                value: Some(value),
            } => {
                let group = loaded_group(group_id, value, now_ms);
                self.groups.insert(group_id.clone(), group);
            }
            CoordinatorRecord::GroupMetadata {
                group_id,
                value: None,
            } => {
                // Offsets have tombstones of their own (DeleteGroups writes both).
                self.groups.remove(group_id);
            }
            CoordinatorRecord::ConsumerGroup(record) => {
                // A consumer group that took over an offsets-only group: the Empty classic
                // group rebuilt from its offsets above must not shadow it.
                let offsets_only = self.groups.get(record.group_id()).is_some_and(|g| {
                    g.state == GroupState::Empty && g.generation_id <= 0 && g.members.is_empty()
                });
                if offsets_only {
                    self.groups.remove(record.group_id());
                }
                self.replay_consumer_group(record, now_ms)
            }
        }
    }
}

fn loaded_group(group_id: &str, value: &GroupMetadataValue, now_ms: i64) -> ClassicGroup {
    let mut group = ClassicGroup::new(group_id.to_string(), now_ms);
    group.generation_id = value.generation_id;
    group.protocol_type = (!value.protocol_type.is_empty()).then(|| value.protocol_type.clone());
    group.protocol_name = value.protocol_name.clone();
    group.leader = value.leader.clone();
    let protocol = value.protocol_name.clone().unwrap_or_default();
    for stored in &value.members {
        if let Some(instance_id) = &stored.group_instance_id {
            group
                .static_members
                .insert(instance_id.clone(), stored.member_id.clone());
        }
        let member = Member {
            member_id: stored.member_id.clone(),
            group_instance_id: stored.group_instance_id.clone(),
            client_id: stored.client_id.clone(),
            client_host: stored.client_host.clone(),
            session_timeout_ms: stored.session_timeout_ms,
            rebalance_timeout_ms: stored.rebalance_timeout_ms,
            protocol_type: value.protocol_type.clone(),
            protocols: vec![(protocol.clone(), Bytes::clone(&stored.subscription))],
            assignment: stored.assignment.clone(),
            last_heartbeat_ms: now_ms,
            awaiting_join: false,
            awaiting_sync: false,
        };
        group.members.insert(stored.member_id.clone(), member);
    }
    group.state = if group.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    // Offset expiry of an Empty group counts from when it became empty; -1 (records before
    // v2) means unknown, and expiry then falls back to each offset's commit time, as in Kafka.
    group.state_timestamp_ms = value.current_state_timestamp_ms;
    group
}
