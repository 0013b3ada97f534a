//! Carries out `kafka-producer-perf-test`: sends `--num-records` records as fast as allowed
//! (or paced to `--throughput` records/s), measuring each record's latency from send to
//! acknowledgement, and prints Kafka's progress lines every 5 s and its final line.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fjord_client::{Producer, ProducerConfig, ProducerRecord};

use super::producer_perf_test::{Payload, PerfCommand, PerfStats};
use crate::client;
use crate::progress::Progress;
use crate::ToolError;

const REPORT_EVERY: Duration = Duration::from_secs(5);

/// A payload shared by every record that uses it.
type SharedPayload = Arc<[u8]>;

/// The payloads to cycle through.
fn payloads(payload: &Payload) -> Result<Vec<SharedPayload>, ToolError> {
    match payload {
        Payload::Size(size) => {
            // Kafka fills the payload with random upper-case letters; any fixed bytes measure
            // the same thing for an uncompressed topic.
            let body: Vec<u8> = (0..*size).map(|i| b'A' + (i % 26) as u8).collect();
            Ok(vec![body.into()])
        }
        Payload::File { path, delimiter } => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ToolError::Failed(format!("cannot read {path}: {e}")))?;
            let list: Vec<SharedPayload> = text
                .split(delimiter.as_str())
                .filter(|p| !p.is_empty())
                .map(|p| p.as_bytes().to_vec().into())
                .collect();
            if list.is_empty() {
                return Err(ToolError::Failed(format!("File is empty: {path}")));
            }
            Ok(list)
        }
        Payload::Monotonic => Ok(Vec::new()),
    }
}

/// Runs the test; Kafka's lines go to `out`.
pub fn run(command: &PerfCommand, out: &mut dyn Write) -> Result<i32, ToolError> {
    let servers = command
        .producer_props
        .get("bootstrap.servers")
        .cloned()
        .unwrap_or_default();
    let mut config = ProducerConfig::new(client::client_config(&servers, &Default::default())?);
    for (key, value) in &command.producer_props {
        config
            .set(key, value)
            .map_err(|e| ToolError::Failed(e.to_string()))?;
    }
    let bodies = payloads(&command.payload)?;
    let progress = Progress::new(command.num_records, "records sent");
    let result = client::block_on(async {
        let producer = Producer::connect(config)
            .await
            .map_err(|e| client::unreachable_or(e, &servers))?;
        let stats = Arc::new(shared::Stats::new(command.num_records));
        let started = Instant::now();
        let mut window_started = started;
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..command.num_records {
            if let Some(rate) = command.throughput {
                let due = started + Duration::from_secs_f64(n as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            let value: Vec<u8> = match bodies.len() {
                0 => n.to_string().into_bytes(),
                len => bodies[(n % len as u64) as usize].to_vec(),
            };
            let size = value.len() as u64;
            let sent_at = Instant::now();
            let delivery = producer
                .send(ProducerRecord::new(command.topic.clone(), value))
                .await
                .map_err(ToolError::Client)?;
            let shared = Arc::clone(&stats);
            tasks.spawn(async move {
                let acked = delivery.await;
                let latency = u32::try_from(sent_at.elapsed().as_millis()).unwrap_or(u32::MAX);
                shared.record(n, latency, size, acked.is_ok());
            });
            progress.set(n + 1);
            if window_started.elapsed() >= REPORT_EVERY {
                let line = stats.window_line(
                    u64::try_from(window_started.elapsed().as_millis()).unwrap_or(u64::MAX),
                );
                progress.suspend(|| writeln!(out, "{line}")).ok();
                window_started = Instant::now();
            }
        }
        producer.flush().await;
        while tasks.join_next().await.is_some() {}
        let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let _ = writeln!(out, "{}", stats.final_line(elapsed));
        producer.close().await;
        Ok(if stats.failures() == 0 { 0 } else { 1 })
    });
    progress.finish();
    result
}

mod shared {
    use std::sync::Mutex;

    use super::PerfStats;

    /// [`PerfStats`] shared by the acknowledgement tasks.
    pub struct Stats {
        inner: Mutex<(PerfStats, u64)>,
    }

    impl Stats {
        pub fn new(num_records: u64) -> Stats {
            Stats {
                inner: Mutex::new((PerfStats::new(num_records), 0)),
            }
        }

        pub fn record(&self, n: u64, latency_ms: u32, bytes: u64, ok: bool) {
            if let Ok(mut guard) = self.inner.lock() {
                if ok {
                    guard.0.record(n, latency_ms, bytes);
                } else {
                    guard.1 += 1;
                }
            }
        }

        pub fn window_line(&self, window_ms: u64) -> String {
            self.inner
                .lock()
                .map(|mut g| g.0.window_line(window_ms))
                .unwrap_or_default()
        }

        pub fn final_line(&self, elapsed_ms: u64) -> String {
            self.inner
                .lock()
                .map(|mut g| g.0.final_line(elapsed_ms))
                .unwrap_or_default()
        }

        pub fn failures(&self) -> u64 {
            self.inner.lock().map(|g| g.1).unwrap_or(0)
        }
    }
}
