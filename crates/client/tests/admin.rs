//! Admin round trips against an in-process broker: topics, partitions, configs, offsets,
//! records, cluster and log dirs.

mod common;

use std::collections::BTreeMap;

use common::start_broker;
use fjord_client::admin::{AlterConfigOp, ConfigResource, NewTopic, OffsetSpec};
use fjord_client::kafka_protocol::ResponseError;
use fjord_client::{AdminClient, TopicPartition};

#[tokio::test]
async fn topic_lifecycle() {
    let broker = start_broker(|_| {}).await;
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();

    let validated = admin
        .create_topics(&[NewTopic::new("dry", 2, 1)], true)
        .await
        .unwrap();
    assert!(validated["dry"].is_ok());
    assert!(admin
        .list_topics(false)
        .await
        .unwrap()
        .iter()
        .all(|t| t.name != "dry"));

    let created = admin
        .create_topics(
            &[NewTopic::new("orders", 3, 1).with_config("retention.ms", "3600000")],
            false,
        )
        .await
        .unwrap();
    assert!(created["orders"].is_ok(), "{created:?}");
    let again = admin
        .create_topics(&[NewTopic::new("orders", 3, 1)], false)
        .await
        .unwrap();
    let err = again["orders"].as_ref().unwrap_err();
    assert_eq!(err.error_code(), ResponseError::TopicAlreadyExists);

    let described = admin
        .describe_topics(&["orders".to_string()])
        .await
        .unwrap();
    assert_eq!(described[0].partitions.len(), 3);
    assert!(described[0].partitions.iter().all(|p| p.leader_id >= 0));
    let missing = admin
        .describe_topics(&["nope".to_string()])
        .await
        .unwrap_err();
    assert_eq!(missing.error_code(), ResponseError::UnknownTopicOrPartition);

    let grown = admin
        .create_partitions(&BTreeMap::from([("orders".to_string(), 5)]), false)
        .await
        .unwrap();
    assert!(grown["orders"].is_ok(), "{grown:?}");
    let described = admin
        .describe_topics(&["orders".to_string()])
        .await
        .unwrap();
    assert_eq!(described[0].partitions.len(), 5);

    let listed = admin.list_topics(false).await.unwrap();
    assert!(listed.iter().any(|t| t.name == "orders" && !t.is_internal));

    let deleted = admin.delete_topics(&["orders".to_string()]).await.unwrap();
    assert!(deleted["orders"].is_ok(), "{deleted:?}");
    assert!(admin
        .list_topics(true)
        .await
        .unwrap()
        .iter()
        .all(|t| t.name != "orders"));
}

#[tokio::test]
async fn configs_round_trip() {
    let broker = start_broker(|_| {}).await;
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new("cfg", 1, 1)], false)
        .await
        .unwrap()["cfg"]
        .clone()
        .unwrap();
    let topic = ConfigResource::topic("cfg");
    let altered = admin
        .incremental_alter_configs(
            &BTreeMap::from([(
                topic.clone(),
                vec![AlterConfigOp::set("retention.ms", "12345")],
            )]),
            false,
        )
        .await
        .unwrap();
    assert!(altered[&topic].is_ok(), "{altered:?}");
    let described = admin
        .describe_configs(std::slice::from_ref(&topic), None)
        .await
        .unwrap();
    let entries = described[&topic].as_ref().unwrap();
    let retention = entries.iter().find(|e| e.name == "retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("12345"));
    assert!(!retention.is_default());
    let segment = entries.iter().find(|e| e.name == "segment.bytes").unwrap();
    assert!(segment.value.is_some());

    let node = *admin.cluster().metadata().brokers.keys().next().unwrap();
    let broker_resource = ConfigResource::broker(node);
    let described = admin
        .describe_configs(
            std::slice::from_ref(&broker_resource),
            Some(&["log.retention.hours".to_string()]),
        )
        .await
        .unwrap();
    assert!(described[&broker_resource].is_ok(), "{described:?}");
}

#[tokio::test]
async fn offsets_records_cluster_and_log_dirs() {
    let broker = start_broker(|_| {}).await;
    let admin = AdminClient::connect(broker.client_config()).await.unwrap();
    admin
        .create_topics(&[NewTopic::new("offs", 2, 1)], false)
        .await
        .unwrap()["offs"]
        .clone()
        .unwrap();
    let tp = TopicPartition::new("offs", 0);
    let specs = BTreeMap::from([
        (tp.clone(), OffsetSpec::Latest),
        (TopicPartition::new("offs", 1), OffsetSpec::Earliest),
    ]);
    let offsets = admin.list_offsets(&specs, false).await.unwrap();
    assert_eq!(offsets[&tp].as_ref().unwrap().offset, 0);
    let unknown = admin
        .list_offsets(
            &BTreeMap::from([(TopicPartition::new("offs", 9), OffsetSpec::Latest)]),
            false,
        )
        .await
        .unwrap();
    assert!(unknown[&TopicPartition::new("offs", 9)].is_err());

    // Deleting up to the high watermark of an empty partition leaves the low watermark at 0.
    let deleted = admin
        .delete_records(&BTreeMap::from([(tp.clone(), 0)]))
        .await
        .unwrap();
    assert_eq!(*deleted[&tp].as_ref().unwrap(), 0);

    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);
    assert!(!cluster.cluster_id.is_empty());

    let dirs = admin.describe_log_dirs(&[]).await.unwrap();
    let (_, dirs) = dirs.iter().next().unwrap();
    assert!(dirs
        .iter()
        .any(|d| d.replicas.contains_key(&TopicPartition::new("offs", 1))));
}
