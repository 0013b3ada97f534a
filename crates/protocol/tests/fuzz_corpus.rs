//! Runs the fuzz entry point (`fjord_protocol::fuzz::fuzz_request_frame`) over the checked-in
//! corpus of `fuzz/corpus/request_decode/` and over thousands of deterministic mutations of it,
//! so that CI exercises the decoder on stable Rust without cargo-fuzz. A panic or an abort here
//! is a real bug: that input must be refused cleanly.
//!
//! The seed inputs are built in code (`seeds()`); `cargo test -p fjord-protocol --test
//! fuzz_corpus -- --ignored write_seed_corpus` rewrites them into the corpus directory.

use std::path::PathBuf;

use bytes::{BufMut, Bytes, BytesMut};
use fjord_protocol::fuzz::{fuzz_request_frame, FuzzOutcome};
use fjord_protocol::testing::{encode_batch, TestRecord};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreateTopicsRequest, FetchRequest, MetadataRequest, ProduceRequest,
    RequestHeader, RequestKind, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::Compression;

/// The broker binary's allocator: hostile declared counts cost address space, not an abort.
#[global_allocator]
static ALLOCATOR: fjord_protocol::alloc::SparseLargeAlloc = fjord_protocol::alloc::SparseLargeAlloc;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/request_decode")
}

/// A whole request frame, size prefix included.
fn frame(api_key: ApiKey, version: i16, correlation_id: i32, body: &RequestKind) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("fuzz-seed")))
        .encode(&mut buf, api_key.request_header_version(version))
        .expect("header encodes");
    body.encode(&mut buf, version).expect("body encodes");
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf.to_vec()
}

fn record_batch(count: i64, compression: Compression) -> Bytes {
    let records = (0..count).map(|i| {
        TestRecord::keyed(
            format!("key-{i}"),
            format!("value-{i}"),
            1_700_000_000_000 + i,
        )
    });
    encode_batch(records, None, compression)
}

/// The seed corpus: one valid request per interesting (API, version) shape, plus frames that
/// exercise each refusal path.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let topic = || TopicName(StrBytes::from_static_str("orders"));
    let mut seeds = Vec::new();
    for version in 0..=4 {
        let body = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("librdkafka"))
            .with_client_software_version(StrBytes::from_static_str("2.3.0"));
        let name = [
            "api_versions_v0",
            "api_versions_v1",
            "api_versions_v2",
            "api_versions_v3",
            "api_versions_v4",
        ][version as usize];
        seeds.push((
            name,
            frame(
                ApiKey::ApiVersions,
                version,
                version as i32,
                &RequestKind::ApiVersions(body),
            ),
        ));
    }
    let mut kip511 = seeds[4].1.clone();
    kip511[6..8].copy_from_slice(&127i16.to_be_bytes());
    seeds.push(("api_versions_v127", kip511));

    let topics = vec![MetadataRequestTopic::default().with_name(Some(topic()))];
    let metadata = RequestKind::Metadata(MetadataRequest::default().with_topics(Some(topics)));
    seeds.push(("metadata_v0", frame(ApiKey::Metadata, 0, 10, &metadata)));
    seeds.push(("metadata_v12", frame(ApiKey::Metadata, 12, 11, &metadata)));

    let produce = |compression| {
        RequestKind::Produce(
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(topic())
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(record_batch(3, compression)))])]),
        )
    };
    seeds.push((
        "produce_v3",
        frame(ApiKey::Produce, 3, 20, &produce(Compression::None)),
    ));
    seeds.push((
        "produce_v9_lz4",
        frame(ApiKey::Produce, 9, 21, &produce(Compression::Lz4)),
    ));
    seeds.push((
        "produce_v11",
        frame(ApiKey::Produce, 11, 22, &produce(Compression::None)),
    ));

    let fetch = RequestKind::Fetch(
        FetchRequest::default()
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(52_428_800)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic())
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(42)
                    .with_partition_max_bytes(1_048_576)])]),
    );
    seeds.push(("fetch_v4", frame(ApiKey::Fetch, 4, 30, &fetch)));
    seeds.push(("fetch_v12", frame(ApiKey::Fetch, 12, 31, &fetch)));

    let create = RequestKind::CreateTopics(
        CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic())
                .with_num_partitions(3)
                .with_replication_factor(1)]),
    );
    seeds.push((
        "create_topics_v7",
        frame(ApiKey::CreateTopics, 7, 40, &create),
    ));

    // Refusals: too large, negative, unknown key, unserved version, truncated.
    seeds.push(("frame_2gb", vec![0x77, 0x35, 0x94, 0x00, 0, 18, 0, 3]));
    seeds.push(("frame_negative", vec![0xff, 0xff, 0xff, 0xff, 0, 18, 0, 3]));
    seeds.push((
        "unknown_api_key",
        vec![0, 0, 0, 10, 0x27, 0x0f, 0, 0, 0, 0, 0, 1, 0xff, 0xff],
    ));
    seeds.push((
        "fetch_v200",
        vec![0, 0, 0, 10, 0, 1, 0, 200, 0, 0, 0, 1, 0xff, 0xff],
    ));
    let mut truncated = seeds[0].1.clone();
    truncated.truncate(truncated.len() - 3);
    seeds.push(("truncated_api_versions", truncated));
    seeds
}

