//! The controller: the one writer of the metadata log.
//!
//! Every change — topics created or deleted, partitions added, configs altered, a broker
//! registered, producer ids handed out — follows the same path, serialized by `write_lock`:
//!
//! 1. validate the request against the current image,
//! 2. turn it into metadata records,
//! 3. apply them to a clone of the image (a record the image refuses is a bug, caught before
//!    anything is written),
//! 4. append them as one batch to `__cluster_metadata-0` (fsynced),
//! 5. publish the new image through the `ArcSwap` and the `watch` channel.
//!
//! If the append fails nothing is published, so the image never shows what the log lacks.
//! On start the log is replayed into the image before anything else happens. A single node is
//! a quorum of one voter; the records already carry everything (replicas, ISR, leader epochs,
//! broker registrations) a multi-node quorum will replicate.

mod configs;
mod topics;

use std::ops::Range;
use std::sync::Arc;

use arc_swap::ArcSwap;
use fjord_config::{Listener, SecurityProtocol, ServerConfig};
use fjord_storage::LogManager;
use tokio::sync::{watch, Mutex};
use uuid::Uuid;

use crate::error::{MetadataError, Result};
use crate::image::MetadataImage;
use crate::log::{open_metadata_log, replay, MetadataLog};
use crate::record::{
    encode_batch, security_protocol, BrokerEndpoint, ClusterIdRecord, FeatureLevelRecord,
    MetadataRecord, PartitionRecord, ProducerIdsRecord, RegisterBrokerRecord,
};
use crate::topic_config::TopicConfigDefaults;

pub use configs::{
    topic_log_config, AlterConfigEntry, AlterConfigOp, ConfigResource, IncrementalAlterConfig,
};
pub use topics::{CreatePartitionsSpec, CreatedTopic, DeleteTopicTarget, DeletedTopic, NewTopic};

/// The feature that versions the metadata log.
pub const METADATA_VERSION_FEATURE: &str = "metadata.version";
/// The metadata.version a new cluster starts at: Kafka 4.0's `IBP_4_0_IV3`.
pub const METADATA_VERSION_LEVEL: i16 = 25;

/// Most records one operation may write, as KRaft bounds a user operation; a CreateTopics
/// asking for millions of partitions is refused instead of building a giant batch.
pub const MAX_RECORDS_PER_OPERATION: usize = 10_000;

/// Where the controller's wall-clock time comes from (batch timestamps); tests pass a fixed one.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock in milliseconds since the epoch.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// The broker settings the controller acts on.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    pub node_id: i32,
    /// `num.partitions`: partitions of a topic created without a count.
    pub num_partitions: i32,
    /// `default.replication.factor`.
    pub default_replication_factor: i16,
    /// `delete.topic.enable`.
    pub delete_topic_enable: bool,
    /// Topic config defaults derived from the broker config.
    pub topic_defaults: TopicConfigDefaults,
}

impl ControllerConfig {
    /// The settings of `config`, topic defaults taken from its described broker keys.
    pub fn from_server_config(config: &ServerConfig) -> Self {
        let entries = config.describe();
        let mut topic_defaults = TopicConfigDefaults::from_broker(|key| {
            entries.iter().find(|e| e.name == key).and_then(|e| {
                let explicit = e.source != fjord_config::ConfigSource::Default;
                e.value.clone().map(|v| (v, explicit))
            })
        });
        // the typed fields are what storage enforces; they win for the keys the broker config
        // derives from several unit variants
        topic_defaults.set_value("retention.ms", config.log_retention_ms.to_string());
        topic_defaults.set_value("segment.ms", config.log_roll_ms.to_string());
        ControllerConfig {
            node_id: config.node_id,
            num_partitions: config.num_partitions,
            default_replication_factor: config.default_replication_factor,
            delete_topic_enable: config.delete_topic_enable,
            topic_defaults,
        }
    }

    /// Kafka's defaults for node `node_id` (tests).
    pub fn for_node(node_id: i32) -> Self {
        ControllerConfig {
            node_id,
            num_partitions: 1,
            default_replication_factor: 1,
            delete_topic_enable: true,
            topic_defaults: TopicConfigDefaults::kafka(),
        }
    }
}

/// What a broker tells the controller when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistrationRequest {
    pub broker_id: i32,
    pub endpoints: Vec<BrokerEndpoint>,
    pub rack: Option<String>,
}

/// The metadata controller of this node. `Send + Sync`; share it as `Arc<Controller>`.
pub struct Controller {
    config: ControllerConfig,
    log: Arc<dyn MetadataLog>,
    /// Serializes changes: validation, append and publication of one operation happen under it.
    write_lock: Mutex<()>,
    image: ArcSwap<MetadataImage>,
    image_tx: watch::Sender<Arc<MetadataImage>>,
    clock: Clock,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("node_id", &self.config.node_id)
            .field("offset", &self.image.load().offset())
            .finish()
    }
}

