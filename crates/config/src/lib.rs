//! fjord-config: the broker's static configuration.
//!
//! Owns [`ServerConfig`], the one typed view of every server key fjord honours, under Kafka's
//! key names and with Kafka's defaults (where fjord differs, the field says so), and the
//! layering that builds it: embedded defaults < `server.properties` < `KAFKA_*` /
//! `KAFKA_CFG_*` environment variables < `--override key=value`.
//!
//! This is a leaf crate: it knows nothing of sockets, storage or the protocol.

mod env;
mod error;
mod keys;
mod load;
pub mod properties;
mod types;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

pub use env::IMAGE_VARIABLES;
pub use error::ConfigError;
pub use keys::{reference_table, ACCEPTED_WITHOUT_EFFECT};
pub use load::{ConfigOrigin, Override};
pub use types::{
    ConfigEntry, ConfigSource, Listener, ProcessRole, SecurityProtocol, TimestampType,
};

/// Every broker-level setting fjord honours. Field names are the Kafka key with `.` -> `_`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// `node.id` (alias `broker.id`), default 1.
    pub node_id: i32,
    /// `process.roles`, default `broker,controller` (combined mode).
    pub process_roles: Vec<ProcessRole>,
    /// `listeners`, default `PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093`.
    pub listeners: Vec<Listener>,
    /// `advertised.listeners`; empty means "derived from `listeners`" minus controller ones.
    pub advertised_listeners: Vec<Listener>,
    /// `listener.security.protocol.map`; Kafka's default map plus `CONTROLLER:PLAINTEXT`.
    pub listener_security_protocol_map: BTreeMap<String, SecurityProtocol>,
    /// `controller.listener.names`, default `CONTROLLER`.
    pub controller_listener_names: Vec<String>,
    /// `inter.broker.listener.name`; `None` means the first broker listener.
    pub inter_broker_listener_name: Option<String>,
    /// `controller.quorum.voters`, default `1@127.0.0.1:9093`; when not set, derived from
    /// `node.id` and the first controller listener.
    pub controller_quorum_voters: String,
    /// `controller.quorum.bootstrap.servers` (Kafka 3.9+ dynamic quorums); recorded only.
    pub controller_quorum_bootstrap_servers: Vec<String>,
    /// Cluster id (`cluster.id`, fjord key; Kafka keeps it only in `meta.properties`).
    /// `None`: generated when the data directory is formatted.
    pub cluster_id: Option<String>,
    /// `log.dirs` (or `log.dir`), default `./fjord-data`.
    pub log_dirs: Vec<PathBuf>,
    /// `metadata.log.dir`; `None` means inside the first log dir.
    pub metadata_log_dir: Option<PathBuf>,
    /// `num.partitions`, default 1.
    pub num_partitions: i32,
    /// `default.replication.factor`, default 1.
    pub default_replication_factor: i16,
    /// `auto.create.topics.enable`, default true.
    pub auto_create_topics_enable: bool,
    /// `delete.topic.enable`, default true.
    pub delete_topic_enable: bool,
    /// `log.segment.bytes`, default 1 GiB.
    pub log_segment_bytes: u64,
    /// `log.roll.ms` > `log.roll.hours` (168).
    pub log_roll_ms: i64,
    /// `log.retention.ms` > `log.retention.minutes` > `log.retention.hours` (168); -1 infinite.
    pub log_retention_ms: i64,
    /// `log.retention.bytes`, default -1 (no size limit).
    pub log_retention_bytes: i64,
    /// `log.retention.check.interval.ms`, default 300000.
    pub log_retention_check_interval_ms: i64,
    /// `log.index.interval.bytes`, default 4096.
    pub log_index_interval_bytes: u64,
    /// `log.index.size.max.bytes`, default 10 MiB.
    pub log_index_size_max_bytes: u64,
    /// `log.flush.interval.messages`, default `i64::MAX` (leave flushing to the OS).
    pub log_flush_interval_messages: u64,
    /// `log.flush.interval.ms`, default null (falls back to the scheduler interval).
    pub log_flush_interval_ms: Option<i64>,
    /// `log.flush.scheduler.interval.ms`, default `i64::MAX`.
    pub log_flush_scheduler_interval_ms: i64,
    /// `log.flush.on.ack` (fjord): fsync before acknowledging `acks=all`. Default false.
    pub log_flush_on_ack: bool,
    /// `log.fsync.enable` (fjord): false turns every fsync into a no-op. Only for tests and
    /// throw-away data; default true.
    pub log_fsync_enable: bool,
    /// `log.cleanup.policy`, default `delete`.
    pub log_cleanup_policy: Vec<String>,
    /// `log.cleaner.enable`, default true: compact the logs whose policy includes `compact`.
    pub log_cleaner_enable: bool,
    /// `log.cleaner.dedupe.buffer.size`, default 134217728: the most memory one clean's
    /// offset map takes.
    pub log_cleaner_dedupe_buffer_size: i64,
    /// `log.cleaner.delete.retention.ms`, default 86400000 (topic `delete.retention.ms`).
    pub log_cleaner_delete_retention_ms: i64,
    /// `log.cleaner.min.cleanable.ratio`, default 0.5 (topic `min.cleanable.dirty.ratio`).
    pub log_cleaner_min_cleanable_ratio: f64,
    /// `log.cleaner.min.compaction.lag.ms`, default 0 (topic `min.compaction.lag.ms`).
    pub log_cleaner_min_compaction_lag_ms: i64,
    /// `log.cleaner.max.compaction.lag.ms`, default `i64::MAX` (topic `max.compaction.lag.ms`).
    pub log_cleaner_max_compaction_lag_ms: i64,
    /// `message.max.bytes`, default 1048588.
    pub message_max_bytes: i32,
    /// `log.message.timestamp.type`, default CreateTime.
    pub log_message_timestamp_type: TimestampType,
    /// `log.message.timestamp.before.max.ms`, default `i64::MAX`.
    pub log_message_timestamp_before_max_ms: i64,
    /// `log.message.timestamp.after.max.ms`, default 3600000 (Kafka 4.0, KIP-1030).
    pub log_message_timestamp_after_max_ms: i64,
    /// `min.insync.replicas`, default 1.
    pub min_insync_replicas: i32,
    /// `socket.request.max.bytes`, default 100 MiB.
    pub socket_request_max_bytes: i32,
    /// `connections.max.idle.ms`, default 600000.
    pub connections_max_idle_ms: i64,
    /// `offsets.topic.num.partitions`, default 50.
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor`: fjord default 1 (Kafka says 3, which a single node
    /// cannot satisfy).
    pub offsets_topic_replication_factor: i16,
    /// `offsets.topic.segment.bytes`, default 100 MiB.
    pub offsets_topic_segment_bytes: u64,
    /// `offsets.retention.minutes`, default 10080 (7 days).
    pub offsets_retention_minutes: i64,
    /// `offsets.retention.check.interval.ms`, default 600000.
    pub offsets_retention_check_interval_ms: i64,
    /// `group.initial.rebalance.delay.ms`, default 3000.
    pub group_initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms`, default 6000.
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`, default 1800000.
    pub group_max_session_timeout_ms: i32,
    /// `group.max.size`, default `i32::MAX`.
    pub group_max_size: i32,
    /// `group.coordinator.rebalance.protocols`, default `classic,consumer` (Kafka 4.x): with
    /// `consumer` left out, ConsumerGroupHeartbeat is not served.
    pub group_coordinator_rebalance_protocols: Vec<String>,
    /// `group.consumer.session.timeout.ms`, default 45000 (KIP-848 members).
    pub group_consumer_session_timeout_ms: i32,
    /// `group.consumer.heartbeat.interval.ms`, default 5000 (KIP-848 members).
    pub group_consumer_heartbeat_interval_ms: i32,
    /// `transaction.state.log.num.partitions`, default 50.
    pub transaction_state_log_num_partitions: i32,
    /// `transaction.state.log.replication.factor`: fjord default 1 (Kafka says 3).
    pub transaction_state_log_replication_factor: i16,
    /// `transaction.state.log.min.isr`: fjord default 1 (Kafka says 2).
    pub transaction_state_log_min_isr: i32,
    /// `transaction.max.timeout.ms`, default 900000.
    pub transaction_max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`, default 604800000 (7 days).
    pub transactional_id_expiration_ms: i32,
    /// `transaction.state.log.segment.bytes`, default 100 MiB.
    pub transaction_state_log_segment_bytes: u64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`, default 10000.
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: i64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`, default 3600000.
    pub transaction_remove_expired_transaction_cleanup_interval_ms: i64,
    /// `producer.id.expiration.ms`, default 86400000 (1 day).
    pub producer_id_expiration_ms: i32,
    /// `console.enabled` (fjord), default true.
    pub console_enabled: bool,
    /// `console.listener` (fjord), default 127.0.0.1:8080.
    pub console_listener: SocketAddr,
    /// `console.auth.username` (fjord), default unset: no basic auth.
    pub console_auth_username: Option<String>,
    /// `console.auth.password` (fjord), default unset.
    pub console_auth_password: Option<String>,
    /// Keys set explicitly (file, environment or override), with their raw text and source.
    /// Keys absent here have their default. Filled by [`ServerConfig::load`].
    pub origins: BTreeMap<String, ConfigOrigin>,
}

