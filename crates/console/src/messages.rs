//! Browsing and producing messages: the data side of the Messages and Produce pages and of
//! `/api/v1/topics/{topic}/messages`.
//!
//! Browsing reads whole batches through the same `Partition::read` the Fetch handler uses (up
//! to the high watermark, as a consumer sees the log), decodes them with kafka-protocol's
//! `RecordBatchDecoder` (every codec), and renders each key, value and header as JSON
//! (pretty-printed), text or hex, cut at a size limit. Producing builds one v2 batch with the
//! codec's encoder and appends it with `Partition::append_as_leader`, the Produce handler's
//! entry point, so the topic's validation (max.message.bytes, timestamps) applies.

use fjord_client::partitioner::partition_for_key;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fjord_broker::replica::{now_ms, Partition};
use fjord_broker::BrokerContext;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use serde::{Deserialize, Serialize};

use crate::error::{ConsoleError, Result};

/// Values longer than this are cut in lists; the single-message view shows them whole.
pub const LIST_VALUE_BYTES: usize = 4096;
/// Most messages one browse returns.
pub const MAX_LIMIT: usize = 500;
/// Bytes read per partition per browse before giving up on a sparse filter.
const SCAN_BUDGET_BYTES: usize = 32 << 20;
/// Bytes asked of the log per read.
const READ_BYTES: usize = 1 << 20;

/// Where browsing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seek {
    Earliest,
    /// The last `limit` messages of each partition.
    Latest,
    Offset(i64),
    /// The first message with a timestamp at or after this (ms since the epoch).
    Timestamp(i64),
}

/// One browse request.
#[derive(Debug, Clone)]
pub struct Browse {
    /// One partition, or every partition of the topic.
    pub partition: Option<i32>,
    pub seek: Seek,
    pub limit: usize,
    /// Case-insensitive text that the key, value or a header must contain.
    pub filter: Option<String>,
    /// Explicit start offset per partition (live tail: the `next_offsets` of the last answer);
    /// overrides `seek` for the partitions it names.
    pub positions: BTreeMap<i32, i64>,
    /// Cut values longer than this many bytes (None: whole).
    pub max_value_bytes: Option<usize>,
}

/// How a key, value or header value is shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rendered {
    /// `json`, `text` or `binary` (then `text` is lowercase hex).
    pub format: &'static str,
    pub text: String,
    /// Size of the raw bytes.
    pub size: usize,
    /// The text shows only the first bytes.
    pub truncated: bool,
}

impl Rendered {
    /// Detects the format of `bytes` and renders at most `limit` bytes of it.
    pub fn of(bytes: &[u8], limit: Option<usize>) -> Rendered {
        let size = bytes.len();
        let limit = limit.unwrap_or(usize::MAX);
        match std::str::from_utf8(bytes) {
            Ok(text) if is_printable(text) => {
                let trimmed = text.trim_start();
                if size <= limit && (trimmed.starts_with('{') || trimmed.starts_with('[')) {
                    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
                        let pretty = serde_json::to_string_pretty(&value)
                            .unwrap_or_else(|_| text.to_string());
                        return Rendered {
                            format: "json",
                            text: pretty,
                            size,
                            truncated: false,
                        };
                    }
                }
                let cut = floor_char_boundary(text, limit);
                Rendered {
                    format: "text",
                    text: text[..cut].to_string(),
                    size,
                    truncated: cut < size,
                }
            }
            _ => {
                let shown = &bytes[..size.min(limit / 2)];
                Rendered {
                    format: "binary",
                    text: shown.iter().map(|b| format!("{b:02x}")).collect(),
                    size,
                    truncated: shown.len() < size,
                }
            }
        }
    }
}

/// Text without control characters other than tab and line breaks.
fn is_printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn floor_char_boundary(text: &str, limit: usize) -> usize {
    if limit >= text.len() {
        return text.len();
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// One header of a message.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderView {
    pub key: String,
    pub value: Option<Rendered>,
}

/// One message as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    /// `CreateTime` or `LogAppendTime`.
    pub timestamp_type: &'static str,
    pub key: Option<Rendered>,
    pub value: Option<Rendered>,
    pub headers: Vec<HeaderView>,
}

