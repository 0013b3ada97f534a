//! Metadata records: the only things written to the `__cluster_metadata` log, and the codec that
//! turns a list of them into one v2 record batch and back.
//!
//! # Format
//!
//! Each controller operation becomes **one** record batch (magic 2, uncompressed, no producer
//! id), so that storage's torn-tail recovery, which keeps or drops whole batches, makes every
//! operation atomic: a CreateTopics is either fully in the log or not at all.
//!
//! Every record in the batch has a null key and a UTF-8 JSON value:
//!
//! ```json
//! {"type":"TopicRecord","version":0,"name":"orders","topic_id":"6f3a…"}
//! ```
//!
//! `type` names the record (Kafka's record names), `version` is the payload version of that
//! type. A reader refuses a version newer than it knows rather than guessing, because applying a
//! half-understood record would build a wrong image. Fields may be added in a new version;
//! readers ignore fields they do not know.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{MetadataError, Result};

/// The topic holding the metadata log (one partition, 0), as in KRaft.
pub const CLUSTER_METADATA_TOPIC: &str = "__cluster_metadata";

/// The version every record type is written at today.
const CURRENT_RECORD_VERSION: u16 = 0;

/// `security.protocol` values as Kafka numbers them (`SecurityProtocol.id`).
pub mod security_protocol {
    pub const PLAINTEXT: i16 = 0;
    pub const SSL: i16 = 1;
    pub const SASL_PLAINTEXT: i16 = 2;
    pub const SASL_SSL: i16 = 3;
}

/// One advertised listener of a broker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BrokerEndpoint {
    /// The listener name (`PLAINTEXT`, `EXTERNAL`, …), which Metadata requests are matched on.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// Kafka's security protocol id, see [`security_protocol`].
    pub security_protocol: i16,
}

/// A broker announcing itself with its advertised listeners; written at every start, and the
/// latest registration of a broker id replaces the previous one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RegisterBrokerRecord {
    pub broker_id: i32,
    /// A fresh id per process start, so a restarted broker is told apart from its old self.
    pub incarnation_id: Uuid,
    /// The offset-derived epoch of this registration; grows with every registration.
    pub broker_epoch: i64,
    pub endpoints: Vec<BrokerEndpoint>,
    pub rack: Option<String>,
    /// A fenced broker gets no partition leadership; single-node brokers register unfenced.
    pub fenced: bool,
}

/// A topic came into existence.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TopicRecord {
    pub name: String,
    pub topic_id: Uuid,
}

/// The full state of one partition; a later record for the same partition replaces it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PartitionRecord {
    pub topic_id: Uuid,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// The leader's broker id, or -1 when no replica can lead.
    pub leader: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
}

/// The kinds of resources configs hang off, with Kafka's `ConfigResource.Type` ids.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigResourceType {
    Topic,
    Broker,
}

impl ConfigResourceType {
    /// The id used on the wire (DescribeConfigs / AlterConfigs `resource_type`).
    pub fn id(self) -> i8 {
        match self {
            ConfigResourceType::Topic => 2,
            ConfigResourceType::Broker => 4,
        }
    }
}

impl TryFrom<i8> for ConfigResourceType {
    type Error = i8;

    fn try_from(id: i8) -> std::result::Result<Self, i8> {
        match id {
            2 => Ok(ConfigResourceType::Topic),
            4 => Ok(ConfigResourceType::Broker),
            other => Err(other),
        }
    }
}

/// A dynamic config set (`value: Some`) or removed (`value: None`) on a resource. Topic
/// resources are named by topic name, as in KRaft's ConfigRecord.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConfigRecord {
    pub resource_type: ConfigResourceType,
    pub resource_name: String,
    pub name: String,
    pub value: Option<String>,
}

/// A topic and all of its partitions and configs are gone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RemoveTopicRecord {
    pub topic_id: Uuid,
}

/// A block of producer ids was handed out; `next_producer_id` is the first id not yet given to
/// anyone, so after a restart allocation continues from there and no id is ever reused.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProducerIdsRecord {
    pub broker_id: i32,
    pub broker_epoch: i64,
    pub next_producer_id: i64,
}

/// The finalized level of a feature (`metadata.version`, `transaction.version`, …).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FeatureLevelRecord {
    pub name: String,
    pub feature_level: i16,
}

/// The cluster id, written once by the first controller start (also kept in meta.properties).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClusterIdRecord {
    pub cluster_id: String,
}