#[test]
#[ignore = "rewrites fuzz/corpus/request_decode from seeds(); run by hand after changing seeds"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn checked_in_corpus() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus/request_decode exists")
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn seeds_decode_as_expected_and_are_checked_in() {
    let corpus = checked_in_corpus();
    for (name, bytes) in seeds() {
        let expected = match name {
            "frame_2gb" | "frame_negative" | "truncated_api_versions" => FuzzOutcome::BadFrame,
            "unknown_api_key" | "fetch_v200" => FuzzOutcome::Refused,
            "api_versions_v127" => FuzzOutcome::ApiVersionsFallback,
            _ => FuzzOutcome::Decoded,
        };
        assert_eq!(fuzz_request_frame(&bytes), expected, "seed {name}");
        assert!(
            corpus.iter().any(|(file, content)| file == name && *content == bytes),
            "seed {name} is missing from or differs in fuzz/corpus/request_decode (run the ignored write_seed_corpus test)"
        );
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One libFuzzer-style mutation: flip bits, overwrite with boundary bytes, insert, delete,
/// duplicate a chunk; then, half of the time, fix the size prefix so the frame gets past
/// framing and reaches the decoders.
fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len());
        match rng.below(6) {
            0 if !data.is_empty() => data[at] ^= 1 << rng.below(8),
            1 if !data.is_empty() => data[at] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe][rng.below(6)],
            2 => data.insert(at, rng.next() as u8),
            3 if !data.is_empty() => {
                data.remove(at);
            }
            4 if data.len() > 1 => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                let chunk = data[at..end].to_vec();
                let to = rng.below(data.len());
                data.splice(to..to, chunk);
            }
            _ => data.truncate(at),
        }
    }
    if data.len() >= 4 && rng.below(2) == 0 {
        let len = (data.len() - 4) as i32;
        data[..4].copy_from_slice(&len.to_be_bytes());
    }
    data
}

#[test]
fn corpus_and_mutations_never_panic() {
    let corpus = checked_in_corpus();
    assert!(!corpus.is_empty());
    let mut decoded = 0;
    for (_, bytes) in &corpus {
        if fuzz_request_frame(bytes) == FuzzOutcome::Decoded {
            decoded += 1;
        }
    }
    assert!(
        decoded >= 10,
        "the corpus should reach the decoders ({decoded} did)"
    );

    let seed = 0x5eed_f10d_u64;
    let mut rng = Rng(seed);
    let mut outcomes = [0usize; 4];
    for round in 0..20_000 {
        let (_, base) = &corpus[rng.below(corpus.len())];
        let input = mutate(base, &mut rng);
        let outcome =
            std::panic::catch_unwind(|| fuzz_request_frame(&input)).unwrap_or_else(|_| {
                panic!("round {round} (rng seed {seed:#x}) panicked on input {input:02x?}")
            });
        outcomes[outcome as usize] += 1;
    }
    // The mutations must exercise every path, not just bounce off the size check.
    assert!(
        outcomes.iter().all(|&n| n > 0),
        "outcomes per path: {outcomes:?}"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xdec0_de00_1234_5678);
    for _ in 0..5_000 {
        let len = rng.below(96);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if data.len() >= 4 {
            let declared = (data.len() - 4) as i32;
            data[..4].copy_from_slice(&declared.to_be_bytes());
            // A plausible header: a known key and a version inside its range, half the time.
            if data.len() >= 8 && rng.below(2) == 0 {
                let keys: Vec<ApiKey> = ApiKey::iter().collect();
                let key = keys[rng.below(keys.len())];
                let range = key.valid_versions();
                let version = range.min + rng.below((range.max - range.min + 1) as usize) as i16;
                data[4..6].copy_from_slice(&(key as i16).to_be_bytes());
                data[6..8].copy_from_slice(&version.to_be_bytes());
            }
        }
        let _ = fuzz_request_frame(&data);
    }
}
