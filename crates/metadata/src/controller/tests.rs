//! Controller unit tests over the in-memory log; restart tests reopen the same log.

use std::sync::Arc;

use super::*;
use crate::log::MemoryMetadataLog;
use crate::record::{security_protocol, ConfigResourceType};
use crate::topic_config::ConfigSource;

fn clock() -> Clock {
    Arc::new(|| 1_700_000_000_000)
}

fn endpoint(port: u16) -> BrokerEndpoint {
    BrokerEndpoint {
        name: "PLAINTEXT".into(),
        host: "localhost".into(),
        port,
        security_protocol: security_protocol::PLAINTEXT,
    }
}

async fn started(log: Arc<MemoryMetadataLog>, config: ControllerConfig) -> Controller {
    let controller = Controller::open(log, config.clone(), clock()).unwrap();
    controller.bootstrap(None).await.unwrap();
    controller
        .register_broker(BrokerRegistrationRequest {
            broker_id: config.node_id,
            endpoints: vec![endpoint(9092)],
            rack: None,
        })
        .await
        .unwrap();
    controller
}

fn topic(name: &str, partitions: i32) -> NewTopic {
    NewTopic {
        name: name.into(),
        num_partitions: partitions,
        replication_factor: -1,
        ..Default::default()
    }
}

fn topic_resource(name: &str) -> ConfigResource {
    ConfigResource {
        resource_type: ConfigResourceType::Topic,
        name: name.into(),
    }
}

#[tokio::test]
async fn create_topics_builds_partitions_led_by_the_broker() {
    let log = Arc::new(MemoryMetadataLog::new());
    let controller = started(log, ControllerConfig::for_node(1)).await;
    let mut rx = controller.subscribe();
    let results = controller
        .create_topics(vec![topic("orders", 3), topic("default", -1)], false)
        .await;
    let created = results[0].as_ref().unwrap();
    assert_eq!(created.num_partitions, 3);
    assert_eq!(created.replication_factor, 1);
    assert_eq!(
        results[1].as_ref().unwrap().num_partitions,
        1,
        "num.partitions default"
    );
    assert!(rx.has_changed().unwrap(), "the image was published");
    let image = rx.borrow_and_update().clone();
    let orders = image.topic("orders").unwrap();
    assert_eq!(orders.topic_id, created.topic_id);
    for p in orders.partitions.values() {
        assert_eq!(p.replicas, vec![1]);
        assert_eq!(p.isr, vec![1]);
        assert_eq!(p.leader, 1);
        assert_eq!(p.leader_epoch, 0);
    }
    assert_eq!(controller.image().topic_count(), 2);
}

#[tokio::test]
async fn create_topics_errors_follow_kafka() {
    let controller = started(
        Arc::new(MemoryMetadataLog::new()),
        ControllerConfig::for_node(1),
    )
    .await;
    controller.create_topics(vec![topic("a.b", 1)], false).await[0]
        .as_ref()
        .unwrap();
    let code =
        |r: &Result<CreatedTopic>| r.as_ref().err().map(|e| e.error_code().code()).unwrap_or(0);
    let results = controller
        .create_topics(
            vec![
                topic("a.b", 1),
                topic("a_b", 1),
                topic("bad name", 1),
                topic("zero", 0),
                NewTopic {
                    replication_factor: 3,
                    ..topic("rf3", 1)
                },
                NewTopic {
                    replication_factor: 0,
                    ..topic("rf0", 1)
                },
                NewTopic {
                    configs: vec![("retention.ms".into(), Some("x".into()))],
                    ..topic("cfg", 1)
                },
                NewTopic {
                    configs: vec![("no.such.key".into(), Some("1".into()))],
                    ..topic("cfg2", 1)
                },
                topic("dup", 1),
                topic("dup", 1),
                NewTopic {
                    assignments: vec![(0, vec![1])],
                    ..topic("both", 1)
                },
                NewTopic {
                    assignments: vec![(0, vec![7])],
                    num_partitions: -1,
                    ..topic("ghost", -1)
                },
                topic("ok", 2),
                topic("__cluster_metadata", 1),
            ],
            false,
        )
        .await;
    let codes: Vec<i16> = results.iter().map(code).collect();
    assert_eq!(
        codes,
        [36, 17, 17, 37, 38, 38, 40, 40, 42, 42, 42, 39, 0, 42]
    );
    let msg = results[7].as_ref().unwrap_err().to_string();
    assert!(msg.contains("no.such.key"), "{msg}");
    assert!(results[1]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("collides"));
    let image = controller.image();
    assert!(image.topic("ok").is_some());
    assert!(image.topic("dup").is_none());
    assert_eq!(image.topic_count(), 2);
}

