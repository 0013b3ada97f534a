//! The table of every key fjord honours: its name, type, documentation, how a textual value is
//! parsed and validated into [`ServerConfig`], and how the effective value is printed back
//! (for DescribeConfigs and for docs/CONFIGURATION.md).
//!
//! Validators follow Kafka's `ConfigDef` definitions (Kafka 4.x: `num.partitions >= 1`,
//! `log.segment.bytes >= 1 MiB` since KIP-1030, ...). Where Kafka accepts a value that would
//! break fjord (a negative scheduler interval), fjord is stricter and says why.
//!
//! Keys whose value depends on other keys are applied in table order, so that the more precise
//! key wins whatever layer set it, as in Kafka: `log.retention.hours` < `.minutes` < `.ms`,
//! `log.roll.hours` < `log.roll.ms`, `log.dir` < `log.dirs`, `broker.id` < `node.id`.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use crate::{Listener, ProcessRole, SecurityProtocol, ServerConfig, TimestampType};

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_HOUR: i64 = 3_600_000;

/// One honoured key.
pub struct Key {
    pub name: &'static str,
    /// Kafka's type name (`int`, `long`, `short`, `boolean`, `string`, `list`, `class`...).
    pub ty: &'static str,
    pub doc: &'static str,
    /// Parses `value` into the config; `Err` holds the human reason.
    pub set: fn(&mut ServerConfig, &str) -> Result<(), String>,
    /// The effective value, `None` when Kafka would report null.
    pub get: fn(&ServerConfig) -> Option<String>,
}

/// Kafka keys fjord accepts without effect: they appear in Kafka's stock `server.properties`
/// or in the images' examples and tune JVM/thread-pool internals fjord does not have.
/// Setting them is not an error, and they are reported once at start-up.
pub const ACCEPTED_WITHOUT_EFFECT: &[&str] = &[
    "num.network.threads",
    "num.io.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "background.threads",
    "queued.max.requests",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "log.cleaner.threads",
    "log.cleaner.backoff.ms",
    "log.cleaner.io.buffer.size",
    "log.cleaner.io.buffer.load.factor",
    "log.cleaner.io.max.bytes.per.second",
    "log.preallocate",
    "controlled.shutdown.enable",
    "unclean.leader.election.enable",
    "security.inter.broker.protocol",
    "confluent.support.metrics.enable",
    "confluent.metrics.reporter.bootstrap.servers",
    "confluent.metrics.reporter.topic.replicas",
    "confluent.license.topic.replication.factor",
    "confluent.balancer.topic.replication.factor",
];

