//! `TopicPartition`: the name of one partition and of its directory (`<topic>-<partition>`).

use std::fmt;
use std::str::FromStr;

use crate::error::LogError;

/// A topic name and partition index. Its `Display` form is the partition's directory name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

impl FromStr for TopicPartition {
    type Err = LogError;

    /// Parses a directory name. Topic names may contain '-', so the split is at the LAST one.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || LogError::InvalidTopicPartition(s.to_string());
        let (topic, partition) = s.rsplit_once('-').ok_or_else(invalid)?;
        if topic.is_empty()
            || partition.is_empty()
            || !partition.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let partition: i32 = partition.parse().map_err(|_| invalid())?;
        Ok(TopicPartition::new(topic, partition))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_dashes_in_topic() {
        let tp = TopicPartition::new("my-topic-v2", 13);
        assert_eq!(tp.to_string(), "my-topic-v2-13");
        assert_eq!("my-topic-v2-13".parse::<TopicPartition>().unwrap(), tp);
        assert!("nodash".parse::<TopicPartition>().is_err());
        assert!("topic-".parse::<TopicPartition>().is_err());
        // "topic-" is a legal topic name.
        assert_eq!(
            "topic--1".parse::<TopicPartition>().unwrap(),
            TopicPartition::new("topic-", 1)
        );
        assert!("-1".parse::<TopicPartition>().is_err());
        assert!("t-99999999999".parse::<TopicPartition>().is_err());
    }
}
