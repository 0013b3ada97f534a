//! Classic consumer-group membership: JoinGroup, SyncGroup (the leader runs the assignor),
//! Heartbeat, LeaveGroup, and offset commits with the member's generation.
//!
//! Membership moves through these states, driven from `Consumer::poll`:
//!
//! - *unjoined* (`generation_id == -1` or a rejoin is needed): JoinGroup (again with the member
//!   id the broker hands out on MEMBER_ID_REQUIRED), then SyncGroup; the leader computes every
//!   member's assignment. Ends *stable* with a new assignment.
//! - *stable*: a Heartbeat every `heartbeat.interval.ms`; REBALANCE_IN_PROGRESS, or a
//!   cooperative assignment that revoked partitions, sends the member back to *unjoined*;
//!   UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / FENCED_INSTANCE_ID reset the member id as well.
//!   Auto commit runs every `auto.commit.interval.ms`, and before rejoining.
//! - *left*: LeaveGroup on close.
//!
//! Heartbeats are sent by a background task ([`super::heartbeat`]) once the member has
//! joined, as Java's heartbeat thread does: processing may take longer than
//! `session.timeout.ms` between polls, but not longer than `max.poll.interval.ms`, after which
//! the task leaves the group and the next `poll` rejoins.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, JoinGroupRequest,
    JoinGroupResponse, SyncGroupRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::ResponseError;

use super::assignor::{self, MemberSubscription};
use super::heartbeat::{self, Heartbeat, HeartbeatState};
use super::ConsumerConfig;
use crate::admin::groups::{commit_offsets, decode_assignment, fetch_offsets, find_coordinator};
use crate::admin::offsets::group_topics;
use crate::admin::{topic_name, OffsetAndMetadata};
use crate::cluster::{Cluster, TopicPartition};
use crate::connection::client_versions;
use crate::error::{codec_source, ClientError};

/// Subscription and assignment layouts written (the consumer protocol's own versions).
const SUBSCRIPTION_VERSION: i16 = 3;
const ASSIGNMENT_VERSION: i16 = 0;

/// One consumer's membership in one group.
#[derive(Debug)]
pub struct GroupMembership {
    group_id: String,
    topics: Vec<String>,
    member_id: String,
    group_instance_id: Option<String>,
    generation_id: i32,
    protocol: Option<String>,
    assignment: Vec<TopicPartition>,
    needs_rejoin: bool,
    last_auto_commit: Instant,
    /// What the heartbeat task and `poll` tell each other.
    heartbeat_state: Arc<parking_lot::Mutex<HeartbeatState>>,
    /// The heartbeat task, started at the first join.
    heartbeat: Option<Heartbeat>,
}

impl GroupMembership {
    pub(crate) fn new(group_id: String, topics: Vec<String>, config: &ConsumerConfig) -> Self {
        GroupMembership {
            heartbeat_state: Arc::new(parking_lot::Mutex::new(HeartbeatState::new(
                group_id.clone(),
                config.group_instance_id.clone(),
            ))),
            heartbeat: None,
            group_id,
            topics,
            member_id: String::new(),
            group_instance_id: config.group_instance_id.clone(),
            generation_id: -1,
            protocol: None,
            assignment: Vec::new(),
            needs_rejoin: true,
            last_auto_commit: Instant::now(),
        }
    }

    pub(crate) fn set_topics(&mut self, topics: Vec<String>) {
        if topics != self.topics {
            self.topics = topics;
            self.needs_rejoin = true;
        }
    }

    /// The member id, generation and chosen assignor, once joined.
    pub fn member(&self) -> (&str, i32, Option<&str>) {
        (
            &self.member_id,
            self.generation_id,
            self.protocol.as_deref(),
        )
    }

    /// Keeps membership alive; returns the new assignment after a rebalance.
    pub(crate) async fn poll(
        &mut self,
        cluster: &Cluster,
        config: &ConsumerConfig,
        positions: &BTreeMap<TopicPartition, i64>,
    ) -> Result<Option<Vec<TopicPartition>>, ClientError> {
        self.take_heartbeat_news()?;
        if config.enable_auto_commit
            && !self.needs_rejoin
            && self.last_auto_commit.elapsed()
                >= Duration::from_millis(config.auto_commit_interval_ms)
        {
            self.auto_commit(cluster, positions).await;
        }
        if !self.needs_rejoin {
            return Ok(None);
        }
        if config.enable_auto_commit && self.generation_id >= 0 {
            self.auto_commit(cluster, positions).await;
        }
        self.heartbeat_state.lock().stable = false;
        let assignment = self.join_and_sync(cluster, config).await?;
        {
            let mut s = self.heartbeat_state.lock();
            s.member_id = self.member_id.clone();
            s.generation_id = self.generation_id;
            s.stable = !self.needs_rejoin;
            s.last_poll = Instant::now();
        }
        if self.heartbeat.is_none() {
            self.heartbeat = Some(Heartbeat::start(
                cluster.clone(),
                self.heartbeat_state.clone(),
                Duration::from_millis(config.heartbeat_interval_ms),
                Duration::from_millis(config.max_poll_interval_ms.max(0) as u64),
            ));
        }
        Ok(Some(assignment))
    }

