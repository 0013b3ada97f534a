//! Partition offsets: ListOffsets (earliest, latest, max timestamp, by timestamp) and
//! DeleteRecords, each sent to the partition leaders.

use std::collections::BTreeMap;

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, DeleteRecordsRequest, ListOffsetsRequest};

use super::{topic_name, AdminClient, Outcomes};
use crate::cluster::{Cluster, TopicPartition};
use crate::error::ClientError;

/// Which offset ListOffsets looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (high watermark, or last stable offset under read_committed).
    Latest,
    /// The offset of the record with the largest timestamp (KIP-734).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this many ms since the epoch.
    Timestamp(i64),
}

impl OffsetSpec {
    /// ListOffsets' timestamp field: the special values -2, -1, -3, or the timestamp.
    pub fn wire_timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(ts) => ts,
        }
    }
}

/// One partition's ListOffsets answer. `offset` is -1 when no record matches a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOffsetsResult {
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: i32,
}

impl AdminClient {
    /// ListOffsets for each partition; `read_committed` selects isolation level 1.
    pub async fn list_offsets(
        &self,
        specs: &BTreeMap<TopicPartition, OffsetSpec>,
        read_committed: bool,
    ) -> Result<Outcomes<TopicPartition, ListOffsetsResult>, ClientError> {
        list_offsets(&self.cluster, specs, read_committed).await
    }

    /// DeleteRecords: moves each partition's log start offset up to the given offset (-1: the
    /// high watermark). Returns each partition's new low watermark.
    pub async fn delete_records(
        &self,
        before: &BTreeMap<TopicPartition, i64>,
    ) -> Result<Outcomes<TopicPartition, i64>, ClientError> {
        self.cluster
            .retry(|| async {
                let (by_leader, mut out) = self.by_leader(before.keys()).await?;
                let mut out: Outcomes<TopicPartition, i64> = out
                    .iter_mut()
                    .map(|(tp, r)| (tp.clone(), r.clone().map(|()| -1)))
                    .collect();
                for (leader, partitions) in by_leader {
                    let request = DeleteRecordsRequest::default()
                        .with_timeout_ms(self.timeout_ms())
                        .with_topics(group_topics(&partitions, |topic, ps| {
                            DeleteRecordsTopic::default()
                                .with_name(topic_name(topic))
                                .with_partitions(
                                    ps.iter()
                                        .map(|tp| {
                                            DeleteRecordsPartition::default()
                                                .with_partition_index(tp.partition)
                                                .with_offset(before[tp])
                                        })
                                        .collect(),
                                )
                        }));
                    let response = self.cluster.call_node(leader, &request).await?;
                    for topic in response.topics {
                        for p in topic.partitions {
                            let tp =
                                TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                            let outcome =
                                ClientError::check(p.error_code, None).map(|()| p.low_watermark);
                            retriable_fails_all(&outcome)?;
                            out.insert(tp, outcome);
                        }
                    }
                }
                Ok(out)
            })
            .await
    }
}

/// ListOffsets against the leaders, shared by the admin client and the consumer.
pub(crate) async fn list_offsets(
    cluster: &Cluster,
    specs: &BTreeMap<TopicPartition, OffsetSpec>,
    read_committed: bool,
) -> Result<Outcomes<TopicPartition, ListOffsetsResult>, ClientError> {
    let admin = AdminClient::new(cluster.clone());
    cluster
        .retry(|| async {
            let (by_leader, unknown) = admin.by_leader(specs.keys()).await?;
            let mut out: Outcomes<TopicPartition, ListOffsetsResult> = BTreeMap::new();
            for (tp, r) in unknown {
                if let Err(err) = r {
                    out.insert(tp, Err(err));
                }
            }
            for (leader, partitions) in by_leader {
                let metadata = cluster.metadata();
                let request = ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_isolation_level(i8::from(read_committed))
                    .with_timeout_ms(admin.timeout_ms())
                    .with_topics(group_topics(&partitions, |topic, ps| {
                        ListOffsetsTopic::default()
                            .with_name(topic_name(topic))
                            .with_partitions(
                                ps.iter()
                                    .map(|tp| {
                                        let epoch = metadata
                                            .topics
                                            .get(&tp.topic)
                                            .and_then(|t| t.partition(tp.partition))
                                            .map_or(-1, |p| p.leader_epoch);
                                        ListOffsetsPartition::default()
                                            .with_partition_index(tp.partition)
                                            .with_current_leader_epoch(epoch)
                                            .with_timestamp(specs[tp].wire_timestamp())
                                    })
                                    .collect(),
                            )
                    }));
                let response = cluster.call_node(leader, &request).await?;
                for topic in response.topics {
                    for p in topic.partitions {
                        let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                        let outcome =
                            ClientError::check(p.error_code, None).map(|()| ListOffsetsResult {
                                offset: p.offset,
                                timestamp: p.timestamp,
                                leader_epoch: p.leader_epoch,
                            });
                        retriable_fails_all(&outcome)?;
                        out.insert(tp, outcome);
                    }
                }
            }
            Ok(out)
        })
        .await
}

/// A retriable partition error fails the whole attempt so the retry loop refreshes metadata
/// and asks again (the calls are idempotent).
fn retriable_fails_all<T>(outcome: &Result<T, ClientError>) -> Result<(), ClientError> {
    match outcome {
        Err(err) if err.is_retriable() => Err(err.clone()),
        _ => Ok(()),
    }
}

/// Builds one request topic per topic name from partitions sorted by topic.
pub(crate) fn group_topics<T>(
    partitions: &[TopicPartition],
    mut build: impl FnMut(&str, &[&TopicPartition]) -> T,
) -> Vec<T> {
    let mut by_topic: BTreeMap<&str, Vec<&TopicPartition>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(tp.topic.as_str()).or_default().push(tp);
    }
    by_topic
        .into_iter()
        .map(|(topic, ps)| build(topic, &ps))
        .collect()
}