/// Every record type of the metadata log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    #[serde(rename = "RegisterBrokerRecord")]
    RegisterBroker(RegisterBrokerRecord),
    #[serde(rename = "TopicRecord")]
    Topic(TopicRecord),
    #[serde(rename = "PartitionRecord")]
    Partition(PartitionRecord),
    #[serde(rename = "ConfigRecord")]
    Config(ConfigRecord),
    #[serde(rename = "RemoveTopicRecord")]
    RemoveTopic(RemoveTopicRecord),
    #[serde(rename = "ProducerIdsRecord")]
    ProducerIds(ProducerIdsRecord),
    #[serde(rename = "FeatureLevelRecord")]
    FeatureLevel(FeatureLevelRecord),
    #[serde(rename = "ClusterIdRecord")]
    ClusterId(ClusterIdRecord),
}

/// The JSON value of one record: the tagged record plus its payload version.
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    version: u16,
    #[serde(flatten)]
    record: &'a MetadataRecord,
}

impl MetadataRecord {
    /// The JSON value written to the log for this record.
    pub fn to_json_bytes(&self) -> Result<Bytes> {
        let envelope = EnvelopeOut {
            version: CURRENT_RECORD_VERSION,
            record: self,
        };
        serde_json::to_vec(&envelope)
            .map(Bytes::from)
            .map_err(|e| MetadataError::Encode(Box::new(e)))
    }

    /// Parses one record value; `offset` is only for the error message.
    pub fn from_json_bytes(value: &[u8], offset: i64) -> Result<Self> {
        let corrupt = |reason: String| MetadataError::CorruptRecord { offset, reason };
        let json: serde_json::Value =
            serde_json::from_slice(value).map_err(|e| corrupt(e.to_string()))?;
        let record_type = json
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| corrupt("record has no \"type\"".into()))?
            .to_string();
        let version = json
            .get("version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| corrupt("record has no \"version\"".into()))?;
        if version > u64::from(CURRENT_RECORD_VERSION) {
            return Err(MetadataError::UnsupportedRecordVersion {
                offset,
                record_type,
                version: u16::try_from(version).unwrap_or(u16::MAX),
                supported: CURRENT_RECORD_VERSION,
            });
        }
        serde_json::from_value(json).map_err(|e| corrupt(format!("{record_type}: {e}")))
    }
}

/// Encodes `records` as one uncompressed v2 batch with base offset 0 (storage assigns the real
/// offset on append) and `timestamp_ms` on every record.
pub fn encode_batch(records: &[MetadataRecord], timestamp_ms: i64) -> Result<Bytes> {
    let mut kafka_records = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        kafka_records.push(Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // the encoder starts a new batch whenever `offset - sequence` changes; advancing the
            // sequence with the offset keeps one batch and still writes base sequence -1
            sequence: NO_SEQUENCE.wrapping_add(i as i32),
            timestamp: timestamp_ms,
            key: None,
            value: Some(record.to_json_bytes()?),
            headers: IndexMap::new(),
        });
    }
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &kafka_records, &options)
        .map_err(|e| MetadataError::Encode(e.into()))?;
    Ok(buf.freeze())
}

/// What [`decode_batches`] found.
#[derive(Debug)]
pub struct DecodedBatches {
    /// `(offset, record)` in log order.
    pub records: Vec<(i64, MetadataRecord)>,
    /// The offset after the last batch decoded (its base offset + last offset delta + 1).
    pub next_offset: i64,
}

/// Decodes every batch in `bytes` (as read from the log). Control records are skipped: they
/// carry no metadata.
pub fn decode_batches(bytes: Bytes) -> Result<DecodedBatches> {
    let mut buf = bytes;
    let mut out = DecodedBatches {
        records: Vec::new(),
        next_offset: -1,
    };
    while !buf.is_empty() {
        let (base_offset, last_offset_delta) = peek_header(&buf);
        let set =
            RecordBatchDecoder::decode(&mut buf).map_err(|e| MetadataError::CorruptRecord {
                offset: base_offset,
                reason: e.to_string(),
            })?;
        out.next_offset = base_offset + i64::from(last_offset_delta) + 1;
        for record in set.records {
            if record.control {
                continue;
            }
            let value = record.value.ok_or(MetadataError::CorruptRecord {
                offset: record.offset,
                reason: "metadata record without a value".into(),
            })?;
            out.records.push((
                record.offset,
                MetadataRecord::from_json_bytes(&value, record.offset)?,
            ));
        }
    }
    Ok(out)
}

