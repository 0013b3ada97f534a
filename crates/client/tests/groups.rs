//! Group membership, commits and group admin against an in-process broker serving the classic
//! group protocol.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{start_broker, TestBroker};
use fjord_client::admin::NewTopic;
use fjord_client::consumer::assignor;
use fjord_client::kafka_protocol::ResponseError;
use fjord_client::{
    AdminClient, Consumer, ConsumerConfig, OffsetReset, Producer, ProducerConfig, ProducerRecord,
    TopicPartition,
};
use tokio::sync::watch;

const TOPIC: &str = "grouped";

async fn setup(broker: &TestBroker, partitions: i32, records: usize) {
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new(TOPIC, partitions, 1)], false)
        .await
        .unwrap()[TOPIC]
        .clone()
        .unwrap();
    let producer = Producer::connect(ProducerConfig::new(broker.client_config()))
        .await
        .unwrap();
    for i in 0..records {
        producer
            .send(ProducerRecord::new(TOPIC, format!("v{i}")).with_key(format!("k{i}")))
            .await
            .unwrap();
    }
    producer.close().await;
}

fn group_config(broker: &TestBroker, group: &str, strategy: &str) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(broker.client_config());
    config.group_id = Some(group.to_string());
    config.auto_offset_reset = OffsetReset::Earliest;
    config.enable_auto_commit = false;
    config.heartbeat_interval_ms = 100;
    config.session_timeout_ms = 10_000;
    config.max_poll_interval_ms = 10_000;
    config.partition_assignment_strategy = vec![strategy.to_string()];
    config
}

/// A member polling in its own task, publishing its assignment and record count.
fn spawn_member(
    config: ConsumerConfig,
    stop: Arc<AtomicBool>,
) -> (
    watch::Receiver<(Vec<TopicPartition>, usize)>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = watch::channel((Vec::new(), 0));
    let task = tokio::spawn(async move {
        let mut consumer = Consumer::connect(config).await.unwrap();
        consumer.subscribe(&[TOPIC.to_string()]).unwrap();
        let mut count = 0;
        while !stop.load(Ordering::Relaxed) {
            count += consumer
                .poll(Duration::from_millis(100))
                .await
                .unwrap()
                .len();
            let _ = tx.send((consumer.assignment(), count));
        }
        consumer.close().await.unwrap();
    });
    (rx, task)
}

