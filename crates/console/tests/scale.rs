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

/// Median of five timed GETs after one warm-up, printed with the body size.
async fn time_get(c: &common::TestConsole, path: &str) -> Duration {
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
    times[2]
}

const LAG_GROUPS: usize = 200;
const LAG_TOPICS: usize = 20;
const LAG_PARTITIONS: i32 = 10;

/// The groups list computes every group's lag per request: 200 groups, each with commits on
/// 20 topics x 10 partitions (40,000 committed offsets), joined with the log end offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 200 groups with 40,000 committed offsets"]
async fn groups_list_with_200_groups() {
    let c = common::start().await;
    let topics: Vec<String> = (0..LAG_TOPICS).map(|i| format!("lag-{i:02}")).collect();
    for t in &topics {
        c.create_topic(t, LAG_PARTITIONS).await;
    }
    let offsets: Vec<(&str, i32, i64)> = topics
        .iter()
        .flat_map(|t| (0..LAG_PARTITIONS).map(move |p| (t.as_str(), p, 0)))
        .collect();
    let started = Instant::now();
    for g in 0..LAG_GROUPS {
        common::admin_commit(&c, &format!("group-{g:03}"), &offsets).await;
    }
    println!(
        "{LAG_GROUPS} groups x {} committed offsets in {:?}",
        offsets.len(),
        started.elapsed()
    );
    let list = c.get("/api/v1/groups").await.json();
    assert_eq!(list["groups"].as_array().map(Vec::len), Some(LAG_GROUPS));
    for path in [
        "/api/v1/groups",
        "/groups",
        "/",
        "/api/v1/cluster",
        "/metrics",
        "/api/v1/groups/group-100",
        "/topics/lag-07",
    ] {
        time_get(&c, path).await;
    }
    c.stop().await;
}

/// 300 topics x 10 partitions: the list pages through every topic exactly once, sorted, with
/// each topic's partition count summed from the image; the HTML pager counts them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_list_paginates_300_topics_completely_and_sorted() {
    const TOPICS: usize = 300;
    const PARTITIONS: i32 = 10;
    let c = common::start().await;
    let ctx = std::sync::Arc::clone(c.broker.context());
    // Created in a shuffled order, so a list that merely kept creation order would fail.
    let mut names: Vec<String> = (0..TOPICS)
        .map(|i| format!("page-{:03}", (i * 7) % TOPICS))
        .collect();
    for chunk in names.chunks(100) {
        let topics = chunk
            .iter()
            .map(|name| NewTopic {
                name: name.clone(),
                num_partitions: PARTITIONS,
                replication_factor: 1,
                ..NewTopic::default()
            })
            .collect();
        for result in ctx.controller.create_topics(topics, false).await {
            result.expect("topic created");
        }
    }
    names.sort();
    let deadline = Instant::now() + Duration::from_secs(300);
    while ctx.replica_manager.hosted_partitions().len() < TOPICS * PARTITIONS as usize {
        assert!(Instant::now() < deadline, "partitions not opened in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut listed: Vec<String> = Vec::new();
    for page in 1..=7 {
        let body = c
            .get(&format!("/api/v1/topics?per_page=50&page={page}"))
            .await
            .json();
        assert_eq!(body["total"], TOPICS, "page {page}");
        let rows = body["topics"].as_array().expect("topics");
        assert_eq!(rows.len(), if page <= 6 { 50 } else { 0 }, "page {page}");
        for row in rows {
            assert_eq!(row["partitions"], PARTITIONS, "{row}");
            listed.push(row["name"].as_str().expect("name").to_string());
        }
    }
    assert_eq!(listed, names, "every topic once, in name order");

    let body = c
        .get("/api/v1/topics?order=desc&per_page=1000")
        .await
        .json();
    let desc: Vec<&str> = body["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut expected: Vec<&str> = names.iter().map(String::as_str).collect();
    expected.reverse();
    assert_eq!(desc, expected);
    let found = c.get("/api/v1/topics?q=page-29").await.json();
    assert_eq!(found["total"], 10, "page-290 .. page-299");

    let cluster = c.get("/api/v1/cluster").await.json();
    assert_eq!(cluster["topics"], TOPICS);
    assert_eq!(cluster["partitions"], TOPICS * PARTITIONS as usize);
    let html = c.get("/topics?page=6").await.text;
    assert!(
        html.contains("page-299") && !html.contains("page-249"),
        "last page only"
    );
    assert!(html.contains("300 topics"), "the pager counts every topic");
    c.stop().await;
}
