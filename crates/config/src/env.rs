//! Environment variables -> configuration keys, the way the Kafka container images do it.
//!
//! - `KAFKA_CFG_<NAME>` (Bitnami) and `KAFKA_<NAME>` (Apache `apache/kafka`, Confluent
//!   `cp-kafka`) both set a key. `<NAME>` becomes the key by Confluent's rule, which the Apache
//!   image also uses: lower-case it, then `___` -> `-`, `__` -> `_`, `_` -> `.`
//!   (`KAFKA_LOG_RETENTION_HOURS` -> `log.retention.hours`,
//!   `KAFKA_VALID___PROPERTY__ALL_CASES` -> `valid-property_all.cases`). Bitnami's own rule only
//!   knows `_` -> `.`; the two agree on every real Kafka key.
//! - When both spellings name the same key, `KAFKA_CFG_*` wins (it is the more specific one).
//! - The images use some `KAFKA_*` variables for the JVM and the image itself, never as broker
//!   keys (`KAFKA_HEAP_OPTS`, `KAFKA_OPTS`, `KAFKA_LOG4J_OPTS`, ... see [`IMAGE_VARIABLES`]);
//!   those are skipped here too.
//! - The cluster id, which Kafka keeps only in `meta.properties`, comes from `CLUSTER_ID`
//!   (Apache and Confluent images) or `KAFKA_KRAFT_CLUSTER_ID` (Bitnami) and sets `cluster.id`.

/// `KAFKA_*` variables the images reserve for themselves (JVM options, logging, paths, image
/// features). Union of the Apache image's `ExcludeServerPropsEnv`, Confluent's
/// `excluded_props`, and the Bitnami image's settings.
pub const IMAGE_VARIABLES: &[&str] = &[
    // Apache kafka-docker wrapper and Confluent cp-kafka templates.
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPTS",
    "KAFKA_HEAP_OPT",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JMX_PORT",
    "KAFKA_JMX_HOSTNAME",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_ZOOKEEPER_CLIENT_CNXN_SOCKET",
    // kafka-run-class.sh (`KAFKA_DEBUG` turns on the JVM debugger) and community images.
    "KAFKA_HOME",
    "KAFKA_DEBUG",
    // Bitnami image settings (not broker keys; its broker keys use KAFKA_CFG_).
    "KAFKA_ENABLE_KRAFT",
    "KAFKA_KRAFT_CLUSTER_ID",
    "KAFKA_SKIP_KRAFT_STORAGE_INIT",
    "KAFKA_CLIENT_USERS",
    "KAFKA_CLIENT_PASSWORDS",
    "KAFKA_CLIENT_LISTENER_NAME",
    "KAFKA_INTER_BROKER_USER",
    "KAFKA_INTER_BROKER_PASSWORD",
    "KAFKA_CONTROLLER_USER",
    "KAFKA_CONTROLLER_PASSWORD",
    "KAFKA_CERTIFICATE_PASSWORD",
    "KAFKA_TLS_TYPE",
    "KAFKA_TLS_CLIENT_AUTH",
    "KAFKA_TLS_TRUSTSTORE_FILE",
    "KAFKA_ZOOKEEPER_PROTOCOL",
    "KAFKA_ZOOKEEPER_USER",
    "KAFKA_ZOOKEEPER_PASSWORD",
    "KAFKA_ZOOKEEPER_TLS_TYPE",
    "KAFKA_ZOOKEEPER_TLS_VERIFY_HOSTNAME",
    "KAFKA_ZOOKEEPER_TLS_KEYSTORE_PASSWORD",
    "KAFKA_ZOOKEEPER_TLS_TRUSTSTORE_PASSWORD",
    "KAFKA_ZOOKEEPER_TLS_TRUSTSTORE_FILE",
    "KAFKA_BASE_DIR",
    "KAFKA_VOLUME_DIR",
    "KAFKA_DATA_DIR",
    "KAFKA_CONF_DIR",
    "KAFKA_CONF_FILE",
    "KAFKA_CERTS_DIR",
    "KAFKA_MOUNTED_CONF_DIR",
    "KAFKA_INITSCRIPTS_DIR",
    "KAFKA_LOG_DIR",
    "KAFKA_DAEMON_USER",
    "KAFKA_DAEMON_GROUP",
];

