//! Producer and consumer against an in-process broker: every codec, keyed placement on Java's
//! murmur2 partitions, idempotence, acks=0, headers and timestamps, seeks.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{start_broker, TestBroker};
use fjord_client::admin::{NewTopic, OffsetSpec};
use fjord_client::kafka_protocol::records::Compression;
use fjord_client::partitioner::partition_for_key;
use fjord_client::{
    Acks, AdminClient, Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, Producer,
    ProducerConfig, ProducerRecord, TopicPartition,
};

async fn create_topic(broker: &TestBroker, topic: &str, partitions: i32) {
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    let created = admin
        .create_topics(&[NewTopic::new(topic, partitions, 1)], false)
        .await
        .unwrap();
    created[topic].clone().unwrap();
}

/// Reads `count` records from all partitions of `topic` from the beginning.
async fn consume_all(
    broker: &TestBroker,
    topic: &str,
    partitions: i32,
    count: usize,
) -> Vec<ConsumerRecord> {
    let mut consumer = Consumer::connect(ConsumerConfig::new(broker.client_config()))
        .await
        .unwrap();
    let tps: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(tps.clone());
    consumer.seek_to_beginning(&tps).unwrap();
    let mut records = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while records.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} records",
            records.len()
        );
        records.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
    }
    // Nothing more than what was produced.
    assert!(consumer
        .poll(Duration::from_millis(100))
        .await
        .unwrap()
        .is_empty());
    records
}

async fn keyed_round_trip(compression: Compression) {
    let broker = start_broker(|_| {}).await;
    let topic = format!("keyed-{compression:?}").to_lowercase();
    create_topic(&broker, &topic, 4).await;
    let mut config = ProducerConfig::new(broker.client_config());
    config.compression = compression;
    let producer = Producer::connect(config).await.unwrap();
    const N: usize = 10_000;
    let mut deliveries = Vec::with_capacity(N);
    for i in 0..N {
        let record =
            ProducerRecord::new(topic.clone(), format!("value-{i}")).with_key(format!("key-{i}"));
        deliveries.push(producer.send(record).await.unwrap());
    }
    producer.flush().await;
    let mut offsets: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    for (i, delivery) in deliveries.into_iter().enumerate() {
        let meta = delivery.await.unwrap();
        assert_eq!(
            meta.partition,
            partition_for_key(format!("key-{i}").as_bytes(), 4),
            "key-{i}"
        );
        assert!(offsets
            .entry(meta.partition)
            .or_default()
            .insert(meta.offset));
    }
    for (partition, offsets) in &offsets {
        let expected: BTreeSet<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(
            offsets, &expected,
            "partition {partition} offsets are 0..n without gaps"
        );
    }
    assert!(
        producer.producer_id_and_epoch().is_some(),
        "idempotent by default"
    );
    producer.close().await;

    let records = consume_all(&broker, &topic, 4, N).await;
    assert_eq!(records.len(), N);
    let mut last_offset: BTreeMap<i32, i64> = BTreeMap::new();
    for record in &records {
        let key = String::from_utf8(record.key.clone().unwrap().to_vec()).unwrap();
        let i: usize = key.strip_prefix("key-").unwrap().parse().unwrap();
        assert_eq!(
            record.value.as_deref(),
            Some(format!("value-{i}").as_bytes())
        );
        assert_eq!(record.partition, partition_for_key(key.as_bytes(), 4));
        let previous = last_offset.insert(record.partition, record.offset);
        assert_eq!(
            previous.map_or(0, |p| p + 1),
            record.offset,
            "in order, no gaps"
        );
    }
}

#[tokio::test]
async fn keyed_round_trip_none() {
    keyed_round_trip(Compression::None).await;
}

#[tokio::test]
async fn keyed_round_trip_gzip() {
    keyed_round_trip(Compression::Gzip).await;
}

#[tokio::test]
async fn keyed_round_trip_snappy() {
    keyed_round_trip(Compression::Snappy).await;
}

#[tokio::test]
async fn keyed_round_trip_lz4() {
    keyed_round_trip(Compression::Lz4).await;
}

#[tokio::test]
async fn keyed_round_trip_zstd() {
    keyed_round_trip(Compression::Zstd).await;
}