impl Controller {
    /// Replays `log` into an image and returns a controller serving it. Replay failures (a
    /// corrupt or contradictory record) stop start-up: serving a wrong image is worse.
    pub fn open(log: Arc<dyn MetadataLog>, config: ControllerConfig, clock: Clock) -> Result<Self> {
        let mut image = MetadataImage::empty();
        let end = replay(log.as_ref(), |offset, record| image.apply(offset, &record))?;
        tracing::info!(
            log_end_offset = end,
            topics = image.topic_count(),
            brokers = image.brokers().count(),
            "replayed the metadata log"
        );
        let image = Arc::new(image);
        let (image_tx, _) = watch::channel(Arc::clone(&image));
        Ok(Controller {
            config,
            log,
            write_lock: Mutex::new(()),
            image: ArcSwap::new(image),
            image_tx,
            clock,
        })
    }

    /// Starts this node's controller: opens `__cluster_metadata-0` in `logs`, replays it,
    /// formats a new cluster on the first start (cluster id in the log and in every
    /// meta.properties), and registers this node with its `advertised` listeners.
    pub async fn start(
        logs: Arc<LogManager>,
        config: &ServerConfig,
        advertised: &[Listener],
    ) -> Result<Arc<Controller>> {
        let controller_config = ControllerConfig::from_server_config(config);
        let replay_logs = Arc::clone(&logs);
        // opening recovers the log and replay reads it: blocking work
        let controller = tokio::task::spawn_blocking(move || {
            let log = open_metadata_log(&replay_logs)?;
            Controller::open(log, controller_config, system_clock())
        })
        .await
        .map_err(|e| MetadataError::Log {
            context: "the metadata replay task failed".into(),
            source: Box::new(e),
        })??;
        let configured = logs.cluster_id().or_else(|| config.cluster_id.clone());
        let cluster_id = controller.bootstrap(configured.as_deref()).await?;
        if logs.cluster_id().as_deref() != Some(cluster_id.as_str()) {
            let id = cluster_id.clone();
            let meta_logs = Arc::clone(&logs);
            tokio::task::spawn_blocking(move || meta_logs.set_cluster_id(&id))
                .await
                .map_err(|e| MetadataError::Log {
                    context: "the meta.properties task failed".into(),
                    source: Box::new(e),
                })?
                .map_err(|e| MetadataError::Log {
                    context: "writing meta.properties".into(),
                    source: Box::new(e),
                })?;
        }
        let endpoints = advertised
            .iter()
            .map(|l| BrokerEndpoint {
                name: l.name.clone(),
                host: l.host.clone(),
                port: l.port,
                security_protocol: match config.listener_security_protocol_map.get(&l.name) {
                    Some(SecurityProtocol::Ssl) => security_protocol::SSL,
                    Some(SecurityProtocol::SaslPlaintext) => security_protocol::SASL_PLAINTEXT,
                    Some(SecurityProtocol::SaslSsl) => security_protocol::SASL_SSL,
                    Some(SecurityProtocol::Plaintext) | None => security_protocol::PLAINTEXT,
                },
            })
            .collect();
        let broker_epoch = controller
            .register_broker(BrokerRegistrationRequest {
                broker_id: config.node_id,
                endpoints,
                rack: None,
            })
            .await?;
        tracing::info!(cluster_id = %cluster_id, node_id = config.node_id, broker_epoch, "controller started");
        Ok(Arc::new(controller))
    }