/// What one environment variable means for the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvVar {
    /// Not ours (no `KAFKA_` prefix, or an image variable).
    Ignored,
    /// Sets `key`; `specific` is true for `KAFKA_CFG_*`, which beats `KAFKA_*`.
    Key { key: String, specific: bool },
    /// A `KAFKA_*` name that no rule turns into a key (four or more underscores in a row,
    /// or nothing after the prefix).
    Malformed,
}

impl EnvVar {
    /// Classifies a variable by its name.
    pub fn classify(name: &str) -> EnvVar {
        if name == "CLUSTER_ID" || name == "KAFKA_KRAFT_CLUSTER_ID" {
            return EnvVar::Key {
                key: "cluster.id".to_string(),
                specific: name == "KAFKA_KRAFT_CLUSTER_ID",
            };
        }
        let (rest, specific) = if let Some(rest) = name.strip_prefix("KAFKA_CFG_") {
            (rest, true)
        } else if let Some(rest) = name.strip_prefix("KAFKA_") {
            if IMAGE_VARIABLES.contains(&name) {
                return EnvVar::Ignored;
            }
            (rest, false)
        } else {
            return EnvVar::Ignored;
        };
        match env_name_to_key(rest) {
            Some(key) => EnvVar::Key { key, specific },
            None => EnvVar::Malformed,
        }
    }
}

/// `LOG_RETENTION_HOURS` -> `log.retention.hours` (see the module docs for the rule).
fn env_name_to_key(name: &str) -> Option<String> {
    if name.is_empty() || name.starts_with('_') || name.ends_with('_') {
        return None;
    }
    let mut key = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            key.extend(c.to_lowercase());
            continue;
        }
        let mut run = 1;
        while chars.peek() == Some(&'_') {
            chars.next();
            run += 1;
        }
        key.push(match run {
            1 => '.',
            2 => '_',
            3 => '-',
            _ => return None,
        });
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Option<String> {
        match EnvVar::classify(name) {
            EnvVar::Key { key, .. } => Some(key),
            _ => None,
        }
    }

    #[test]
    fn confluent_rule() {
        assert_eq!(
            key("KAFKA_LOG_RETENTION_HOURS").as_deref(),
            Some("log.retention.hours")
        );
        assert_eq!(key("KAFKA_NODE_ID").as_deref(), Some("node.id"));
        assert_eq!(
            key("KAFKA_VALID___PROPERTY__ALL_CASES").as_deref(),
            Some("valid-property_all.cases")
        );
        assert_eq!(
            key("KAFKA_LISTENER_NAME_INTERNAL_SSL_KEYSTORE__TYPE").as_deref(),
            Some("listener.name.internal.ssl.keystore_type")
        );
    }

    #[test]
    fn bitnami_prefix_is_more_specific() {
        assert_eq!(
            EnvVar::classify("KAFKA_CFG_AUTO_CREATE_TOPICS_ENABLE"),
            EnvVar::Key {
                key: "auto.create.topics.enable".into(),
                specific: true
            }
        );
        assert_eq!(
            EnvVar::classify("KAFKA_AUTO_CREATE_TOPICS_ENABLE"),
            EnvVar::Key {
                key: "auto.create.topics.enable".into(),
                specific: false
            }
        );
    }

    #[test]
    fn image_variables_and_foreign_variables_are_ignored() {
        for name in [
            "KAFKA_HOME",
            "KAFKA_VERSION",
            "KAFKA_OPTS",
            "KAFKA_HEAP_OPTS",
            "KAFKA_JVM_PERFORMANCE_OPTS",
            "KAFKA_LOG4J_OPTS",
            "KAFKA_JMX_OPTS",
            "KAFKA_DEBUG",
            "KAFKA_ENABLE_KRAFT",
            "PATH",
            "HOME",
            "KAFKAESQUE",
        ] {
            assert_eq!(EnvVar::classify(name), EnvVar::Ignored, "{name}");
        }
    }

    #[test]
    fn cluster_id_variables() {
        assert_eq!(key("CLUSTER_ID").as_deref(), Some("cluster.id"));
        assert_eq!(key("KAFKA_KRAFT_CLUSTER_ID").as_deref(), Some("cluster.id"));
    }

    #[test]
    fn malformed_names() {
        assert_eq!(EnvVar::classify("KAFKA_"), EnvVar::Malformed);
        assert_eq!(EnvVar::classify("KAFKA_CFG_"), EnvVar::Malformed);
        assert_eq!(EnvVar::classify("KAFKA_A____B"), EnvVar::Malformed);
        assert_eq!(EnvVar::classify("KAFKA_TRAILING_"), EnvVar::Malformed);
    }
}
