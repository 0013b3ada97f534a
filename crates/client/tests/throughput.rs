//! Producer throughput against an in-process broker: 1M records of 100 bytes, acks=1,
//! 6 partitions, with `max.in.flight.requests.per.connection` 1 and 5 taken back to back.
//! Ignored by default (it is a measurement, not a check); run with
//! `cargo test --release -p fjord-client --test throughput -- --ignored --nocapture`.
//! `FJORD_PERF_RECORDS` overrides the record count.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::start_broker;
use fjord_client::admin::NewTopic;
use fjord_client::{Acks, AdminClient, Producer, ProducerConfig, ProducerRecord};

/// Produces `records` records and returns messages per second.
async fn run(max_in_flight: usize, records: usize, round: usize) -> f64 {
    let broker = start_broker(|_| {}).await;
    let topic = format!("perf-{max_in_flight}-{round}");
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new(&topic, 6, 1)], false)
        .await
        .unwrap()[&topic]
        .clone()
        .unwrap();
    let mut config = ProducerConfig::new(broker.client_config());
    config.acks = Acks::Leader;
    config.max_in_flight_requests_per_connection = max_in_flight;
    let producer = Producer::connect(config).await.unwrap();
    let value = Bytes::from(vec![b'x'; 100]);
    // Warm up metadata so the clock measures producing only.
    producer
        .send(ProducerRecord::new(&topic, value.clone()))
        .await
        .unwrap()
        .await
        .unwrap();
    let started = Instant::now();
    let mut last = None;
    for _ in 0..records {
        last = Some(
            producer
                .send(ProducerRecord::new(&topic, value.clone()))
                .await
                .unwrap(),
        );
    }
    producer.flush().await;
    last.unwrap().await.unwrap();
    let elapsed = started.elapsed();
    producer.close().await;
    let end = admin
        .list_offsets(
            &(0..6)
                .map(|p| {
                    (
                        fjord_client::TopicPartition::new(&topic, p),
                        fjord_client::admin::OffsetSpec::Latest,
                    )
                })
                .collect(),
            false,
        )
        .await
        .unwrap();
    let written: i64 = end.values().map(|r| r.as_ref().unwrap().offset).sum();
    assert_eq!(written as usize, records + 1, "every record written");
    broker.broker.shutdown().await.unwrap();
    records as f64 / elapsed.max(Duration::from_micros(1)).as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run explicitly with --release"]
async fn producer_throughput_one_vs_five_in_flight() {
    let records: usize = std::env::var("FJORD_PERF_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    for round in 0..2 {
        for max_in_flight in [1, 5] {
            let rate = run(max_in_flight, records, round).await;
            println!(
                "round {round}: max.in.flight={max_in_flight}: {records} x 100 B, acks=1, \
                 6 partitions: {rate:.0} msgs/s ({:.1} MB/s)",
                rate * 100.0 / 1e6
            );
        }
    }
}
