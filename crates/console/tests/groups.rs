//! Consumer groups through the console: offsets committed in-process as an admin tool would,
//! lag computed against the produced messages (API, page and /metrics), offset reset while the
//! group is Empty and refused while it has a member, delete, and hostile group ids escaped.

mod common;

use fjord_coordinator::{JoinGroupRequest, OffsetCommitEntry, Outcome};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The group's coordinator shard once `__consumer_offsets` exists and the shard has loaded.
async fn loaded_shard(
    c: &common::TestConsole,
    group: &str,
) -> std::sync::Arc<fjord_broker::group::Shard> {
    let ctx = c.broker.context();
    for _ in 0..200 {
        if let Ok(shard) = ctx.groups.shard_for(group).await {
            if shard.is_loaded() {
                return shard;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the coordinator of {group:?} did not load in 10 s");
}

/// Commits `offsets` for `group` as an admin tool does (empty member id, generation -1).
async fn admin_commit(c: &common::TestConsole, group: &str, offsets: &[(&str, i32, i64)]) {
    let shard = loaded_shard(c, group).await;
    let entries: Vec<OffsetCommitEntry> = offsets
        .iter()
        .map(|(topic, partition, offset)| OffsetCommitEntry {
            topic: topic.to_string(),
            partition: *partition,
            offset: *offset,
            leader_epoch: -1,
            metadata: None,
        })
        .collect();
    let (result, _) = shard
        .write(|coordinator, now| {
            match coordinator.commit_offsets(group, "", None, -1, &entries, now) {
                Ok((results, records)) => (
                    Ok(results),
                    Outcome {
                        ready: Vec::new(),
                        records,
                    },
                    None,
                ),
                Err(e) => (Err(e), Outcome::default(), None),
            }
        })
        .await
        .expect("shard write");
    let results = result.expect("admin commit accepted");
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
}

/// A classic member joins `group` (it stays in PreparingRebalance: enough to be a member).
async fn join_member(c: &common::TestConsole, group: &str) {
    let shard = loaded_shard(c, group).await;
    let request = JoinGroupRequest {
        group_id: group.to_string(),
        member_id: String::new(),
        group_instance_id: None,
        client_id: "reader-1".to_string(),
        client_host: "/127.0.0.1".to_string(),
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 60_000,
        protocol_type: "consumer".to_string(),
        protocols: vec![("range".to_string(), bytes::Bytes::new())],
        require_known_member_id: false,
    };
    shard
        .write(|coordinator, now| {
            let (_, outcome) = coordinator.join_group(request, now);
            ((), outcome, None)
        })
        .await
        .expect("join written");
}

async fn produce(c: &common::TestConsole, topic: &str, partition: i32, count: usize) {
    for i in 0..count {
        let reply = c
            .api(
                Method::POST,
                &format!("/api/v1/topics/{topic}/messages"),
                Some(json!({"value": format!("m{i}"), "partition": partition})),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text);
    }
}

fn partition<'a>(detail: &'a Value, topic: &str, index: i64) -> &'a Value {
    detail["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .find(|p| p["topic"] == topic && p["partition"] == index)
        .unwrap_or_else(|| panic!("no {topic}-{index} in {detail}"))
}

#[tokio::test]
async fn lag_reset_and_delete_of_a_group() {
    let c = common::start().await;
    c.create_topic("orders", 2).await;
    produce(&c, "orders", 0, 5).await;
    produce(&c, "orders", 1, 3).await;
    admin_commit(&c, "billing", &[("orders", 0, 2), ("orders", 1, 3)]).await;

    // The list: state, topics, total lag.
    let list = c.get("/api/v1/groups").await.json();
    let group = &list["groups"][0];
    assert_eq!(group["group_id"], "billing", "{list}");
    assert_eq!(group["state"], "Empty");
    assert_eq!(group["topics"], json!(["orders"]));
    assert_eq!(group["total_lag"], 3);
    assert_eq!(group["members"], json!([]));

    // The group: per partition current offset, end offset, lag.
    let detail = c.get("/api/v1/groups/billing").await.json();
    let p0 = partition(&detail, "orders", 0);
    assert_eq!(
        (&p0["current_offset"], &p0["log_end_offset"], &p0["lag"]),
        (&json!(2), &json!(5), &json!(3))
    );
    assert_eq!(partition(&detail, "orders", 1)["lag"], 0);
    assert_eq!(
        c.get("/api/v1/groups/nobody").await.status,
        StatusCode::NOT_FOUND
    );

    let metrics = c.get("/metrics").await.text;
    assert!(
        metrics.contains("fjord_group_lag{group=\"billing\",topic=\"orders\"} 3"),
        "{metrics}"
    );
    let page = c.get("/groups").await.text;
    assert!(page.contains("href=\"/groups/billing\""), "{page}");
    let page = c.get("/groups/billing").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .text
        .contains("action=\"/groups/billing/reset-offsets\""));
    assert!(page.text.contains("data-confirm="));

    // Reset while Empty: earliest, a clamped offset, latest, and by timestamp.
    let reset = |body: Value| {
        c.api(
            Method::POST,
            "/api/v1/groups/billing/reset-offsets",
            Some(body),
        )
    };
    let r = reset(json!({"topic": "orders", "to": "earliest"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(c.get("/api/v1/groups/billing").await.json()["total_lag"], 8);
    let r = reset(json!({"topics": ["orders"], "to": "offset", "value": 4})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let detail = c.get("/api/v1/groups/billing").await.json();
    assert_eq!(partition(&detail, "orders", 0)["current_offset"], 4);
    assert_eq!(
        partition(&detail, "orders", 1)["current_offset"],
        3,
        "clamped to the end"
    );
    let r = reset(json!({"to": "latest"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(c.get("/api/v1/groups/billing").await.json()["total_lag"], 0);
    let r = reset(json!({"to": "timestamp", "value": 0})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(c.get("/api/v1/groups/billing").await.json()["total_lag"], 8);
    let r = reset(json!({"to": "offset"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap_or("").contains("value"));
    let r = reset(json!({"topic": "missing", "to": "latest"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Without the CSRF header the API refuses.
    let r = c
        .raw(
            Method::POST,
            "/api/v1/groups/billing/reset-offsets",
            &[("content-type", "application/json")],
            br#"{"to":"latest"}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The page's reset form.
    let r = c
        .form(
            "/groups/billing/reset-offsets",
            &[("topic", "orders"), ("to", "latest"), ("value", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(c.get("/api/v1/groups/billing").await.json()["total_lag"], 0);

    // A member joins: reset and delete are refused with 409 and a clear message.
    join_member(&c, "billing").await;
    let listed = c.get("/api/v1/groups").await.json();
    assert_eq!(listed["groups"][0]["members"][0]["client_id"], "reader-1");
    let r = reset(json!({"to": "earliest"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("active members"));
    let r = c.api(Method::DELETE, "/api/v1/groups/billing", None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(c.get("/api/v1/groups/billing").await.json()["total_lag"], 0);
    let page = c.get("/groups/billing").await.text;
    assert!(
        !page.contains("reset-offsets\""),
        "no reset form while active"
    );

    // Delete of an Empty group, by API and by the page's confirmed form.
    admin_commit(&c, "audit", &[("orders", 0, 1)]).await;
    let r = c.api(Method::DELETE, "/api/v1/groups/audit", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        c.get("/api/v1/groups/audit").await.status,
        StatusCode::NOT_FOUND
    );
    admin_commit(&c, "audit2", &[("orders", 0, 1)]).await;
    let r = c
        .form("/groups/audit2/delete", &[("confirm", "wrong")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .form("/groups/audit2/delete", &[("confirm", "audit2")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        c.get("/api/v1/groups/audit2").await.status,
        StatusCode::NOT_FOUND
    );
    c.stop().await;
}

#[tokio::test]
async fn hostile_group_ids_are_escaped() {
    let c = common::start().await;
    c.create_topic("t", 1).await;
    let hostile = "<script>alert(1)</script>\"'&";
    admin_commit(&c, hostile, &[("t", 0, 0)]).await;
    let page = c.get("/groups").await.text;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    let encoded = "%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%27%26";
    let detail = c.get(&format!("/groups/{encoded}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert!(!detail.text.contains("<script>alert"));
    let api = c.get(&format!("/api/v1/groups/{encoded}")).await.json();
    assert_eq!(api["group_id"], hostile);
    let metrics = c.get("/metrics").await.text;
    assert!(
        metrics
            .contains("fjord_group_lag{group=\"<script>alert(1)</script>\\\"'&\",topic=\"t\"} 0"),
        "{metrics}"
    );
    c.stop().await;
}