impl Default for ServerConfig {
    /// fjord's embedded defaults: what `fjord` with no arguments runs with.
    fn default() -> ServerConfig {
        let mut listener_security_protocol_map = BTreeMap::new();
        for p in [
            SecurityProtocol::Plaintext,
            SecurityProtocol::Ssl,
            SecurityProtocol::SaslPlaintext,
            SecurityProtocol::SaslSsl,
        ] {
            listener_security_protocol_map.insert(p.as_str().to_string(), p);
        }
        listener_security_protocol_map
            .insert("CONTROLLER".to_string(), SecurityProtocol::Plaintext);
        ServerConfig {
            node_id: 1,
            process_roles: vec![ProcessRole::Broker, ProcessRole::Controller],
            listeners: vec![
                Listener::new("PLAINTEXT", "127.0.0.1", 9092),
                Listener::new("CONTROLLER", "127.0.0.1", 9093),
            ],
            advertised_listeners: Vec::new(),
            listener_security_protocol_map,
            controller_listener_names: vec!["CONTROLLER".to_string()],
            inter_broker_listener_name: None,
            controller_quorum_voters: "1@127.0.0.1:9093".to_string(),
            controller_quorum_bootstrap_servers: Vec::new(),
            cluster_id: None,
            log_dirs: vec![PathBuf::from("./fjord-data")],
            metadata_log_dir: None,
            num_partitions: 1,
            default_replication_factor: 1,
            auto_create_topics_enable: true,
            delete_topic_enable: true,
            log_segment_bytes: 1_073_741_824,
            log_roll_ms: 168 * 3_600_000,
            log_retention_ms: 168 * 3_600_000,
            log_retention_bytes: -1,
            log_retention_check_interval_ms: 300_000,
            log_index_interval_bytes: 4096,
            log_index_size_max_bytes: 10_485_760,
            log_flush_interval_messages: i64::MAX as u64,
            log_flush_interval_ms: None,
            log_flush_scheduler_interval_ms: i64::MAX,
            log_flush_on_ack: false,
            log_fsync_enable: true,
            log_cleanup_policy: vec!["delete".to_string()],
            log_cleaner_enable: true,
            log_cleaner_dedupe_buffer_size: 128 * 1024 * 1024,
            log_cleaner_delete_retention_ms: 86_400_000,
            log_cleaner_min_cleanable_ratio: 0.5,
            log_cleaner_min_compaction_lag_ms: 0,
            log_cleaner_max_compaction_lag_ms: i64::MAX,
            message_max_bytes: 1_048_588,
            log_message_timestamp_type: TimestampType::CreateTime,
            log_message_timestamp_before_max_ms: i64::MAX,
            log_message_timestamp_after_max_ms: 3_600_000,
            min_insync_replicas: 1,
            socket_request_max_bytes: 104_857_600,
            connections_max_idle_ms: 600_000,
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 1,
            offsets_topic_segment_bytes: 104_857_600,
            offsets_retention_minutes: 10_080,
            offsets_retention_check_interval_ms: 600_000,
            group_initial_rebalance_delay_ms: 3000,
            group_min_session_timeout_ms: 6000,
            group_max_session_timeout_ms: 1_800_000,
            group_max_size: i32::MAX,
            group_coordinator_rebalance_protocols: vec!["classic".into(), "consumer".into()],
            group_consumer_session_timeout_ms: 45_000,
            group_consumer_heartbeat_interval_ms: 5_000,
            transaction_state_log_num_partitions: 50,
            transaction_state_log_replication_factor: 1,
            transaction_state_log_min_isr: 1,
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 604_800_000,
            transaction_state_log_segment_bytes: 104_857_600,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            transaction_remove_expired_transaction_cleanup_interval_ms: 3_600_000,
            producer_id_expiration_ms: 86_400_000,
            console_enabled: true,
            console_listener: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            console_auth_username: None,
            console_auth_password: None,
            origins: BTreeMap::new(),
        }
    }
}

