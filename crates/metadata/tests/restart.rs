//! The controller over a real `__cluster_metadata-0` partition log managed by a `LogManager`:
//! topics, ids, configs, broker registrations and the producer-id watermark survive closing
//! and reopening the log dirs, and the cluster id lands in meta.properties.

use std::sync::Arc;

use fjord_config::{Listener, ServerConfig};
use fjord_metadata::{Controller, DeleteTopicTarget, NewTopic};
use fjord_storage::{LogConfig, LogManager};

fn open_logs(config: &ServerConfig) -> Arc<LogManager> {
    Arc::new(LogManager::open(&config.log_dirs, config.node_id, LogConfig::default()).unwrap())
}

#[tokio::test]
async fn state_survives_reopening_the_log_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig::for_tests(dir.path());
    let advertised = vec![Listener::new("PLAINTEXT", "127.0.0.1", 9092)];

    let (cluster_id, topic_id, producer_ids) = {
        let logs = open_logs(&config);
        let controller = Controller::start(Arc::clone(&logs), &config, &advertised)
            .await
            .unwrap();
        let image = controller.image();
        let cluster_id = image.cluster_id().unwrap().to_string();
        assert_eq!(
            logs.cluster_id().as_deref(),
            Some(cluster_id.as_str()),
            "meta.properties"
        );
        let topic = NewTopic {
            name: "kept".into(),
            num_partitions: 3,
            replication_factor: -1,
            configs: vec![("retention.ms".into(), Some("1234".into()))],
            ..NewTopic::default()
        };
        let gone = NewTopic {
            name: "gone".into(),
            num_partitions: 1,
            replication_factor: 1,
            ..NewTopic::default()
        };
        let created = controller.create_topics(vec![topic, gone], false).await;
        let topic_id = created[0].as_ref().unwrap().topic_id;
        assert!(controller
            .delete_topics(vec![DeleteTopicTarget::Name("gone".into())])
            .await[0]
            .is_ok());
        let producer_ids = controller.allocate_producer_ids(1000).await.unwrap();
        drop(controller);
        logs.shutdown().unwrap();
        (cluster_id, topic_id, producer_ids)
    };

    let logs = open_logs(&config);
    let controller = Controller::start(Arc::clone(&logs), &config, &advertised)
        .await
        .unwrap();
    let image = controller.image();
    assert_eq!(image.cluster_id(), Some(cluster_id.as_str()));
    let kept = image.topic("kept").expect("topic replayed");
    assert_eq!(kept.topic_id, topic_id);
    assert_eq!(kept.partitions.len(), 3);
    assert!(image.topic("gone").is_none());
    assert_eq!(image.topic_configs("kept").unwrap()["retention.ms"], "1234");
    assert_eq!(image.broker(1).unwrap().endpoints[0].port, 9092);
    let next = controller.allocate_producer_ids(10).await.unwrap();
    assert_eq!(
        next.start, producer_ids.end,
        "producer ids are never handed out twice"
    );
    let log_config = controller.topic_log_config(&image, &LogConfig::default(), "kept");
    assert_eq!(log_config.retention_ms, 1234);
    logs.shutdown().unwrap();
}
