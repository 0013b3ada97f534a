//! The consumer: manual assignment with seeks, or group membership ([`group`]), and `poll`.
//!
//! - [`fetch`]: Fetch answers into records (truncated tails, control batches, aborted
//!   transactions, compression).
//! - `fetch_session`: KIP-227 fetch sessions, one per broker: incremental Fetch requests.
//! - [`group`]: classic group membership (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) and commits.
//! - [`assignor`]: the range and cooperative-sticky assignors.
//! - `heartbeat`: the background heartbeat task and the `max.poll.interval.ms` check.
//!
//! Each assigned partition has a position (the next offset to hand out) and a buffer of
//! fetched records. Only partitions with an empty buffer are fetched, one Fetch per leader in
//! parallel, so a slow partition does not hold back the others' records. A partition without a
//! position gets one from the group's committed offset, else from `auto.offset.reset`.

pub mod assignor;
pub mod fetch;
mod fetch_session;
pub mod group;
mod heartbeat;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::admin::offsets::{group_topics, list_offsets};
use crate::admin::{topic_name, OffsetSpec};
use crate::cluster::{Cluster, TopicPartition};
use crate::config::{parse, ClientConfig};
use crate::error::ClientError;
pub use fetch::ConsumerRecord;
use fetch_session::{FetchSession, SessionRequest, FETCH_SESSION_MIN_VERSION, FINAL_EPOCH};
use group::GroupMembership;

/// `auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    /// Fail with OFFSET_OUT_OF_RANGE / NO_OFFSET instead of guessing.
    None,
}

/// `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted = 0,
    ReadCommitted = 1,
}

/// Consumer settings under Kafka's names and defaults.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub client: ClientConfig,
    /// `group.id`; without it only `assign` works.
    pub group_id: Option<String>,
    /// `group.instance.id` (static membership).
    pub group_instance_id: Option<String>,
    pub auto_offset_reset: OffsetReset,
    pub enable_auto_commit: bool,
    pub auto_commit_interval_ms: u64,
    pub max_poll_records: usize,
    pub fetch_min_bytes: i32,
    pub fetch_max_wait_ms: i32,
    pub fetch_max_bytes: i32,
    pub max_partition_fetch_bytes: i32,
    pub isolation_level: IsolationLevel,
    pub session_timeout_ms: i32,
    pub heartbeat_interval_ms: u64,
    pub max_poll_interval_ms: i32,
    /// `partition.assignment.strategy`, in preference order (`range`, `cooperative-sticky`).
    pub partition_assignment_strategy: Vec<String>,
}

impl ConsumerConfig {
    pub fn new(client: ClientConfig) -> ConsumerConfig {
        ConsumerConfig {
            client,
            group_id: None,
            group_instance_id: None,
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            max_poll_records: 500,
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 500,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            isolation_level: IsolationLevel::ReadUncommitted,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            partition_assignment_strategy: vec![
                assignor::RANGE.to_string(),
                assignor::COOPERATIVE_STICKY.to_string(),
            ],
        }
    }