impl ServerConfig {
    /// A configuration for tests: data under `data_dir`, every listener on `127.0.0.1:0`
    /// (the OS picks free ports; read them back from the broker), console off, no fsync,
    /// no initial rebalance delay, small segments so rolling is exercised.
    pub fn for_tests(data_dir: &Path) -> ServerConfig {
        ServerConfig {
            listeners: vec![
                Listener::new("PLAINTEXT", "127.0.0.1", 0),
                Listener::new("CONTROLLER", "127.0.0.1", 0),
            ],
            controller_quorum_voters: "1@127.0.0.1:0".to_string(),
            log_dirs: vec![data_dir.to_path_buf()],
            log_segment_bytes: 1_048_576,
            log_fsync_enable: false,
            group_initial_rebalance_delay_ms: 0,
            offsets_topic_num_partitions: 4,
            transaction_state_log_num_partitions: 4,
            console_enabled: false,
            console_listener: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ..ServerConfig::default()
        }
    }

    /// The listeners clients connect to: every listener not named in
    /// `controller.listener.names`.
    pub fn broker_listeners(&self) -> impl Iterator<Item = &Listener> {
        self.listeners
            .iter()
            .filter(|l| !self.controller_listener_names.contains(&l.name))
    }

    /// The listeners the controller quorum uses.
    pub fn controller_listeners(&self) -> impl Iterator<Item = &Listener> {
        self.listeners
            .iter()
            .filter(|l| self.controller_listener_names.contains(&l.name))
    }

    /// What the broker advertises in Metadata responses: `advertised.listeners` when set,
    /// else the broker listeners (Kafka's rule). Controller listeners are never given to
    /// clients, even when `advertised.listeners` lists them (Kafka 4's stock file does).
    pub fn effective_advertised_listeners(&self) -> Vec<Listener> {
        let source = if self.advertised_listeners.is_empty() {
            &self.listeners
        } else {
            &self.advertised_listeners
        };
        source
            .iter()
            .filter(|l| !self.controller_listener_names.contains(&l.name))
            .cloned()
            .collect()
    }

    /// The directory holding the first log dir (where `meta.properties` and the metadata log
    /// live unless `metadata.log.dir` says otherwise).
    pub fn data_dir(&self) -> &Path {
        self.log_dirs
            .first()
            .map(PathBuf::as_path)
            .unwrap_or_else(|| Path::new("./fjord-data"))
    }

    /// Has this node the broker role?
    pub fn is_broker(&self) -> bool {
        self.process_roles.contains(&ProcessRole::Broker)
    }

    /// Has this node the controller role?
    pub fn is_controller(&self) -> bool {
        self.process_roles.contains(&ProcessRole::Controller)
    }
}
