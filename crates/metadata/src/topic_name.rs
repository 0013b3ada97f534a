//! Kafka's topic naming rules (`org.apache.kafka.common.internals.Topic`): legal characters,
//! length, the `.`/`_` collision, and which topics are internal.

use crate::error::{MetadataError, Result};

/// The longest legal topic name: 255 minus room for a partition suffix and a file extension.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// The group coordinator's offsets topic.
pub const GROUP_METADATA_TOPIC: &str = "__consumer_offsets";
/// The transaction coordinator's state topic.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";
/// The share coordinator's state topic (Kafka 4.0 lists it as internal too).
pub const SHARE_GROUP_STATE_TOPIC: &str = "__share_group_state";

/// Checks a topic name against Kafka's rules; the messages are Kafka's.
pub fn validate_topic_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(MetadataError::InvalidTopic(
            "Topic name is illegal, it can't be empty".into(),
        ));
    }
    if name == "." || name == ".." {
        return Err(MetadataError::InvalidTopic(
            "Topic name cannot be \".\" or \"..\"".into(),
        ));
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(MetadataError::InvalidTopic(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, topic name: {name}"
        )));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err(MetadataError::InvalidTopic(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Whether the name holds a character that collides in metric names ('.' and '_' both become
/// '_'), the case Kafka warns about at creation.
pub fn has_collision_chars(name: &str) -> bool {
    name.contains('.') || name.contains('_')
}

/// The name with '.' replaced by '_': two topics with the same unified name would share metric
/// names, so Kafka refuses the second one.
pub fn unify_collision_chars(name: &str) -> String {
    name.replace('.', "_")
}

/// Whether the topic is one of Kafka's internal topics (Metadata `is_internal`).
pub fn is_internal_topic(name: &str) -> bool {
    name == GROUP_METADATA_TOPIC
        || name == TRANSACTION_STATE_TOPIC
        || name == SHARE_GROUP_STATE_TOPIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_names() {
        for name in [
            "a",
            "orders",
            "my-topic_1.v2",
            "__consumer_offsets",
            &"x".repeat(249),
        ] {
            assert!(validate_topic_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn illegal_names_are_invalid_topic() {
        for name in [
            "",
            ".",
            "..",
            "a b",
            "topic/1",
            "ümlaut",
            "a:b",
            &"x".repeat(250),
        ] {
            let err = validate_topic_name(name).unwrap_err();
            assert_eq!(err.error_code().code(), 17, "{name}");
        }
    }

    #[test]
    fn collisions_and_internal_topics() {
        assert!(has_collision_chars("a.b"));
        assert!(!has_collision_chars("a-b"));
        assert_eq!(unify_collision_chars("a.b_c"), "a_b_c");
        assert!(is_internal_topic("__consumer_offsets"));
        assert!(is_internal_topic("__transaction_state"));
        assert!(!is_internal_topic("__cluster_metadata_x"));
    }
}