impl MessageView {
    fn of(partition: i32, record: &Record, limit: Option<usize>) -> MessageView {
        MessageView {
            partition,
            offset: record.offset,
            timestamp: record.timestamp,
            timestamp_type: match record.timestamp_type {
                TimestampType::Creation => "CreateTime",
                TimestampType::LogAppend => "LogAppendTime",
            },
            key: record.key.as_ref().map(|k| Rendered::of(k, limit)),
            value: record.value.as_ref().map(|v| Rendered::of(v, limit)),
            headers: record
                .headers
                .iter()
                .map(|(k, v)| HeaderView {
                    key: k.to_string(),
                    value: v.as_ref().map(|v| Rendered::of(v, limit)),
                })
                .collect(),
        }
    }
}

/// What a browse found.
#[derive(Debug, Clone, Serialize)]
pub struct BrowseResult {
    pub messages: Vec<MessageView>,
    /// Per partition, the offset after the last message read: pass them back as `positions`
    /// to continue (live tail).
    pub next_offsets: BTreeMap<i32, i64>,
}

/// Does the record contain `needle` (lowercase) in its key, value or headers?
fn matches(record: &Record, needle: &str) -> bool {
    let has = |b: &[u8]| String::from_utf8_lossy(b).to_lowercase().contains(needle);
    record.key.as_deref().is_some_and(has)
        || record.value.as_deref().is_some_and(has)
        || record
            .headers
            .iter()
            .any(|(k, v)| has(k.as_bytes()) || v.as_deref().is_some_and(has))
}

/// One decoded batch: its data records and the offset after its last offset (from the
/// header, which keeps the batch's range even when compaction removed records or the batch
/// holds only control records).
struct DecodedBatch {
    records: Vec<Record>,
    next_offset: i64,
}

/// Decodes every batch of `records` (whole batches from the log); stops at a cut tail.
/// Batch header: base offset at bytes 0..8, last offset delta at 23..27.
fn decode_batches(mut records: Bytes, first_offset: i64) -> Result<Vec<DecodedBatch>> {
    let mut out = Vec::new();
    while records.len() >= 61 {
        let base_offset = i64::from_be_bytes(records[0..8].try_into().unwrap_or_default());
        let last_offset_delta = i32::from_be_bytes(records[23..27].try_into().unwrap_or_default());
        match RecordBatchDecoder::decode(&mut records) {
            Ok(set) => out.push(DecodedBatch {
                records: set.records.into_iter().filter(|r| !r.control).collect(),
                next_offset: base_offset + i64::from(last_offset_delta) + 1,
            }),
            Err(e) => {
                if out.is_empty() {
                    return Err(ConsoleError::Decode {
                        offset: first_offset,
                        source: e.into(),
                    });
                }
                break;
            }
        }
    }
    Ok(out)
}

/// Reads from `start` up to the high watermark, keeping up to `limit` records that pass the
/// filter. Blocking (`pread`): runs on the blocking pool. Returns the records and the offset
/// after the last one examined.
fn scan_partition(
    partition: &Partition,
    start: i64,
    limit: usize,
    filter: Option<&str>,
) -> Result<(Vec<Record>, i64)> {
    let high_watermark = partition.high_watermark();
    let mut offset = start;
    let mut kept = Vec::new();
    let mut scanned = 0usize;
    'reading: while offset < high_watermark && kept.len() < limit && scanned < SCAN_BUDGET_BYTES {
        let read = partition.read(offset, READ_BYTES, false)?;
        if read.records.is_empty() {
            break;
        }
        scanned += read.records.len();
        let before = offset;
        for batch in decode_batches(read.records, offset)? {
            for record in batch.records {
                if record.offset < offset || record.offset >= high_watermark {
                    continue;
                }
                offset = record.offset + 1;
                if filter.is_none_or(|needle| matches(&record, needle)) {
                    kept.push(record);
                    if kept.len() >= limit {
                        break 'reading;
                    }
                }
            }
            // Past the batch's range, records or not (compacted gaps, control batches).
            offset = offset.max(batch.next_offset.min(high_watermark));
        }
        if offset == before {
            break;
        }
    }
    Ok((kept, offset))
}

