//! Admin APIs against an in-process broker over raw Kafka requests: Metadata (with
//! auto-creation), CreateTopics, DeleteTopics, CreatePartitions, DescribeCluster,
//! DescribeTopicPartitions, and a restart that keeps topics, ids and configs.

mod admin_client;
mod common;

use admin_client::AdminConnection;
use common::start_broker;
use fjord_broker::Broker;
use fjord_config::ServerConfig;
use fjord_storage::{LogConfig, TopicPartition};
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn new_topic(topic: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(-1)
}

async fn create(
    conn: &mut AdminConnection,
    version: i16,
    topics: Vec<CreatableTopic>,
) -> CreateTopicsResponse {
    conn.call(
        ApiKey::CreateTopics,
        version,
        &CreateTopicsRequest::default()
            .with_topics(topics)
            .with_timeout_ms(5000),
    )
    .await
}

async fn metadata(
    conn: &mut AdminConnection,
    version: i16,
    topics: Option<&[&str]>,
    auto_create: bool,
) -> MetadataResponse {
    let topics = topics.map(|names| {
        names
            .iter()
            .map(|n| MetadataRequestTopic::default().with_name(Some(name(n))))
            .collect()
    });
    // v0 spells "all topics" as an empty list; v0-3 have no auto-creation flag
    let topics = if version == 0 {
        Some(topics.unwrap_or_default())
    } else {
        topics
    };
    let mut request = MetadataRequest::default().with_topics(topics);
    if version >= 4 {
        request = request.with_allow_auto_topic_creation(auto_create);
    }
    conn.call(ApiKey::Metadata, version, &request).await
}

#[tokio::test]
async fn metadata_describes_the_broker_and_cluster() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    for version in [0, 1, 4, 9, 12, 13] {
        let response = metadata(&mut conn, version, None, false).await;
        assert_eq!(response.brokers.len(), 1, "v{version}");
        let broker = &response.brokers[0];
        assert_eq!(broker.node_id.0, 1);
        assert_eq!(broker.host.as_str(), test.addr.ip().to_string());
        assert_eq!(broker.port, i32::from(test.addr.port()));
        if version >= 1 {
            assert_eq!(response.controller_id.0, 1);
        }
        if version >= 2 {
            let cluster_id = response.cluster_id.as_ref().expect("cluster id");
            assert_eq!(cluster_id.len(), 22);
        }
        assert!(response.topics.is_empty());
    }
}

#[tokio::test]
async fn create_topics_then_metadata_shows_them() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let orders = new_topic("orders", 3).with_configs(vec![CreatableTopicConfig::default()
        .with_name(StrBytes::from_static_str("retention.ms"))
        .with_value(Some(StrBytes::from_static_str("3600000")))]);
    let response = create(
        &mut conn,
        7,
        vec![
            orders,
            new_topic("bad/name", 1),
            new_topic("default-count", -1),
        ],
    )
    .await;
    let created = &response.topics[0];
    assert_eq!(created.error_code, 0, "{:?}", created.error_message);
    assert_eq!(created.num_partitions, 3);
    assert_eq!(created.replication_factor, 1);
    assert!(!created.topic_id.is_nil());
    let configs = created.configs.as_ref().expect("v5+ returns configs");
    let retention = configs
        .iter()
        .find(|c| c.name.as_str() == "retention.ms")
        .unwrap();
    assert_eq!(retention.value.as_ref().unwrap().as_str(), "3600000");
    assert_eq!(retention.config_source, 1, "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(response.topics[1].error_code, 17, "INVALID_TOPIC_EXCEPTION");
    assert!(response.topics[1].error_message.is_some());
    assert_eq!(response.topics[2].num_partitions, 1, "num.partitions");

    let again = create(&mut conn, 2, vec![new_topic("orders", 1)]).await;
    assert_eq!(again.topics[0].error_code, 36, "TOPIC_ALREADY_EXISTS");
    let rf = create(
        &mut conn,
        4,
        vec![new_topic("rf", 1).with_replication_factor(3)],
    )
    .await;
    assert_eq!(rf.topics[0].error_code, 38, "INVALID_REPLICATION_FACTOR");
    let validate = conn
        .call::<_, CreateTopicsResponse>(
            ApiKey::CreateTopics,
            5,
            &CreateTopicsRequest::default()
                .with_topics(vec![new_topic("dry", 2)])
                .with_validate_only(true),
        )
        .await;
    assert_eq!(validate.topics[0].error_code, 0);
    assert_eq!(validate.topics[0].num_partitions, 2);

    let response = metadata(&mut conn, 12, Some(&["orders", "dry", "nope"]), false).await;
    let orders = &response.topics[0];
    assert_eq!(orders.error_code, 0);
    assert_eq!(orders.topic_id, created.topic_id);
    assert!(!orders.is_internal);
    assert_eq!(orders.partitions.len(), 3);
    for (i, p) in orders.partitions.iter().enumerate() {
        assert_eq!(p.partition_index, i as i32);
        assert_eq!(p.leader_id.0, 1);
        assert_eq!(p.leader_epoch, 0);
        assert_eq!(p.replica_nodes.iter().map(|b| b.0).collect::<Vec<_>>(), [1]);
        assert_eq!(p.isr_nodes.iter().map(|b| b.0).collect::<Vec<_>>(), [1]);
        assert!(p.offline_replicas.is_empty());
    }
    assert_eq!(
        orders.topic_authorized_operations,
        i32::MIN,
        "not requested"
    );
    assert_eq!(
        response.topics[1].error_code, 3,
        "validate_only created nothing"
    );
    assert_eq!(
        response.topics[2].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );

    // all topics, sorted, with authorized operations when asked
    let all = conn
        .call::<_, MetadataResponse>(
            ApiKey::Metadata,
            10,
            &MetadataRequest::default()
                .with_topics(None)
                .with_include_topic_authorized_operations(true),
        )
        .await;
    let names: Vec<_> = all
        .topics
        .iter()
        .map(|t| t.name.as_ref().unwrap().as_str().to_string())
        .collect();
    assert_eq!(names, ["default-count", "orders"]);
    assert_eq!(all.topics[0].topic_authorized_operations, 3576);

    // by topic id (v12)
    let by_id = conn
        .call::<_, MetadataResponse>(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default()
                    .with_name(None)
                    .with_topic_id(created.topic_id),
                MetadataRequestTopic::default()
                    .with_name(None)
                    .with_topic_id(Uuid::new_v4()),
            ])),
        )
        .await;
    assert_eq!(by_id.topics[0].name.as_ref().unwrap().as_str(), "orders");
    assert_eq!(by_id.topics[1].error_code, 100, "UNKNOWN_TOPIC_ID");
}