/// Every honoured key, in application order (see the module docs).
pub static KEYS: &[Key] = &[
    // ---- node identity and roles ------------------------------------------------------
    Key {
        name: "broker.id",
        ty: "int",
        doc: "Alias of `node.id` kept for old configuration files; must equal `node.id` when both are set.",
        set: |c, v| {
            c.node_id = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.node_id.to_string()),
    },
    Key {
        name: "node.id",
        ty: "int",
        doc: "The id of this node in the cluster (KRaft `node.id`).",
        set: |c, v| {
            c.node_id = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.node_id.to_string()),
    },
    Key {
        name: "process.roles",
        ty: "list",
        doc: "`broker`, `controller`, or both (combined mode, the single-node default).",
        set: |c, v| {
            let mut roles: Vec<ProcessRole> = list(v).map(str::parse).collect::<Result<_, _>>()?;
            roles.sort();
            roles.dedup();
            if roles.is_empty() {
                return Err("at least one role is needed: broker, controller or both".into());
            }
            c.process_roles = roles;
            Ok(())
        },
        get: |c| Some(join(&c.process_roles)),
    },
    Key {
        name: "cluster.id",
        ty: "string",
        doc: "fjord: the cluster id written to `meta.properties` when the data directory is first formatted (Kafka takes it from `kafka-storage.sh format -t`; the images from `CLUSTER_ID`). Null: a random id is generated.",
        set: |c, v| {
            let v = v.trim();
            let ok = v.len() == 22
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err("a cluster id is 22 characters of base64url (a UUID, as printed by `kafka-storage.sh random-uuid`)".into());
            }
            c.cluster_id = Some(v.to_string());
            Ok(())
        },
        get: |c| c.cluster_id.clone(),
    },
    // ---- listeners ---------------------------------------------------------------------
    Key {
        name: "listeners",
        ty: "list",
        doc: "Where to listen, as `NAME://host:port`; an empty host means all interfaces. Controller listeners are named in `controller.listener.names`.",
        set: |c, v| {
            c.listeners = listeners(v)?;
            Ok(())
        },
        get: |c| Some(join(&c.listeners)),
    },
    Key {
        name: "advertised.listeners",
        ty: "list",
        doc: "The addresses given to clients in Metadata responses. Null: the broker listeners themselves.",
        set: |c, v| {
            c.advertised_listeners = listeners(v)?;
            Ok(())
        },
        get: |c| (!c.advertised_listeners.is_empty()).then(|| join(&c.advertised_listeners)),
    },
    Key {
        name: "listener.security.protocol.map",
        ty: "string",
        doc: "`LISTENER_NAME:PROTOCOL` pairs. fjord speaks PLAINTEXT only for now.",
        set: |c, v| {
            let mut map = BTreeMap::new();
            for pair in list(v) {
                let (name, proto) = pair
                    .split_once(':')
                    .ok_or_else(|| format!("`{pair}` is not of the form NAME:PROTOCOL"))?;
                map.insert(name.trim().to_ascii_uppercase(), proto.parse::<SecurityProtocol>()?);
            }
            c.listener_security_protocol_map = map;
            Ok(())
        },
        get: |c| {
            Some(
                c.listener_security_protocol_map
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            )
        },
    },
    Key {
        name: "controller.listener.names",
        ty: "string",
        doc: "Names of the listeners used by the controller quorum.",
        set: |c, v| {
            c.controller_listener_names = list(v).map(str::to_ascii_uppercase).collect();
            Ok(())
        },
        get: |c| Some(c.controller_listener_names.join(",")),
    },
    Key {
        name: "inter.broker.listener.name",
        ty: "string",
        doc: "The listener brokers use between themselves. Null: the first broker listener.",
        set: |c, v| {
            let v = v.trim();
            c.inter_broker_listener_name = (!v.is_empty()).then(|| v.to_ascii_uppercase());
            Ok(())
        },
        get: |c| c.inter_broker_listener_name.clone(),
    },
    Key {
        name: "controller.quorum.voters",
        ty: "list",
        doc: "The controller quorum as `id@host:port,...`. Unset: this node alone, on its first controller listener.",
        set: |c, v| {
            for voter in list(v) {
                let (id, addr) = voter
                    .split_once('@')
                    .ok_or_else(|| format!("`{voter}` is not of the form id@host:port"))?;
                id.trim()
                    .parse::<i32>()
                    .map_err(|_| format!("`{voter}`: `{id}` is not a node id"))?;
                let (_, port) = addr
                    .rsplit_once(':')
                    .ok_or_else(|| format!("`{voter}` has no port"))?;
                port.parse::<u16>()
                    .map_err(|_| format!("`{voter}`: `{port}` is not a port"))?;
            }
            c.controller_quorum_voters = list(v).collect::<Vec<_>>().join(",");
            Ok(())
        },
        get: |c| Some(c.controller_quorum_voters.clone()),
    },
    Key {
        name: "controller.quorum.bootstrap.servers",
        ty: "list",
        doc: "Kafka 3.9+ dynamic quorum bootstrap (`host:port,...`). Recorded; a single fjord node uses `controller.quorum.voters`.",
        set: |c, v| {
            c.controller_quorum_bootstrap_servers = list(v).map(str::to_string).collect();
            Ok(())
        },
        get: |c| {
            (!c.controller_quorum_bootstrap_servers.is_empty())
                .then(|| c.controller_quorum_bootstrap_servers.join(","))
        },
    },
    // ---- storage -----------------------------------------------------------------------
    Key {
        name: "log.dir",
        ty: "string",
        doc: "The data directory, when `log.dirs` is not set.",
        set: |c, v| {
            c.log_dirs = dirs(v)?;
            Ok(())
        },
        get: |c| Some(c.data_dir().display().to_string()),
    },
    Key {
        name: "log.dirs",
        ty: "list",
        doc: "Comma-separated data directories (fjord uses the first one today).",
        set: |c, v| {
            c.log_dirs = dirs(v)?;
            Ok(())
        },
        get: |c| {
            Some(
                c.log_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        },
    },
    Key {
        name: "metadata.log.dir",
        ty: "string",
        doc: "Where the `__cluster_metadata` log lives. Null: in the first log dir.",
        set: |c, v| {
            let v = v.trim();
            c.metadata_log_dir = (!v.is_empty()).then(|| PathBuf::from(v));
            Ok(())
        },
        get: |c| c.metadata_log_dir.as_ref().map(|d| d.display().to_string()),
    },
    Key {
        name: "num.partitions",
        ty: "int",
        doc: "Partitions of an auto-created topic or of CreateTopics asking for the default (-1).",
        set: |c, v| {
            c.num_partitions = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.num_partitions.to_string()),
    },
    Key {
        name: "default.replication.factor",
        ty: "int",
        doc: "Replication factor of auto-created topics and of CreateTopics asking for the default (-1).",
        set: |c, v| {
            c.default_replication_factor = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.default_replication_factor.to_string()),
    },
    Key {
        name: "auto.create.topics.enable",
        ty: "boolean",
        doc: "Create a topic when a client asks Metadata for one that does not exist.",
        set: |c, v| {
            c.auto_create_topics_enable = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.auto_create_topics_enable.to_string()),
    },
    Key {
        name: "delete.topic.enable",
        ty: "boolean",
        doc: "Allow DeleteTopics.",
        set: |c, v| {
            c.delete_topic_enable = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.delete_topic_enable.to_string()),
    },
    Key {
        name: "log.segment.bytes",
        ty: "int",
        doc: "Roll to a new segment when the active one reaches this size. At least 1 MiB (Kafka 4.0, KIP-1030).",
        set: |c, v| {
            c.log_segment_bytes = int::<i32>(v, 1_048_576)? as u64;
            Ok(())
        },
        get: |c| Some(c.log_segment_bytes.to_string()),
    },
    Key {
        name: "log.roll.hours",
        ty: "int",
        doc: "Roll to a new segment after this many hours; `log.roll.ms` takes precedence.",
        set: |c, v| {
            c.log_roll_ms = i64::from(int::<i32>(v, 1)?) * MS_PER_HOUR;
            Ok(())
        },
        get: |c| {
            Some(explicit(c, "log.roll.hours").unwrap_or_else(|| (ServerConfig::default().log_roll_ms / MS_PER_HOUR).to_string()))
        },
    },
    Key {
        name: "log.roll.ms",
        ty: "long",
        doc: "Roll to a new segment after this many milliseconds. Null: `log.roll.hours`.",
        set: |c, v| {
            c.log_roll_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| explicit(c, "log.roll.ms").map(|_| c.log_roll_ms.to_string()),
    },
    Key {
        name: "log.retention.hours",
        ty: "int",
        doc: "Delete segments older than this many hours; `log.retention.minutes` and `log.retention.ms` take precedence. Negative: no time limit.",
        set: |c, v| {
            c.log_retention_ms = unlimited_if_negative(i64::from(int::<i32>(v, i32::MIN)?) * MS_PER_HOUR);
            Ok(())
        },
        get: |c| {
            Some(explicit(c, "log.retention.hours").unwrap_or_else(|| (ServerConfig::default().log_retention_ms / MS_PER_HOUR).to_string()))
        },
    },
    Key {
        name: "log.retention.minutes",
        ty: "int",
        doc: "Delete segments older than this many minutes; `log.retention.ms` takes precedence. Null: `log.retention.hours`.",
        set: |c, v| {
            c.log_retention_ms = unlimited_if_negative(i64::from(int::<i32>(v, i32::MIN)?) * MS_PER_MINUTE);
            Ok(())
        },
        get: |c| explicit(c, "log.retention.minutes"),
    },
    Key {
        name: "log.retention.ms",
        ty: "long",
        doc: "Delete segments older than this many milliseconds; -1 (or any negative value): no time limit. 0 is refused. Null: `log.retention.minutes`.",
        set: |c, v| {
            let ms = unlimited_if_negative(int(v, i64::MIN)?);
            if ms == 0 {
                return Err("must be -1 (no time limit) or at least 1".into());
            }
            c.log_retention_ms = ms;
            Ok(())
        },
        get: |c| explicit(c, "log.retention.ms").map(|_| c.log_retention_ms.to_string()),
    },
    Key {
        name: "log.retention.bytes",
        ty: "long",
        doc: "Delete old segments while a partition is larger than this; -1: no size limit.",
        set: |c, v| {
            c.log_retention_bytes = int(v, i64::MIN)?;
            Ok(())
        },
        get: |c| Some(c.log_retention_bytes.to_string()),
    },
    Key {
        name: "log.retention.check.interval.ms",
        ty: "long",
        doc: "How often retention runs.",
        set: |c, v| {
            c.log_retention_check_interval_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.log_retention_check_interval_ms.to_string()),
    },
    Key {
        name: "log.cleanup.policy",
        ty: "list",
        doc: "Default cleanup policy of topics: `delete`, `compact` or both.",
        set: |c, v| {
            let policies: Vec<String> = list(v).map(str::to_string).collect();
            if let Some(bad) = policies.iter().find(|p| *p != "delete" && *p != "compact") {
                return Err(format!("`{bad}` is not a cleanup policy (delete, compact)"));
            }
            if policies.is_empty() {
                return Err("at least one policy is needed (delete, compact)".into());
            }
            c.log_cleanup_policy = policies;
            Ok(())
        },
        get: |c| Some(c.log_cleanup_policy.join(",")),
    },
    Key {
        name: "log.cleaner.enable",
        ty: "boolean",
        doc: "Run the log cleaner (with retention, every `log.retention.check.interval.ms`) on topics whose cleanup policy includes `compact`.",
        set: |c, v| {
            c.log_cleaner_enable = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.log_cleaner_enable.to_string()),
    },
    Key {
        name: "log.cleaner.dedupe.buffer.size",
        ty: "long",
        doc: "The most memory the cleaner's offset map (key digest to latest offset) may take; fjord allocates only what the dirty section needs, up to this.",
        set: |c, v| {
            c.log_cleaner_dedupe_buffer_size = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.log_cleaner_dedupe_buffer_size.to_string()),
    },
    Key {
        name: "log.cleaner.delete.retention.ms",
        ty: "long",
        doc: "Default `delete.retention.ms`: how long a tombstone stays readable after its first clean.",
        set: |c, v| {
            c.log_cleaner_delete_retention_ms = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.log_cleaner_delete_retention_ms.to_string()),
    },
    Key {
        name: "log.cleaner.min.cleanable.ratio",
        ty: "double",
        doc: "Default `min.cleanable.dirty.ratio`: the dirty share of a compacted log that triggers a clean.",
        set: |c, v| {
            c.log_cleaner_min_cleanable_ratio = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or("must be a number between 0 and 1")?;
            Ok(())
        },
        get: |c| Some(c.log_cleaner_min_cleanable_ratio.to_string()),
    },
    Key {
        name: "log.cleaner.min.compaction.lag.ms",
        ty: "long",
        doc: "Default `min.compaction.lag.ms`: records younger than this are not compacted.",
        set: |c, v| {
            c.log_cleaner_min_compaction_lag_ms = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.log_cleaner_min_compaction_lag_ms.to_string()),
    },
    Key {
        name: "log.cleaner.max.compaction.lag.ms",
        ty: "long",
        doc: "Default `max.compaction.lag.ms`: a dirty record older than this forces a clean.",
        set: |c, v| {
            c.log_cleaner_max_compaction_lag_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.log_cleaner_max_compaction_lag_ms.to_string()),
    },
    Key {
        name: "log.index.interval.bytes",
        ty: "int",
        doc: "Bytes of log between two offset-index entries.",
        set: |c, v| {
            c.log_index_interval_bytes = int::<i32>(v, 0)? as u64;
            Ok(())
        },
        get: |c| Some(c.log_index_interval_bytes.to_string()),
    },
    Key {
        name: "log.index.size.max.bytes",
        ty: "int",
        doc: "Maximum size of a segment's offset index; a full index rolls the segment.",
        set: |c, v| {
            c.log_index_size_max_bytes = int::<i32>(v, 4)? as u64;
            Ok(())
        },
        get: |c| Some(c.log_index_size_max_bytes.to_string()),
    },
    Key {
        name: "log.flush.interval.messages",
        ty: "long",
        doc: "fsync a partition after this many messages. Default: never force, leave it to the OS (as Kafka does).",
        set: |c, v| {
            c.log_flush_interval_messages = int::<i64>(v, 1)? as u64;
            Ok(())
        },
        get: |c| Some(c.log_flush_interval_messages.to_string()),
    },
    Key {
        name: "log.flush.interval.ms",
        ty: "long",
        doc: "fsync a partition when its oldest unflushed message is this old. Null: `log.flush.scheduler.interval.ms`.",
        set: |c, v| {
            c.log_flush_interval_ms = Some(int(v, 0)?);
            Ok(())
        },
        get: |c| c.log_flush_interval_ms.map(|ms| ms.to_string()),
    },
    Key {
        name: "log.flush.scheduler.interval.ms",
        ty: "long",
        doc: "How often the flusher checks for partitions to fsync. fjord requires at least 1 (Kafka accepts any value).",
        set: |c, v| {
            c.log_flush_scheduler_interval_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.log_flush_scheduler_interval_ms.to_string()),
    },
    Key {
        name: "log.flush.on.ack",
        ty: "boolean",
        doc: "fjord: fsync before acknowledging an `acks=all` produce, so acknowledged data survives power loss on a single node.",
        set: |c, v| {
            c.log_flush_on_ack = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.log_flush_on_ack.to_string()),
    },
    Key {
        name: "log.fsync.enable",
        ty: "boolean",
        doc: "fjord: false turns every fsync into a no-op. For tests and throw-away data only.",
        set: |c, v| {
            c.log_fsync_enable = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.log_fsync_enable.to_string()),
    },
    Key {
        name: "message.max.bytes",
        ty: "int",
        doc: "Largest record batch the broker accepts (topic default of `max.message.bytes`).",
        set: |c, v| {
            c.message_max_bytes = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.message_max_bytes.to_string()),
    },
    Key {
        name: "log.message.timestamp.type",
        ty: "string",
        doc: "`CreateTime` keeps the producer's timestamps; `LogAppendTime` stamps records with the broker's clock.",
        set: |c, v| {
            c.log_message_timestamp_type = v.parse::<TimestampType>()?;
            Ok(())
        },
        get: |c| Some(c.log_message_timestamp_type.to_string()),
    },
    Key {
        name: "log.message.timestamp.before.max.ms",
        ty: "long",
        doc: "With CreateTime, refuse records whose timestamp is further in the past than this.",
        set: |c, v| {
            c.log_message_timestamp_before_max_ms = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.log_message_timestamp_before_max_ms.to_string()),
    },
    Key {
        name: "log.message.timestamp.after.max.ms",
        ty: "long",
        doc: "With CreateTime, refuse records whose timestamp is further in the future than this (1 hour since Kafka 4.0).",
        set: |c, v| {
            c.log_message_timestamp_after_max_ms = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.log_message_timestamp_after_max_ms.to_string()),
    },
    Key {
        name: "min.insync.replicas",
        ty: "int",
        doc: "Replicas that must have an `acks=all` write before it is acknowledged.",
        set: |c, v| {
            c.min_insync_replicas = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.min_insync_replicas.to_string()),
    },
    // ---- network -----------------------------------------------------------------------
    Key {
        name: "socket.request.max.bytes",
        ty: "int",
        doc: "Largest request frame; a bigger declared size closes the connection before anything is allocated.",
        set: |c, v| {
            c.socket_request_max_bytes = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.socket_request_max_bytes.to_string()),
    },
    Key {
        name: "connections.max.idle.ms",
        ty: "long",
        doc: "Close connections idle for this long; negative: never.",
        set: |c, v| {
            c.connections_max_idle_ms = int(v, i64::MIN)?;
            Ok(())
        },
        get: |c| Some(c.connections_max_idle_ms.to_string()),
    },
    // ---- group coordinator -------------------------------------------------------------
    Key {
        name: "offsets.topic.num.partitions",
        ty: "int",
        doc: "Partitions of `__consumer_offsets` (fixed once the topic exists).",
        set: |c, v| {
            c.offsets_topic_num_partitions = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.offsets_topic_num_partitions.to_string()),
    },
    Key {
        name: "offsets.topic.replication.factor",
        ty: "short",
        doc: "Replication factor of `__consumer_offsets`. fjord default 1 (Kafka: 3, which one node cannot satisfy).",
        set: |c, v| {
            c.offsets_topic_replication_factor = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.offsets_topic_replication_factor.to_string()),
    },
    Key {
        name: "offsets.topic.segment.bytes",
        ty: "int",
        doc: "Segment size of `__consumer_offsets`.",
        set: |c, v| {
            c.offsets_topic_segment_bytes = int::<i32>(v, 1)? as u64;
            Ok(())
        },
        get: |c| Some(c.offsets_topic_segment_bytes.to_string()),
    },
    Key {
        name: "offsets.retention.minutes",
        ty: "int",
        doc: "Committed offsets of an empty group are dropped after this long.",
        set: |c, v| {
            c.offsets_retention_minutes = i64::from(int::<i32>(v, 1)?);
            Ok(())
        },
        get: |c| Some(c.offsets_retention_minutes.to_string()),
    },
    Key {
        name: "offsets.retention.check.interval.ms",
        ty: "long",
        doc: "How often expired offsets are looked for.",
        set: |c, v| {
            c.offsets_retention_check_interval_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.offsets_retention_check_interval_ms.to_string()),
    },
    Key {
        name: "group.initial.rebalance.delay.ms",
        ty: "int",
        doc: "How long a new, empty group waits for more members before its first rebalance.",
        set: |c, v| {
            c.group_initial_rebalance_delay_ms = i64::from(int::<i32>(v, 0)?);
            Ok(())
        },
        get: |c| Some(c.group_initial_rebalance_delay_ms.to_string()),
    },
    Key {
        name: "group.min.session.timeout.ms",
        ty: "int",
        doc: "Smallest session timeout a consumer may ask for.",
        set: |c, v| {
            c.group_min_session_timeout_ms = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.group_min_session_timeout_ms.to_string()),
    },
    Key {
        name: "group.max.session.timeout.ms",
        ty: "int",
        doc: "Largest session timeout a consumer may ask for.",
        set: |c, v| {
            c.group_max_session_timeout_ms = int(v, 0)?;
            Ok(())
        },
        get: |c| Some(c.group_max_session_timeout_ms.to_string()),
    },
    Key {
        name: "group.max.size",
        ty: "int",
        doc: "Most members in one consumer group.",
        set: |c, v| {
            c.group_max_size = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.group_max_size.to_string()),
    },
    Key {
        name: "group.coordinator.rebalance.protocols",
        ty: "list",
        doc: "Group protocols served: `classic` (JoinGroup/SyncGroup) and `consumer` (KIP-848 ConsumerGroupHeartbeat).",
        set: |c, v| {
            let mut protocols = Vec::new();
            for p in list(v) {
                let p = p.to_lowercase();
                // `share` and `streams` are Kafka 4.x names too; fjord serves neither yet.
                if !["classic", "consumer", "share", "streams"].contains(&p.as_str()) {
                    return Err(format!(
                        "unknown group protocol `{p}`: expected classic, consumer, share or streams"
                    ));
                }
                if !protocols.contains(&p) {
                    protocols.push(p);
                }
            }
            if !protocols.iter().any(|p| p == "classic") {
                // Kafka refuses the same: the classic protocol is always on.
                return Err("the classic protocol must be enabled".into());
            }
            c.group_coordinator_rebalance_protocols = protocols;
            Ok(())
        },
        get: |c| Some(c.group_coordinator_rebalance_protocols.join(",")),
    },
    Key {
        name: "group.consumer.session.timeout.ms",
        ty: "int",
        doc: "Session timeout of consumer-protocol (KIP-848) group members.",
        set: |c, v| {
            c.group_consumer_session_timeout_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.group_consumer_session_timeout_ms.to_string()),
    },
    Key {
        name: "group.consumer.heartbeat.interval.ms",
        ty: "int",
        doc: "Heartbeat interval given to consumer-protocol (KIP-848) group members.",
        set: |c, v| {
            c.group_consumer_heartbeat_interval_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.group_consumer_heartbeat_interval_ms.to_string()),
    },
    // ---- transaction coordinator -------------------------------------------------------
    Key {
        name: "transaction.state.log.num.partitions",
        ty: "int",
        doc: "Partitions of `__transaction_state` (fixed once the topic exists).",
        set: |c, v| {
            c.transaction_state_log_num_partitions = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.transaction_state_log_num_partitions.to_string()),
    },
    Key {
        name: "transaction.state.log.replication.factor",
        ty: "short",
        doc: "Replication factor of `__transaction_state`. fjord default 1 (Kafka: 3).",
        set: |c, v| {
            c.transaction_state_log_replication_factor = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.transaction_state_log_replication_factor.to_string()),
    },
    Key {
        name: "transaction.state.log.min.isr",
        ty: "int",
        doc: "`min.insync.replicas` of `__transaction_state`. fjord default 1 (Kafka: 2).",
        set: |c, v| {
            c.transaction_state_log_min_isr = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.transaction_state_log_min_isr.to_string()),
    },
    Key {
        name: "transaction.max.timeout.ms",
        ty: "int",
        doc: "Largest `transaction.timeout.ms` a producer may ask for.",
        set: |c, v| {
            c.transaction_max_timeout_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.transaction_max_timeout_ms.to_string()),
    },
    Key {
        name: "transactional.id.expiration.ms",
        ty: "int",
        doc: "A transactional id with no activity for this long is forgotten.",
        set: |c, v| {
            c.transactional_id_expiration_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.transactional_id_expiration_ms.to_string()),
    },
    Key {
        name: "transaction.state.log.segment.bytes",
        ty: "int",
        doc: "Segment size of `__transaction_state`.",
        set: |c, v| {
            c.transaction_state_log_segment_bytes = int::<i32>(v, 1)? as u64;
            Ok(())
        },
        get: |c| Some(c.transaction_state_log_segment_bytes.to_string()),
    },
    Key {
        name: "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        ty: "int",
        doc: "How often transactions past their timeout are looked for and aborted.",
        set: |c, v| {
            c.transaction_abort_timed_out_transaction_cleanup_interval_ms =
                i64::from(int::<i32>(v, 1)?);
            Ok(())
        },
        get: |c| {
            Some(
                c.transaction_abort_timed_out_transaction_cleanup_interval_ms
                    .to_string(),
            )
        },
    },
    Key {
        name: "transaction.remove.expired.transaction.cleanup.interval.ms",
        ty: "int",
        doc: "How often transactional ids idle past `transactional.id.expiration.ms` are removed.",
        set: |c, v| {
            c.transaction_remove_expired_transaction_cleanup_interval_ms =
                i64::from(int::<i32>(v, 1)?);
            Ok(())
        },
        get: |c| {
            Some(
                c.transaction_remove_expired_transaction_cleanup_interval_ms
                    .to_string(),
            )
        },
    },
    Key {
        name: "producer.id.expiration.ms",
        ty: "int",
        doc: "Idempotent-producer state with no activity for this long is dropped.",
        set: |c, v| {
            c.producer_id_expiration_ms = int(v, 1)?;
            Ok(())
        },
        get: |c| Some(c.producer_id_expiration_ms.to_string()),
    },
    // ---- console -----------------------------------------------------------------------
    Key {
        name: "console.enabled",
        ty: "boolean",
        doc: "fjord: serve the web console and `/metrics`.",
        set: |c, v| {
            c.console_enabled = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.console_enabled.to_string()),
    },
    Key {
        name: "console.listener",
        ty: "string",
        doc: "fjord: `ip:port` of the web console and `/metrics`.",
        set: |c, v| {
            c.console_listener = v.trim().parse::<SocketAddr>().map_err(|_| {
                "expected ip:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080".to_string()
            })?;
            Ok(())
        },
        get: |c| Some(c.console_listener.to_string()),
    },
    Key {
        name: "console.auth.username",
        ty: "string",
        doc: "fjord: with `console.auth.password`, the console and `/metrics` require HTTP basic auth as this user.",
        set: |c, v| {
            c.console_auth_username = Some(v.to_string()).filter(|v| !v.is_empty());
            Ok(())
        },
        get: |c| c.console_auth_username.clone(),
    },
    Key {
        name: "console.auth.password",
        ty: "password",
        doc: "fjord: the basic-auth password of `console.auth.username` (never shown by DescribeConfigs or the console).",
        set: |c, v| {
            c.console_auth_password = Some(v.to_string()).filter(|v| !v.is_empty());
            Ok(())
        },
        // A secret: reported as null, as Kafka reports password values.
        get: |_| None,
    },
];

/// Looks a key up by name.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The explicitly set raw value of `name`, if any layer set it.
fn explicit(c: &ServerConfig, name: &str) -> Option<String> {
    c.origins.get(name).map(|o| o.value.trim().to_string())
}

fn unlimited_if_negative(ms: i64) -> i64 {
    // Kafka: KafkaConfig.logRetentionTimeMillis returns -1 for any negative value.
    if ms < 0 {
        -1
    } else {
        ms
    }
}

/// Parses a Kafka INT/LONG/SHORT: surrounding blanks allowed, `min` enforced
/// (Kafka's `atLeast`).
fn int<T>(v: &str, min: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    let n: T = v
        .trim()
        .parse()
        .map_err(|_| "not a whole number, or out of range for this key".to_string())?;
    if n < min {
        return Err(format!("must be at least {min}"));
    }
    Ok(n)
}

/// Kafka BOOLEAN: `true` or `false`, any case.
fn boolean(v: &str) -> Result<bool, String> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false".into())
    }
}