#[tokio::test]
async fn validate_only_writes_nothing() {
    let log = Arc::new(MemoryMetadataLog::new());
    let controller = started(Arc::clone(&log), ControllerConfig::for_node(1)).await;
    let end = log.log_end_offset();
    let results = controller.create_topics(vec![topic("t", 4)], true).await;
    assert_eq!(results[0].as_ref().unwrap().num_partitions, 4);
    assert_eq!(log.log_end_offset(), end);
    assert!(controller.image().topic("t").is_none());
}

#[tokio::test]
async fn manual_assignment_and_create_partitions() {
    let controller = started(
        Arc::new(MemoryMetadataLog::new()),
        ControllerConfig::for_node(1),
    )
    .await;
    let t = NewTopic {
        name: "m".into(),
        num_partitions: -1,
        replication_factor: -1,
        assignments: vec![(1, vec![1]), (0, vec![1])],
        configs: vec![],
    };
    controller.create_topics(vec![t], false).await[0]
        .as_ref()
        .unwrap();
    assert_eq!(controller.image().topic("m").unwrap().partitions.len(), 2);

    let spec = |count, assignments| CreatePartitionsSpec {
        topic: "m".into(),
        count,
        assignments,
    };
    let code = |r: &Result<()>| r.as_ref().err().map(|e| e.error_code().code()).unwrap_or(0);
    let results = controller
        .create_partitions(
            vec![
                spec(1, None),
                CreatePartitionsSpec {
                    topic: "nope".into(),
                    count: 3,
                    assignments: None,
                },
            ],
            false,
        )
        .await;
    assert_eq!(results.iter().map(code).collect::<Vec<_>>(), [37, 3]);
    assert_eq!(
        code(
            &controller
                .create_partitions(vec![spec(2, None)], false)
                .await[0]
        ),
        37
    );
    assert_eq!(
        code(
            &controller
                .create_partitions(vec![spec(4, Some(vec![vec![1]]))], false)
                .await[0]
        ),
        39
    );
    assert_eq!(
        code(
            &controller
                .create_partitions(vec![spec(3, Some(vec![vec![1, 1]]))], false)
                .await[0]
        ),
        39
    );
    assert_eq!(
        code(
            &controller
                .create_partitions(vec![spec(3, Some(vec![vec![1]]))], true)
                .await[0]
        ),
        0
    );
    assert_eq!(
        controller.image().topic("m").unwrap().partitions.len(),
        2,
        "validate_only"
    );
    assert_eq!(
        code(
            &controller
                .create_partitions(vec![spec(5, None)], false)
                .await[0]
        ),
        0
    );
    let image = controller.image();
    let m = image.topic("m").unwrap();
    assert_eq!(m.partitions.len(), 5);
    assert_eq!(m.partitions[&4].leader, 1);
}

#[tokio::test]
async fn delete_by_name_and_id() {
    let controller = started(
        Arc::new(MemoryMetadataLog::new()),
        ControllerConfig::for_node(1),
    )
    .await;
    let created = controller
        .create_topics(vec![topic("x", 1), topic("y", 1)], false)
        .await;
    let y_id = created[1].as_ref().unwrap().topic_id;
    controller
        .incremental_alter_configs(
            vec![(
                topic_resource("x"),
                vec![IncrementalAlterConfig {
                    name: "retention.ms".into(),
                    op: AlterConfigOp::Set,
                    value: Some("10".into()),
                }],
            )],
            false,
        )
        .await[0]
        .as_ref()
        .unwrap();
    let results = controller
        .delete_topics(vec![
            DeleteTopicTarget::Name("x".into()),
            DeleteTopicTarget::Id(y_id),
            DeleteTopicTarget::Name("zzz".into()),
            DeleteTopicTarget::Id(Uuid::new_v4()),
        ])
        .await;
    assert_eq!(results[0].as_ref().unwrap().name, "x");
    assert_eq!(results[1].as_ref().unwrap().name, "y");
    assert_eq!(results[2].as_ref().unwrap_err().error_code().code(), 3);
    assert_eq!(results[3].as_ref().unwrap_err().error_code().code(), 100);
    let image = controller.image();
    assert_eq!(image.topic_count(), 0);
    assert!(image.topic_configs("x").is_none());
    // a topic of the same name can come back, with a new id and no old configs
    let again = controller.create_topics(vec![topic("x", 1)], false).await;
    assert!(again[0].is_ok());
    assert!(controller.image().topic_configs("x").is_none());
}

#[tokio::test]
async fn delete_disabled() {
    let config = ControllerConfig {
        delete_topic_enable: false,
        ..ControllerConfig::for_node(1)
    };
    let controller = started(Arc::new(MemoryMetadataLog::new()), config).await;
    controller
        .create_topics(vec![topic("keep", 1)], false)
        .await;
    let results = controller
        .delete_topics(vec![DeleteTopicTarget::Name("keep".into())])
        .await;
    assert_eq!(results[0].as_ref().unwrap_err().error_code().code(), 73);
    assert!(controller.image().topic("keep").is_some());
}