#[tokio::test]
async fn metadata_auto_creates_when_allowed() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let first = metadata(&mut conn, 12, Some(&["auto"]), true).await;
    assert_eq!(
        first.topics[0].error_code, 5,
        "LEADER_NOT_AVAILABLE while it is being created"
    );
    let second = metadata(&mut conn, 12, Some(&["auto"]), true).await;
    assert_eq!(second.topics[0].error_code, 0);
    assert_eq!(second.topics[0].partitions.len(), 1);
    assert_eq!(second.topics[0].partitions[0].leader_id.0, 1);

    let refused = metadata(&mut conn, 12, Some(&["not-allowed"]), false).await;
    assert_eq!(refused.topics[0].error_code, 3);
    let invalid = metadata(&mut conn, 12, Some(&["bad name"]), true).await;
    assert_eq!(invalid.topics[0].error_code, 17);
    let internal = metadata(&mut conn, 12, Some(&["__consumer_offsets"]), true).await;
    assert_eq!(
        internal.topics[0].error_code, 3,
        "internal topics are not auto-created"
    );
    assert!(internal.topics[0].is_internal);
    // v0-3 have no flag: auto-creation follows the broker setting alone
    let v1 = metadata(&mut conn, 1, Some(&["old-client"]), false).await;
    assert_eq!(v1.topics[0].error_code, 5);
}

#[tokio::test]
async fn auto_creation_disabled() {
    let test = start_broker(|c| c.auto_create_topics_enable = false).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let response = metadata(&mut conn, 12, Some(&["t"]), true).await;
    assert_eq!(response.topics[0].error_code, 3);
}

#[tokio::test]
async fn delete_topics_by_name_and_id() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let created = create(&mut conn, 7, vec![new_topic("a", 1), new_topic("b", 1)]).await;
    let b_id = created.topics[1].topic_id;
    let v1 = conn
        .call::<_, DeleteTopicsResponse>(
            ApiKey::DeleteTopics,
            1,
            &DeleteTopicsRequest::default().with_topic_names(vec![name("a"), name("missing")]),
        )
        .await;
    assert_eq!(v1.responses[0].error_code, 0);
    assert_eq!(v1.responses[1].error_code, 3);
    let v6 = conn
        .call::<_, DeleteTopicsResponse>(
            ApiKey::DeleteTopics,
            6,
            &DeleteTopicsRequest::default().with_topics(vec![
                DeleteTopicState::default().with_topic_id(b_id),
                DeleteTopicState::default().with_topic_id(Uuid::new_v4()),
                DeleteTopicState::default()
                    .with_name(Some(name("x")))
                    .with_topic_id(b_id),
            ]),
        )
        .await;
    assert_eq!(v6.responses[0].error_code, 0);
    assert_eq!(v6.responses[0].name.as_ref().unwrap().as_str(), "b");
    assert_eq!(v6.responses[1].error_code, 100);
    assert_eq!(v6.responses[2].error_code, 42);
    let left = metadata(&mut conn, 12, None, false).await;
    assert!(left.topics.is_empty());
}