/// The offset browsing starts at in one partition.
async fn start_offset(
    ctx: &BrokerContext,
    partition: &Partition,
    seek: Seek,
    limit: usize,
) -> Result<i64> {
    let offsets = partition.offsets();
    let (start, end) = (offsets.log_start_offset, offsets.high_watermark);
    Ok(match seek {
        Seek::Earliest => start,
        Seek::Latest => (end - limit as i64).max(start),
        Seek::Offset(o) => o.clamp(start, end),
        Seek::Timestamp(ts) => {
            let tp = partition.topic_partition();
            let found = ctx
                .replica_manager
                .list_offset(&tp.topic, tp.partition, ts, -1)
                .await?;
            if found.offset < 0 {
                end
            } else {
                found.offset.clamp(start, end)
            }
        }
    })
}

/// Browses `topic` as `query` says.
pub async fn browse(ctx: &BrokerContext, topic: &str, query: &Browse) -> Result<BrowseResult> {
    let image = ctx.controller.image();
    let Some(topic_image) = image.topic(topic) else {
        return Err(ConsoleError::NotFound(format!(
            "topic {topic:?} does not exist"
        )));
    };
    let partitions: Vec<i32> = match query.partition {
        Some(p) if topic_image.partitions.contains_key(&p) => vec![p],
        Some(p) => {
            return Err(ConsoleError::NotFound(format!(
                "topic {topic:?} has no partition {p}"
            )))
        }
        None => topic_image.partitions.keys().copied().collect(),
    };
    let limit = query.limit.clamp(1, MAX_LIMIT);
    let filter = query
        .filter
        .as_ref()
        .map(|f| f.to_lowercase())
        .filter(|f| !f.is_empty());
    let mut messages = Vec::new();
    let mut next_offsets = BTreeMap::new();
    for index in partitions {
        let partition = ctx.replica_manager.partition(topic, index)?;
        let start = match query.positions.get(&index) {
            Some(&o) => {
                let offsets = partition.offsets();
                o.clamp(offsets.log_start_offset, offsets.high_watermark)
            }
            None => start_offset(ctx, &partition, query.seek, limit).await?,
        };
        let reader = Arc::clone(&partition);
        let needle = filter.clone();
        let (records, next) = tokio::task::spawn_blocking(move || {
            scan_partition(&reader, start, limit, needle.as_deref())
        })
        .await??;
        next_offsets.insert(index, next);
        messages.extend(
            records
                .iter()
                .map(|r| MessageView::of(index, r, query.max_value_bytes)),
        );
    }
    // Across partitions: by time, then partition and offset; latest keeps the newest.
    messages.sort_by_key(|m| (m.timestamp, m.partition, m.offset));
    if messages.len() > limit {
        if query.seek == Seek::Latest && query.positions.is_empty() {
            messages.drain(..messages.len() - limit);
        } else {
            messages.truncate(limit);
        }
    }
    Ok(BrowseResult {
        messages,
        next_offsets,
    })
}