#[tokio::test]
async fn alter_configs_replaces_and_incremental_edits() {
    let controller = started(
        Arc::new(MemoryMetadataLog::new()),
        ControllerConfig::for_node(1),
    )
    .await;
    let t = NewTopic {
        configs: vec![
            ("retention.ms".into(), Some("100".into())),
            ("segment.ms".into(), Some("5000".into())),
        ],
        ..topic("c", 1)
    };
    controller.create_topics(vec![t], false).await[0]
        .as_ref()
        .unwrap();

    // legacy AlterConfigs: the whole set is replaced, segment.ms goes away
    let r = controller
        .alter_configs(
            vec![(
                topic_resource("c"),
                vec![("max.message.bytes".into(), Some("2000".into()))],
            )],
            false,
        )
        .await;
    assert!(r[0].is_ok());
    let image = controller.image();
    let overrides = image.topic_configs("c").unwrap();
    assert_eq!(overrides.len(), 1);
    assert_eq!(overrides["max.message.bytes"], "2000");

    let op = |name: &str, op, value: Option<&str>| IncrementalAlterConfig {
        name: name.into(),
        op,
        value: value.map(String::from),
    };
    let r = controller
        .incremental_alter_configs(
            vec![(
                topic_resource("c"),
                vec![
                    op("cleanup.policy", AlterConfigOp::Append, Some("compact")),
                    op("max.message.bytes", AlterConfigOp::Delete, None),
                    op("retention.ms", AlterConfigOp::Set, Some("42")),
                ],
            )],
            false,
        )
        .await;
    assert!(r[0].is_ok(), "{r:?}");
    let image = controller.image();
    let overrides = image.topic_configs("c").unwrap();
    assert_eq!(
        overrides["cleanup.policy"], "delete,compact",
        "APPEND starts from the default"
    );
    assert_eq!(overrides["retention.ms"], "42");
    assert!(!overrides.contains_key("max.message.bytes"));

    let code = |r: &[Result<()>]| {
        r[0].as_ref()
            .err()
            .map(|e| e.error_code().code())
            .unwrap_or(0)
    };
    let bad = controller
        .incremental_alter_configs(
            vec![(
                topic_resource("c"),
                vec![op("retention.ms", AlterConfigOp::Append, Some("1"))],
            )],
            false,
        )
        .await;
    assert_eq!(code(&bad), 40);
    assert!(bad[0]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("retention.ms"));
    let bad = controller
        .incremental_alter_configs(
            vec![(
                topic_resource("c"),
                vec![op("segment.bytes", AlterConfigOp::Set, Some("10"))],
            )],
            false,
        )
        .await;
    assert_eq!(code(&bad), 40);
    let missing = controller
        .incremental_alter_configs(
            vec![(
                topic_resource("none"),
                vec![op("retention.ms", AlterConfigOp::Set, Some("1"))],
            )],
            false,
        )
        .await;
    assert_eq!(code(&missing), 3);
    let dup = controller
        .incremental_alter_configs(
            vec![(
                topic_resource("c"),
                vec![
                    op("retention.ms", AlterConfigOp::Set, Some("1")),
                    op("retention.ms", AlterConfigOp::Delete, None),
                ],
            )],
            false,
        )
        .await;
    assert_eq!(code(&dup), 42);
    let broker = controller
        .incremental_alter_configs(
            vec![(
                ConfigResource {
                    resource_type: ConfigResourceType::Broker,
                    name: "1".into(),
                },
                vec![op("log.retention.ms", AlterConfigOp::Set, Some("1"))],
            )],
            false,
        )
        .await;
    assert_eq!(code(&broker), 40);
    let validate = controller
        .incremental_alter_configs(
            vec![(
                topic_resource("c"),
                vec![op("retention.ms", AlterConfigOp::Set, Some("7"))],
            )],
            true,
        )
        .await;
    assert_eq!(code(&validate), 0);
    assert_eq!(
        controller.image().topic_configs("c").unwrap()["retention.ms"],
        "42"
    );

    let described = controller
        .describe_topic_configs(&controller.image(), "c")
        .unwrap();
    let retention = described.iter().find(|c| c.name == "retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("42"));
    assert_eq!(retention.source, ConfigSource::DynamicTopic);
    let base = LogConfigBase::default();
    let log_config = controller.topic_log_config(&controller.image(), &base, "c");
    assert_eq!(log_config.retention_ms, 42);
}

type LogConfigBase = fjord_storage::LogConfig;

#[tokio::test]
async fn everything_survives_a_restart() {
    let log = Arc::new(MemoryMetadataLog::new());
    let (cluster_id, topic_id, pids) = {
        let controller = started(Arc::clone(&log), ControllerConfig::for_node(1)).await;
        let cluster_id = controller.image().cluster_id().unwrap().to_string();
        let t = NewTopic {
            configs: vec![("cleanup.policy".into(), Some("compact".into()))],
            ..topic("kept", 3)
        };
        let topic_id = controller.create_topics(vec![t], false).await[0]
            .as_ref()
            .unwrap()
            .topic_id;
        controller
            .create_topics(vec![topic("gone", 1)], false)
            .await;
        controller
            .delete_topics(vec![DeleteTopicTarget::Name("gone".into())])
            .await;
        let pids = controller.allocate_producer_ids(1000).await.unwrap();
        assert_eq!(pids, 0..1000);
        (cluster_id, topic_id, pids)
    };
    let controller = Controller::open(
        Arc::clone(&log) as Arc<dyn MetadataLog>,
        ControllerConfig::for_node(1),
        clock(),
    )
    .unwrap();
    assert_eq!(
        controller.bootstrap(Some(&cluster_id)).await.unwrap(),
        cluster_id
    );
    let image = controller.image();
    assert_eq!(image.cluster_id(), Some(cluster_id.as_str()));
    assert_eq!(
        image.feature_level(METADATA_VERSION_FEATURE),
        Some(METADATA_VERSION_LEVEL)
    );
    let kept = image.topic("kept").unwrap();
    assert_eq!(kept.topic_id, topic_id);
    assert_eq!(kept.partitions.len(), 3);
    assert!(image.topic("gone").is_none());
    assert_eq!(
        image.topic_configs("kept").unwrap()["cleanup.policy"],
        "compact"
    );
    assert!(image.broker(1).is_some());
    let next = controller.allocate_producer_ids(10).await.unwrap();
    assert_eq!(
        next.start, pids.end,
        "producer ids are never reused after a restart"
    );

    let wrong = controller
        .bootstrap(Some("another-cluster"))
        .await
        .unwrap_err();
    assert_eq!(wrong.error_code().code(), 104);
}

#[tokio::test]
async fn failed_append_publishes_nothing() {
    let log = Arc::new(MemoryMetadataLog::new());
    let controller = started(Arc::clone(&log), ControllerConfig::for_node(1)).await;
    log.fail_appends(true);
    let results = controller.create_topics(vec![topic("t", 1)], false).await;
    let err = results[0].as_ref().unwrap_err();
    assert_eq!(err.error_code().code(), 56);
    assert_eq!(err.client_message(), None);
    assert!(controller.image().topic("t").is_none());
    log.fail_appends(false);
    assert!(controller.create_topics(vec![topic("t", 1)], false).await[0].is_ok());
}

#[tokio::test]
async fn registration_elects_leaderless_partitions() {
    let log = Arc::new(MemoryMetadataLog::new());
    let controller = started(Arc::clone(&log), ControllerConfig::for_node(1)).await;
    let topic_id = controller.create_topics(vec![topic("t", 1)], false).await[0]
        .as_ref()
        .unwrap()
        .topic_id;
    // a partition that lost its leader (as a future fencing would leave it)
    let image = controller.image();
    let record = MetadataRecord::Partition(PartitionRecord {
        topic_id,
        partition: 0,
        replicas: vec![1],
        isr: vec![1],
        leader: crate::image::NO_LEADER,
        leader_epoch: 3,
        partition_epoch: 3,
    });
    {
        let _guard = controller.write_lock.lock().await;
        controller.commit(&image, vec![record]).await.unwrap();
    }
    let epoch = controller
        .register_broker(BrokerRegistrationRequest {
            broker_id: 1,
            endpoints: vec![endpoint(9093)],
            rack: None,
        })
        .await
        .unwrap();
    assert!(epoch > 0);
    let image = controller.image();
    let p = image.partition("t", 0).unwrap();
    assert_eq!(p.leader, 1);
    assert_eq!(p.leader_epoch, 4);
    assert_eq!(image.broker(1).unwrap().endpoints[0].port, 9093);
}

#[test]
fn topic_defaults_follow_the_typed_broker_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerConfig::for_tests(dir.path());
    server.log_retention_ms = 7_200_000;
    server.num_partitions = 4;
    let config = ControllerConfig::from_server_config(&server);
    assert_eq!(
        config.topic_defaults.get("retention.ms").unwrap().value,
        "7200000"
    );
    assert_eq!(
        config.topic_defaults.get("segment.bytes").unwrap().value,
        "1048576"
    );
    assert_eq!(config.num_partitions, 4);
}

#[test]
fn cluster_ids_look_like_kafkas() {
    let id = generate_cluster_id();
    assert_eq!(id.len(), 22);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_ne!(id, generate_cluster_id());
}
