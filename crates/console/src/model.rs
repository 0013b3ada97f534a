//! The console's view of the cluster, computed in-process from the broker's context: the
//! overview, brokers and topic summaries that both the JSON API and the HTML pages render.
//!
//! Everything here reads memory only: the metadata image (an `Arc` swap), the hosted
//! partitions' offsets and segment sizes (atomics kept by the log). No file is touched per
//! view except `statvfs` of the log dirs (one call per dir), so the topics page stays quick
//! with thousands of topics.

use std::collections::HashMap;
use std::sync::Arc;

use fjord_broker::replica::Partition;
use fjord_broker::BrokerContext;
use fjord_metadata::{MetadataImage, TopicImage, NO_LEADER};
use serde::Serialize;

/// The version reported by the console: the crate version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Offsets and size of one hosted partition.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PartitionStats {
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub log_end_offset: i64,
    pub size_bytes: u64,
}

impl PartitionStats {
    /// Reads atomics only (no lock): `Partition::offsets` would also compute the last stable
    /// offset, which takes the log's transaction lock, once per partition per view.
    fn of(p: &Partition) -> PartitionStats {
        let log = p.log();
        PartitionStats {
            log_start_offset: log.log_start_offset(),
            high_watermark: p.high_watermark(),
            log_end_offset: log.log_end_offset(),
            size_bytes: log.size_bytes(),
        }
    }

    /// Messages a consumer can read: high watermark minus log start offset.
    pub fn message_count(&self) -> i64 {
        (self.high_watermark - self.log_start_offset).max(0)
    }
}

/// One snapshot of what the console shows: the image and the hosted partitions' stats.
///
/// Taken once per request in one pass over the hosted partitions; the stats are keyed by topic
/// name, then partition, so a lookup by `&str` allocates nothing and a topic's rows are found
/// with one hash lookup (the topics list and the groups' lag join make one per row).
pub struct Snapshot {
    pub image: Arc<MetadataImage>,
    stats: HashMap<String, HashMap<i32, PartitionStats>>,
}

impl Snapshot {
    pub fn take(ctx: &BrokerContext) -> Snapshot {
        let image = ctx.controller.image();
        let mut stats: HashMap<String, HashMap<i32, PartitionStats>> = HashMap::new();
        for p in ctx.replica_manager.hosted_partitions() {
            let tp = p.topic_partition();
            let row = PartitionStats::of(&p);
            // The topic name is cloned once per topic, not once per partition.
            match stats.get_mut(tp.topic.as_str()) {
                Some(partitions) => {
                    partitions.insert(tp.partition, row);
                }
                None => {
                    stats.insert(tp.topic.clone(), HashMap::from([(tp.partition, row)]));
                }
            }
        }
        Snapshot { image, stats }
    }

    pub fn partition_stats(&self, topic: &str, partition: i32) -> Option<PartitionStats> {
        self.stats.get(topic)?.get(&partition).copied()
    }

    /// The hosted partitions of one topic.
    pub fn topic_stats(&self, topic: &str) -> Option<&HashMap<i32, PartitionStats>> {
        self.stats.get(topic)
    }

    /// The summary row of one topic.
    pub fn topic_summary(&self, topic: &TopicImage) -> TopicSummary {
        let mut summary = TopicSummary {
            name: topic.name.clone(),
            topic_id: topic.topic_id.to_string(),
            internal: is_internal(&topic.name),
            partitions: topic.partitions.len(),
            replication_factor: topic
                .partitions
                .values()
                .next()
                .map_or(0, |p| p.replicas.len()),
            message_count: 0,
            size_bytes: 0,
            under_replicated_partitions: 0,
            offline_partitions: 0,
        };
        let hosted = self.topic_stats(&topic.name);
        for (index, registration) in &topic.partitions {
            if registration.leader == NO_LEADER {
                summary.offline_partitions += 1;
            }
            if registration.isr.len() < registration.replicas.len() {
                summary.under_replicated_partitions += 1;
            }
            if let Some(stats) = hosted.and_then(|h| h.get(index)) {
                summary.message_count += stats.message_count();
                summary.size_bytes += stats.size_bytes;
            }
        }
        summary
    }

    pub fn topic_summaries(&self) -> Vec<TopicSummary> {
        self.image.topics().map(|t| self.topic_summary(t)).collect()
    }
}

/// Kafka's internal topics start with two underscores (`__consumer_offsets`,
/// `__transaction_state`); Kafka-UI lists them apart the same way.
pub fn is_internal(topic: &str) -> bool {
    topic.starts_with("__")
}

/// A row of the topics list.
#[derive(Debug, Clone, Serialize)]
pub struct TopicSummary {
    pub name: String,
    pub topic_id: String,
    pub internal: bool,
    pub partitions: usize,
    pub replication_factor: usize,
    /// Sum over partitions of high watermark minus log start offset.
    pub message_count: i64,
    pub size_bytes: u64,
    pub under_replicated_partitions: usize,
    pub offline_partitions: usize,
}

