//! Several Produce requests in flight per connection (`max.in.flight.requests.per.connection`)
//! and the epoch bump after the broker loses the producer's sequence state.
//!
//! The in-flight test puts a proxy between client and broker that holds every response back
//! for a while and counts how many Produce requests are outstanding at once; the broker
//! advertises the proxy's port, so the producer's leader connection goes through it too.

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{start_broker, TestBroker};
use fjord_client::admin::NewTopic;
use fjord_client::{
    Acks, AdminClient, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord,
    TopicPartition,
};
use fjord_config::Listener;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PRODUCE_API_KEY: i16 = 0;

/// Counts Produce requests outstanding through the proxy.
#[derive(Default)]
struct InFlightGauge {
    now: AtomicUsize,
    max: AtomicUsize,
    total: AtomicUsize,
}

async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.ok()?;
    let len = i32::from_be_bytes(len);
    let mut frame = vec![0u8; usize::try_from(len).ok()? + 4];
    frame[..4].copy_from_slice(&len.to_be_bytes());
    stream.read_exact(&mut frame[4..]).await.ok()?;
    Some(frame)
}

/// Forwards connections from `listener` to `broker`, delaying each response by `delay` after
/// it arrives (keeping their order), and tracks outstanding Produce requests in `gauge`.
async fn delaying_proxy(
    listener: TcpListener,
    broker: std::net::SocketAddr,
    delay: Duration,
    gauge: Arc<InFlightGauge>,
) {
    while let Ok((client, _)) = listener.accept().await {
        let Ok(upstream) = TcpStream::connect(broker).await else {
            continue;
        };
        let gauge = gauge.clone();
        // The api key of every request in order, so each response can be matched to one.
        let keys: Arc<Mutex<VecDeque<i16>>> = Arc::default();
        let (mut client_read, mut client_write) = client.into_split();
        let (mut up_read, mut up_write) = upstream.into_split();
        let request_keys = keys.clone();
        let request_gauge = gauge.clone();
        tokio::spawn(async move {
            while let Some(frame) = read_frame(&mut client_read).await {
                let api_key = i16::from_be_bytes([frame[4], frame[5]]);
                if api_key == PRODUCE_API_KEY {
                    let now = request_gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                    request_gauge.max.fetch_max(now, Ordering::SeqCst);
                    request_gauge.total.fetch_add(1, Ordering::SeqCst);
                }
                request_keys.lock().push_back(api_key);
                if up_write.write_all(&frame).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(frame) = read_frame(&mut up_read).await {
                let deliver_at = tokio::time::Instant::now() + delay;
                let api_key = keys.lock().pop_front();
                tokio::time::sleep_until(deliver_at).await;
                if api_key == Some(PRODUCE_API_KEY) {
                    gauge.now.fetch_sub(1, Ordering::SeqCst);
                }
                if client_write.write_all(&frame).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// A broker whose advertised PLAINTEXT port is a delaying proxy's.
async fn broker_behind_proxy(delay: Duration) -> (TestBroker, Arc<InFlightGauge>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let broker = start_broker(|config| {
        config.advertised_listeners = vec![Listener::new("PLAINTEXT", "127.0.0.1", proxy_port)];
    })
    .await;
    let gauge = Arc::new(InFlightGauge::default());
    tokio::spawn(delaying_proxy(listener, broker.addr, delay, gauge.clone()));
    (broker, gauge)
}

async fn create_topic(broker: &TestBroker, topic: &str, partitions: i32) {
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new(topic, partitions, 1)], false)
        .await
        .unwrap()[topic]
        .clone()
        .unwrap();
}

async fn read_values(broker: &TestBroker, tp: &TopicPartition, count: usize) -> Vec<String> {
    let mut consumer = Consumer::connect(ConsumerConfig::new(broker.client_config()))
        .await
        .unwrap();
    consumer.assign([tp.clone()]);
    consumer
        .seek_to_beginning(std::slice::from_ref(tp))
        .unwrap();
    let mut values = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while values.len() < count && tokio::time::Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            values.push(String::from_utf8_lossy(&r.value.unwrap()).into_owned());
        }
    }
    values
}

/// Sends `count` one-record batches to partition 0 and returns the most Produce requests that
/// were outstanding at once.
async fn max_in_flight_for(setting: usize, acks: Acks, count: usize) -> usize {
    let (broker, gauge) = broker_behind_proxy(Duration::from_millis(150)).await;
    let topic = "pipelined";
    create_topic(&broker, topic, 1).await;
    let mut config = ProducerConfig::new(broker.client_config());
    config.acks = acks;
    config.linger_ms = 0;
    config.batch_size = 1; // every record seals its own batch
    config.max_in_flight_requests_per_connection = setting;
    let producer = Producer::connect(config).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..count {
        let record = ProducerRecord::new(topic, format!("v{i}")).with_partition(0);
        deliveries.push(producer.send(record).await.unwrap());
    }
    let mut offsets = Vec::new();
    for delivery in deliveries {
        offsets.push(delivery.await.unwrap().offset);
    }
    assert_eq!(
        offsets,
        (0..count as i64).collect::<Vec<_>>(),
        "in send order"
    );
    producer.close().await;
    let tp = TopicPartition::new(topic, 0);
    let expected: Vec<String> = (0..count).map(|i| format!("v{i}")).collect();
    assert_eq!(read_values(&broker, &tp, count).await, expected);
    assert_eq!(
        gauge.total.load(Ordering::SeqCst),
        count,
        "one batch per request"
    );
    broker.broker.shutdown().await.unwrap();
    gauge.max.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_idempotent_batches_of_one_partition_are_in_flight_in_order() {
    assert_eq!(max_in_flight_for(5, Acks::All, 20).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_one_keeps_a_single_request_outstanding() {
    assert_eq!(max_in_flight_for(1, Acks::Leader, 6).await, 1);
}

/// DeleteRecords past every batch of the producer: the producer keeps delivering in order.
/// (Kafka may drop the producer's state here and answer UNKNOWN_PRODUCER_ID, which bumps the
/// epoch; fjord's broker keeps the state, so this guards the plain path.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_keeps_delivering_after_delete_records_past_its_batches() {
    let broker = start_broker(|_| {}).await;
    let topic = "bumped";
    create_topic(&broker, topic, 1).await;
    let tp = TopicPartition::new(topic, 0);
    let mut config = ProducerConfig::new(broker.client_config());
    config.linger_ms = 0;
    let producer = Producer::connect(config).await.unwrap();
    for i in 0..3 {
        let record = ProducerRecord::new(topic, format!("before{i}")).with_partition(0);
        producer.send(record).await.unwrap().await.unwrap();
    }
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    let deleted = admin
        .delete_records(&BTreeMap::from([(tp.clone(), 3)]))
        .await
        .unwrap();
    assert_eq!(deleted[&tp].clone().unwrap(), 3);
    for i in 0..3 {
        let record = ProducerRecord::new(topic, format!("after{i}")).with_partition(0);
        let delivered = tokio::time::timeout(
            Duration::from_secs(20),
            producer.send(record).await.unwrap(),
        )
        .await
        .expect("delivered")
        .unwrap();
        assert_eq!(delivered.offset, 3 + i);
    }
    assert!(producer.producer_id_and_epoch().is_some());
    producer.close().await;
    let values = read_values(&broker, &tp, 3).await;
    assert_eq!(values, vec!["after0", "after1", "after2"]);
    broker.broker.shutdown().await.unwrap();
}

/// A batch rejected for good while later batches of its partition are in flight leaves a
/// gap in the sequence numbers the broker saw; the later batches come back with
/// OUT_OF_ORDER_SEQUENCE_NUMBER. The producer bumps its epoch (fjord's broker hands out a new
/// producer id) and delivers them renumbered from 0, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_batch_between_pipelined_ones_bumps_the_epoch_and_the_rest_arrive() {
    let (broker, gauge) = broker_behind_proxy(Duration::from_millis(150)).await;
    let topic = "gapped";
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(
            &[NewTopic::new(topic, 1, 1).with_config("max.message.bytes", "2000")],
            false,
        )
        .await
        .unwrap()[topic]
        .clone()
        .unwrap();
    let mut config = ProducerConfig::new(broker.client_config());
    config.linger_ms = 0;
    config.batch_size = 1;
    let producer = Producer::connect(config).await.unwrap();
    let first = ProducerRecord::new(topic, "first").with_partition(0);
    producer.send(first).await.unwrap().await.unwrap();
    let before = producer.producer_id_and_epoch().unwrap();

    let big = ProducerRecord::new(topic, vec![b'x'; 5_000]).with_partition(0);
    let big = producer.send(big).await.unwrap();
    let mut later = Vec::new();
    for i in 0..3 {
        let record = ProducerRecord::new(topic, format!("later{i}")).with_partition(0);
        later.push(producer.send(record).await.unwrap());
    }
    let err = big.await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("large"), "{err}");
    let mut offsets = Vec::new();
    for delivery in later {
        let delivered = tokio::time::timeout(Duration::from_secs(20), delivery)
            .await
            .expect("delivered")
            .unwrap();
        offsets.push(delivered.offset);
    }
    assert_eq!(offsets, vec![1, 2, 3]);
    assert!(
        gauge.max.load(Ordering::SeqCst) >= 2,
        "the batches were pipelined"
    );
    let after = producer.producer_id_and_epoch().unwrap();
    assert_ne!(after, before, "a new epoch or producer id");
    producer.close().await;
    let tp = TopicPartition::new(topic, 0);
    assert_eq!(
        read_values(&broker, &tp, 4).await,
        vec!["first", "later0", "later1", "later2"]
    );
    broker.broker.shutdown().await.unwrap();
}
