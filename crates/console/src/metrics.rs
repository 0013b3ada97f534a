//! `GET /metrics`: Prometheus text exposition (format 0.0.4) of this broker.
//!
//! Cluster gauges (`fjord_broker_up`, topic and partition counts, offline and
//! under-replicated partitions), the data-path counters (`fjord_*_in_total` /
//! `fjord_*_out_total`: client produce in, consumer fetch out), per-topic log size and
//! message count, and per-partition log start offset, high watermark and log end offset for
//! the partitions this broker hosts, and `fjord_group_lag{group,topic}` for the groups it
//! coordinates. Everything is read from memory.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::model::Snapshot;
use crate::state::ConsoleState;

/// Escapes a label value: backslash, double quote and line feed, per the text format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn render(State(state): State<ConsoleState>) -> impl IntoResponse {
    let ctx = &state.ctx;
    let snapshot = Snapshot::take(ctx);
    let summaries = snapshot.topic_summaries();
    let totals = ctx.replica_manager.throughput().totals();
    let mut out = String::with_capacity(4096 + summaries.len() * 256);
    let mut gauge = |name: &str, help: &str, kind: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        "fjord_broker_up",
        "1 while the broker serves.",
        "gauge",
        "1".into(),
    );
    gauge(
        "fjord_topics",
        "Topics in the cluster.",
        "gauge",
        summaries.len().to_string(),
    );
    gauge(
        "fjord_partitions",
        "Partitions in the cluster.",
        "gauge",
        summaries
            .iter()
            .map(|t| t.partitions)
            .sum::<usize>()
            .to_string(),
    );
    gauge(
        "fjord_offline_partitions",
        "Partitions without a leader.",
        "gauge",
        summaries
            .iter()
            .map(|t| t.offline_partitions)
            .sum::<usize>()
            .to_string(),
    );
    gauge(
        "fjord_under_replicated_partitions",
        "Partitions whose ISR is smaller than their replica set.",
        "gauge",
        summaries
            .iter()
            .map(|t| t.under_replicated_partitions)
            .sum::<usize>()
            .to_string(),
    );
    gauge(
        "fjord_bytes_in_total",
        "Record batch bytes produced by clients.",
        "counter",
        totals.bytes_in.to_string(),
    );
    gauge(
        "fjord_messages_in_total",
        "Records produced by clients.",
        "counter",
        totals.messages_in.to_string(),
    );
    gauge(
        "fjord_bytes_out_total",
        "Record batch bytes fetched by consumers.",
        "counter",
        totals.bytes_out.to_string(),
    );
    gauge(
        "fjord_messages_out_total",
        "Records fetched by consumers.",
        "counter",
        totals.messages_out.to_string(),
    );
    let _ = writeln!(
        out,
        "# HELP fjord_topic_log_size_bytes Bytes of the topic's partition logs on this broker.\n\
         # TYPE fjord_topic_log_size_bytes gauge"
    );
    for t in &summaries {
        let _ = writeln!(
            out,
            "fjord_topic_log_size_bytes{{topic=\"{}\"}} {}",
            label(&t.name),
            t.size_bytes
        );
    }
    let _ = writeln!(
        out,
        "# HELP fjord_topic_messages Messages readable in the topic (high watermark minus log start offset, summed).\n\
         # TYPE fjord_topic_messages gauge"
    );
    for t in &summaries {
        let _ = writeln!(
            out,
            "fjord_topic_messages{{topic=\"{}\"}} {}",
            label(&t.name),
            t.message_count
        );
    }
    let families = [
        (
            "fjord_partition_log_start_offset",
            "First offset still in the log.",
        ),
        (
            "fjord_partition_high_watermark",
            "Offset up to which consumers read.",
        ),
        (
            "fjord_partition_log_end_offset",
            "Offset the next append gets.",
        ),
    ];
    for (i, (name, help)) in families.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for topic in snapshot.image.topics() {
            for index in topic.partitions.keys() {
                let Some(stats) = snapshot.partition_stats(&topic.name, *index) else {
                    continue;
                };
                let value = match i {
                    0 => stats.log_start_offset,
                    1 => stats.high_watermark,
                    _ => stats.log_end_offset,
                };
                let _ = writeln!(
                    out,
                    "{name}{{topic=\"{}\",partition=\"{index}\"}} {value}",
                    label(&topic.name)
                );
            }
        }
    }
    // Lag per group and topic: the sum of the known partition lags (see `groups.rs`).
    let _ = writeln!(
        out,
        "# HELP fjord_group_lag Messages a consumer group has not consumed yet, per topic.\n\
         # TYPE fjord_group_lag gauge"
    );
    for (group_id, per_topic) in crate::groups::group_topic_lags(ctx, &snapshot).await {
        for (topic, lag) in per_topic {
            let _ = writeln!(
                out,
                "fjord_group_lag{{group=\"{}\",topic=\"{}\"}} {lag}",
                label(&group_id),
                label(&topic)
            );
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