/// One log dir of this broker.
#[derive(Debug, Clone, Serialize)]
pub struct LogDir {
    pub path: String,
    pub total_bytes: i64,
    pub usable_bytes: i64,
    /// Bytes of the partition logs hosted in this dir.
    pub size_bytes: i64,
    pub partitions: usize,
}

pub fn log_dirs(ctx: &BrokerContext) -> Vec<LogDir> {
    ctx.replica_manager
        .describe_log_dirs(None)
        .into_iter()
        .map(|d| LogDir {
            path: d.path.display().to_string(),
            total_bytes: d.total_bytes,
            usable_bytes: d.usable_bytes,
            size_bytes: d.partitions.iter().map(|p| p.2).sum(),
            partitions: d.partitions.len(),
        })
        .collect()
}

/// The dashboard's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub cluster_id: Option<String>,
    pub version: &'static str,
    pub node_id: i32,
    pub brokers: usize,
    pub controller_id: Option<i32>,
    pub topics: usize,
    pub partitions: usize,
    pub online_partitions: usize,
    pub offline_partitions: usize,
    pub under_replicated_partitions: usize,
    /// Consumer groups coordinated by this broker.
    pub groups: usize,
    pub message_count: i64,
    pub log_size_bytes: u64,
    pub log_dirs: Vec<LogDir>,
}

/// The active controller as far as this node knows: itself when it is a voter with the
/// controller role (a single voter is always the active one), else the first voter.
pub fn controller_id(ctx: &BrokerContext) -> Option<i32> {
    let voters = ctx.config.voter_ids();
    if ctx.config.is_controller() && voters.contains(&ctx.config.node_id) {
        Some(ctx.config.node_id)
    } else {
        voters.first().copied()
    }
}

pub async fn overview(ctx: &BrokerContext) -> Overview {
    let groups = crate::groups::count_groups(ctx).await;
    let snapshot = Snapshot::take(ctx);
    let summaries = snapshot.topic_summaries();
    let partitions: usize = summaries.iter().map(|t| t.partitions).sum();
    let offline: usize = summaries.iter().map(|t| t.offline_partitions).sum();
    Overview {
        cluster_id: snapshot.image.cluster_id().map(str::to_string),
        version: VERSION,
        node_id: ctx.config.node_id,
        brokers: snapshot.image.brokers().count(),
        controller_id: controller_id(ctx),
        topics: summaries.len(),
        partitions,
        online_partitions: partitions - offline,
        offline_partitions: offline,
        under_replicated_partitions: summaries
            .iter()
            .map(|t| t.under_replicated_partitions)
            .sum(),
        groups,
        message_count: summaries.iter().map(|t| t.message_count).sum(),
        log_size_bytes: summaries.iter().map(|t| t.size_bytes).sum(),
        log_dirs: log_dirs(ctx),
    }
}

/// One broker of the cluster.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub listeners: Vec<String>,
    pub rack: Option<String>,
    pub fenced: bool,
    pub is_controller: bool,
    pub partitions_led: usize,
    pub partitions: usize,
    /// Known only for the broker serving this console.
    pub log_dirs: Option<Vec<LogDir>>,
}

pub fn brokers(ctx: &BrokerContext) -> Vec<BrokerInfo> {
    let image = ctx.controller.image();
    let controller = controller_id(ctx);
    let mut led: HashMap<i32, usize> = HashMap::new();
    let mut hosted: HashMap<i32, usize> = HashMap::new();
    for topic in image.topics() {
        for p in topic.partitions.values() {
            *led.entry(p.leader).or_default() += 1;
            for r in &p.replicas {
                *hosted.entry(*r).or_default() += 1;
            }
        }
    }
    image
        .brokers()
        .map(|b| BrokerInfo {
            id: b.broker_id,
            listeners: b
                .endpoints
                .iter()
                .map(|e| format!("{}://{}:{}", e.name, e.host, e.port))
                .collect(),
            rack: b.rack.clone(),
            fenced: b.fenced,
            is_controller: controller == Some(b.broker_id),
            partitions_led: led.get(&b.broker_id).copied().unwrap_or(0),
            partitions: hosted.get(&b.broker_id).copied().unwrap_or(0),
            log_dirs: (b.broker_id == ctx.config.node_id).then(|| log_dirs(ctx)),
        })
        .collect()
}

/// One broker config key as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRow {
    pub name: String,
    pub value: Option<String>,
    pub source: String,
    pub read_only: bool,
    pub sensitive: bool,
}

/// This broker's configuration (static in fjord: every key is read-only).
pub fn broker_configs(ctx: &BrokerContext) -> Vec<ConfigRow> {
    ctx.config
        .describe()
        .into_iter()
        .map(|e| ConfigRow {
            sensitive: e.sensitive || e.name.contains("password"),
            value: if e.sensitive || e.name.contains("password") {
                None
            } else {
                e.value
            },
            name: e.name,
            source: format!("{:?}", e.source),
            read_only: e.read_only,
        })
        .collect()
}
