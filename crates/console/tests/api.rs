//! The JSON API against an in-process broker: overview, brokers, topic lifecycle, configs,
//! produce and browse, errors.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn overview_brokers_and_metrics_describe_the_node() {
    let c = common::start().await;
    c.create_topic("orders", 3).await;

    let overview = c.get("/api/v1/cluster").await.json();
    assert!(
        overview["cluster_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{overview}"
    );
    assert_eq!(overview["brokers"], 1);
    assert_eq!(overview["controller_id"], 1);
    assert!(overview["topics"].as_u64() >= Some(1));
    assert!(overview["partitions"].as_u64() >= Some(3));
    assert_eq!(overview["offline_partitions"], 0);
    assert_eq!(overview["groups"], 0);
    let groups = c.get("/api/v1/groups").await.json();
    assert_eq!(groups["groups"], json!([]));
    assert!(!overview["log_dirs"]
        .as_array()
        .expect("log dirs")
        .is_empty());

    let brokers = c.get("/api/v1/brokers").await.json();
    let broker = &brokers["brokers"][0];
    assert_eq!(broker["id"], 1);
    assert!(broker["listeners"][0]
        .as_str()
        .unwrap_or("")
        .starts_with("PLAINTEXT://127.0.0.1:"));
    assert!(broker["partitions_led"].as_u64() >= Some(3));
    assert!(broker["log_dirs"][0]["total_bytes"].as_i64() > Some(0));

    let detail = c.get("/api/v1/brokers/1").await.json();
    let configs = detail["configs"]
        .as_array()
        .expect("configs of the local broker");
    assert!(configs
        .iter()
        .any(|k| k["name"] == "node.id" && k["value"] == "1"));
    assert_eq!(
        c.get("/api/v1/brokers/7").await.status,
        StatusCode::NOT_FOUND
    );
    let bad = c.get("/api/v1/brokers/abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"].as_str().unwrap_or("").contains("abc"));

    c.api(
        Method::POST,
        "/api/v1/topics/orders/messages",
        Some(json!({"key": "k", "value": "v", "partition": 1})),
    )
    .await;
    let metrics = c.get("/metrics").await;
    assert!(metrics.headers["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/plain"));
    for needle in [
        "fjord_broker_up 1",
        "fjord_messages_in_total 1",
        "fjord_topic_log_size_bytes{topic=\"orders\"}",
        "fjord_partition_high_watermark{topic=\"orders\",partition=\"1\"} 1",
        "fjord_partition_log_end_offset{topic=\"orders\",partition=\"0\"} 0",
    ] {
        assert!(
            metrics.text.contains(needle),
            "{needle} missing:\n{}",
            metrics.text
        );
    }
    let throughput = c.get("/api/v1/throughput").await.json();
    assert_eq!(throughput["messages_in"], 1);
    c.stop().await;
}