/// Kafka LIST: comma-separated, blanks around items ignored, empty items dropped.
fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn listeners(v: &str) -> Result<Vec<Listener>, String> {
    list(v).map(str::parse).collect()
}

fn dirs(v: &str) -> Result<Vec<PathBuf>, String> {
    let dirs: Vec<PathBuf> = list(v).map(PathBuf::from).collect();
    if dirs.is_empty() {
        return Err("at least one directory is needed".into());
    }
    Ok(dirs)
}

fn join<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The key reference of docs/CONFIGURATION.md, generated from [`KEYS`] so the two cannot
/// drift apart (a test compares them).
pub fn reference_table() -> String {
    let defaults = ServerConfig::default();
    let mut out = String::from("| key | type | default | meaning |\n|---|---|---|---|\n");
    for key in KEYS {
        let default = match (key.get)(&defaults) {
            Some(v) if v.is_empty() => "\"\"".to_string(),
            Some(v) => format!("`{v}`"),
            None => "null".to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            key.name,
            key.ty,
            default,
            key.doc.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- keys:start -->\n";
    const END: &str = "<!-- keys:end -->";

    /// docs/CONFIGURATION.md must list every key with its default. Run with
    /// `FJORD_UPDATE_DOCS=1` to rewrite the table after changing [`KEYS`].
    #[test]
    fn configuration_doc_lists_every_key_with_its_default() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIGURATION.md");
        let doc = std::fs::read_to_string(&path).expect("docs/CONFIGURATION.md exists");
        let start = doc.find(START).expect("start marker") + START.len();
        let end = doc.find(END).expect("end marker");
        let table = reference_table();
        if std::env::var_os("FJORD_UPDATE_DOCS").is_some() {
            let updated = format!("{}{}{}", &doc[..start], table, &doc[end..]);
            std::fs::write(&path, updated).expect("rewrite docs");
            return;
        }
        assert_eq!(
            &doc[start..end],
            table,
            "docs/CONFIGURATION.md is stale; run FJORD_UPDATE_DOCS=1 cargo test -p fjord-config"
        );
    }

    #[test]
    fn key_names_are_unique_and_defaults_parse_back() {
        let defaults = ServerConfig::default();
        let mut seen = std::collections::BTreeSet::new();
        for key in KEYS {
            assert!(seen.insert(key.name), "{} listed twice", key.name);
            if let Some(v) = (key.get)(&defaults) {
                let mut c = ServerConfig::default();
                (key.set)(&mut c, &v).unwrap_or_else(|e| panic!("{}={v}: {e}", key.name));
            }
        }
    }
}
