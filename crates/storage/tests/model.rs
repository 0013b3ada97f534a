//! Model-based test: random sequences of append / read / roll / reopen (clean and unclean) /
//! truncate_to / retention / advance_log_start_offset / offset_for_timestamp against a `Vec`
//! of batches. Small segments make rolls frequent.

use std::path::Path;

use bytes::Bytes;
use fjord_protocol::batch::{self, BatchFrames};
use fjord_storage::testing::batch_with_timestamps;
use fjord_storage::{AppendOutcome, LogConfig, PartitionLog, TopicPartition};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    Append {
        timestamps: Vec<i64>,
        value_len: usize,
    },
    Read {
        at: f64,
        max_bytes: usize,
    },
    Roll,
    Reopen {
        clean: bool,
    },
    Truncate {
        at: f64,
    },
    Retention {
        retention_bytes: i64,
        retention_ms: i64,
    },
    AdvanceStart {
        at: f64,
    },
    OffsetForTimestamp {
        timestamp: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (proptest::collection::vec(0i64..2000, 1..5), 0usize..120).prop_map(|(ts, value_len)| {
            Op::Append { timestamps: ts.into_iter().map(|t| T0 + t).collect(), value_len }
        }),
        3 => (0.0f64..1.0, 1usize..600).prop_map(|(at, max_bytes)| Op::Read { at, max_bytes }),
        1 => Just(Op::Roll),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
        1 => (0.0f64..1.0).prop_map(|at| Op::Truncate { at }),
        1 => (prop_oneof![Just(-1i64), 300i64..3000], prop_oneof![Just(-1i64), 0i64..2500])
            .prop_map(|(retention_bytes, retention_ms)| Op::Retention { retention_bytes, retention_ms }),
        1 => (0.0f64..1.0).prop_map(|at| Op::AdvanceStart { at }),
        2 => (T0 - 10..T0 + 2100).prop_map(|timestamp| Op::OffsetForTimestamp { timestamp }),
    ]
}

#[derive(Debug, Clone)]
struct Stored {
    base: i64,
    last: i64,
    timestamps: Vec<i64>,
    bytes: Bytes,
}

struct Model {
    batches: Vec<Stored>,
    log_start_offset: i64,
    log_end_offset: i64,
}

