use std::io::Write;
use std::path::PathBuf;

use super::*;
use crate::{ProcessRole, TimestampType};

fn o(key: &str, value: &str) -> (String, String) {
    (key.to_string(), value.to_string())
}

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter().map(|(k, v)| o(k, v)).collect()
}

fn load(vars: &[(&str, &str)], overrides: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
    let overrides: Vec<_> = overrides.iter().map(|(k, v)| o(k, v)).collect();
    ServerConfig::load(None, env(vars), &overrides)
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

fn invalid_key(err: ConfigError) -> (String, String, String, String) {
    match err {
        ConfigError::InvalidValue {
            key,
            value,
            reason,
            origin,
        } => (key, value, reason, origin),
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

#[test]
fn nothing_set_gives_the_embedded_defaults() {
    let c = load(&[("PATH", "/usr/bin"), ("HOME", "/root")], &[]).expect("defaults are valid");
    assert_eq!(c, ServerConfig::default());
    assert_eq!(
        c.listeners
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["PLAINTEXT://127.0.0.1:9092", "CONTROLLER://127.0.0.1:9093"]
    );
    assert_eq!(c.log_retention_ms, 604_800_000);
    assert_eq!(c.data_dir(), std::path::Path::new("./fjord-data"));
}

#[test]
fn layers_apply_in_order_file_env_override() {
    let f = file("num.partitions=2\ndefault.replication.factor=1\nmessage.max.bytes=1000\n");
    let c = ServerConfig::load(
        Some(f.path()),
        env(&[
            ("KAFKA_NUM_PARTITIONS", "3"),
            ("KAFKA_MESSAGE_MAX_BYTES", "2000"),
        ]),
        &[o("num.partitions", "4")],
    )
    .expect("valid");
    assert_eq!(c.num_partitions, 4);
    assert_eq!(c.message_max_bytes, 2000);
    assert_eq!(c.origins["num.partitions"].source, ConfigSource::Override);
    assert_eq!(c.origins["message.max.bytes"].source, ConfigSource::Env);
    assert_eq!(
        c.origins["default.replication.factor"].source,
        ConfigSource::File
    );
}

#[test]
fn bitnami_prefix_beats_plain_prefix_whatever_the_order() {
    for vars in [
        [
            ("KAFKA_NUM_PARTITIONS", "3"),
            ("KAFKA_CFG_NUM_PARTITIONS", "5"),
        ],
        [
            ("KAFKA_CFG_NUM_PARTITIONS", "5"),
            ("KAFKA_NUM_PARTITIONS", "3"),
        ],
    ] {
        assert_eq!(load(&vars, &[]).expect("valid").num_partitions, 5);
    }
}

#[test]
fn image_variables_are_not_configuration() {
    let c = load(
        &[
            ("KAFKA_HEAP_OPTS", "-Xmx1G"),
            ("KAFKA_OPTS", "-javaagent:x.jar"),
            ("KAFKA_HOME", "/opt/kafka"),
            ("KAFKA_VERSION", "4.1.0"),
            ("KAFKA_LOG_DIR", "/opt/bitnami/kafka/logs"),
        ],
        &[],
    )
    .expect("valid");
    assert!(c.origins.is_empty(), "{:?}", c.origins);
    assert_eq!(c.data_dir(), std::path::Path::new("./fjord-data"));
}

#[test]
fn retention_precedence_is_by_key_not_by_layer() {
    let f = file("log.retention.ms=1000\n");
    let c = ServerConfig::load(
        Some(f.path()),
        env(&[("KAFKA_LOG_RETENTION_HOURS", "1")]),
        &[o("log.retention.minutes", "2")],
    )
    .expect("valid");
    assert_eq!(c.log_retention_ms, 1000);

    let c = load(
        &[("KAFKA_LOG_RETENTION_HOURS", "1")],
        &[o2("log.retention.minutes", "2")],
    )
    .expect("valid");
    assert_eq!(c.log_retention_ms, 120_000);

    let c = load(&[("KAFKA_LOG_RETENTION_HOURS", "1")], &[]).expect("valid");
    assert_eq!(c.log_retention_ms, 3_600_000);
}

fn o2<'a>(k: &'a str, v: &'a str) -> (&'a str, &'a str) {
    (k, v)
}

#[test]
fn negative_retention_means_unlimited_as_in_kafka() {
    let c = load(&[], &[("log.retention.hours", "-5")]).expect("Kafka accepts negative hours");
    assert_eq!(c.log_retention_ms, -1);
    let c = load(&[], &[("log.retention.ms", "-1")]).expect("valid");
    assert_eq!(c.log_retention_ms, -1);
}

#[test]
fn zero_retention_ms_is_refused() {
    let (key, value, reason, _) =
        invalid_key(load(&[], &[("log.retention.ms", "0")]).expect_err("0 is invalid"));
    assert_eq!((key.as_str(), value.as_str()), ("log.retention.ms", "0"));
    assert!(reason.contains("-1"), "{reason}");
}

#[test]
fn roll_ms_beats_roll_hours() {
    let c = load(&[], &[("log.roll.hours", "2"), ("log.roll.ms", "5000")]).expect("valid");
    assert_eq!(c.log_roll_ms, 5000);
    let c = load(&[], &[("log.roll.hours", "2")]).expect("valid");
    assert_eq!(c.log_roll_ms, 7_200_000);
    assert!(load(&[], &[("log.roll.hours", "0")]).is_err());
}

#[test]
fn bad_values_name_key_value_and_origin() {
    let (key, value, reason, origin) =
        invalid_key(load(&[], &[("num.partitions", "abc")]).expect_err("abc"));
    assert_eq!(key, "num.partitions");
    assert_eq!(value, "abc");
    assert!(reason.contains("whole number"), "{reason}");
    assert_eq!(origin, "--override");

    let (_, _, reason, origin) =
        invalid_key(load(&[("KAFKA_NUM_PARTITIONS", "0")], &[]).expect_err("0 partitions"));
    assert!(reason.contains("at least 1"), "{reason}");
    assert_eq!(origin, "environment variable KAFKA_NUM_PARTITIONS");

    let f = file("# comment\n\nlog.segment.bytes = 100\n");
    let err = ServerConfig::load(Some(f.path()), env(&[]), &[]).expect_err("segment too small");
    let message = err.to_string();
    let (key, _, reason, origin) = invalid_key(err);
    assert_eq!(key, "log.segment.bytes");
    assert!(reason.contains("1048576"), "{reason}");
    assert_eq!(origin, format!("{}:3", f.path().display()));
    assert!(
        message.contains("log.segment.bytes") && message.contains("100"),
        "{message}"
    );
}

#[test]
fn typed_values_are_checked() {
    for (key, value) in [
        ("auto.create.topics.enable", "yes"),
        ("log.message.timestamp.type", "createtime"),
        ("log.cleanup.policy", "delete,shred"),
        ("listeners", "PLAINTEXT://localhost"),
        ("listeners", "localhost:9092"),
        ("process.roles", "broker,zookeeper"),
        ("console.listener", "nowhere"),
        ("offsets.topic.replication.factor", "40000"),
        ("node.id", "-1"),
        ("cluster.id", "not a uuid"),
        ("controller.quorum.voters", "1:localhost:9093"),
        ("listener.security.protocol.map", "PLAINTEXT:TLS"),
    ] {
        let err = load(&[], &[(key, value)]).expect_err(key);
        assert_eq!(invalid_key(err).0, key);
    }
}

#[test]
fn typed_values_parse() {
    let c = load(
        &[],
        &[
            ("auto.create.topics.enable", "FALSE"),
            ("log.message.timestamp.type", "LogAppendTime"),
            ("log.cleanup.policy", "compact, delete"),
            ("process.roles", "controller,broker"),
            ("console.listener", "0.0.0.0:18080"),
            ("cluster.id", "MkU3OEVBNTcwNTJENDM2Qg"),
            ("log.flush.interval.ms", "1000"),
        ],
    )
    .expect("valid");
    assert!(!c.auto_create_topics_enable);
    assert_eq!(c.log_message_timestamp_type, TimestampType::LogAppendTime);
    assert_eq!(c.log_cleanup_policy, ["compact", "delete"]);
    assert_eq!(
        c.process_roles,
        [ProcessRole::Broker, ProcessRole::Controller]
    );
    assert_eq!(c.console_listener.port(), 18080);
    assert_eq!(c.cluster_id.as_deref(), Some("MkU3OEVBNTcwNTJENDM2Qg"));
    assert_eq!(c.log_flush_interval_ms, Some(1000));
}

#[test]
fn unknown_keys_are_ignored() {
    let c = load(
        &[("KAFKA_SOME_FUTURE_KEY", "1")],
        &[
            ("zookeeper.connect", "localhost:2181"),
            ("num.io.threads", "8"),
        ],
    )
    .expect("unknown keys do not stop start-up");
    assert!(c.origins.is_empty());
}

#[test]
fn broker_id_is_an_alias_of_node_id() {
    let c = load(&[], &[("broker.id", "3")]).expect("valid");
    assert_eq!(c.node_id, 3);
    assert_eq!(c.controller_quorum_voters, "3@127.0.0.1:9093");
    let err = load(&[], &[("broker.id", "3"), ("node.id", "4")]).expect_err("mismatch");
    assert!(matches!(err, ConfigError::Inconsistent { .. }), "{err}");
}

#[test]
fn voters_default_follows_node_id_and_controller_listener() {
    let c = load(
        &[],
        &[
            ("node.id", "7"),
            ("listeners", "PLAINTEXT://:19092,CONTROLLER://:19093"),
        ],
    )
    .expect("valid");
    assert_eq!(c.controller_quorum_voters, "7@127.0.0.1:19093");
    assert_eq!(c.voter_ids(), [7]);
}

#[test]
fn explicit_voters_must_contain_a_controller_node() {
    let err = load(
        &[],
        &[
            ("node.id", "2"),
            ("controller.quorum.voters", "1@localhost:9093"),
        ],
    )
    .expect_err("not a voter");
    assert!(err.to_string().contains("node.id=2"), "{err}");
}

#[test]
fn listener_consistency() {
    let cases: &[&[(&str, &str)]] = &[
        &[("listeners", "PLAINTEXT://:9092")],
        &[(
            "listeners",
            "PLAINTEXT://:9092,PLAINTEXT://:9094,CONTROLLER://:9093",
        )],
        &[("listeners", "PLAINTEXT://:9092,CONTROLLER://:9092")],
        &[("listeners", "CONTROLLER://:9093")],
        &[(
            "listeners",
            "PLAINTEXT://:9092,INTERNAL://:9094,CONTROLLER://:9093",
        )],
        &[("listeners", "SSL://:9092,CONTROLLER://:9093")],
        &[("advertised.listeners", "EXTERNAL://example.com:9092")],
        &[("advertised.listeners", "PLAINTEXT://0.0.0.0:9092")],
        &[("inter.broker.listener.name", "INTERNAL")],
        &[("process.roles", "broker")],
        &[("process.roles", "controller")],
    ];
    for overrides in cases {
        let err = load(&[], overrides).expect_err(&format!("{overrides:?}"));
        assert!(
            matches!(err, ConfigError::Inconsistent { .. }),
            "{overrides:?}: {err}"
        );
        assert_eq!(err.error_code(), crate::error::INVALID_CONFIG);
    }
}

#[test]
fn kafka_4_stock_server_properties_is_accepted() {
    // The keys and values of Kafka 4.x's config/server.properties (KRaft combined mode).
    let f = file(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.bootstrap.servers=localhost:9093\n\
         listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n\
         inter.broker.listener.name=PLAINTEXT\n\
         advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093\n\
         controller.listener.names=CONTROLLER\n\
         listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\n\
         num.network.threads=3\n\
         num.io.threads=8\n\
         socket.send.buffer.bytes=102400\n\
         socket.receive.buffer.bytes=102400\n\
         socket.request.max.bytes=104857600\n\
         log.dirs=/tmp/kraft-combined-logs\n\
         num.partitions=1\n\
         num.recovery.threads.per.data.dir=1\n\
         offsets.topic.replication.factor=1\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         log.retention.hours=168\n\
         log.segment.bytes=1073741824\n\
         log.retention.check.interval.ms=300000\n",
    );
    let c = ServerConfig::load(Some(f.path()), env(&[]), &[]).expect("Kafka's own file");
    assert_eq!(c.listeners[0], Listener::new("PLAINTEXT", "", 9092));
    assert_eq!(c.listeners[0].bind_address(), "0.0.0.0:9092");
    assert_eq!(c.log_dirs, [PathBuf::from("/tmp/kraft-combined-logs")]);
    assert_eq!(c.controller_quorum_voters, "1@127.0.0.1:9093");
    assert_eq!(
        c.effective_advertised_listeners(),
        [Listener::new("PLAINTEXT", "localhost", 9092)]
    );
    assert_eq!(c.controller_quorum_bootstrap_servers, ["localhost:9093"]);
}

#[test]
fn describe_reports_every_key_with_value_and_source() {
    let c = load(
        &[("KAFKA_NUM_PARTITIONS", "3")],
        &[("log.retention.hours", "24")],
    )
    .expect("valid");
    let entries = c.describe();
    assert_eq!(entries.len(), KEYS.len());
    let get = |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(get("num.partitions").value.as_deref(), Some("3"));
    assert_eq!(get("num.partitions").source, ConfigSource::Env);
    assert_eq!(get("log.retention.hours").value.as_deref(), Some("24"));
    assert_eq!(get("log.retention.hours").source, ConfigSource::Override);
    assert_eq!(get("log.retention.ms").value, None);
    assert_eq!(get("log.retention.ms").source, ConfigSource::Default);
    assert_eq!(get("message.max.bytes").value.as_deref(), Some("1048588"));
    assert_eq!(
        get("listeners").value.as_deref(),
        Some("PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093")
    );
    assert!(entries.iter().all(|e| e.read_only && !e.sensitive));
}

#[test]
fn describe_round_trips_through_load() {
    // Feeding every non-null described value back as overrides gives the same configuration.
    let c = load(
        &[],
        &[("num.partitions", "6"), ("log.retention.ms", "5000")],
    )
    .expect("valid");
    let overrides: Vec<(String, String)> = c
        .describe()
        .into_iter()
        .filter_map(|e| e.value.map(|v| (e.name, v)))
        .collect();
    let again = ServerConfig::load(None, Vec::new(), &overrides).expect("valid");
    assert_eq!(again.num_partitions, 6);
    assert_eq!(again.log_retention_ms, 5000);
    assert_eq!(again.listeners, c.listeners);
    assert_eq!(
        again.listener_security_protocol_map,
        c.listener_security_protocol_map
    );
}

#[test]
fn override_syntax() {
    let ov: Override = "listeners=PLAINTEXT://:9092".parse().expect("valid");
    assert_eq!(ov.key, "listeners");
    assert_eq!(ov.value, "PLAINTEXT://:9092");
    let ov: Override = "a.b=c=d".parse().expect("valid");
    assert_eq!((ov.key.as_str(), ov.value.as_str()), ("a.b", "c=d"));
    assert!("novalue".parse::<Override>().is_err());
    assert!("=x".parse::<Override>().is_err());
}

#[test]
fn file_errors() {
    let missing = std::path::Path::new("/nonexistent/fjord/server.properties");
    let err = ServerConfig::load(Some(missing), env(&[]), &[]).expect_err("missing file");
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err
        .to_string()
        .contains("/nonexistent/fjord/server.properties"));

    let f = file("a=1\nb=\\uZZZZ\n");
    let err = ServerConfig::load(Some(f.path()), env(&[]), &[]).expect_err("bad escape");
    assert!(matches!(err, ConfigError::Parse { line: 2, .. }), "{err}");
}

#[test]
fn for_tests_is_valid_and_ephemeral() {
    let dir = PathBuf::from("/tmp/x");
    let c = ServerConfig::for_tests(&dir);
    assert!(c.listeners.iter().all(|l| l.port == 0));
    assert!(!c.console_enabled);
    assert_eq!(c.data_dir(), dir.as_path());
    c.validate().expect("for_tests config passes validation");
}

#[test]
fn shipped_example_file_states_the_defaults() {
    // config/server.properties promises that, as shipped, it changes nothing.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/server.properties");
    let mut c = ServerConfig::load(Some(&path), env(&[]), &[]).expect("shipped file is valid");
    assert!(
        c.origins.len() > 20,
        "the example sets most keys explicitly"
    );
    c.origins.clear();
    assert_eq!(c, ServerConfig::default());
}
