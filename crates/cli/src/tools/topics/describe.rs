//! The output of `kafka-topics --describe`, in Kafka's layout: per topic one line
//!
//! ```text
//! Topic: orders\tTopicId: <base64 uuid>\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=1000
//! ```
//!
//! then one line per partition
//!
//! ```text
//! \tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: N/A\tLastKnownElr: N/A
//! ```
//!
//! `Configs:` lists only the settings that are not defaults, `name=value` joined by `,`.
//! `--output json` prints the same facts as one JSON array of topics.

use serde_json::{json, Value};

use super::{join, DescribeFilter};

/// One partition as `--describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    pub partition: i32,
    /// `None` when the partition has no leader (printed `none`).
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Eligible leader replicas (KIP-966); `None` when the broker did not say (`N/A`).
    pub elr: Option<Vec<i32>>,
    pub last_known_elr: Option<Vec<i32>>,
}

/// One topic as `--describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    /// Kafka's printed form of the topic id (URL-safe base64 without padding); `None` for the
    /// all-zero id, which Kafka does not print.
    pub topic_id: Option<String>,
    /// Partitions sorted by id.
    pub partitions: Vec<PartitionDescription>,
    /// Settings that differ from the defaults, in the broker's order.
    pub overridden_configs: Vec<(String, String)>,
    /// The topic's `min.insync.replicas` (for the ISR filters).
    pub min_insync_replicas: usize,
    pub marked_for_deletion: bool,
}

impl TopicDescription {
    /// The replication factor Kafka prints: the first partition's replica count.
    pub fn replication_factor(&self) -> usize {
        self.partitions.first().map_or(0, |p| p.replicas.len())
    }
}

/// What the filters keep of one topic, given the live broker ids.
fn shown_partitions<'a>(
    topic: &'a TopicDescription,
    filter: &DescribeFilter,
    live_brokers: &[i32],
) -> Vec<&'a PartitionDescription> {
    if filter.topics_with_overrides {
        return Vec::new();
    }
    topic
        .partitions
        .iter()
        .filter(|p| {
            let under_replicated = p.isr.len() < p.replicas.len();
            let unavailable = p.leader.is_none_or(|l| !live_brokers.contains(&l));
            let under_min_isr = p.leader.is_none() || p.isr.len() < topic.min_insync_replicas;
            let at_min_isr = p.isr.len() == topic.min_insync_replicas;
            (!filter.under_replicated_partitions || under_replicated)
                && (!filter.unavailable_partitions || unavailable)
                && (!filter.under_min_isr_partitions || under_min_isr)
                && (!filter.at_min_isr_partitions || at_min_isr)
        })
        .collect()
}

/// Whether the topic line is printed: never under a partition filter; with
/// `--topics-with-overrides` only for topics that override something.
fn shows_topic_line(topic: &TopicDescription, filter: &DescribeFilter) -> bool {
    !filter.filters_partitions()
        && (!filter.topics_with_overrides || !topic.overridden_configs.is_empty())
}

fn elr_text(ids: &Option<Vec<i32>>) -> String {
    ids.as_deref().map_or_else(|| "N/A".to_owned(), join)
}

/// Kafka's text layout (see the module docs); every line ends in `\n`.
pub fn text(topics: &[TopicDescription], filter: &DescribeFilter, live_brokers: &[i32]) -> String {
    let mut out = String::new();
    for topic in topics {
        if shows_topic_line(topic, filter) && !topic.partitions.is_empty() {
            out.push_str(&format!("Topic: {}", topic.name));
            if let Some(id) = &topic.topic_id {
                out.push_str(&format!("\tTopicId: {id}"));
            }
            let configs = topic
                .overridden_configs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            out.push_str(&format!(
                "\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {configs}",
                topic.partitions.len(),
                topic.replication_factor()
            ));
            if topic.marked_for_deletion {
                out.push_str("\tMarkedForDeletion: true");
            }
            out.push('\n');
        }
        for p in shown_partitions(topic, filter, live_brokers) {
            out.push_str(&format!(
                "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tElr: {}\tLastKnownElr: {}",
                topic.name,
                p.partition,
                p.leader.map_or_else(|| "none".to_owned(), |l| l.to_string()),
                join(&p.replicas),
                join(&p.isr),
                elr_text(&p.elr),
                elr_text(&p.last_known_elr),
            ));
            if topic.marked_for_deletion {
                out.push_str("\tMarkedForDeletion: true");
            }
            out.push('\n');
        }
    }
    out
}