impl Model {
    fn pick(&self, at: f64) -> i64 {
        let span = (self.log_end_offset - self.log_start_offset) as f64;
        self.log_start_offset + (span * at).round() as i64
    }
    fn drop_below_start(&mut self) {
        let start = self.log_start_offset;
        self.batches.retain(|b| b.last >= start);
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 700,
        index_interval_bytes: 150,
        segment_index_bytes: 64,
        retention_ms: -1,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, clean: bool) -> PartitionLog {
    PartitionLog::open(dir, TopicPartition::new("model-topic", 0), config(), clean).unwrap()
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), true);
    let mut model = Model {
        batches: Vec::new(),
        log_start_offset: 0,
        log_end_offset: 0,
    };
    for op in ops {
        match op {
            Op::Append {
                timestamps,
                value_len,
            } => {
                let produced = batch_with_timestamps(&timestamps, value_len, None);
                let AppendOutcome::Appended(info) = log.append(produced.clone(), 3, None).unwrap()
                else {
                    return Err(TestCaseError::fail("duplicate without producer id"));
                };
                prop_assert_eq!(info.first_offset, model.log_end_offset);
                let mut stored = produced.to_vec();
                batch::set_base_offset(&mut stored, info.first_offset);
                batch::set_partition_leader_epoch(&mut stored, 3);
                model.batches.push(Stored {
                    base: info.first_offset,
                    last: info.last_offset,
                    timestamps,
                    bytes: Bytes::from(stored),
                });
                model.log_end_offset = info.last_offset + 1;
            }
            Op::Read { at, max_bytes } => {
                let offset = model.pick(at);
                let result = log.read(offset, max_bytes, i64::MAX).unwrap();
                let expected: Vec<&Stored> =
                    model.batches.iter().filter(|b| b.last >= offset).collect();
                let got: Vec<Bytes> = BatchFrames::new(&result.records)
                    .map(|r| result.records.slice(r.unwrap()))
                    .collect();
                if offset < model.log_end_offset {
                    prop_assert!(!got.is_empty(), "read at {} returned nothing", offset);
                }
                prop_assert!(got.len() <= 1 || result.records.len() <= max_bytes);
                prop_assert!(got.len() <= expected.len());
                for (g, e) in got.iter().zip(expected.iter()) {
                    prop_assert_eq!(g, &e.bytes);
                }
                if model.log_start_offset > 0 {
                    prop_assert!(log.read(model.log_start_offset - 1, 100, i64::MAX).is_err());
                }
                prop_assert!(log.read(model.log_end_offset + 1, 100, i64::MAX).is_err());
            }
            Op::Roll => log.roll().unwrap(),
            Op::Reopen { clean } => {
                if clean {
                    log.close().unwrap();
                }
                drop(log);
                log = open(dir.path(), clean);
            }
            Op::Truncate { at } => {
                let target = model.pick(at);
                log.truncate_to(target).unwrap();
                if target < model.log_end_offset {
                    model.batches.retain(|b| b.last < target);
                    match model.batches.last() {
                        Some(b) if b.last + 1 >= model.log_start_offset => {
                            model.log_end_offset = b.last + 1
                        }
                        _ => {
                            // Nothing readable is left: the log restarts at its start offset.
                            model.batches.clear();
                            model.log_end_offset = model.log_start_offset;
                        }
                    }
                }
            }
            Op::Retention {
                retention_bytes,
                retention_ms,
            } => {
                let before = log.log_start_offset();
                log.update_config(LogConfig {
                    retention_bytes,
                    retention_ms,
                    ..config()
                });
                log.run_maintenance(T0 + 2000).unwrap();
                log.update_config(config());
                let after = log.log_start_offset();
                prop_assert!(after >= before);
                prop_assert!(after <= model.log_end_offset);
                // Retention deletes whole segments: a moved start is a batch boundary.
                prop_assert!(
                    after == before
                        || after == model.log_end_offset
                        || model.batches.iter().any(|b| b.base == after)
                );
                model.log_start_offset = after;
                model.drop_below_start();
            }
            Op::AdvanceStart { at } => {
                let target = model.pick(at);
                log.advance_log_start_offset(target).unwrap();
                model.log_start_offset = model.log_start_offset.max(target);
                model.drop_below_start();
            }
            Op::OffsetForTimestamp { timestamp } => {
                let start = model.log_start_offset;
                let expected = model
                    .batches
                    .iter()
                    .flat_map(|b| {
                        b.timestamps
                            .iter()
                            .enumerate()
                            .map(move |(i, &t)| (b.base + i as i64, t))
                    })
                    .find(|&(offset, t)| offset >= start && t >= timestamp);
                let got = log
                    .offset_for_timestamp(timestamp)
                    .unwrap()
                    .map(|t| (t.offset, t.timestamp_ms));
                prop_assert_eq!(got, expected, "timestamp {}", timestamp);
            }
        }
        prop_assert_eq!(log.log_end_offset(), model.log_end_offset);
        prop_assert_eq!(log.log_start_offset(), model.log_start_offset);
    }
    // Whole-log comparison at the end, through a fresh unclean open.
    drop(log);
    let log = open(dir.path(), false);
    prop_assert_eq!(log.log_end_offset(), model.log_end_offset);
    prop_assert_eq!(log.log_start_offset(), model.log_start_offset);
    let mut offset = model.log_start_offset;
    let mut seen = Vec::new();
    while offset < model.log_end_offset {
        let r = log.read(offset, 4096, i64::MAX).unwrap();
        prop_assert!(!r.records.is_empty());
        for range in BatchFrames::new(&r.records) {
            let b = r.records.slice(range.unwrap());
            let h = batch::validate(&b).unwrap();
            offset = h.next_offset();
            seen.push(b);
        }
    }
    let expected: Vec<Bytes> = model.batches.iter().map(|b| b.bytes.clone()).collect();
    prop_assert_eq!(seen, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn log_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