/// Base offset and last offset delta from a v2 batch header (bytes 0..8 and 23..27); -1/0
/// when the header is short, which the decoder then reports as corrupt.
fn peek_header(buf: &[u8]) -> (i64, i32) {
    let base = buf
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(i64::from_be_bytes)
        .unwrap_or(-1);
    let delta = buf
        .get(23..27)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(i32::from_be_bytes)
        .unwrap_or(0);
    (base, delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_records() -> Vec<MetadataRecord> {
        let topic_id = Uuid::new_v4();
        vec![
            MetadataRecord::Topic(TopicRecord {
                name: "orders".into(),
                topic_id,
            }),
            MetadataRecord::Partition(PartitionRecord {
                topic_id,
                partition: 0,
                replicas: vec![1],
                isr: vec![1],
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
            }),
            MetadataRecord::Config(ConfigRecord {
                resource_type: ConfigResourceType::Topic,
                resource_name: "orders".into(),
                name: "retention.ms".into(),
                value: Some("1000".into()),
            }),
        ]
    }

    #[test]
    fn batch_round_trip_keeps_order_and_offsets() {
        let records = sample_records();
        let batch = encode_batch(&records, 1_700_000_000_000).unwrap();
        let decoded = decode_batches(batch).unwrap();
        assert_eq!(decoded.records.len(), 3);
        assert_eq!(decoded.next_offset, 3);
        for (i, (offset, record)) in decoded.records.iter().enumerate() {
            assert_eq!(*offset, i as i64);
            assert_eq!(record, &records[i]);
        }
    }

    #[test]
    fn many_records_make_exactly_one_batch() {
        let batch = encode_batch(&sample_records(), 5).unwrap();
        // one header: its length field covers the whole buffer
        let batch_length = i32::from_be_bytes(batch[8..12].try_into().unwrap()) as usize;
        assert_eq!(batch_length + 12, batch.len());
        assert_eq!(
            i32::from_be_bytes(batch[23..27].try_into().unwrap()),
            2,
            "last offset delta"
        );
        assert_eq!(
            i32::from_be_bytes(batch[53..57].try_into().unwrap()),
            -1,
            "base sequence"
        );
        assert_eq!(
            i64::from_be_bytes(batch[43..51].try_into().unwrap()),
            -1,
            "producer id"
        );
    }

    #[test]
    fn two_concatenated_batches_decode_in_order() {
        let a = encode_batch(&sample_records()[..1], 1).unwrap();
        let b = encode_batch(&sample_records()[..2], 2).unwrap();
        let mut both = BytesMut::from(&a[..]);
        both.extend_from_slice(&b);
        assert_eq!(decode_batches(both.freeze()).unwrap().records.len(), 3);
    }

    #[test]
    fn json_shape_is_tagged_and_versioned() {
        let record = MetadataRecord::RemoveTopic(RemoveTopicRecord {
            topic_id: Uuid::nil(),
        });
        let json: serde_json::Value =
            serde_json::from_slice(&record.to_json_bytes().unwrap()).unwrap();
        assert_eq!(json["type"], "RemoveTopicRecord");
        assert_eq!(json["version"], 0);
        assert_eq!(json["topic_id"], "00000000-0000-0000-0000-000000000000");
    }

    #[test]
    fn newer_version_is_refused() {
        let value = br#"{"type":"TopicRecord","version":7,"name":"a","topic_id":"00000000-0000-0000-0000-000000000001"}"#;
        match MetadataRecord::from_json_bytes(value, 42) {
            Err(MetadataError::UnsupportedRecordVersion {
                offset: 42,
                version: 7,
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_ignored_and_garbage_is_corrupt() {
        let value = br#"{"type":"ClusterIdRecord","version":0,"cluster_id":"abc","extra":1}"#;
        assert_eq!(
            MetadataRecord::from_json_bytes(value, 0).unwrap(),
            MetadataRecord::ClusterId(ClusterIdRecord {
                cluster_id: "abc".into()
            })
        );
        assert!(matches!(
            MetadataRecord::from_json_bytes(b"{not json", 5),
            Err(MetadataError::CorruptRecord { offset: 5, .. })
        ));
        assert!(matches!(
            MetadataRecord::from_json_bytes(br#"{"type":"NoSuchRecord","version":0}"#, 6),
            Err(MetadataError::CorruptRecord { offset: 6, .. })
        ));
    }

    #[test]
    fn truncated_batch_is_corrupt_not_a_panic() {
        let batch = encode_batch(&sample_records(), 1).unwrap();
        let cut = batch.slice(..batch.len() - 5);
        assert!(matches!(
            decode_batches(cut),
            Err(MetadataError::CorruptRecord { .. })
        ));
    }

    #[test]
    fn config_resource_type_ids() {
        assert_eq!(ConfigResourceType::Topic.id(), 2);
        assert_eq!(
            ConfigResourceType::try_from(4),
            Ok(ConfigResourceType::Broker)
        );
        assert_eq!(ConfigResourceType::try_from(8), Err(8));
    }
}
