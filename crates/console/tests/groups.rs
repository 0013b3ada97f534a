//! Consumer groups through the console: offsets committed in-process as an admin tool would,
//! lag computed against the produced messages (API, page and /metrics), offset reset while the
//! group is Empty and refused while it has a member, delete, and hostile group ids escaped.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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
    common::admin_commit(&c, "billing", &[("orders", 0, 2), ("orders", 1, 3)]).await;

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
    common::join_member(&c, "billing").await;
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
    common::admin_commit(&c, "audit", &[("orders", 0, 1)]).await;
    let r = c.api(Method::DELETE, "/api/v1/groups/audit", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        c.get("/api/v1/groups/audit").await.status,
        StatusCode::NOT_FOUND
    );
    common::admin_commit(&c, "audit2", &[("orders", 0, 1)]).await;
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
    common::admin_commit(&c, hostile, &[("t", 0, 0)]).await;
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

/// The topic page lists the groups consuming the topic, with the lag on that topic only;
/// groups of other topics are not listed, and an unknown topic is a 404.
#[tokio::test]
async fn a_topic_lists_the_groups_consuming_it() {
    let c = common::start().await;
    c.create_topic("orders", 2).await;
    c.create_topic("refunds", 1).await;
    c.create_topic("idle", 1).await;
    produce(&c, "orders", 0, 4).await;
    produce(&c, "orders", 1, 2).await;
    produce(&c, "refunds", 0, 7).await;
    // billing reads both topics; audit only refunds; <b>x</b> a hostile id on orders.
    common::admin_commit(
        &c,
        "billing",
        &[("orders", 0, 1), ("orders", 1, 2), ("refunds", 0, 0)],
    )
    .await;
    common::admin_commit(&c, "audit", &[("refunds", 0, 5)]).await;
    common::admin_commit(&c, "<b>x</b>", &[("orders", 0, 4)]).await;

    let reply = c.get("/api/v1/topics/orders/groups").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let groups = reply.json()["groups"].clone();
    assert_eq!(
        groups,
        json!([
            {"group_id": "<b>x</b>", "group_type": "classic", "state": "Empty",
             "members": 0, "partitions": 1, "lag": 0},
            {"group_id": "billing", "group_type": "classic", "state": "Empty",
             "members": 0, "partitions": 2, "lag": 3},
        ]),
        "lag on orders only (refunds' 7 not counted)"
    );
    let refunds = c.get("/api/v1/topics/refunds/groups").await.json();
    let lags: Vec<(&str, i64)> = refunds["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["group_id"].as_str().unwrap_or(""),
                g["lag"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(lags, vec![("audit", 2), ("billing", 7)]);
    assert_eq!(
        c.get("/api/v1/topics/idle/groups").await.json()["groups"],
        json!([])
    );
    let missing = c.get("/api/v1/topics/nope/groups").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("nope"));

    // The page: a row per group linking to its page, the hostile id escaped.
    let page = c.get("/topics/orders").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("id=\"topic-groups\""), "{}", page.text);
    assert!(
        page.text.contains("href=\"/groups/billing\">billing</a>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("&lt;b&gt;x&lt;/b&gt;"));
    assert!(!page.text.contains("<b>x</b>"));
    assert!(
        page.text.contains("href=\"/groups/%3Cb%3Ex%3C%2Fb%3E\""),
        "{}",
        page.text
    );
    let idle = c.get("/topics/idle").await.text;
    assert!(idle.contains("id=\"topic-groups-empty\""), "{idle}");
    c.stop().await;
}
