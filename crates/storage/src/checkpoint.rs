//! Kafka's text checkpoint files, kept per partition directory:
//!
//! * `log-start-offset-checkpoint` and `recovery-point-offset-checkpoint` hold one offset for
//!   the partition, in Kafka's offset-checkpoint format:
//!   ```text
//!   0                  <- version
//!   1                  <- number of entries
//!   my-topic 3 1234    <- topic, partition, offset
//!   ```
//! * `leader-epoch-checkpoint` holds `epoch start_offset` lines after the same two header lines
//!   (see [`crate::leader_epoch`]).
//!
//! Kafka keeps the offset checkpoints per data directory; fjord keeps one per partition so
//! that a partition directory is self-contained and writing one never rewrites the others.

use std::fs;
use std::path::{Path, PathBuf};

use crate::crashsafe::write_atomically;
use crate::error::LogError;
use crate::topic_partition::TopicPartition;

pub(crate) const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
pub(crate) const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";

const VERSION: &str = "0";

/// Writes `version`, count and the given entry lines.
pub(crate) fn write_lines(path: &Path, lines: &[String]) -> Result<(), LogError> {
    let mut text = format!("{VERSION}\n{}\n", lines.len());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    write_atomically(path, text.as_bytes())
}

/// Reads the entry lines of a checkpoint file, checking version and count.
/// A missing file is `Ok(None)`.
pub(crate) fn read_lines(path: &Path) -> Result<Option<Vec<String>>, LogError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io(path, e)),
    };
    let malformed = |reason: &str| LogError::MalformedFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(VERSION) {
        return Err(malformed("unsupported version line"));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| malformed("bad entry count line"))?;
    let entries: Vec<String> = lines
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if entries.len() != count {
        return Err(malformed("entry count does not match the number of lines"));
    }
    Ok(Some(entries))
}

/// Persists one partition offset (`topic partition offset`).
pub(crate) fn write_offset(
    dir: &Path,
    name: &str,
    tp: &TopicPartition,
    offset: i64,
) -> Result<(), LogError> {
    write_lines(
        &dir.join(name),
        &[format!("{} {} {}", tp.topic, tp.partition, offset)],
    )
}

/// Reads back what [`write_offset`] wrote; `None` when the file does not exist or names
/// another partition (a directory copied from elsewhere).
pub(crate) fn read_offset(
    dir: &Path,
    name: &str,
    tp: &TopicPartition,
) -> Result<Option<i64>, LogError> {
    let path: PathBuf = dir.join(name);
    let Some(lines) = read_lines(&path)? else {
        return Ok(None);
    };
    for line in lines {
        let mut parts = line.split_whitespace();
        let (Some(topic), Some(partition), Some(offset), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LogError::MalformedFile {
                path,
                reason: format!("bad line {line:?}"),
            });
        };
        if topic == tp.topic && partition.parse::<i32>().ok() == Some(tp.partition) {
            return offset
                .parse()
                .map(Some)
                .map_err(|_| LogError::MalformedFile {
                    path: path.clone(),
                    reason: format!("bad offset in {line:?}"),
                });
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_round_trip_and_kafka_layout() {
        let dir = tempfile::tempdir().unwrap();
        let tp = TopicPartition::new("orders", 3);
        assert_eq!(
            read_offset(dir.path(), LOG_START_OFFSET_CHECKPOINT, &tp).unwrap(),
            None
        );
        write_offset(dir.path(), LOG_START_OFFSET_CHECKPOINT, &tp, 1234).unwrap();
        let text = fs::read_to_string(dir.path().join(LOG_START_OFFSET_CHECKPOINT)).unwrap();
        assert_eq!(text, "0\n1\norders 3 1234\n");
        assert_eq!(
            read_offset(dir.path(), LOG_START_OFFSET_CHECKPOINT, &tp).unwrap(),
            Some(1234)
        );
        fs::write(
            dir.path().join(LOG_START_OFFSET_CHECKPOINT),
            "0\n2\norders 3 1\n",
        )
        .unwrap();
        assert!(read_offset(dir.path(), LOG_START_OFFSET_CHECKPOINT, &tp).is_err());
    }
}
