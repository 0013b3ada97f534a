//! How the console copes with 1,000 topics and 6,000 partitions (10,000 would need more than
//! the 20,000 open files this machine allows: the broker keeps three descriptors per partition,
//! `.log`, `.index` and `.timeindex`). A measurement, not a timed
//! assertion (timings on a shared CI machine are noise): run it by hand with
//! `cargo test -p fjord-console --release --test scale -- --ignored --nocapture` and read the
//! printed figures. It does assert that every page answers and paginates.

mod common;

use std::time::{Duration, Instant};

use fjord_metadata::NewTopic;
use reqwest::StatusCode;

const PARTITIONS_PER_TOPIC: i32 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: creates 6,000 partition logs"]
async fn topics_page_with_1000_topics_and_6000_partitions() {
    let c = common::start().await;
    let ctx = std::sync::Arc::clone(c.broker.context());
    let started = Instant::now();
    for chunk in 0..10 {
        let topics = (0..100)
            .map(|i| NewTopic {
                name: format!("scale-{:04}", chunk * 100 + i),
                num_partitions: PARTITIONS_PER_TOPIC,
                replication_factor: 1,
                ..NewTopic::default()
            })
            .collect();
        for result in ctx.controller.create_topics(topics, false).await {
            result.expect("topic created");
        }
    }
    // The replica manager opens the logs from the image, asynchronously.
    let deadline = Instant::now() + Duration::from_secs(300);
    while ctx.replica_manager.hosted_partitions().len() < 1000 * PARTITIONS_PER_TOPIC as usize {
        assert!(Instant::now() < deadline, "partitions not opened in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "created 1000 topics / {} partitions in {:?}",
        1000 * PARTITIONS_PER_TOPIC,
        started.elapsed()
    );

    for path in [
        "/topics",
        "/topics?sort=size&order=desc",
        "/topics?q=scale-09",
        "/topics?page=20",
        "/api/v1/topics",
        "/api/v1/topics?per_page=1000",
        "/api/v1/cluster",
        "/",
        "/metrics",
        "/topics/scale-0500",
    ] {
        // One warm-up, then the median of five.
        let _ = c.get(path).await;
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let reply = c.get(path).await;
            times.push(t.elapsed());
            assert_eq!(reply.status, StatusCode::OK, "{path}");
            size = reply.text.len();
        }
        times.sort();
        println!("GET {path:<32} median {:>8.2?}  ({size} bytes)", times[2]);
    }
    let page = c.get("/topics").await.text;
    assert!(page.contains("1000 topics"), "the pager counts every topic");
    c.stop().await;
}