    /// Notes that the application polled, and takes over what the heartbeat task learnt.
    fn take_heartbeat_news(&mut self) -> Result<(), ClientError> {
        let mut s = self.heartbeat_state.lock();
        s.last_poll = Instant::now();
        if std::mem::take(&mut s.reset_member) {
            self.member_id.clear();
            self.generation_id = -1;
        }
        if std::mem::take(&mut s.needs_rejoin) {
            self.needs_rejoin = true;
        }
        match s.error.take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    async fn auto_commit(&mut self, cluster: &Cluster, positions: &BTreeMap<TopicPartition, i64>) {
        self.last_auto_commit = Instant::now();
        let owned: BTreeMap<TopicPartition, i64> = positions
            .iter()
            .filter(|(tp, _)| self.assignment.contains(tp))
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        if owned.is_empty() {
            return;
        }
        if let Err(err) = self.commit(cluster, &owned).await {
            tracing::warn!(group = %self.group_id, %err, "auto commit failed");
            self.note_error(&err);
        }
    }

    /// Records what an error means for membership.
    fn note_error(&mut self, err: &ClientError) {
        match err.kafka_error() {
            Some(ResponseError::RebalanceInProgress) => self.needs_rejoin = true,
            Some(
                ResponseError::UnknownMemberId
                | ResponseError::IllegalGeneration
                | ResponseError::FencedInstanceId,
            ) => {
                self.member_id.clear();
                self.generation_id = -1;
                self.needs_rejoin = true;
            }
            _ => {}
        }
    }

    fn instance_id(&self) -> Option<StrBytes> {
        self.group_instance_id.clone().map(StrBytes::from_string)
    }

    async fn join_and_sync(
        &mut self,
        cluster: &Cluster,
        config: &ConsumerConfig,
    ) -> Result<Vec<TopicPartition>, ClientError> {
        let deadline = Instant::now()
            + Duration::from_millis(config.max_poll_interval_ms.max(0) as u64)
            + Duration::from_millis(config.client.request_timeout_ms);
        loop {
            match self.try_join_and_sync(cluster, config).await {
                Ok(assignment) => return Ok(assignment),
                Err(err) => {
                    self.note_error(&err);
                    let again = err.is_retriable()
                        || matches!(
                            err.kafka_error(),
                            Some(
                                ResponseError::UnknownMemberId
                                    | ResponseError::IllegalGeneration
                                    | ResponseError::MemberIdRequired
                            )
                        );
                    if !again || Instant::now() >= deadline {
                        return Err(err);
                    }
                    if err.kafka_error() != Some(ResponseError::MemberIdRequired) {
                        tokio::time::sleep(config.client.retry_backoff()).await;
                    }
                    if err.needs_metadata_refresh() {
                        let _ = cluster.refresh_metadata(Some(&[])).await;
                    }
                }
            }
        }
    }

    async fn try_join_and_sync(
        &mut self,
        cluster: &Cluster,
        config: &ConsumerConfig,
    ) -> Result<Vec<TopicPartition>, ClientError> {
        let coordinator = find_coordinator(cluster, &self.group_id, 0).await?;
        let conn = cluster.connection(coordinator).await?;
        let join_version = negotiate::<JoinGroupRequest>(&conn, ApiKey::JoinGroup)?;
        let subscription = self.subscription_bytes()?;
        let mut join = JoinGroupRequest::default()
            .with_group_id(group_id(&self.group_id))
            .with_session_timeout_ms(config.session_timeout_ms)
            .with_rebalance_timeout_ms(config.max_poll_interval_ms)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(
                config
                    .partition_assignment_strategy
                    .iter()
                    .map(|name| {
                        JoinGroupRequestProtocol::default()
                            .with_name(StrBytes::from_string(name.clone()))
                            .with_metadata(subscription.clone())
                    })
                    .collect(),
            );
        if join_version >= 5 {
            join = join.with_group_instance_id(self.instance_id());
        }
        // The broker holds JoinGroup until the rebalance completes, which can take up to the
        // rebalance timeout; the connection's request timeout must not cut it short (Java
        // waits rebalance timeout + request timeout too).
        let join_timeout = Duration::from_millis(
            config.max_poll_interval_ms.max(0) as u64 + config.client.request_timeout_ms,
        );
        let joined: JoinGroupResponse = conn
            .call_with_timeout(&join, join_version, join_timeout)
            .await?;
        if joined.error_code == ResponseError::MemberIdRequired.code() {
            self.member_id = joined.member_id.to_string();
        }
        ClientError::check(joined.error_code, None)?;
        self.member_id = joined.member_id.to_string();
        self.generation_id = joined.generation_id;
        let protocol = joined
            .protocol_name
            .as_ref()
            .map(|p| p.to_string())
            .or_else(|| config.partition_assignment_strategy.first().cloned())
            .unwrap_or_else(|| assignor::RANGE.to_string());
        self.protocol = Some(protocol.clone());

        let assignments = if joined.leader == joined.member_id && !joined.skip_assignment {
            self.lead(cluster, &protocol, &joined).await?
        } else {
            Vec::new()
        };
        let sync_version = negotiate::<SyncGroupRequest>(&conn, ApiKey::SyncGroup)?;
        let mut sync = SyncGroupRequest::default()
            .with_group_id(group_id(&self.group_id))
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_assignments(assignments);
        if sync_version >= 3 {
            sync = sync.with_group_instance_id(self.instance_id());
        }
        if sync_version >= 5 {
            sync = sync
                .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
                .with_protocol_name(Some(StrBytes::from_string(protocol.clone())));
        }
        let synced = conn.call_at(&sync, sync_version).await?;
        ClientError::check(synced.error_code, None)?;
        let assignment = decode_assignment(&synced.assignment);
        // Cooperative protocol: losing partitions means another rebalance hands them on.
        let revoked = self.assignment.iter().any(|tp| !assignment.contains(tp));
        self.needs_rejoin = protocol == assignor::COOPERATIVE_STICKY && revoked;
        self.assignment = assignment.clone();
        tracing::debug!(group = %self.group_id, generation = self.generation_id, ?assignment, "joined");
        Ok(assignment)
    }

    /// The leader's part: decode every member's subscription and run the assignor.
    async fn lead(
        &self,
        cluster: &Cluster,
        protocol: &str,
        joined: &JoinGroupResponse,
    ) -> Result<Vec<SyncGroupRequestAssignment>, ClientError> {
        let members: Vec<MemberSubscription> = joined
            .members
            .iter()
            .map(|m| {
                let (topics, owned_partitions, generation_id) = decode_subscription(&m.metadata)?;
                Ok(MemberSubscription {
                    member_id: m.member_id.to_string(),
                    group_instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                    topics,
                    owned_partitions,
                    generation_id,
                })
            })
            .collect::<Result<_, ClientError>>()?;
        let mut topics: Vec<String> = members.iter().flat_map(|m| m.topics.clone()).collect();
        topics.sort();
        topics.dedup();
        let metadata = cluster.refresh_metadata(Some(&topics)).await?;
        let counts: BTreeMap<String, i32> = topics
            .iter()
            .filter_map(|t| metadata.partition_count(t).map(|n| (t.clone(), n as i32)))
            .collect();
        let plan = assignor::assign(protocol, &members, &counts).ok_or_else(|| {
            ClientError::InvalidArgument(format!(
                "the group chose assignor {protocol:?}, which this client does not run"
            ))
        })?;
        plan.into_iter()
            .map(|(member_id, partitions)| {
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member_id))
                    .with_assignment(encode_assignment(&partitions)?))
            })
            .collect()
    }

    fn subscription_bytes(&self) -> Result<Bytes, ClientError> {
        let subscription = ConsumerProtocolSubscription::default()
            .with_topics(
                self.topics
                    .iter()
                    .map(|t| StrBytes::from_string(t.clone()))
                    .collect(),
            )
            .with_owned_partitions(group_topics(&self.assignment, |topic, ps| {
                OwnedTopic::default()
                    .with_topic(topic_name(topic))
                    .with_partitions(ps.iter().map(|tp| tp.partition).collect())
            }))
            .with_generation_id(self.generation_id);
        let mut buf = BytesMut::new();
        buf.put_i16(SUBSCRIPTION_VERSION);
        subscription
            .encode(&mut buf, SUBSCRIPTION_VERSION)
            .map_err(|e| ClientError::Encode {
                api_key: ApiKey::JoinGroup,
                version: SUBSCRIPTION_VERSION,
                source: codec_source(e),
            })?;
        Ok(buf.freeze())
    }

    /// The group's committed offsets for `tps`.
    pub(crate) async fn committed(
        &self,
        cluster: &Cluster,
        tps: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>, ClientError> {
        fetch_offsets(cluster, &self.group_id, Some(tps)).await
    }

    /// Commits `offsets` with this member's generation.
    pub(crate) async fn commit(
        &self,
        cluster: &Cluster,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ClientError> {
        self.commit_task(cluster.clone(), offsets.clone()).await
    }

    /// A commit that owns what it needs, for `commit_async`.
    pub(crate) fn commit_task(
        &self,
        cluster: Cluster,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        let group = self.group_id.clone();
        let generation = self.generation_id;
        let member = self.member_id.clone();
        let instance = self.group_instance_id.clone();
        async move {
            let offsets = offsets
                .into_iter()
                .map(|(tp, offset)| {
                    (
                        tp,
                        OffsetAndMetadata {
                            offset,
                            leader_epoch: -1,
                            metadata: None,
                        },
                    )
                })
                .collect();
            let outcomes = commit_offsets(
                &cluster,
                &group,
                generation,
                &member,
                instance.as_deref(),
                &offsets,
            )
            .await?;
            for (_, outcome) in outcomes {
                outcome?;
            }
            Ok(())
        }
    }

    /// Commits (with auto commit) and leaves the group.
    pub(crate) async fn close(
        mut self,
        cluster: &Cluster,
        config: &ConsumerConfig,
        positions: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ClientError> {
        // No heartbeat may race the LeaveGroup.
        self.heartbeat.take();
        if self.generation_id < 0 || self.member_id.is_empty() {
            return Ok(());
        }
        if config.enable_auto_commit {
            self.auto_commit(cluster, positions).await;
        }
        // Static members keep their place across restarts (KIP-345): no LeaveGroup.
        if self.group_instance_id.is_some() {
            return Ok(());
        }
        heartbeat::leave_group(cluster, &self.group_id, &self.member_id).await
    }
}

fn negotiate<R: Request>(
    conn: &crate::connection::Connection,
    api_key: ApiKey,
) -> Result<i16, ClientError> {
    let (min, max) = client_versions::<R>();
    conn.negotiate(api_key, min, max)
}

fn group_id(name: &str) -> GroupId {
    GroupId(StrBytes::from_string(name.to_string()))
}

/// Encodes a consumer-protocol assignment: version prefix, then the body.
pub fn encode_assignment(partitions: &[TopicPartition]) -> Result<Bytes, ClientError> {
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(group_topics(
        partitions,
        |topic, ps| {
            AssignedTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(ps.iter().map(|tp| tp.partition).collect())
        },
    ));
    let mut buf = BytesMut::new();
    buf.put_i16(ASSIGNMENT_VERSION);
    assignment
        .encode(&mut buf, ASSIGNMENT_VERSION)
        .map_err(|e| ClientError::Encode {
            api_key: ApiKey::SyncGroup,
            version: ASSIGNMENT_VERSION,
            source: codec_source(e),
        })?;
    Ok(buf.freeze())
}

/// Decodes a member's subscription: topics, owned partitions (v1+), generation (v2+, else -1).
pub fn decode_subscription(
    bytes: &Bytes,
) -> Result<(Vec<String>, Vec<TopicPartition>, i32), ClientError> {
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return Err(ClientError::decode(
            "consumer subscription",
            codec_source("shorter than its version"),
        ));
    }
    // Newer layouts only add fields at the end; read what this codec knows.
    let version = buf.get_i16().clamp(0, 3);
    let subscription = ConsumerProtocolSubscription::decode(&mut buf, version)
        .map_err(|e| ClientError::decode("consumer subscription", codec_source(e)))?;
    let owned = subscription
        .owned_partitions
        .into_iter()
        .flat_map(|t| {
            let topic = t.topic.0.to_string();
            t.partitions
                .into_iter()
                .map(move |p| TopicPartition::new(topic.clone(), p))
        })
        .collect();
    let generation = if version >= 2 {
        subscription.generation_id
    } else {
        -1
    };
    Ok((
        subscription
            .topics
            .into_iter()
            .map(|t| t.to_string())
            .collect(),
        owned,
        generation,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_round_trips_through_the_consumer_protocol() {
        let partitions = vec![
            TopicPartition::new("a", 0),
            TopicPartition::new("a", 2),
            TopicPartition::new("b", 1),
        ];
        let bytes = encode_assignment(&partitions).unwrap();
        assert_eq!(&bytes[..2], &[0, 0], "version 0 prefix");
        assert_eq!(decode_assignment(&bytes), partitions);
    }

    #[test]
    fn subscription_carries_topics_owned_partitions_and_generation() {
        let config = ConsumerConfig::new(crate::ClientConfig::default());
        let mut member = GroupMembership::new("g".into(), vec!["a".into(), "b".into()], &config);
        member.assignment = vec![TopicPartition::new("a", 1)];
        member.generation_id = 7;
        let bytes = member.subscription_bytes().unwrap();
        let (topics, owned, generation) = decode_subscription(&bytes).unwrap();
        assert_eq!(topics, vec!["a", "b"]);
        assert_eq!(owned, vec![TopicPartition::new("a", 1)]);
        assert_eq!(generation, 7);
    }
}