#[tokio::test]
async fn delete_disabled_is_refused() {
    let test = start_broker(|c| c.delete_topic_enable = false).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create(&mut conn, 7, vec![new_topic("kept", 1)]).await;
    let response = conn
        .call::<_, DeleteTopicsResponse>(
            ApiKey::DeleteTopics,
            4,
            &DeleteTopicsRequest::default().with_topic_names(vec![name("kept")]),
        )
        .await;
    assert_eq!(
        response.responses[0].error_code, 73,
        "TOPIC_DELETION_DISABLED"
    );
}

#[tokio::test]
async fn create_partitions_only_increases() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create(&mut conn, 7, vec![new_topic("grow", 2)]).await;
    let call = |count: i32, assignments: Option<Vec<CreatePartitionsAssignment>>| {
        CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name("grow"))
                .with_count(count)
                .with_assignments(assignments)])
            .with_timeout_ms(5000)
    };
    let smaller: CreatePartitionsResponse =
        conn.call(ApiKey::CreatePartitions, 3, &call(1, None)).await;
    assert_eq!(smaller.results[0].error_code, 37);
    assert!(smaller.results[0].error_message.is_some());
    let bad_assignment: CreatePartitionsResponse = conn
        .call(
            ApiKey::CreatePartitions,
            0,
            &call(
                3,
                Some(vec![
                    CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(9)])
                ]),
            ),
        )
        .await;
    assert_eq!(bad_assignment.results[0].error_code, 39);
    let grown: CreatePartitionsResponse =
        conn.call(ApiKey::CreatePartitions, 2, &call(5, None)).await;
    assert_eq!(grown.results[0].error_code, 0);
    let response = metadata(&mut conn, 12, Some(&["grow"]), false).await;
    assert_eq!(response.topics[0].partitions.len(), 5);
}

#[tokio::test]
async fn describe_cluster() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let response: DescribeClusterResponse = conn
        .call(
            ApiKey::DescribeCluster,
            2,
            &DescribeClusterRequest::default()
                .with_endpoint_type(1)
                .with_include_cluster_authorized_operations(true),
        )
        .await;
    assert_eq!(response.error_code, 0);
    assert_eq!(response.cluster_id.len(), 22);
    assert_eq!(response.controller_id.0, 1);
    assert_eq!(response.brokers.len(), 1);
    assert_eq!(response.brokers[0].port, i32::from(test.addr.port()));
    assert_eq!(response.cluster_authorized_operations, 8096);
    let controller: DescribeClusterResponse = conn
        .call(
            ApiKey::DescribeCluster,
            1,
            &DescribeClusterRequest::default().with_endpoint_type(2),
        )
        .await;
    assert_eq!(controller.error_code, 115, "UNSUPPORTED_ENDPOINT_TYPE");
    let v0: DescribeClusterResponse = conn
        .call(
            ApiKey::DescribeCluster,
            0,
            &DescribeClusterRequest::default(),
        )
        .await;
    assert_eq!(v0.brokers.len(), 1);
    assert_eq!(v0.cluster_authorized_operations, i32::MIN);
}

#[tokio::test]
async fn describe_topic_partitions_pages_with_a_cursor() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create(&mut conn, 7, vec![new_topic("p1", 3), new_topic("p2", 2)]).await;
    let request = |limit: i32, cursor: Option<Cursor>| {
        DescribeTopicPartitionsRequest::default()
            .with_response_partition_limit(limit)
            .with_cursor(cursor)
    };
    let page: DescribeTopicPartitionsResponse = conn
        .call(ApiKey::DescribeTopicPartitions, 0, &request(2, None))
        .await;
    assert_eq!(page.topics.len(), 1);
    assert_eq!(page.topics[0].partitions.len(), 2);
    let cursor = page.next_cursor.expect("more to come");
    assert_eq!(
        (cursor.topic_name.as_str(), cursor.partition_index),
        ("p1", 2)
    );
    let page: DescribeTopicPartitionsResponse = conn
        .call(
            ApiKey::DescribeTopicPartitions,
            0,
            &request(2, Some(echo(&cursor))),
        )
        .await;
    let seen: Vec<(String, Vec<i32>)> = page
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().unwrap().as_str().to_string(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("p1".to_string(), vec![2]), ("p2".to_string(), vec![0])]
    );
    let cursor = page.next_cursor.expect("p2-1 left");
    let page: DescribeTopicPartitionsResponse = conn
        .call(
            ApiKey::DescribeTopicPartitions,
            0,
            &request(100, Some(echo(&cursor))),
        )
        .await;
    assert_eq!(page.topics[0].partitions.len(), 1);
    assert!(page.next_cursor.is_none());

    let named: DescribeTopicPartitionsResponse = conn
        .call(
            ApiKey::DescribeTopicPartitions,
            0,
            &DescribeTopicPartitionsRequest::default()
                .with_topics(vec![
                    TopicRequest::default().with_name(name("p2")),
                    TopicRequest::default().with_name(name("zz")),
                ])
                .with_response_partition_limit(2000),
        )
        .await;
    assert_eq!(named.topics[0].partitions.len(), 2);
    assert_eq!(named.topics[1].error_code, 3);
}

