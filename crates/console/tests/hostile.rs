//! Hostile input: markup in names and contents, invalid UTF-8, a 10 MB value, malformed
//! requests. Everything is escaped or refused with a clear message; nothing crashes.

mod common;

use bytes::Bytes;
use fjord_protocol::testing::{encode_batch, TestRecord};
use kafka_protocol::records::Compression;
use reqwest::{Method, StatusCode};
use serde_json::json;

const SCRIPT: &str = "<script>alert(1)</script>";

#[tokio::test]
async fn markup_in_names_keys_values_and_headers_is_escaped() {
    let c = common::start().await;
    // Kafka's naming rules refuse the name; the message echoing it must be escaped.
    let refused = c
        .form("/topics", &[("name", SCRIPT), ("partitions", "1")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        !refused.text.contains(SCRIPT),
        "unescaped name in:\n{}",
        refused.text
    );
    assert!(refused.text.contains("&lt;script&gt;"));
    let api = c
        .api(
            Method::POST,
            "/api/v1/topics",
            Some(json!({"name": SCRIPT})),
        )
        .await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.json()["code"], 17);

    c.create_topic("xss", 1).await;
    let reply = c
        .api(
            Method::POST,
            "/api/v1/topics/xss/messages",
            Some(json!({
                "key": SCRIPT,
                "value": format!("\"><img src=x onerror=alert(2)>{SCRIPT}"),
                "headers": [{"key": SCRIPT, "value": SCRIPT}],
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    for path in [
        "/topics/xss/messages?seek=earliest&q=%3Cscript%3E",
        "/topics/xss/messages/0/0",
    ] {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.text.contains("<script>alert"),
            "{path}:\n{}",
            page.text
        );
        assert!(!page.text.contains("<img"), "{path}");
        assert!(
            page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
    // The search box echoes the filter escaped.
    let page = c.get("/topics?q=%22%3E%3Cscript%3E").await.text;
    assert!(!page.contains("\"><script>"));
    c.stop().await;
}

#[tokio::test]
async fn invalid_utf8_is_shown_as_hex() {
    let c = common::start().await;
    c.create_topic("raw", 1).await;
    let batch = encode_batch(
        [TestRecord::keyed(
            Bytes::from_static(&[0xff, 0x00, 0xc3]),
            Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef, 0x80]),
            1_700_000_000_000,
        )],
        None,
        Compression::Zstd,
    );
    let partition = c
        .broker
        .context()
        .replica_manager
        .leader_partition("raw", 0)
        .expect("leader");
    partition
        .append_as_leader(Some(batch), 1, 1_700_000_000_000)
        .await
        .expect("append");
    let listed = c
        .get("/api/v1/topics/raw/messages?seek=earliest")
        .await
        .json();
    let m = &listed["messages"][0];
    assert_eq!(m["key"]["format"], "binary");
    assert_eq!(m["key"]["text"], "ff00c3");
    assert_eq!(m["value"]["text"], "deadbeef80");
    assert_eq!(m["timestamp"], 1_700_000_000_000i64);
    let page = c.get("/topics/raw/messages?seek=earliest").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("deadbeef80"));
    assert!(page.text.contains("2023-11-14 22:13:20.000 UTC"));
    c.stop().await;
}

#[tokio::test]
async fn a_10_mb_value_is_cut_in_lists_and_served_whole_on_request() {
    let c = common::start().await;
    let created = c
        .api(
            Method::POST,
            "/api/v1/topics",
            Some(json!({"name": "big", "partitions": 1, "configs": {"max.message.bytes": "20000000", "segment.bytes": "33554432"}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let value = "v".repeat(10 << 20);
    let produced = c
        .api(
            Method::POST,
            "/api/v1/topics/big/messages",
            Some(json!({"key": "big", "value": value})),
        )
        .await;
    assert_eq!(produced.status, StatusCode::CREATED, "{}", produced.text);
    let listed = c.get("/api/v1/topics/big/messages?seek=earliest").await;
    assert!(
        listed.text.len() < 64 * 1024,
        "the list carries {} bytes",
        listed.text.len()
    );
    let m = &listed.json()["messages"][0];
    assert_eq!(m["value"]["truncated"], true);
    assert_eq!(m["value"]["size"], 10 << 20);
    let page = c.get("/topics/big/messages?seek=earliest").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.len() < 64 * 1024);
    assert!(page.text.contains("show all 10485760 bytes"));
    let whole = c
        .get("/api/v1/topics/big/partitions/0/messages/0")
        .await
        .json();
    assert_eq!(
        whole["value"]["text"].as_str().map(str::len),
        Some(10 << 20)
    );
    assert_eq!(whole["value"]["truncated"], false);

    // Over the topic's limit: refused with the broker's reason, not a crash.
    let small = c
        .api(
            Method::POST,
            "/api/v1/topics",
            Some(json!({"name": "small", "partitions": 1})),
        )
        .await;
    assert_eq!(small.status, StatusCode::CREATED);
    let too_big = c
        .api(
            Method::POST,
            "/api/v1/topics/small/messages",
            Some(json!({"value": "x".repeat(2 << 20)})),
        )
        .await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST, "{}", too_big.text);
    assert_eq!(too_big.json()["code"], 10);
    c.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_400_with_a_clear_message() {
    let c = common::start().await;
    c.create_topic("m", 1).await;
    let json_header = [
        ("content-type", "application/json"),
        ("x-fjord-console", "1"),
    ];
    for (path, method, body, needle) in [
        (
            "/api/v1/topics",
            Method::POST,
            "{\"name\": ",
            "malformed JSON body",
        ),
        ("/api/v1/topics", Method::POST, "", "needs a JSON body"),
        (
            "/api/v1/topics",
            Method::POST,
            "{\"name\": 5}",
            "invalid type",
        ),
        (
            "/api/v1/topics",
            Method::POST,
            "{\"name\": \"a\", \"colour\": 1}",
            "unknown field",
        ),
        (
            "/api/v1/topics/m/messages",
            Method::POST,
            "[1,2]",
            "malformed JSON body",
        ),
        (
            "/api/v1/topics/m/configs",
            Method::PATCH,
            "{}",
            "nothing to change",
        ),
    ] {
        let reply = c
            .raw(method.clone(), path, &json_header, body.as_bytes().to_vec())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {}",
            reply.text
        );
        let error = reply.json();
        assert!(
            error["error"].as_str().unwrap_or("").contains(needle),
            "{error}"
        );
        assert_eq!(error["code"], -1);
    }
    let not_utf8 = c
        .raw(
            Method::POST,
            "/api/v1/topics",
            &json_header,
            vec![0xff, 0xfe, b'{'],
        )
        .await;
    assert_eq!(not_utf8.status, StatusCode::BAD_REQUEST);
    for path in [
        "/api/v1/topics/m/partitions/x/messages/0",
        "/api/v1/topics/m/messages?limit=-1",
        "/api/v1/topics/m/messages?positions=zz",
        "/api/v1/topics/m/messages?seek=yesterday",
    ] {
        let reply = c.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(reply.json()["error"].is_string());
    }
    // Refused before any handler runs (axum's own rejections), still in the JSON shape.
    for (path, needle) in [
        ("/api/v1/topics/%FF", "UTF-8"),
        ("/api/v1/topics/%FF/groups", "UTF-8"),
        ("/api/v1/groups/%C3%28", "UTF-8"),
        ("/api/v1/topics?page=x", "page"),
        ("/api/v1/topics?sort=colour", "sort"),
        ("/api/v1/topics?order=up", "order"),
    ] {
        let reply = c.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.text
        );
        let error = reply.json();
        assert!(
            error["error"].as_str().unwrap_or("").contains(needle),
            "{path}: {error}"
        );
        assert_eq!(error["code"], -1, "{path}");
    }
    let wrong_method = c
        .raw(Method::PUT, "/api/v1/topics", &json_header, b"{}".to_vec())
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.headers.contains_key("allow"));
    assert!(wrong_method.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("PUT is not allowed on /api/v1/topics"));
    // A page with such a path answers plain text, which nothing interprets.
    let page = c.get("/topics/%FF").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(!page.text.contains('<'));
    let unknown = c.get("/api/v1/nothing").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("/api/v1/nothing"));
    c.stop().await;
}
