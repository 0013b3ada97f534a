//! The background heartbeat: a member that does not poll for longer than `session.timeout.ms`
//! (but less than `max.poll.interval.ms`) keeps its partitions; one that exceeds
//! `max.poll.interval.ms` leaves the group and rejoins on its next poll.

mod common;

use std::time::Duration;

use common::{start_broker, TestBroker};
use fjord_client::admin::NewTopic;
use fjord_client::{AdminClient, Consumer, ConsumerConfig, OffsetReset, TopicPartition};

const TOPIC: &str = "beating";

async fn broker_with_short_sessions() -> TestBroker {
    let broker = start_broker(|config| config.group_min_session_timeout_ms = 500).await;
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new(TOPIC, 2, 1)], false)
        .await
        .unwrap()[TOPIC]
        .clone()
        .unwrap();
    broker
}

fn config(broker: &TestBroker, group: &str, max_poll_interval_ms: i32) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(broker.client_config());
    config.group_id = Some(group.to_string());
    config.auto_offset_reset = OffsetReset::Earliest;
    config.enable_auto_commit = false;
    config.session_timeout_ms = 1_500;
    config.heartbeat_interval_ms = 200;
    config.max_poll_interval_ms = max_poll_interval_ms;
    config
}

async fn joined(group: &str, broker: &TestBroker) -> Consumer {
    let mut consumer = Consumer::connect(config(broker, group, 60_000))
        .await
        .unwrap();
    consumer.subscribe(&[TOPIC.to_string()]).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while consumer.assignment().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "never joined");
        consumer.poll(Duration::from_millis(100)).await.unwrap();
    }
    consumer
}

/// (state, member ids) of `group`.
async fn describe(broker: &TestBroker, group: &str) -> (String, Vec<String>) {
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    let described = admin.describe_groups(&[group.to_string()]).await.unwrap();
    let d = &described[0];
    (
        d.group_state.clone(),
        d.members.iter().map(|m| m.member_id.clone()).collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_busy_longer_than_the_session_timeout_keeps_its_partitions() {
    let broker = broker_with_short_sessions().await;
    let group = "busy";
    let mut consumer = joined(group, &broker).await;
    let (state, members) = describe(&broker, group).await;
    assert_eq!(state, "Stable");
    assert_eq!(members.len(), 1);
    // "Processing" for three session timeouts without polling.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    assert_eq!(describe(&broker, group).await, (state, members));
    consumer.poll(Duration::from_millis(100)).await.unwrap();
    let tps: Vec<TopicPartition> = (0..2).map(|p| TopicPartition::new(TOPIC, p)).collect();
    assert_eq!(consumer.assignment(), tps);
    consumer.close().await.unwrap();
    broker.broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_exceeding_max_poll_interval_leaves_and_rejoins_on_poll() {
    let broker = broker_with_short_sessions().await;
    let group = "stalled";
    let mut consumer = Consumer::connect(config(&broker, group, 1_000))
        .await
        .unwrap();
    consumer.subscribe(&[TOPIC.to_string()]).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while consumer.assignment().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "never joined");
        consumer.poll(Duration::from_millis(100)).await.unwrap();
    }
    let (_, before) = describe(&broker, group).await;
    assert_eq!(before.len(), 1);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (state, members) = describe(&broker, group).await;
    assert_eq!(state, "Empty", "the stalled member left");
    assert!(members.is_empty());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        consumer.poll(Duration::from_millis(100)).await.unwrap();
        let (state, members) = describe(&broker, group).await;
        if state == "Stable" && members.len() == 1 {
            assert_ne!(members, before, "rejoined as a new member");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never rejoined");
    }
    assert_eq!(consumer.assignment().len(), 2);
    consumer.close().await.unwrap();
    broker.broker.shutdown().await.unwrap();
}
