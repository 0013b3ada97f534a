//! Carries out `kafka-consumer-perf-test` on fjord-client's consumer, as Kafka's
//! `ConsumerPerformance` does: it subscribes to the topic in its group (`--group`, or a
//! generated `perf-consumer-NNNNN`), polls until `--messages` records arrived or no record
//! came for `--timeout` ms, counts key and value bytes, and prints the header and one
//! summary line (with `--show-detailed-stats`, a line per `--reporting-interval` instead).
//!
//! `rebalance.time.ms` is the time from the first poll until the consumer first holds an
//! assignment. Kafka measures it in its rebalance listener; fjord-client has no listener, so
//! here it also includes that first poll's fetch (a few ms on a local broker).

use std::io::Write;
use std::time::{Duration, Instant};

use fjord_client::{Consumer, ConsumerConfig};

use super::consumer_perf_test::{
    detailed_line, summary_line, ConsumeTotals, PerfCommand, DETAILED_HEADER, SUMMARY_HEADER,
};
use crate::client;
use crate::progress::Progress;
use crate::{time, ToolError};

/// Kafka's poll timeout in the perf loop.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Runs the test; Kafka's lines go to `out`.
pub fn run(command: &PerfCommand, out: &mut dyn Write) -> Result<i32, ToolError> {
    let servers = command.bootstrap_server.clone();
    let mut config = ConsumerConfig::new(client::client_config(&servers, &Default::default())?);
    for (key, value) in &command.consumer_props {
        // Settings fjord's consumer does not have are ignored, as Kafka warns and ignores.
        config
            .set(key, value)
            .map_err(|e| ToolError::Failed(e.to_string()))?;
    }
    if !command.hide_header {
        let header = if command.show_detailed_stats {
            DETAILED_HEADER
        } else {
            SUMMARY_HEADER
        };
        let _ = writeln!(out, "{header}");
    }
    let progress = Progress::new(command.messages, "records consumed");
    let totals = client::block_on(async {
        let mut consumer = Consumer::connect(config)
            .await
            .map_err(|e| client::unreachable_or(e, &servers))?;
        consumer
            .subscribe(std::slice::from_ref(&command.topic))
            .map_err(ToolError::Client)?;
        let start_ms = time::now_ms();
        let join_started = Instant::now();
        let mut rebalance_ms: Option<i64> = None;
        let mut join_in_window = 0i64;
        let mut totals = ConsumeTotals {
            start_ms,
            end_ms: start_ms,
            bytes: 0,
            messages: 0,
            rebalance_ms: 0,
        };
        let idle_limit = Duration::from_millis(command.timeout_ms);
        let interval = Duration::from_millis(command.reporting_interval_ms);
        let mut last_record = Instant::now();
        let mut last_report = Instant::now();
        let mut last_report_ms = start_ms;
        let (mut last_bytes, mut last_messages) = (0u64, 0u64);
        while totals.messages < command.messages && last_record.elapsed() <= idle_limit {
            let records = consumer
                .poll(POLL_TIMEOUT)
                .await
                .map_err(ToolError::Client)?;
            if rebalance_ms.is_none() && !consumer.assignment().is_empty() {
                let joined = i64::try_from(join_started.elapsed().as_millis()).unwrap_or(0);
                rebalance_ms = Some(joined);
                totals.rebalance_ms = joined;
                join_in_window = joined;
            }
            if !records.is_empty() {
                last_record = Instant::now();
            }
            for record in &records {
                totals.messages += 1;
                totals.bytes += record.key.as_ref().map_or(0, |k| k.len() as u64)
                    + record.value.as_ref().map_or(0, |v| v.len() as u64);
                if command.show_detailed_stats && last_report.elapsed() >= interval {
                    let now_ms = time::now_ms();
                    let line = detailed_line(
                        now_ms,
                        now_ms - last_report_ms,
                        totals.bytes - last_bytes,
                        totals.messages - last_messages,
                        join_in_window,
                    );
                    // The join happened in the first window only.
                    join_in_window = 0;
                    progress.suspend(|| writeln!(out, "{line}")).ok();
                    last_report = Instant::now();
                    last_report_ms = now_ms;
                    (last_bytes, last_messages) = (totals.bytes, totals.messages);
                }
            }
            progress.set(totals.messages);
        }
        totals.end_ms = time::now_ms();
        let _ = consumer.close().await;
        Ok(totals)
    });
    progress.finish();
    let totals = totals?;
    if totals.messages < command.messages {
        let _ = writeln!(
            out,
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) \
             exceeded. You can use the --timeout option to increase the timeout.",
            command.timeout_ms
        );
    }
    if !command.show_detailed_stats {
        let _ = writeln!(out, "{}", summary_line(&totals));
    }
    Ok(0)
}
