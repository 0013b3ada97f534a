//! What the console changes in a group: offset reset and delete. Both go through the group's
//! shard of the coordinator runtime, so their records are appended to `__consumer_offsets`
//! before the answer, exactly as the OffsetCommit and DeleteGroups handlers do.
//!
//! A reset is an admin commit (empty member id, generation -1), which the coordinator accepts
//! only while the group has no members: an active consumer would overwrite the reset with its
//! next commit, and Kafka's tools refuse the same way. We check emptiness first to answer with
//! a clear 409; the coordinator's own refusal (a member joined between the check and the
//! commit) maps to the same 409.

use std::collections::BTreeSet;
use std::str::FromStr;

use fjord_broker::group::GroupRuntimeError;
use fjord_broker::BrokerContext;
use fjord_coordinator::{GroupError, OffsetCommitEntry, Outcome};
use serde::{Deserialize, Serialize};

use crate::error::{ConsoleError, Result};
use crate::model::Snapshot;

/// Where a reset moves the offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTo {
    /// The log start offset.
    Earliest,
    /// The high watermark: skip everything not yet read.
    Latest,
    /// The first offset whose record timestamp is at least this (ms since the epoch); the
    /// high watermark when no record is that recent.
    Timestamp(i64),
    /// This offset, clamped into `[log_start_offset, high_watermark]` as Kafka's tool does.
    Offset(i64),
}

/// `POST /api/v1/groups/{group}/reset-offsets` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// One topic (the form sends this).
    #[serde(default)]
    pub topic: Option<String>,
    /// Several topics; with neither, every topic the group has committed offsets for.
    #[serde(default)]
    pub topics: Vec<String>,
    /// `earliest`, `latest`, `timestamp` or `offset`.
    pub to: String,
    /// The timestamp (ms) or offset for `timestamp` and `offset`.
    #[serde(default)]
    pub value: Option<i64>,
}

impl ResetRequest {
    /// The target, validating that `value` is present when it is needed.
    pub fn target(&self) -> Result<ResetTo> {
        let value = |what: &str| {
            self.value.ok_or_else(|| {
                ConsoleError::BadRequest(format!("\"to\": \"{what}\" needs a \"value\""))
            })
        };
        match self.to.trim() {
            "earliest" => Ok(ResetTo::Earliest),
            "latest" => Ok(ResetTo::Latest),
            "timestamp" => Ok(ResetTo::Timestamp(value("timestamp")?)),
            "offset" => Ok(ResetTo::Offset(value("offset")?)),
            other => Err(ConsoleError::BadRequest(format!(
                "\"to\" must be earliest, latest, timestamp or offset, not {other:?}"
            ))),
        }
    }
}

impl FromStr for ResetTo {
    type Err = ConsoleError;

    /// `earliest`, `latest`, `timestamp:MS` or `offset:N` (the compact form of the API body).
    fn from_str(s: &str) -> Result<ResetTo> {
        let (to, value) = match s.split_once(':') {
            Some((to, v)) => (
                to,
                Some(
                    v.trim()
                        .parse()
                        .map_err(|_| ConsoleError::BadRequest(format!("{v:?} is not a number")))?,
                ),
            ),
            None => (s, None),
        };
        ResetRequest {
            to: to.to_string(),
            value,
            ..ResetRequest::default()
        }
        .target()
    }
}

/// One partition's new offset.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ResetOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

fn active_members(group_id: &str) -> ConsoleError {
    ConsoleError::Conflict(format!(
        "group {group_id:?} has active members; stop its consumers (the group must be Empty) \
         before resetting its offsets or deleting it"
    ))
}

/// The group's members right now (0 for an unknown group, which a reset creates).
async fn member_count(ctx: &BrokerContext, group_id: &str) -> Result<usize> {
    let shard = ctx.groups.shard_for(group_id).await?;
    Ok(shard
        .read(|c| {
            c.group(group_id)
                .map(|g| g.members.len())
                .or_else(|| c.consumer_group(group_id).map(|g| g.members.len()))
                .unwrap_or(0)
        })
        .await?)
}

