//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs against an in-process broker over
//! raw Kafka requests: topic configs with sources and synonyms, broker configs, validation
//! errors naming the key, and changes taking effect in the image at once.

mod admin_client;
mod common;

use admin_client::AdminConnection;
use common::start_broker;
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::incremental_alter_configs_request as incremental;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn create(conn: &mut AdminConnection, topic: &str) {
    let request = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(TopicName(s(topic)))
        .with_num_partitions(1)
        .with_replication_factor(1)]);
    let response: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, 7, &request).await;
    assert_eq!(response.topics[0].error_code, 0);
}

async fn describe(
    conn: &mut AdminConnection,
    version: i16,
    resource_type: i8,
    name: &str,
    keys: Option<&[&str]>,
) -> DescribeConfigsResult {
    let request = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(name))
            .with_configuration_keys(
                keys.map(|k| k.iter().map(|k| s(k)).collect()),
            )])
        .with_include_synonyms(true)
        .with_include_documentation(version >= 3);
    let mut response: DescribeConfigsResponse =
        conn.call(ApiKey::DescribeConfigs, version, &request).await;
    response.results.remove(0)
}

fn value_of(result: &DescribeConfigsResult, key: &str) -> (Option<String>, i8) {
    let entry = result
        .configs
        .iter()
        .find(|c| c.name.as_str() == key)
        .unwrap_or_else(|| panic!("{key} missing"));
    (
        entry.value.as_ref().map(|v| v.to_string()),
        entry.config_source,
    )
}

async fn incremental_alter(
    conn: &mut AdminConnection,
    topic: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> IncrementalAlterConfigsResponse {
    let configs = ops
        .iter()
        .map(|(k, op, v)| {
            incremental::AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(*op)
                .with_value(v.map(s))
        })
        .collect();
    let request = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![incremental::AlterConfigsResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(s(topic))
            .with_configs(configs)])
        .with_validate_only(validate_only);
    conn.call(ApiKey::IncrementalAlterConfigs, 1, &request)
        .await
}

#[tokio::test]
async fn topic_configs_describe_with_defaults_sources_and_synonyms() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create(&mut conn, "t").await;
    let result = describe(&mut conn, 4, TOPIC, "t", None).await;
    assert_eq!(result.error_code, 0);
    let (value, source) = value_of(&result, "max.message.bytes");
    assert_eq!(value.as_deref(), Some("1048588"));
    assert_eq!(source, 5, "DEFAULT_CONFIG");
    let segment = result
        .configs
        .iter()
        .find(|c| c.name.as_str() == "segment.bytes")
        .unwrap();
    assert_eq!(segment.config_type, 3, "INT");
    assert!(segment.documentation.is_some());
    assert!(!segment.synonyms.is_empty());
    assert!(!segment.read_only && !segment.is_sensitive);

    let only: DescribeConfigsResult = describe(
        &mut conn,
        1,
        TOPIC,
        "t",
        Some(&["cleanup.policy", "no.such"]),
    )
    .await;
    assert_eq!(only.configs.len(), 1);
    assert_eq!(
        value_of(&only, "cleanup.policy").0.as_deref(),
        Some("delete")
    );

    let missing = describe(&mut conn, 4, TOPIC, "missing", None).await;
    assert_eq!(missing.error_code, 3);
}