/// Waits until the members' assignments split all `partitions` between them, each non-empty.
async fn wait_for_split(
    members: &mut [watch::Receiver<(Vec<TopicPartition>, usize)>],
    partitions: i32,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let assignments: Vec<Vec<TopicPartition>> =
            members.iter().map(|m| m.borrow().0.clone()).collect();
        let all: BTreeSet<&TopicPartition> = assignments.iter().flatten().collect();
        let total: usize = assignments.iter().map(Vec::len).sum();
        if assignments.iter().all(|a| !a.is_empty())
            && all.len() == partitions as usize
            && total == all.len()
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no split: {assignments:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_members_split(strategy: &str) {
    let broker = start_broker(|_| {}).await;
    setup(&broker, 4, 100).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (a, task_a) = spawn_member(group_config(&broker, strategy, strategy), stop.clone());
    let mut members = vec![a];
    // The first member owns everything before the second joins.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while members[0].borrow().0.len() != 4 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (b, task_b) = spawn_member(group_config(&broker, strategy, strategy), stop.clone());
    members.push(b);
    wait_for_split(&mut members, 4).await;
    let sizes: Vec<usize> = members.iter().map(|m| m.borrow().0.len()).collect();
    assert_eq!(sizes, vec![2, 2]);

    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    let described = admin
        .describe_groups(&[strategy.to_string()])
        .await
        .unwrap();
    assert_eq!(described[0].protocol, strategy);
    assert_eq!(described[0].members.len(), 2);
    let assigned: BTreeSet<TopicPartition> = described[0]
        .members
        .iter()
        .flat_map(|m| m.assignment.clone())
        .collect();
    assert_eq!(assigned.len(), 4, "{described:?}");
    let listed = admin.list_groups().await.unwrap();
    assert!(listed
        .iter()
        .any(|g| g.group_id == strategy && g.protocol_type == "consumer"));

    stop.store(true, Ordering::Relaxed);
    task_a.await.unwrap();
    task_b.await.unwrap();
}

#[tokio::test]
async fn range_members_split_partitions() {
    two_members_split(assignor::RANGE).await;
}

#[tokio::test]
async fn cooperative_sticky_members_split_partitions() {
    two_members_split(assignor::COOPERATIVE_STICKY).await;
}

#[tokio::test]
async fn commits_resume_and_group_admin() {
    let broker = start_broker(|_| {}).await;
    setup(&broker, 2, 50).await;
    let config = group_config(&broker, "resume", assignor::RANGE);
    let mut consumer = Consumer::connect(config.clone()).await.unwrap();
    consumer.subscribe(&[TOPIC.to_string()]).unwrap();
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen < 50 {
        assert!(tokio::time::Instant::now() < deadline, "saw {seen}");
        seen += consumer
            .poll(Duration::from_millis(200))
            .await
            .unwrap()
            .len();
    }
    consumer.commit_sync().await.unwrap();
    let tps = [TopicPartition::new(TOPIC, 0), TopicPartition::new(TOPIC, 1)];
    let committed = consumer.committed(&tps).await.unwrap();
    assert_eq!(committed.values().sum::<i64>(), 50);

    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    let offsets = admin
        .list_consumer_group_offsets("resume", None)
        .await
        .unwrap();
    assert_eq!(offsets.values().map(|o| o.offset).sum::<i64>(), 50);
    // An admin commit against an active group is refused.
    let refused = admin
        .alter_consumer_group_offsets("resume", &BTreeMap::from([(tps[0].clone(), 0)]))
        .await
        .unwrap();
    assert_eq!(
        refused[&tps[0]].as_ref().unwrap_err().error_code(),
        ResponseError::UnknownMemberId
    );
    consumer.close().await.unwrap();

    // Once empty, the admin may rewind partition 0 to 10; a new member resumes from there.
    let altered = admin
        .alter_consumer_group_offsets("resume", &BTreeMap::from([(tps[0].clone(), 10)]))
        .await
        .unwrap();
    altered[&tps[0]].clone().unwrap();
    let p0_total = offsets[&tps[0]].offset;
    let mut consumer = Consumer::connect(config).await.unwrap();
    consumer.subscribe(&[TOPIC.to_string()]).unwrap();
    let mut again = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while again < (p0_total - 10) as usize {
        assert!(tokio::time::Instant::now() < deadline, "re-read {again}");
        for record in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            assert_eq!(record.partition, 0, "partition 1 resumes at its end");
            assert!(record.offset >= 10);
            again += 1;
        }
    }
    consumer.close().await.unwrap();

    let deleted = admin.delete_groups(&["resume".to_string()]).await.unwrap();
    deleted["resume"].clone().unwrap();
    assert!(admin
        .list_groups()
        .await
        .unwrap()
        .iter()
        .all(|g| g.group_id != "resume"));
}

#[tokio::test]
async fn auto_commit_commits_consumed_positions() {
    let broker = start_broker(|_| {}).await;
    setup(&broker, 1, 20).await;
    let mut config = group_config(&broker, "auto", assignor::RANGE);
    config.enable_auto_commit = true;
    config.auto_commit_interval_ms = 100;
    let mut consumer = Consumer::connect(config).await.unwrap();
    consumer.subscribe(&[TOPIC.to_string()]).unwrap();
    let tp = TopicPartition::new(TOPIC, 0);
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        seen += consumer
            .poll(Duration::from_millis(150))
            .await
            .unwrap()
            .len();
        let committed = consumer.committed(std::slice::from_ref(&tp)).await.unwrap();
        if seen == 20 && committed.get(&tp) == Some(&20) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "seen {seen}, committed {committed:?}"
        );
    }
    consumer.close().await.unwrap();
}
