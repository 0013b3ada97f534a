//! Fetch sessions (KIP-227) against the in-process broker: the consumer opens a session, then
//! sends incremental fetches, and when the broker loses or refuses the session
//! (INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_ID_NOT_FOUND) it falls back to a full fetch and
//! a new session, without losing or repeating a record.

mod common;

use std::time::Duration;

use common::{start_broker, TestBroker};
use fjord_client::admin::NewTopic;
use fjord_client::connection::Connection;
use fjord_client::kafka_protocol::messages::{BrokerId, FetchRequest};
use fjord_client::kafka_protocol::ResponseError;
use fjord_client::{
    AdminClient, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord, TopicPartition,
};

const TOPIC: &str = "sessions";
const PARTITIONS: i32 = 4;

async fn produce(producer: &Producer, partition: i32, from: usize, n: usize) {
    let mut deliveries = Vec::new();
    for i in from..from + n {
        let record =
            ProducerRecord::new(TOPIC, format!("{partition}-{i}")).with_partition(partition);
        deliveries.push(producer.send(record).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
}

/// Polls until `n` records came, then checks that nothing more is waiting.
async fn poll_exactly(consumer: &mut Consumer, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {got:?} of {n}"
        );
        for r in consumer.poll(Duration::from_millis(300)).await.unwrap() {
            got.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    assert!(consumer
        .poll(Duration::from_millis(100))
        .await
        .unwrap()
        .is_empty());
    got
}

/// Sends a Fetch on `session_id` at `epoch` from another connection, as if it were the
/// consumer's, and returns the broker's top-level error code.
async fn meddle(broker: &TestBroker, session_id: i32, epoch: i32) -> i16 {
    let conn = Connection::connect(&broker.addr.to_string(), &broker.client_config())
        .await
        .unwrap();
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_id(session_id)
        .with_session_epoch(epoch);
    conn.call(&request).await.unwrap().error_code
}

fn only_session(consumer: &Consumer) -> (i32, i32) {
    let sessions = consumer.fetch_sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    (sessions[0].1, sessions[0].2)
}

#[tokio::test]
async fn incremental_fetches_and_fallback_to_full() {
    let broker = start_broker(|_| {}).await;
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new(TOPIC, PARTITIONS, 1)], false)
        .await
        .unwrap()[TOPIC]
        .clone()
        .unwrap();
    let producer = Producer::connect(ProducerConfig::new(broker.client_config()))
        .await
        .unwrap();
    let mut consumer = Consumer::connect(ConsumerConfig::new(broker.client_config()))
        .await
        .unwrap();
    let tps: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new(TOPIC, p))
        .collect();
    consumer.assign(tps.clone());
    consumer.seek_to_beginning(&tps).unwrap();

    // Rounds of records on one partition while the other three stay quiet.
    let mut sent = 0;
    for round in 0..4 {
        produce(&producer, round % 2, sent, 5).await;
        let got = poll_exactly(&mut consumer, 5).await;
        let want: Vec<String> = (sent..sent + 5)
            .map(|i| format!("{}-{i}", round % 2))
            .collect();
        assert_eq!(got, want);
        sent += 5;
    }
    let (session_id, epoch) = only_session(&consumer);
    assert_ne!(session_id, 0, "the broker gave a session");
    assert!(
        epoch > 2,
        "incremental fetches advanced the epoch to {epoch}"
    );

    // Someone else uses the session's next epoch: the consumer's next incremental fetch is
    // refused with INVALID_FETCH_SESSION_EPOCH and it starts over with a full fetch.
    assert_eq!(meddle(&broker, session_id, epoch).await, 0);
    produce(&producer, 2, sent, 5).await;
    let got = poll_exactly(&mut consumer, 5).await;
    assert_eq!(
        got,
        (sent..sent + 5)
            .map(|i| format!("2-{i}"))
            .collect::<Vec<_>>()
    );
    sent += 5;
    let (renewed, _) = only_session(&consumer);
    assert_ne!(renewed, 0);
    assert_ne!(renewed, session_id, "a new session after the refused epoch");

    // The session is closed behind the consumer's back: FETCH_SESSION_ID_NOT_FOUND, then a
    // full fetch again.
    let (session_id, _) = only_session(&consumer);
    assert_eq!(meddle(&broker, session_id, -1).await, 0);
    assert_eq!(
        meddle(&broker, session_id, 5).await,
        ResponseError::FetchSessionIdNotFound.code(),
        "the session is gone"
    );
    produce(&producer, 3, sent, 5).await;
    let got = poll_exactly(&mut consumer, 5).await;
    assert_eq!(
        got,
        (sent..sent + 5)
            .map(|i| format!("3-{i}"))
            .collect::<Vec<_>>()
    );
    let (renewed, _) = only_session(&consumer);
    assert_ne!(renewed, 0);
    assert_ne!(renewed, session_id);
    producer.close().await;
}