/// The response's cursor sent back as the next request's cursor.
fn echo(cursor: &describe_topic_partitions_response::Cursor) -> Cursor {
    Cursor::default()
        .with_topic_name(cursor.topic_name.clone())
        .with_partition_index(cursor.partition_index)
}

#[tokio::test]
async fn topics_ids_and_configs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig::for_tests(dir.path());
    let broker = Broker::start(config.clone()).await.unwrap();
    let addr = plaintext(&broker);
    let mut conn = AdminConnection::connect(addr).await;
    let topic = new_topic("durable", 2).with_configs(vec![CreatableTopicConfig::default()
        .with_name(StrBytes::from_static_str("cleanup.policy"))
        .with_value(Some(StrBytes::from_static_str("compact")))]);
    let created = create(&mut conn, 7, vec![topic]).await;
    let topic_id = created.topics[0].topic_id;
    let cluster_id = metadata(&mut conn, 12, None, false).await.cluster_id;
    drop(conn);
    broker.shutdown().await.unwrap();

    let broker = Broker::start(config).await.unwrap();
    let mut conn = AdminConnection::connect(plaintext(&broker)).await;
    let response = metadata(&mut conn, 12, Some(&["durable"]), false).await;
    assert_eq!(response.cluster_id, cluster_id);
    assert_eq!(response.topics[0].topic_id, topic_id);
    assert_eq!(response.topics[0].partitions.len(), 2);
    let image = broker.context().controller.image();
    assert_eq!(
        image.topic_configs("durable").unwrap()["cleanup.policy"],
        "compact"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_log_the_metadata_does_not_place_here_is_deleted_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig::for_tests(dir.path());
    let broker = Broker::start(config.clone()).await.unwrap();
    let mut conn = AdminConnection::connect(plaintext(&broker)).await;
    create(&mut conn, 7, vec![new_topic("kept", 1)]).await;
    drop(conn);
    // As a broker that died between committing a topic's deletion and removing its files
    // would leave it: a partition log on disk that no topic of the metadata owns.
    let logs = broker.context().replica_manager.log_manager().clone();
    logs.get_or_create(&TopicPartition::new("ghost", 0), LogConfig::default())
        .unwrap();
    drop(logs);
    broker.shutdown().await.unwrap();
    let data_dir = config.log_dirs[0].clone();
    assert!(data_dir.join("ghost-0").exists());

    let broker = Broker::start(config).await.unwrap();
    assert!(!data_dir.join("ghost-0").exists(), "the stray log was kept");
    assert!(data_dir.join("kept-0").exists());
    broker.shutdown().await.unwrap();
}

fn plaintext(broker: &Broker) -> std::net::SocketAddr {
    broker
        .listener_addrs()
        .into_iter()
        .find(|(n, _)| n == "PLAINTEXT")
        .map(|(_, a)| a)
        .unwrap()
}

#[tokio::test]
async fn api_versions_advertises_the_admin_apis() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let response: ApiVersionsResponse = conn
        .call(
            ApiKey::ApiVersions,
            3,
            &ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("admin-test"))
                .with_client_software_version(StrBytes::from_static_str("1.0")),
        )
        .await;
    let range = |key: ApiKey| {
        response
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    assert_eq!(range(ApiKey::Metadata), Some((0, 13)));
    assert_eq!(range(ApiKey::CreateTopics), Some((2, 7)));
    assert_eq!(range(ApiKey::DeleteTopics), Some((1, 6)));
    assert_eq!(range(ApiKey::CreatePartitions), Some((0, 3)));
    assert_eq!(range(ApiKey::DescribeConfigs), Some((1, 4)));
    assert_eq!(range(ApiKey::AlterConfigs), Some((0, 2)));
    assert_eq!(range(ApiKey::IncrementalAlterConfigs), Some((0, 1)));
    assert_eq!(range(ApiKey::DescribeCluster), Some((0, 2)));
    assert_eq!(range(ApiKey::DescribeTopicPartitions), Some((0, 0)));
}