/// Resets the group's offsets of the named topics (all their partitions), or of every topic
/// it committed when none is named. Refused with 409 while the group has members.
pub async fn reset_offsets(
    ctx: &BrokerContext,
    group_id: &str,
    request: &ResetRequest,
) -> Result<Vec<ResetOffset>> {
    if group_id.is_empty() {
        return Err(ConsoleError::BadRequest("the group id is empty".into()));
    }
    let target = request.target()?;
    if member_count(ctx, group_id).await? > 0 {
        return Err(active_members(group_id));
    }
    let mut topics: BTreeSet<String> = request
        .topics
        .iter()
        .chain(request.topic.iter())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if topics.is_empty() {
        let shard = ctx.groups.shard_for(group_id).await?;
        topics = shard
            .read(|c| {
                c.fetch_offsets(group_id, None)
                    .into_iter()
                    .map(|o| o.topic)
                    .collect()
            })
            .await?;
        if topics.is_empty() {
            return Err(ConsoleError::BadRequest(
                "name the topic(s) to reset: the group has no committed offsets".into(),
            ));
        }
    }
    let snapshot = Snapshot::take(ctx);
    let mut entries = Vec::new();
    for topic in &topics {
        let image = snapshot
            .image
            .topic(topic)
            .ok_or_else(|| ConsoleError::NotFound(format!("no topic named {topic:?}")))?;
        for &partition in image.partitions.keys() {
            let stats = snapshot.partition_stats(topic, partition).ok_or_else(|| {
                ConsoleError::Unavailable(format!(
                    "partition {topic}-{partition} is not hosted by this broker"
                ))
            })?;
            let offset = match target {
                ResetTo::Earliest => stats.log_start_offset,
                ResetTo::Latest => stats.high_watermark,
                ResetTo::Offset(o) => o.clamp(stats.log_start_offset, stats.high_watermark),
                ResetTo::Timestamp(ts) => {
                    let found = ctx
                        .replica_manager
                        .list_offset(topic, partition, ts, -1)
                        .await?;
                    if found.offset < 0 {
                        stats.high_watermark
                    } else {
                        found.offset
                    }
                }
            };
            entries.push(OffsetCommitEntry {
                topic: topic.clone(),
                partition,
                offset,
                leader_epoch: -1,
                metadata: None,
            });
        }
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let (committed, _) = shard
        .write(|coordinator, now| {
            match coordinator.commit_offsets(group_id, "", None, -1, &entries, now) {
                Ok((results, records)) => (
                    Ok(results),
                    Outcome {
                        ready: Vec::new(),
                        records,
                    },
                    None,
                ),
                Err(e) => (Err(e), Outcome::default(), None),
            }
        })
        .await?;
    let results = committed.map_err(|e| match e {
        GroupError::UnknownMemberId
        | GroupError::IllegalGeneration
        | GroupError::StaleMemberEpoch => active_members(group_id),
        e => ConsoleError::Group(e.into()),
    })?;
    if let Some(e) = results.iter().find_map(|r| r.error.clone()) {
        return Err(ConsoleError::Group(e.into()));
    }
    Ok(entries
        .into_iter()
        .map(|e| ResetOffset {
            topic: e.topic,
            partition: e.partition,
            offset: e.offset,
        })
        .collect())
}

/// Deletes an Empty group with its offsets; 409 while it has members, 404 when unknown.
pub async fn delete_group(ctx: &BrokerContext, group_id: &str) -> Result<()> {
    if group_id.is_empty() {
        return Err(ConsoleError::BadRequest("the group id is empty".into()));
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let ids = [group_id.to_string()];
    let (mut results, _) = shard
        .write(|coordinator, now| {
            let (results, records) = coordinator.delete_groups(&ids, now);
            let outcome = Outcome {
                ready: Vec::new(),
                records,
            };
            (results, outcome, None)
        })
        .await?;
    match results.pop() {
        Some((_, Ok(()))) => Ok(()),
        Some((_, Err(GroupError::NonEmptyGroup))) => Err(active_members(group_id)),
        Some((_, Err(e))) => Err(ConsoleError::Group(e.into())),
        None => Err(ConsoleError::Group(
            GroupRuntimeError::CoordinatorNotAvailable,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_targets_parse_and_need_their_value() {
        assert_eq!("earliest".parse::<ResetTo>().ok(), Some(ResetTo::Earliest));
        assert_eq!("latest".parse::<ResetTo>().ok(), Some(ResetTo::Latest));
        assert_eq!(
            "offset:42".parse::<ResetTo>().ok(),
            Some(ResetTo::Offset(42))
        );
        assert_eq!(
            "timestamp:1700000000000".parse::<ResetTo>().ok(),
            Some(ResetTo::Timestamp(1_700_000_000_000))
        );
        assert!("offset".parse::<ResetTo>().is_err());
        assert!("offset:x".parse::<ResetTo>().is_err());
        assert!("middle".parse::<ResetTo>().is_err());
    }
}