    /// Applies one Java consumer property (client properties included).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ClientError> {
        if self.client.set(key, value)? {
            return Ok(true);
        }
        let invalid = |message: &str| ClientError::InvalidConfig {
            key: key.to_string(),
            message: format!("{value:?}: {message}"),
        };
        match key {
            "group.id" => self.group_id = Some(value.to_string()),
            "group.instance.id" => self.group_instance_id = Some(value.to_string()),
            "auto.offset.reset" => {
                self.auto_offset_reset = match value.trim() {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    "none" => OffsetReset::None,
                    _ => return Err(invalid("not one of earliest, latest, none")),
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = parse(key, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval_ms = parse(key, value)?,
            "max.poll.records" => self.max_poll_records = parse(key, value)?,
            "fetch.min.bytes" => self.fetch_min_bytes = parse(key, value)?,
            "fetch.max.wait.ms" => self.fetch_max_wait_ms = parse(key, value)?,
            "fetch.max.bytes" => self.fetch_max_bytes = parse(key, value)?,
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = parse(key, value)?,
            "isolation.level" => {
                self.isolation_level = match value.trim() {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    _ => return Err(invalid("not one of read_uncommitted, read_committed")),
                }
            }
            "session.timeout.ms" => self.session_timeout_ms = parse(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval_ms = parse(key, value)?,
            "max.poll.interval.ms" => self.max_poll_interval_ms = parse(key, value)?,
            "partition.assignment.strategy" => {
                let mut names = Vec::new();
                for class in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    names.push(
                        assignor::name_of(class)
                            .ok_or_else(|| invalid("unknown assignor"))?
                            .to_string(),
                    );
                }
                self.partition_assignment_strategy = names;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn read_committed(&self) -> bool {
        self.isolation_level == IsolationLevel::ReadCommitted
    }
}

/// What the consumer knows about one assigned partition.
#[derive(Debug, Default)]
struct PartitionState {
    /// Next offset to hand out; `None` until committed offsets or a reset give one.
    position: Option<i64>,
    /// A pending seek to the beginning, end or a timestamp.
    reset: Option<OffsetSpec>,
    buffer: VecDeque<ConsumerRecord>,
    /// Offset after the buffered batches (skipped control batches included); taken when the
    /// buffer drains, cleared by seeks.
    buffer_end: Option<i64>,
    leader_epoch: i32,
}

/// An async Kafka consumer.
pub struct Consumer {
    cluster: Cluster,
    config: ConsumerConfig,
    partitions: BTreeMap<TopicPartition, PartitionState>,
    group: Option<GroupMembership>,
    /// Fetch sessions by broker node id.
    sessions: BTreeMap<i32, FetchSession>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("assignment", &self.partitions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// Bootstraps a cluster connection.
    pub async fn connect(config: ConsumerConfig) -> Result<Consumer, ClientError> {
        let cluster = Cluster::connect(config.client.clone()).await?;
        Ok(Consumer::new(cluster, config))
    }

    pub fn new(cluster: Cluster, config: ConsumerConfig) -> Consumer {
        Consumer {
            cluster,
            config,
            partitions: BTreeMap::new(),
            group: None,
            sessions: BTreeMap::new(),
        }
    }

    /// The fetch session with each broker fetched from: (node id, session id, epoch of the
    /// next request). Session id 0 means the next fetch to that broker is a full one.
    pub fn fetch_sessions(&self) -> Vec<(i32, i32, i32)> {
        self.sessions
            .iter()
            .map(|(node, s)| (*node, s.session_id(), s.next_epoch()))
            .collect()
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Takes exactly these partitions (no group management). Positions of partitions kept
    /// from the previous assignment stay.
    pub fn assign(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let wanted: Vec<TopicPartition> = partitions.into_iter().collect();
        self.partitions.retain(|tp, _| wanted.contains(tp));
        for tp in wanted {
            self.partitions.entry(tp).or_default();
        }
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    /// Joins the group `group.id` with these topics; partitions come from the group's
    /// assignment on the next `poll`.
    pub fn subscribe(&mut self, topics: &[String]) -> Result<(), ClientError> {
        let group_id = self
            .config
            .group_id
            .clone()
            .ok_or_else(|| ClientError::InvalidConfig {
                key: "group.id".to_string(),
                message: "subscribe needs a group.id".to_string(),
            })?;
        match &mut self.group {
            Some(group) => group.set_topics(topics.to_vec()),
            None => {
                self.group = Some(GroupMembership::new(
                    group_id,
                    topics.to_vec(),
                    &self.config,
                ))
            }
        }
        Ok(())
    }

    /// Sets the next offset `poll` returns for `tp`.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), ClientError> {
        let state = self.state_mut(tp)?;
        state.position = Some(offset);
        state.reset = None;
        state.buffer.clear();
        state.buffer_end = None;
        Ok(())
    }

    pub fn seek_to_beginning(&mut self, tps: &[TopicPartition]) -> Result<(), ClientError> {
        self.seek_to(tps, OffsetSpec::Earliest)
    }

    pub fn seek_to_end(&mut self, tps: &[TopicPartition]) -> Result<(), ClientError> {
        self.seek_to(tps, OffsetSpec::Latest)
    }

    /// Seeks each partition to the first offset with a timestamp at or after the given one
    /// (to the end when there is none).
    pub fn seek_to_timestamp(
        &mut self,
        tps: &[TopicPartition],
        ts: i64,
    ) -> Result<(), ClientError> {
        self.seek_to(tps, OffsetSpec::Timestamp(ts))
    }

    fn seek_to(&mut self, tps: &[TopicPartition], spec: OffsetSpec) -> Result<(), ClientError> {
        for tp in tps {
            let state = self.state_mut(tp)?;
            state.position = None;
            state.reset = Some(spec);
            state.buffer.clear();
            state.buffer_end = None;
        }
        Ok(())
    }

    fn state_mut(&mut self, tp: &TopicPartition) -> Result<&mut PartitionState, ClientError> {
        self.partitions
            .get_mut(tp)
            .ok_or_else(|| ClientError::InvalidArgument(format!("{tp} is not assigned")))
    }

    /// The next offset `poll` will return for `tp`, resolving a pending seek or reset.
    pub async fn position(&mut self, tp: &TopicPartition) -> Result<i64, ClientError> {
        self.state_mut(tp)?;
        self.resolve_positions().await?;
        self.state_mut(tp)?
            .position
            .ok_or_else(|| ClientError::InvalidArgument(format!("no position for {tp}")))
    }

    /// ListOffsets by timestamp: for each partition the first offset whose timestamp is at or
    /// after the given one, `None` when there is none.
    pub async fn offsets_for_times(
        &self,
        times: &BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, Option<(i64, i64)>>, ClientError> {
        let specs = times
            .iter()
            .map(|(tp, ts)| (tp.clone(), OffsetSpec::Timestamp(*ts)))
            .collect();
        let answers = list_offsets(&self.cluster, &specs, self.config.read_committed()).await?;
        answers
            .into_iter()
            .map(|(tp, r)| {
                let r = r?;
                Ok((tp, (r.offset >= 0).then_some((r.offset, r.timestamp))))
            })
            .collect()
    }

    /// Earliest or latest offsets of `tps`.
    pub async fn offsets(
        &self,
        tps: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<TopicPartition, i64>, ClientError> {
        let specs = tps.iter().map(|tp| (tp.clone(), spec)).collect();
        let answers = list_offsets(&self.cluster, &specs, self.config.read_committed()).await?;
        answers
            .into_iter()
            .map(|(tp, r)| Ok((tp, r?.offset)))
            .collect()
    }

    /// Gives partitions without a position one: the group's committed offset, a pending
    /// seek, or `auto.offset.reset`.
    async fn resolve_positions(&mut self) -> Result<(), ClientError> {
        let missing: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, s)| s.position.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if let Some(group) = &self.group {
            let unseeked: Vec<TopicPartition> = missing
                .iter()
                .filter(|tp| self.partitions[*tp].reset.is_none())
                .cloned()
                .collect();
            if !unseeked.is_empty() {
                let committed = group.committed(&self.cluster, &unseeked).await?;
                for (tp, offset) in committed {
                    if let Some(state) = self.partitions.get_mut(&tp) {
                        state.position = Some(offset.offset);
                    }
                }
            }
        }
        let mut specs = BTreeMap::new();
        for (tp, state) in &self.partitions {
            if state.position.is_some() {
                continue;
            }
            let spec = match (state.reset, self.config.auto_offset_reset) {
                (Some(spec), _) => spec,
                (None, OffsetReset::Earliest) => OffsetSpec::Earliest,
                (None, OffsetReset::Latest) => OffsetSpec::Latest,
                (None, OffsetReset::None) => {
                    return Err(ClientError::Kafka {
                        error: ResponseError::OffsetOutOfRange,
                        message: Some(format!(
                            "no committed offset for {tp} and auto.offset.reset=none"
                        )),
                    })
                }
            };
            specs.insert(tp.clone(), spec);
        }
        let answers = list_offsets(&self.cluster, &specs, self.config.read_committed()).await?;
        for (tp, answer) in answers {
            let answer = answer?;
            let offset = if answer.offset >= 0 {
                answer.offset
            } else {
                // No record at or after the timestamp: continue from the end.
                let end = BTreeMap::from([(tp.clone(), OffsetSpec::Latest)]);
                let answers =
                    list_offsets(&self.cluster, &end, self.config.read_committed()).await?;
                match answers.get(&tp) {
                    Some(Ok(end)) => end.offset,
                    Some(Err(err)) => return Err(err.clone()),
                    None => 0,
                }
            };
            if let Some(state) = self.partitions.get_mut(&tp) {
                state.position = Some(offset);
                state.reset = None;
            }
        }
        Ok(())
    }

    /// Returns buffered records, fetching when there are none, waiting up to `timeout`.
    /// At most `max.poll.records` records; an empty vector when the timeout passes first.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.group.is_some() {
                self.group_poll().await?;
            }
            self.resolve_positions().await?;
            let records = self.take_buffered();
            if !records.is_empty() {
                return Ok(records);
            }
            let now = Instant::now();
            if now >= deadline && !timeout.is_zero() {
                return Ok(Vec::new());
            }
            let wait = deadline.saturating_duration_since(now);
            self.fetch_once(wait).await?;
            if timeout.is_zero() || Instant::now() >= deadline {
                return Ok(self.take_buffered());
            }
        }
    }

    async fn group_poll(&mut self) -> Result<(), ClientError> {
        let Some(group) = self.group.as_mut() else {
            return Ok(());
        };
        let positions: BTreeMap<TopicPartition, i64> = self
            .partitions
            .iter()
            .filter_map(|(tp, s)| s.position.map(|p| (tp.clone(), p)))
            .collect();
        if let Some(assignment) = group.poll(&self.cluster, &self.config, &positions).await? {
            self.partitions.retain(|tp, _| assignment.contains(tp));
            for tp in assignment {
                self.partitions.entry(tp).or_default();
            }
        }
        Ok(())
    }

    fn take_buffered(&mut self) -> Vec<ConsumerRecord> {
        let mut out = Vec::new();
        let max = self.config.max_poll_records.max(1);
        for state in self.partitions.values_mut() {
            while out.len() < max {
                let Some(record) = state.buffer.pop_front() else {
                    break;
                };
                state.position = Some(record.offset + 1);
                out.push(record);
            }
            if state.buffer.is_empty() {
                if let (Some(position), Some(end)) = (state.position, state.buffer_end.take()) {
                    state.position = Some(position.max(end));
                }
            }
            if out.len() >= max {
                break;
            }
        }
        out
    }

    /// One round of Fetch requests, one per leader, in parallel.
    async fn fetch_once(&mut self, wait: Duration) -> Result<(), ClientError> {
        let metadata = self.cluster.metadata();
        let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, i64, i32)>> = BTreeMap::new();
        let mut stale = false;
        for (tp, state) in &self.partitions {
            let (Some(position), true) = (state.position, state.buffer.is_empty()) else {
                continue;
            };
            match metadata.leader(tp) {
                Ok(leader) => {
                    let epoch = metadata
                        .topics
                        .get(&tp.topic)
                        .and_then(|t| t.partition(tp.partition))
                        .map_or(-1, |p| p.leader_epoch);
                    by_leader
                        .entry(leader)
                        .or_default()
                        .push((tp.clone(), position, epoch));
                }
                Err(_) => stale = true,
            }
        }
        if stale || by_leader.is_empty() {
            let topics: Vec<String> = self.partitions.keys().map(|tp| tp.topic.clone()).collect();
            if !topics.is_empty() {
                let mut topics = topics;
                topics.dedup();
                let _ = self.cluster.refresh_metadata(Some(&topics)).await;
            }
            if by_leader.is_empty() {
                tokio::time::sleep(wait.min(self.cluster.config().retry_backoff())).await;
                return Ok(());
            }
        }
        let max_wait_ms = (wait.as_millis() as i32).clamp(0, self.config.fetch_max_wait_ms);
        let mut tasks = tokio::task::JoinSet::new();
        for (leader, partitions) in by_leader {
            let wanted: BTreeMap<TopicPartition, (i64, i32)> = partitions
                .into_iter()
                .map(|(tp, offset, epoch)| (tp, (offset, epoch)))
                .collect();
            let sessions = self.sessions_supported(leader).await;
            let session_request = if sessions {
                self.sessions.entry(leader).or_default().build(wanted)
            } else {
                SessionRequest {
                    session_id: 0,
                    session_epoch: FINAL_EPOCH,
                    send: wanted.iter().map(|(tp, f)| (tp.clone(), *f)).collect(),
                    forget: Vec::new(),
                    wanted,
                    full: true,
                }
            };
            let request = self.fetch_request(&session_request, max_wait_ms);
            let cluster = self.cluster.clone();
            tasks.spawn(async move {
                let result = cluster.call_node(leader, &request).await;
                (leader, session_request, result)
            });
        }
        let read_committed = self.config.read_committed();
        let mut refresh = false;
        while let Some(joined) = tasks.join_next().await {
            let Ok((leader, session_request, result)) = joined else {
                continue;
            };
            let in_session = session_request.session_epoch != FINAL_EPOCH;
            let response = match result {
                Ok(r) => r,
                Err(err) => {
                    if in_session {
                        if let Some(session) = self.sessions.get_mut(&leader) {
                            session.handle_failure();
                        }
                    }
                    if err.is_retriable() {
                        tracing::debug!(%err, "fetch failed; retrying");
                        refresh = true;
                        continue;
                    }
                    return Err(err);
                }
            };
            let offsets: BTreeMap<TopicPartition, i64> = session_request
                .wanted
                .iter()
                .map(|(tp, (offset, _))| (tp.clone(), *offset))
                .collect();
            if in_session {
                let session = self.sessions.entry(leader).or_default();
                if session.handle_response(
                    session_request,
                    response.error_code,
                    response.session_id,
                ) {
                    // The next round fetches in full and opens a new session.
                    continue;
                }
            }
            for topic in response.responses {
                let name = topic.topic.0.to_string();
                for p in topic.partitions {
                    let tp = TopicPartition::new(name.clone(), p.partition_index);
                    let Some(fetch_offset) = offsets.get(&tp).copied() else {
                        continue;
                    };
                    let Some(state) = self.partitions.get_mut(&tp) else {
                        continue;
                    };
                    if state.position != Some(fetch_offset) || !state.buffer.is_empty() {
                        // Seeked while the fetch was out.
                        continue;
                    }
                    match ClientError::from_code(p.error_code, None) {
                        None => {}
                        Some(err) if err.kafka_error() == Some(ResponseError::OffsetOutOfRange) => {
                            if self.config.auto_offset_reset == OffsetReset::None {
                                return Err(err);
                            }
                            state.position = None;
                            continue;
                        }
                        Some(err) if err.is_retriable() => {
                            refresh = true;
                            continue;
                        }
                        Some(err) => return Err(err),
                    }
                    let Some(data) = p.records else { continue };
                    let aborted = p.aborted_transactions.unwrap_or_default();
                    let (records, next) =
                        fetch::parse_records(&tp, data, fetch_offset, read_committed, &aborted)?;
                    state.leader_epoch = records
                        .last()
                        .map_or(state.leader_epoch, |r| r.leader_epoch);
                    if records.is_empty() {
                        state.position = Some(next.max(fetch_offset));
                    } else {
                        state.buffer.extend(records);
                        state.buffer_end = Some(next);
                    }
                }
            }
        }
        if refresh {
            let _ = self.cluster.refresh_metadata(Some(&[])).await;
            let topics: Vec<String> = self.partitions.keys().map(|tp| tp.topic.clone()).collect();
            let _ = self.cluster.refresh_metadata(Some(&topics)).await;
        }
        Ok(())
    }

    /// Whether `leader` speaks a Fetch version with sessions (v7+).
    async fn sessions_supported(&self, leader: i32) -> bool {
        match self.cluster.connection(leader).await {
            Ok(conn) => conn
                .broker_versions(ApiKey::Fetch)
                .is_some_and(|(_, max)| max >= FETCH_SESSION_MIN_VERSION),
            Err(_) => false,
        }
    }

    fn fetch_request(&self, session: &SessionRequest, max_wait_ms: i32) -> FetchRequest {
        let tps: Vec<TopicPartition> = session.send.iter().map(|(tp, _)| tp.clone()).collect();
        let by_tp: BTreeMap<&TopicPartition, (i64, i32)> =
            session.send.iter().map(|(tp, f)| (tp, *f)).collect();
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(self.config.fetch_min_bytes)
            .with_max_bytes(self.config.fetch_max_bytes)
            .with_isolation_level(self.config.isolation_level as i8)
            .with_session_id(session.session_id)
            .with_session_epoch(session.session_epoch)
            .with_rack_id(StrBytes::from_static_str(""))
            .with_topics(group_topics(&tps, |topic, ps| {
                FetchTopic::default()
                    .with_topic(topic_name(topic))
                    .with_partitions(
                        ps.iter()
                            .map(|tp| {
                                let (offset, epoch) = by_tp[tp];
                                FetchPartition::default()
                                    .with_partition(tp.partition)
                                    .with_current_leader_epoch(epoch)
                                    .with_fetch_offset(offset)
                                    .with_last_fetched_epoch(-1)
                                    .with_log_start_offset(-1)
                                    .with_partition_max_bytes(self.config.max_partition_fetch_bytes)
                            })
                            .collect(),
                    )
            }))
            .with_forgotten_topics_data(group_topics(&session.forget, |topic, ps| {
                ForgottenTopic::default()
                    .with_topic(topic_name(topic))
                    .with_partitions(ps.iter().map(|tp| tp.partition).collect())
            }))
    }

    /// Commits the current positions of all assigned partitions (group consumers only).
    pub async fn commit_sync(&mut self) -> Result<(), ClientError> {
        let positions = self.positions();
        self.commit_offsets(&positions).await
    }

    /// Commits the given offsets (the next offsets to read) for the group.
    pub async fn commit_offsets(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ClientError> {
        let group = self
            .group
            .as_ref()
            .ok_or_else(|| ClientError::InvalidConfig {
                key: "group.id".to_string(),
                message: "commits need a group".to_string(),
            })?;
        group.commit(&self.cluster, offsets).await
    }

    /// Starts a commit of the current positions in the background; the returned handle
    /// resolves with its outcome.
    pub fn commit_async(
        &mut self,
    ) -> Result<tokio::task::JoinHandle<Result<(), ClientError>>, ClientError> {
        let group = self
            .group
            .as_ref()
            .ok_or_else(|| ClientError::InvalidConfig {
                key: "group.id".to_string(),
                message: "commits need a group".to_string(),
            })?;
        let commit = group.commit_task(self.cluster.clone(), self.positions());
        Ok(tokio::spawn(commit))
    }

    /// The group's committed offsets for `tps`.
    pub async fn committed(
        &self,
        tps: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>, ClientError> {
        let group = self
            .group
            .as_ref()
            .ok_or_else(|| ClientError::InvalidConfig {
                key: "group.id".to_string(),
                message: "committed offsets need a group".to_string(),
            })?;
        Ok(group
            .committed(&self.cluster, tps)
            .await?
            .into_iter()
            .map(|(tp, o)| (tp, o.offset))
            .collect())
    }

    fn positions(&self) -> BTreeMap<TopicPartition, i64> {
        self.partitions
            .iter()
            .filter_map(|(tp, s)| s.position.map(|p| (tp.clone(), p)))
            .collect()
    }

    /// Commits (with auto commit) and leaves the group.
    pub async fn close(mut self) -> Result<(), ClientError> {
        if let Some(group) = self.group.take() {
            let positions = self.positions();
            group.close(&self.cluster, &self.config, &positions).await?;
        }
        Ok(())
    }
}
