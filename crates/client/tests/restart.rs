//! The client rides out a broker restart: the lost connection is retried, metadata refreshed,
//! and the producer's next batch lands after the first.

use std::time::Duration;

use fjord_broker::Broker;
use fjord_client::admin::NewTopic;
use fjord_client::{
    AdminClient, ClientConfig, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord,
    TopicPartition,
};
use fjord_config::ServerConfig;

#[tokio::test]
async fn producer_and_consumer_survive_a_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::for_tests(dir.path());
    let broker = Broker::start(config.clone()).await.unwrap();
    let addr = broker
        .listener_addrs()
        .into_iter()
        .find(|(n, _)| n == "PLAINTEXT")
        .map(|(_, a)| a)
        .unwrap();
    let mut client = ClientConfig::new(&addr.to_string());
    client.default_api_timeout_ms = 20_000;
    client.retry_backoff_ms = 50;
    let admin = AdminClient::connect(client.clone()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new("durable", 1, 1)], false)
        .await
        .unwrap()["durable"]
        .clone()
        .unwrap();
    let producer = Producer::connect(ProducerConfig::new(client.clone()))
        .await
        .unwrap();
    let first = producer
        .send(ProducerRecord::new("durable", "before"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(first.offset, 0);

    broker.shutdown().await.unwrap();
    for listener in &mut config.listeners {
        if listener.name == "PLAINTEXT" {
            listener.port = addr.port();
        }
    }
    let broker = Broker::start(config).await.unwrap();

    let second = tokio::time::timeout(
        Duration::from_secs(30),
        producer
            .send(ProducerRecord::new("durable", "after"))
            .await
            .unwrap(),
    )
    .await
    .expect("delivered within the delivery timeout")
    .unwrap();
    assert_eq!(second.offset, 1);
    producer.close().await;

    let mut consumer = Consumer::connect(ConsumerConfig::new(client))
        .await
        .unwrap();
    let tp = TopicPartition::new("durable", 0);
    consumer.assign([tp.clone()]);
    consumer.seek(&tp, 0).unwrap();
    let mut values = Vec::new();
    while values.len() < 2 {
        for r in consumer.poll(Duration::from_secs(5)).await.unwrap() {
            values.push(r.value.unwrap());
        }
    }
    assert_eq!(values, vec!["before", "after"]);
    broker.shutdown().await.unwrap();
}