#[tokio::test]
async fn topics_are_created_listed_configured_and_deleted() {
    let c = common::start().await;
    for name in ["alpha", "beta", "gamma-big"] {
        c.create_topic(name, if name == "gamma-big" { 5 } else { 1 })
            .await;
    }

    // Duplicates and bad input are refused with Kafka's messages and codes.
    let dup = c
        .api(
            Method::POST,
            "/api/v1/topics",
            Some(json!({"name": "alpha"})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.json()["code"], 36);
    assert!(dup.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("already exists"));
    let zero = c
        .api(
            Method::POST,
            "/api/v1/topics",
            Some(json!({"name": "z", "partitions": 0})),
        )
        .await;
    assert_eq!(zero.status, StatusCode::BAD_REQUEST, "{}", zero.text);
    let bad_config = c
        .api(
            Method::POST,
            "/api/v1/topics",
            Some(json!({"name": "cfg", "configs": {"retention.ms": "soon"}})),
        )
        .await;
    assert_eq!(bad_config.status, StatusCode::BAD_REQUEST);
    assert!(bad_config.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("retention.ms"));

    // Search, sort and paginate.
    let page = c
        .get("/api/v1/topics?q=A&sort=partitions&order=desc")
        .await
        .json();
    let names: Vec<&str> = page["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["gamma-big", "alpha", "beta"]);
    assert_eq!(page["topics"][0]["partitions"], 5);
    let paged = c
        .get("/api/v1/topics?per_page=1&page=2&internal=false")
        .await
        .json();
    assert_eq!(paged["total"], 3);
    assert_eq!(paged["topics"][0]["name"], "beta");
    let bad_sort = c.get("/api/v1/topics?sort=color").await;
    assert_eq!(bad_sort.status, StatusCode::BAD_REQUEST);
    assert!(bad_sort.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("sort"));

    // Detail and config edits.
    let detail = c.get("/api/v1/topics/gamma-big").await.json();
    assert_eq!(detail["partitions"].as_array().map(Vec::len), Some(5));
    assert_eq!(detail["partitions"][4]["leader"], 1);
    assert_eq!(detail["partitions"][4]["isr"], json!([1]));
    assert_eq!(detail["partitions"][4]["log_start_offset"], 0);
    let changed = c
        .api(
            Method::PATCH,
            "/api/v1/topics/gamma-big/configs",
            Some(json!({"set": {"retention.ms": "60000"}})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let retention = changed.json()["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|k| k["name"] == "retention.ms").cloned())
        .expect("retention.ms listed");
    assert_eq!(retention["value"], "60000");
    assert_eq!(retention["source"], "DYNAMIC_TOPIC_CONFIG");
    let unknown = c
        .api(
            Method::PATCH,
            "/api/v1/topics/gamma-big/configs",
            Some(json!({"set": {"no.such.key": "1"}})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    let reset = c
        .api(
            Method::PATCH,
            "/api/v1/topics/gamma-big/configs",
            Some(json!({"delete": ["retention.ms"]})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    let configs = c.get("/api/v1/topics/gamma-big/configs").await.json();
    assert!(configs["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .any(|k| k["name"] == "retention.ms" && k["source"] != "DYNAMIC_TOPIC_CONFIG"));

    // Delete.
    let deleted = c.api(Method::DELETE, "/api/v1/topics/beta", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        c.get("/api/v1/topics/beta").await.status,
        StatusCode::NOT_FOUND
    );
    let again = c.api(Method::DELETE, "/api/v1/topics/beta", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.json()["code"], 3);
    c.stop().await;
}

#[tokio::test]
async fn produced_messages_are_browsable_filterable_and_tailable() {
    let c = common::start().await;
    c.create_topic("events", 2).await;
    for i in 0..6 {
        let reply = c
            .api(
                Method::POST,
                "/api/v1/topics/events/messages",
                Some(json!({
                    "key": format!("user-{i}"),
                    "value": if i % 2 == 0 { format!("{{\"n\":{i}}}") } else { format!("plain {i}") },
                    "headers": [{"key": "source", "value": "test"}],
                    "partition": i % 2,
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.json()["partition"], i % 2);
        assert_eq!(reply.json()["offset"], i / 2);
    }
    let all = c
        .get("/api/v1/topics/events/messages?seek=earliest")
        .await
        .json();
    let messages = all["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 6);
    let first = messages
        .iter()
        .find(|m| m["partition"] == 0 && m["offset"] == 0)
        .expect("0/0");
    assert_eq!(first["key"]["text"], "user-0");
    assert_eq!(first["value"]["format"], "json");
    assert!(first["value"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("\"n\": 0"));
    assert_eq!(first["headers"][0]["key"], "source");
    assert_eq!(first["headers"][0]["value"]["text"], "test");
    assert_eq!(all["next_offsets"], json!({"0": 3, "1": 3}));

    // One partition from an offset; latest; filter.
    let from = c
        .get("/api/v1/topics/events/messages?partition=1&seek=offset&offset=2")
        .await
        .json();
    assert_eq!(from["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(from["messages"][0]["value"]["text"], "plain 5");
    let latest = c
        .get("/api/v1/topics/events/messages?limit=2&partition=0")
        .await
        .json();
    let offsets: Vec<i64> = latest["messages"]
        .as_array()
        .expect("m")
        .iter()
        .filter_map(|m| m["offset"].as_i64())
        .collect();
    assert_eq!(offsets, [1, 2]);
    let filtered = c
        .get("/api/v1/topics/events/messages?seek=earliest&q=PLAIN%203")
        .await
        .json();
    assert_eq!(filtered["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(filtered["messages"][0]["key"]["text"], "user-3");
    let by_time = c
        .get("/api/v1/topics/events/messages?seek=timestamp&timestamp=0")
        .await
        .json();
    assert_eq!(by_time["messages"].as_array().map(Vec::len), Some(6));

    // Live tail: positions from the last answer return only what came after.
    let positions = "0:3,1:3";
    let empty = c
        .get(&format!(
            "/api/v1/topics/events/messages?positions={positions}"
        ))
        .await
        .json();
    assert_eq!(empty["messages"].as_array().map(Vec::len), Some(0));
    c.api(
        Method::POST,
        "/api/v1/topics/events/messages",
        Some(json!({"value": "late", "partition": 1})),
    )
    .await;
    let tail = c
        .get(&format!(
            "/api/v1/topics/events/messages?positions={positions}"
        ))
        .await
        .json();
    assert_eq!(tail["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(tail["messages"][0]["value"]["text"], "late");
    assert_eq!(tail["messages"][0]["key"], serde_json::Value::Null);
    assert_eq!(tail["next_offsets"]["1"], 4);

    // One whole message; errors name the problem.
    let one = c
        .get("/api/v1/topics/events/partitions/1/messages/3")
        .await
        .json();
    assert_eq!(one["value"]["text"], "late");
    assert_eq!(
        c.get("/api/v1/topics/events/partitions/1/messages/99")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/api/v1/topics/nope/messages").await.status,
        StatusCode::NOT_FOUND
    );
    let bad_seek = c.get("/api/v1/topics/events/messages?seek=offset").await;
    assert_eq!(bad_seek.status, StatusCode::BAD_REQUEST);
    assert!(bad_seek.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("offset"));
    let bad_partition = c
        .api(
            Method::POST,
            "/api/v1/topics/events/messages",
            Some(json!({"value": "x", "partition": 9})),
        )
        .await;
    assert_eq!(bad_partition.status, StatusCode::BAD_REQUEST);
    c.stop().await;
}

#[tokio::test]
async fn openapi_document_is_served() {
    let c = common::start().await;
    let doc = c.get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    for (method, path) in fjord_console::api::API_ROUTES {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    c.stop().await;
}