#[tokio::test]
async fn acks_zero_and_non_idempotent_producers_deliver() {
    let broker = start_broker(|_| {}).await;
    create_topic(&broker, "acks", 1).await;
    let mut config = ProducerConfig::new(broker.client_config());
    config.set("acks", "1").unwrap();
    let producer = Producer::connect(config.clone()).await.unwrap();
    let meta = producer
        .send(ProducerRecord::new("acks", "one"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, 0);
    assert!(producer.producer_id_and_epoch().is_none());
    producer.close().await;

    config.set("acks", "0").unwrap();
    let producer = Producer::connect(config).await.unwrap();
    let meta = producer
        .send(ProducerRecord::new("acks", "zero"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, -1, "acks=0 gets no offset");
    producer.close().await;
    let records = consume_all(&broker, "acks", 1, 2).await;
    assert_eq!(records[1].value.as_deref(), Some(&b"zero"[..]));
}

#[tokio::test]
async fn unkeyed_records_stick_to_a_partition_per_batch() {
    let broker = start_broker(|_| {}).await;
    create_topic(&broker, "sticky", 3).await;
    let mut config = ProducerConfig::new(broker.client_config());
    config.linger_ms = 1_000;
    config.batch_size = 1_000_000;
    let producer = Producer::connect(config).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..100 {
        deliveries.push(
            producer
                .send(ProducerRecord::new("sticky", format!("v{i}")))
                .await
                .unwrap(),
        );
    }
    producer.flush().await;
    let mut partitions = BTreeSet::new();
    for d in deliveries {
        partitions.insert(d.await.unwrap().partition);
    }
    assert_eq!(
        partitions.len(),
        1,
        "one open batch, one partition: {partitions:?}"
    );
    producer.close().await;
}

#[tokio::test]
async fn headers_timestamps_seeks_and_offsets_for_times() {
    let broker = start_broker(|_| {}).await;
    create_topic(&broker, "seek", 1).await;
    let producer = Producer::connect(ProducerConfig::new(broker.client_config()))
        .await
        .unwrap();
    for i in 0..10i64 {
        producer
            .send(
                ProducerRecord::new("seek", format!("v{i}"))
                    .with_partition(0)
                    .with_timestamp(1_000_000 + i * 1000)
                    .with_header("h", format!("x{i}")),
            )
            .await
            .unwrap();
    }
    producer.close().await;

    let tp = TopicPartition::new("seek", 0);
    let mut config = ConsumerConfig::new(broker.client_config());
    config.auto_offset_reset = OffsetReset::Earliest;
    config.max_poll_records = 3;
    let mut consumer = Consumer::connect(config).await.unwrap();
    consumer.assign([tp.clone()]);
    let first = consumer.poll(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.len(), 3, "max.poll.records");
    assert_eq!(first[0].offset, 0);
    assert_eq!(first[0].timestamp, 1_000_000);
    assert_eq!(first[0].headers, vec![("h".to_string(), Some("x0".into()))]);
    assert_eq!(consumer.position(&tp).await.unwrap(), 3);

    consumer.seek(&tp, 7).unwrap();
    let records = consumer.poll(Duration::from_secs(5)).await.unwrap();
    assert_eq!(records[0].offset, 7);

    let times = consumer
        .offsets_for_times(&BTreeMap::from([(tp.clone(), 1_004_500)]))
        .await
        .unwrap();
    assert_eq!(times[&tp], Some((5, 1_005_000)));
    let none = consumer
        .offsets_for_times(&BTreeMap::from([(tp.clone(), 9_999_999)]))
        .await
        .unwrap();
    assert_eq!(none[&tp], None);
    consumer
        .seek_to_timestamp(std::slice::from_ref(&tp), 1_004_500)
        .unwrap();
    assert_eq!(consumer.position(&tp).await.unwrap(), 5);
    let records = consumer.poll(Duration::from_secs(5)).await.unwrap();
    assert_eq!(records[0].offset, 5);

    consumer.seek_to_end(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(consumer.position(&tp).await.unwrap(), 10);
    let ends = consumer
        .offsets(std::slice::from_ref(&tp), OffsetSpec::Earliest)
        .await
        .unwrap();
    assert_eq!(ends[&tp], 0);
    assert!(consumer
        .poll(Duration::from_millis(200))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn auto_created_topic_and_acks_variants() {
    let broker = start_broker(|_| {}).await;
    let mut config = ProducerConfig::new(broker.client_config());
    config.acks = Acks::All;
    let producer = Producer::connect(config).await.unwrap();
    // auto.create.topics.enable is on by default, as in Kafka.
    let meta = producer
        .send(ProducerRecord::new("auto-created", "x").with_key("k"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, 0);
    producer.close().await;
    assert!(producer
        .send(ProducerRecord::new("auto-created", "y"))
        .await
        .is_err());
}

/// The batches on the broker carry the producer id and epoch from InitProducerId, and each
/// partition's base sequences continue exactly where the previous batch ended.
#[tokio::test]
async fn idempotent_batches_carry_producer_id_and_contiguous_sequences() {
    use fjord_client::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use fjord_client::kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
    use fjord_client::kafka_protocol::protocol::StrBytes;
    use fjord_client::kafka_protocol::records::RecordBatchDecoder;

    let broker = start_broker(|_| {}).await;
    create_topic(&broker, "idem", 1).await;
    let mut config = ProducerConfig::new(broker.client_config());
    config.batch_size = 200; // several batches
    let producer = Producer::connect(config).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..50 {
        deliveries.push(
            producer
                .send(ProducerRecord::new("idem", format!("value-{i:04}")))
                .await
                .unwrap(),
        );
    }
    for d in deliveries {
        d.await.unwrap();
    }
    let (producer_id, epoch) = producer.producer_id_and_epoch().unwrap();
    assert!(producer_id >= 0);
    producer.close().await;

    let cluster = producer.cluster().clone();
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("idem")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let response = cluster.call_any(&request).await.unwrap();
    let mut records = response.responses[0].partitions[0].records.clone().unwrap();
    let batches = RecordBatchDecoder::decode_batch_info(&mut records).unwrap();
    assert!(batches.len() > 1, "batch.size split the records");
    let mut next_sequence = 0;
    for batch in &batches {
        assert_eq!(
            (batch.producer_id, batch.producer_epoch),
            (producer_id, epoch)
        );
        assert_eq!(batch.base_sequence, next_sequence);
        next_sequence += batch.record_count;
    }
    assert_eq!(next_sequence, 50);
}

#[tokio::test]
async fn send_to_a_missing_topic_fails_after_max_block_ms() {
    let broker = start_broker(|c| c.auto_create_topics_enable = false).await;
    let mut config = ProducerConfig::new(broker.client_config());
    config.set("max.block.ms", "500").unwrap();
    let producer = Producer::connect(config).await.unwrap();
    let started = std::time::Instant::now();
    let err = producer
        .send(ProducerRecord::new("missing", "x"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err.error_code(),
        fjord_client::kafka_protocol::ResponseError::RequestTimedOut,
        "{err}"
    );
    assert!(err.to_string().contains("missing"), "{err}");
    producer.close().await;
}

/// Kafka keeps a record's headers as a list: a key given twice arrives twice, in order. (Through
/// kafka-protocol 0.18's `Record`, whose headers are a map, the first "a" would be lost.)
#[tokio::test]
async fn duplicate_header_keys_keep_order_through_the_broker() {
    let broker = start_broker(|_| {}).await;
    create_topic(&broker, "dup-headers", 1).await;
    let producer = Producer::connect(ProducerConfig::new(broker.client_config()))
        .await
        .unwrap();
    let record = ProducerRecord::new("dup-headers", "v")
        .with_partition(0)
        .with_header("a", "1")
        .with_header("b", "2")
        .with_header("a", "3");
    producer.send(record).await.unwrap().await.unwrap();
    producer.close().await;
    let records = consume_all(&broker, "dup-headers", 1, 1).await;
    assert_eq!(
        records[0].headers,
        vec![
            ("a".to_string(), Some("1".into())),
            ("b".to_string(), Some("2".into())),
            ("a".to_string(), Some("3".into())),
        ]
    );
}