    /// The controller's settings.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// The current image. Cheap; hold it for the duration of one request.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.load_full()
    }

    /// A receiver that sees every published image (the replica manager reacts to changes).
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.image_tx.subscribe()
    }

    /// Writes the cluster id and metadata.version on the first start, checks them on later
    /// starts, and returns the cluster id. `configured` is what meta.properties or the config
    /// says, if anything; a log that says otherwise is refused (INCONSISTENT_CLUSTER_ID), as
    /// Kafka refuses a log dir formatted for another cluster.
    pub async fn bootstrap(&self, configured: Option<&str>) -> Result<String> {
        let _guard = self.write_lock.lock().await;
        let image = self.image();
        if let Some(existing) = image.cluster_id() {
            if let Some(configured) = configured {
                if configured != existing {
                    return Err(MetadataError::InconsistentClusterId {
                        log: existing.to_string(),
                        configured: configured.to_string(),
                    });
                }
            }
            return Ok(existing.to_string());
        }
        let cluster_id = configured
            .map(String::from)
            .unwrap_or_else(generate_cluster_id);
        let mut records = vec![MetadataRecord::ClusterId(ClusterIdRecord {
            cluster_id: cluster_id.clone(),
        })];
        if image.feature_level(METADATA_VERSION_FEATURE).is_none() {
            records.push(MetadataRecord::FeatureLevel(FeatureLevelRecord {
                name: METADATA_VERSION_FEATURE.to_string(),
                feature_level: METADATA_VERSION_LEVEL,
            }));
        }
        self.commit(&image, records).await?;
        tracing::info!(cluster_id = %cluster_id, "formatted a new cluster");
        Ok(cluster_id)
    }

    /// Registers (or re-registers) a broker with its advertised endpoints and elects it leader
    /// of every leaderless partition it is in the ISR of. Returns the broker epoch.
    pub async fn register_broker(&self, request: BrokerRegistrationRequest) -> Result<i64> {
        let _guard = self.write_lock.lock().await;
        let image = self.image();
        let broker_epoch = self.log.log_end_offset();
        let mut records = vec![MetadataRecord::RegisterBroker(RegisterBrokerRecord {
            broker_id: request.broker_id,
            incarnation_id: Uuid::new_v4(),
            broker_epoch,
            endpoints: request.endpoints,
            rack: request.rack,
            fenced: false,
        })];
        for topic in image.topics() {
            for (&partition, p) in &topic.partitions {
                if p.leader == crate::image::NO_LEADER && p.isr.contains(&request.broker_id) {
                    records.push(MetadataRecord::Partition(PartitionRecord {
                        topic_id: topic.topic_id,
                        partition,
                        replicas: p.replicas.clone(),
                        isr: p.isr.clone(),
                        leader: request.broker_id,
                        leader_epoch: p.leader_epoch + 1,
                        partition_epoch: p.partition_epoch + 1,
                    }));
                }
            }
        }
        self.commit(&image, records).await?;
        Ok(broker_epoch)
    }

    /// Hands out `count` producer ids that nobody has had before, durably: after a restart
    /// allocation continues after the last range handed out, so ids are never reused.
    pub async fn allocate_producer_ids(&self, count: i64) -> Result<Range<i64>> {
        if count < 1 {
            return Err(MetadataError::InvalidRequest(format!(
                "producer id block size must be positive, got {count}"
            )));
        }
        let _guard = self.write_lock.lock().await;
        let image = self.image();
        let start = image.next_producer_id();
        let end = start
            .checked_add(count)
            .ok_or(MetadataError::ProducerIdsExhausted)?;
        let record = MetadataRecord::ProducerIds(ProducerIdsRecord {
            broker_id: self.config.node_id,
            broker_epoch: image
                .broker(self.config.node_id)
                .map(|b| b.broker_epoch)
                .unwrap_or(-1),
            next_producer_id: end,
        });
        self.commit(&image, vec![record]).await?;
        Ok(start..end)
    }

    /// Commits the records planned for a request's resources, unless the request only
    /// validates; if the commit fails, every resource that had succeeded gets that failure.
    /// The flag says whether the records took effect, for callers that log what changed.
    async fn commit_planned<T>(
        &self,
        base: &MetadataImage,
        records: Vec<MetadataRecord>,
        results: Vec<Result<T>>,
        validate_only: bool,
    ) -> (Vec<Result<T>>, bool) {
        if validate_only || records.is_empty() {
            return (results, false);
        }
        match self.commit(base, records).await {
            Ok(_) => (results, true),
            Err(e) => (topics::fail_successes(results, &e), false),
        }
    }

    /// Steps 3–5 of the module docs; the caller holds `write_lock` and built `records` against
    /// `base`, which must be the current image.
    async fn commit(
        &self,
        base: &MetadataImage,
        records: Vec<MetadataRecord>,
    ) -> Result<Arc<MetadataImage>> {
        if records.is_empty() {
            return Ok(self.image());
        }
        let mut next = base.clone();
        let first_offset = self.log.log_end_offset();
        for (i, record) in records.iter().enumerate() {
            next.apply(first_offset + i as i64, record)?;
        }
        let batch = encode_batch(&records, (self.clock)())?;
        let log = Arc::clone(&self.log);
        let assigned = tokio::task::spawn_blocking(move || log.append(batch))
            .await
            .map_err(|e| MetadataError::Log {
                context: "the metadata append task failed".into(),
                source: Box::new(e),
            })??;
        if assigned != first_offset {
            // only this controller writes the log, under write_lock: a mismatch is a bug
            return Err(MetadataError::CorruptRecord {
                offset: assigned,
                reason: format!("batch landed at {assigned}, expected {first_offset}"),
            });
        }
        let next = Arc::new(next);
        self.image.store(Arc::clone(&next));
        self.image_tx.send_replace(Arc::clone(&next));
        Ok(next)
    }
}

/// A cluster id as Kafka prints them: 16 random bytes, URL-safe base64 without padding.
pub fn generate_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = Uuid::new_v4().into_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests;