#[tokio::test]
async fn incremental_alter_takes_effect_at_once() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create(&mut conn, "t").await;
    let response = incremental_alter(
        &mut conn,
        "t",
        &[
            ("retention.ms", 0, Some("1000")),
            ("cleanup.policy", 2, Some("compact")),
        ],
        false,
    )
    .await;
    assert_eq!(
        response.responses[0].error_code, 0,
        "{:?}",
        response.responses[0].error_message
    );
    let result = describe(&mut conn, 4, TOPIC, "t", None).await;
    assert_eq!(value_of(&result, "retention.ms"), (Some("1000".into()), 1));
    assert_eq!(
        value_of(&result, "cleanup.policy").0.as_deref(),
        Some("delete,compact")
    );
    let retention = result
        .configs
        .iter()
        .find(|c| c.name.as_str() == "retention.ms")
        .unwrap();
    assert_eq!(
        retention.synonyms[0].source, 1,
        "the topic override comes first"
    );
    assert_eq!(retention.synonyms[1].name.as_str(), "log.retention.hours");
    let image = test.broker.context().controller.image();
    assert_eq!(image.topic_configs("t").unwrap()["retention.ms"], "1000");

    // DELETE falls back to the default
    incremental_alter(&mut conn, "t", &[("retention.ms", 1, None)], false).await;
    let result = describe(&mut conn, 4, TOPIC, "t", Some(&["retention.ms"])).await;
    assert_eq!(
        value_of(&result, "retention.ms"),
        (Some("604800000".into()), 5)
    );

    // bad values and unknown keys: INVALID_CONFIG naming the key; nothing changes
    let bad = incremental_alter(&mut conn, "t", &[("segment.bytes", 0, Some("12"))], false).await;
    assert_eq!(bad.responses[0].error_code, 40);
    assert!(bad.responses[0]
        .error_message
        .as_ref()
        .unwrap()
        .contains("segment.bytes"));
    let unknown =
        incremental_alter(&mut conn, "t", &[("retention.weeks", 0, Some("1"))], false).await;
    assert_eq!(unknown.responses[0].error_code, 40);
    assert!(unknown.responses[0]
        .error_message
        .as_ref()
        .unwrap()
        .contains("retention.weeks"));
    let append_long =
        incremental_alter(&mut conn, "t", &[("retention.ms", 2, Some("1"))], false).await;
    assert_eq!(append_long.responses[0].error_code, 40);
    let dry = incremental_alter(&mut conn, "t", &[("retention.ms", 0, Some("5"))], true).await;
    assert_eq!(dry.responses[0].error_code, 0);
    let result = describe(&mut conn, 4, TOPIC, "t", Some(&["retention.ms"])).await;
    assert_eq!(
        value_of(&result, "retention.ms").1,
        5,
        "validate_only changed nothing"
    );
    let missing =
        incremental_alter(&mut conn, "nope", &[("retention.ms", 0, Some("5"))], false).await;
    assert_eq!(missing.responses[0].error_code, 3);
}

#[tokio::test]
async fn legacy_alter_configs_replaces_the_set() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create(&mut conn, "t").await;
    incremental_alter(&mut conn, "t", &[("retention.ms", 0, Some("1000"))], false).await;
    let request =
        AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(s("t"))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("segment.ms"))
                .with_value(Some(s("60000")))])]);
    let response: AlterConfigsResponse = conn.call(ApiKey::AlterConfigs, 2, &request).await;
    assert_eq!(response.responses[0].error_code, 0);
    let result = describe(
        &mut conn,
        4,
        TOPIC,
        "t",
        Some(&["retention.ms", "segment.ms"]),
    )
    .await;
    assert_eq!(
        value_of(&result, "retention.ms").1,
        5,
        "retention.ms override removed"
    );
    assert_eq!(value_of(&result, "segment.ms"), (Some("60000".into()), 1));

    let broker =
        AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s("1"))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("log.retention.ms"))
                .with_value(Some(s("1")))])]);
    let response: AlterConfigsResponse = conn.call(ApiKey::AlterConfigs, 0, &broker).await;
    assert_eq!(
        response.responses[0].error_code, 40,
        "broker configs are static"
    );
}

#[tokio::test]
async fn broker_configs_are_described() {
    let test = start_broker(|c| c.delete_topic_enable = false).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    for name in ["1", ""] {
        let result = describe(&mut conn, 4, BROKER, name, None).await;
        assert_eq!(result.error_code, 0);
        let entry = result
            .configs
            .iter()
            .find(|c| c.name.as_str() == "delete.topic.enable")
            .unwrap();
        assert_eq!(entry.value.as_ref().unwrap().as_str(), "false");
        assert_eq!(entry.config_type, 1, "BOOLEAN");
        assert!(entry.read_only);
        let (value, source) = value_of(&result, "num.partitions");
        assert_eq!((value.as_deref(), source), (Some("1"), 5));
    }
    let other = describe(&mut conn, 4, BROKER, "7", None).await;
    assert_eq!(other.error_code, 42);
    let logger = describe(&mut conn, 4, 8, "1", None).await;
    assert_eq!(logger.error_code, 42);
}