/// One whole message (no truncation), for "show all".
pub async fn fetch_one(
    ctx: &BrokerContext,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<MessageView> {
    let p = ctx.replica_manager.partition(topic, partition)?;
    let offsets = p.offsets();
    if offset < offsets.log_start_offset || offset >= offsets.high_watermark {
        return Err(ConsoleError::NotFound(format!(
            "offset {offset} is outside {topic}-{partition}'s readable range {}..{}",
            offsets.log_start_offset, offsets.high_watermark
        )));
    }
    let reader = Arc::clone(&p);
    let (records, _) =
        tokio::task::spawn_blocking(move || scan_partition(&reader, offset, 1, None)).await??;
    records
        .iter()
        .find(|r| r.offset == offset)
        .map(|r| MessageView::of(partition, r, None))
        .ok_or_else(|| {
            ConsoleError::NotFound(format!(
                "no message at offset {offset} of {topic}-{partition} (compacted away or a control record)"
            ))
        })
}

/// A message to produce (the Produce form and `POST /api/v1/topics/{topic}/messages`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewMessage {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub headers: Vec<NewHeader>,
    /// None: by key hash (murmur2, as Kafka's default partitioner), round robin without a key.
    #[serde(default)]
    pub partition: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewHeader {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// Where a produced message landed.
#[derive(Debug, Clone, Serialize)]
pub struct Produced {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
}

/// Round robin for keyless messages.
static NEXT_PARTITION: AtomicUsize = AtomicUsize::new(0);

/// Appends one message with `acks=all` semantics and returns where it landed.
pub async fn produce(ctx: &BrokerContext, topic: &str, message: NewMessage) -> Result<Produced> {
    let image = ctx.controller.image();
    let Some(topic_image) = image.topic(topic) else {
        return Err(ConsoleError::NotFound(format!(
            "topic {topic:?} does not exist"
        )));
    };
    let count = topic_image.partitions.len();
    let partition = match (message.partition, &message.key) {
        (Some(p), _) if topic_image.partitions.contains_key(&p) => p,
        (Some(p), _) => {
            return Err(ConsoleError::BadRequest(format!(
                "topic {topic:?} has no partition {p} (it has {count})"
            )))
        }
        // The partition Java's and fjord-client's default partitioner pick for this key.
        (None, Some(key)) => partition_for_key(key.as_bytes(), count),
        (None, None) => (NEXT_PARTITION.fetch_add(1, Ordering::Relaxed) % count.max(1)) as i32,
    };
    let now = now_ms();
    let record = Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now,
        key: message.key.map(Bytes::from),
        value: message.value.map(Bytes::from),
        headers: message
            .headers
            .into_iter()
            .map(|h| (StrBytes::from_string(h.key), h.value.map(Bytes::from)))
            .collect(),
        delete_horizon: false,
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [&record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| ConsoleError::BadRequest(format!("the message does not encode: {e}")))?;
    let batch = buf.freeze();
    let batch_bytes = batch.len() as u64;
    let leader = ctx.replica_manager.leader_partition(topic, partition)?;
    let appended = leader.append_as_leader(Some(batch), -1, now).await?;
    ctx.replica_manager.throughput().record_in(batch_bytes, 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    leader
        .wait_for_high_watermark(appended.last_offset + 1, deadline)
        .await?;
    Ok(Produced {
        topic: topic.to_string(),
        partition,
        offset: appended.base_offset,
        timestamp: if appended.log_append_time_ms >= 0 {
            appended.log_append_time_ms
        } else {
            now
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_as_json_text_or_hex() {
        let json = Rendered::of(br#"{"a":1}"#, Some(100));
        assert_eq!(json.format, "json");
        assert!(json.text.contains("\"a\": 1"));
        let text = Rendered::of("héllo wörld".as_bytes(), Some(100));
        assert_eq!((text.format, text.truncated), ("text", false));
        let cut = Rendered::of("héllo".as_bytes(), Some(2));
        assert_eq!((cut.text.as_str(), cut.truncated), ("h", true));
        let binary = Rendered::of(&[0xff, 0xfe, 0x00], Some(100));
        assert_eq!((binary.format, binary.text.as_str()), ("binary", "fffe00"));
        let big = Rendered::of(&vec![b'x'; 10 << 20], Some(LIST_VALUE_BYTES));
        assert_eq!(big.text.len(), LIST_VALUE_BYTES);
        assert!(big.truncated);
        assert_eq!(big.size, 10 << 20);
    }
}
