//! The HTML pages: navigation, content, forms with CSRF tokens, and their effects.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn every_page_renders_with_the_navigation_bar() {
    let c = common::start().await;
    c.create_topic("payments", 2).await;
    c.api(
        Method::POST,
        "/api/v1/topics/payments/messages",
        Some(json!({"key": "k1", "value": "{\"amount\": 12}", "partition": 0})),
    )
    .await;
    for (path, needle) in [
        ("/", "Cluster id"),
        ("/brokers", "Partitions led"),
        ("/groups", "groups coordinated by this broker"),
        ("/topics", "payments"),
        ("/topics/payments", "Replication factor"),
        (
            "/topics/payments/messages?seek=earliest",
            "&quot;amount&quot;: 12",
        ),
        ("/topics/payments/messages/0/0", "k1"),
        ("/topics/payments/produce", "name=\"csrf\""),
    ] {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        assert!(page.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html"));
        assert!(page.text.contains("<nav>"), "{path} has no nav bar");
        assert!(page.text.contains(needle), "{path} lacks {needle:?}");
    }
    let dashboard = c.get("/").await.text;
    assert!(dashboard.contains("data-source=\"/api/v1/throughput\""));
    let script = c.get("/assets/console.js").await;
    assert!(script.text.contains("startTail"));
    assert!(
        !script.text.contains("innerHTML ="),
        "the script must not inject markup"
    );
    assert_eq!(c.get("/assets/console.css").await.status, StatusCode::OK);
    let missing = c.get("/topics/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("does not exist"));
    c.stop().await;
}

#[tokio::test]
async fn topics_page_searches_sorts_and_paginates() {
    let c = common::start().await;
    for i in 0..12 {
        c.create_topic(&format!("t{i:02}"), 1 + i % 3).await;
    }
    let page = c.get("/topics?q=t1&per_page=50").await.text;
    assert!(page.contains(">t10<") && page.contains(">t11<") && !page.contains(">t02<"));
    let sorted = c
        .get("/topics?sort=partitions&order=desc&internal=false")
        .await
        .text;
    let first = sorted.find(">t02<").expect("t02 listed");
    let later = sorted.find(">t00<").expect("t00 listed");
    assert!(
        first < later,
        "3-partition topics come before 1-partition ones"
    );
    let paged = c.get("/topics?per_page=5&page=2&internal=false").await.text;
    assert!(paged.contains("page 2 of 3"));
    assert!(paged.contains(">t05<") && !paged.contains(">t04<"));
    let bad = c.get("/topics?per_page=lots").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    c.stop().await;
}

#[tokio::test]
async fn forms_create_produce_edit_and_delete_with_the_csrf_token() {
    let c = common::start().await;
    let created = c
        .form(
            "/topics",
            &[
                ("name", "from-form"),
                ("partitions", "2"),
                ("replication_factor", ""),
                ("configs", "retention.ms=3600000\n"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    assert_eq!(created.headers["location"], "/topics/from-form");
    let detail = c.get("/api/v1/topics/from-form").await.json();
    assert_eq!(detail["partitions"].as_array().map(Vec::len), Some(2));

    // Validation messages come back on the form, which keeps what was typed.
    let invalid = c
        .form("/topics", &[("name", "bad name!"), ("partitions", "1")])
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.text.contains("class=\"error\""), "{}", invalid.text);
    assert!(invalid.text.contains("value=\"bad name!\""));
    let not_number = c
        .form("/topics", &[("name", "x"), ("partitions", "two")])
        .await;
    assert_eq!(not_number.status, StatusCode::BAD_REQUEST);
    assert!(not_number
        .text
        .contains("partitions &quot;two&quot; is not a number"));

    let produced = c
        .form(
            "/topics/from-form/produce",
            &[
                ("partition", "1"),
                ("key", "form-key"),
                ("value", "form value"),
                ("headers", "trace: abc\n"),
            ],
        )
        .await;
    assert_eq!(produced.status, StatusCode::OK, "{}", produced.text);
    assert!(produced
        .text
        .contains("Produced to partition 1 at offset 0"));
    let one = c
        .get("/api/v1/topics/from-form/partitions/1/messages/0")
        .await
        .json();
    assert_eq!(one["key"]["text"], "form-key");
    assert_eq!(one["headers"][0]["key"], "trace");
    assert_eq!(one["headers"][0]["value"]["text"], "abc");

    let edited = c
        .form(
            "/topics/from-form/configs",
            &[
                ("name", "cleanup.policy"),
                ("value", "compact"),
                ("action", "set"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.text);
    let page = c.get("/topics/from-form").await.text;
    assert!(page.contains("compact"));
    let wrong = c
        .form(
            "/topics/from-form/configs",
            &[
                ("name", "cleanup.policy"),
                ("value", "shred"),
                ("action", "set"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.text.contains("cleanup.policy"));

    // Delete needs the name typed again.
    let unconfirmed = c
        .form("/topics/from-form/delete", &[("confirm", "nope")])
        .await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        c.get("/api/v1/topics/from-form").await.status,
        StatusCode::OK
    );
    let deleted = c
        .form("/topics/from-form/delete", &[("confirm", "from-form")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        c.get("/api/v1/topics/from-form").await.status,
        StatusCode::NOT_FOUND
    );
    c.stop().await;
}

#[tokio::test]
async fn mutations_without_csrf_proof_are_refused() {
    let c = common::start().await;
    c.create_topic("guarded", 1).await;
    // A JSON API call without the header, as a cross-site fetch without preflight would be.
    let no_header = c
        .raw(
            Method::POST,
            "/api/v1/topics",
            &[("content-type", "application/json")],
            br#"{"name":"sneaky"}"#.to_vec(),
        )
        .await;
    assert_eq!(no_header.status, StatusCode::FORBIDDEN);
    assert!(
        no_header.json()["error"]
            .as_str()
            .unwrap_or("")
            .contains("X-Fjord-Console")
            || no_header.text.contains("x-fjord-console")
    );
    let delete = c
        .raw(Method::DELETE, "/api/v1/topics/guarded", &[], Vec::new())
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    // A cross-site form post: no token, or a foreign Origin.
    let forged = c
        .raw(
            Method::POST,
            "/topics/guarded/delete",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"confirm=guarded".to_vec(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let foreign = c
        .raw(
            Method::POST,
            "/api/v1/topics/guarded/messages",
            &[
                ("content-type", "application/json"),
                ("x-fjord-console", "1"),
                ("origin", "http://evil.example"),
            ],
            br#"{"value":"x"}"#.to_vec(),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/api/v1/topics/guarded").await.status, StatusCode::OK);
    assert_eq!(
        c.get("/api/v1/topics/sneaky").await.status,
        StatusCode::NOT_FOUND
    );
    c.stop().await;
}

#[tokio::test]
async fn basic_auth_guards_every_route_when_configured() {
    let auth = fjord_console::BasicAuth {
        username: "admin".into(),
        password: "pw".into(),
    };
    let c = common::start_with(Some(auth), |_| {}).await;
    assert_eq!(c.get("/api/v1/cluster").await.status, StatusCode::OK);
    for path in ["/", "/api/v1/cluster", "/metrics", "/assets/console.js"] {
        let anonymous = reqwest::get(c.url(path)).await.expect("request");
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(anonymous.headers().contains_key("www-authenticate"));
    }
    let wrong = reqwest::Client::new()
        .get(c.url("/"))
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    c.stop().await;
}