/// The same facts as [`text`], as a JSON array (one object per topic shown).
pub fn json(topics: &[TopicDescription], filter: &DescribeFilter, live_brokers: &[i32]) -> Value {
    let shown: Vec<Value> = topics
        .iter()
        .filter(|t| {
            shows_topic_line(t, filter) || !shown_partitions(t, filter, live_brokers).is_empty()
        })
        .map(|t| {
            let configs: serde_json::Map<String, Value> = t
                .overridden_configs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let partitions: Vec<Value> = shown_partitions(t, filter, live_brokers)
                .into_iter()
                .map(|p| {
                    json!({
                        "partition": p.partition,
                        "leader": p.leader,
                        "replicas": p.replicas,
                        "isr": p.isr,
                        "elr": p.elr,
                        "last_known_elr": p.last_known_elr,
                    })
                })
                .collect();
            json!({
                "topic": t.name,
                "topic_id": t.topic_id,
                "partition_count": t.partitions.len(),
                "replication_factor": t.replication_factor(),
                "configs": configs,
                "marked_for_deletion": t.marked_for_deletion,
                "partitions": partitions,
            })
        })
        .collect();
    Value::Array(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders() -> TopicDescription {
        let partition = |partition, leader: Option<i32>, isr: Vec<i32>| PartitionDescription {
            partition,
            leader,
            replicas: vec![1, 2],
            isr,
            elr: None,
            last_known_elr: Some(vec![]),
        };
        TopicDescription {
            name: "orders".into(),
            topic_id: Some("AAAAAAAAAAAAAAAAAAAAAQ".into()),
            partitions: vec![
                partition(0, Some(1), vec![1, 2]),
                partition(1, Some(2), vec![2]),
                partition(2, None, vec![]),
            ],
            overridden_configs: vec![
                ("retention.ms".into(), "1000".into()),
                ("cleanup.policy".into(), "compact".into()),
            ],
            min_insync_replicas: 1,
            marked_for_deletion: false,
        }
    }

    #[test]
    fn kafka_layout() {
        let out = text(&[orders()], &DescribeFilter::default(), &[1, 2]);
        assert_eq!(
            out,
            "Topic: orders\tTopicId: AAAAAAAAAAAAAAAAAAAAAQ\tPartitionCount: 3\tReplicationFactor: 2\tConfigs: retention.ms=1000,cleanup.policy=compact\n\
             \tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\tElr: N/A\tLastKnownElr: \n\
             \tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 1,2\tIsr: 2\tElr: N/A\tLastKnownElr: \n\
             \tTopic: orders\tPartition: 2\tLeader: none\tReplicas: 1,2\tIsr: \tElr: N/A\tLastKnownElr: \n"
        );
    }

    #[test]
    fn filters_pick_partitions_and_hide_the_topic_line() {
        let topics = [orders()];
        let under = DescribeFilter {
            under_replicated_partitions: true,
            ..DescribeFilter::default()
        };
        let out = text(&topics, &under, &[1, 2]);
        assert!(!out.starts_with("Topic:"), "{out}");
        assert_eq!(out.lines().count(), 2, "{out}");
        let unavailable = DescribeFilter {
            unavailable_partitions: true,
            ..DescribeFilter::default()
        };
        let out = text(&topics, &unavailable, &[1]);
        assert!(
            out.contains("Partition: 1\t") && out.contains("Partition: 2\t"),
            "{out}"
        );
        assert!(!out.contains("Partition: 0\t"), "{out}");
        let overrides = DescribeFilter {
            topics_with_overrides: true,
            ..DescribeFilter::default()
        };
        assert_eq!(text(&topics, &overrides, &[1, 2]).lines().count(), 1);
        let mut plain = orders();
        plain.overridden_configs.clear();
        assert_eq!(text(&[plain], &overrides, &[1, 2]), "");
    }

    #[test]
    fn json_carries_the_same_facts() {
        let v = json(&[orders()], &DescribeFilter::default(), &[1, 2]);
        assert_eq!(v[0]["topic"], "orders");
        assert_eq!(v[0]["partition_count"], 3);
        assert_eq!(v[0]["replication_factor"], 2);
        assert_eq!(v[0]["configs"]["retention.ms"], "1000");
        assert_eq!(v[0]["partitions"][2]["leader"], Value::Null);
        assert_eq!(v[0]["partitions"][1]["isr"], json!([2]));
    }
}
