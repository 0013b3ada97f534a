//! The tables `kafka-consumer-groups` prints: Kafka's `--describe --offsets` table, whose
//! `%-Ns` columns grow with the longest group, topic, consumer id and host (at least 15),
//! and the fixed-width plan table of `--reset-offsets`. Each starts with a blank line and
//! prints `-` for a missing value.

/// One row of the `--describe --offsets` table; `None` prints as `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRow {
    pub group: String,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub current_offset: Option<i64>,
    pub log_end_offset: Option<i64>,
    pub lag: Option<i64>,
    pub consumer_id: Option<String>,
    pub host: Option<String>,
    pub client_id: Option<String>,
}

fn cell<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

/// Kafka's offsets table for one group: a blank line, the header, one line per row, each
/// line ending with the client id.
pub fn offsets_table(rows: &[OffsetRow]) -> String {
    let width = |f: &dyn Fn(&OffsetRow) -> usize| rows.iter().map(f).fold(15, usize::max);
    let group_w = width(&|r| r.group.len());
    let topic_w = width(&|r| cell(&r.topic).len());
    let consumer_w = width(&|r| cell(&r.consumer_id).len());
    let host_w = width(&|r| cell(&r.host).len());
    let line = |cols: [String; 9]| {
        format!(
            "\n{:<group_w$} {:<topic_w$} {:<10} {:<15} {:<15} {:<15} {:<consumer_w$} {:<host_w$} {}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]
        )
    };
    let mut out = line(
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ]
        .map(String::from),
    );
    for r in rows {
        out.push_str(&line([
            r.group.clone(),
            cell(&r.topic),
            cell(&r.partition),
            cell(&r.current_offset),
            cell(&r.log_end_offset),
            cell(&r.lag),
            cell(&r.consumer_id),
            cell(&r.host),
            cell(&r.client_id),
        ]));
    }
    out.push('\n');
    out
}

/// Kafka's plan table for `--reset-offsets`: GROUP TOPIC PARTITION NEW-OFFSET, fixed widths.
pub fn reset_table(plan: &[(String, String, i32, i64)]) -> String {
    let mut out = String::new();
    if !plan.is_empty() {
        out.push_str(&format!(
            "\n{:<30} {:<30} {:<10} {:<15}",
            "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"
        ));
    }
    for (group, topic, partition, offset) in plan {
        out.push_str(&format!(
            "\n{group:<30} {topic:<30} {partition:<10} {offset:<15}"
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_table_in_kafka_layout() {
        let rows = [OffsetRow {
            group: "billing".into(),
            topic: Some("orders".into()),
            partition: Some(0),
            current_offset: Some(5),
            log_end_offset: Some(7),
            lag: Some(2),
            consumer_id: None,
            host: None,
            client_id: None,
        }];
        let table = offsets_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID"
        );
        assert_eq!(
            lines[2],
            "billing         orders          0          5               7               2               -               -               -"
        );
        assert!(table.ends_with('\n'));
    }

    #[test]
    fn reset_table_in_kafka_layout() {
        let table = reset_table(&[("g".into(), "t".into(), 1, 42)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "");
        assert!(lines[1].starts_with(
            "GROUP                          TOPIC                          PARTITION  NEW-OFFSET"
        ));
        assert!(lines[2].starts_with(
            "g                              t                              1          42"
        ));
        assert_eq!(reset_table(&[]), "\n");
    }
}
