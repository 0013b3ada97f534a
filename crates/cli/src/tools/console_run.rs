//! Carries out checked console-producer and console-consumer commands with fjord-client.
//!
//! The producer reads stdin on a thread of its own (a blocking read must not stall the
//! producer's sender while a user types), sends one record per line and, at end of input,
//! waits for every acknowledgement. Like Kafka's, it prints the `>` prompt only when stdin and
//! stdout are terminals. The consumer prints each record with [`RecordFormatter`] and, when
//! it stops (`--max-messages`, `--timeout-ms`, Ctrl-C), prints `Processed a total of N
//! messages` on stderr, as Kafka's does.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use fjord_client::kafka_protocol::records::TimestampType as WireTimestampType;
use fjord_client::{
    ClientError, Consumer, ConsumerConfig, ConsumerRecord, DeliveryFuture, Producer,
    ProducerConfig, ProducerRecord, TopicPartition,
};

use super::console_consumer::{
    ConsumerCommand, FormattedRecord, RecordFormatter, StartOffset, TimestampType,
};
use super::console_producer::ProducerCommand;
use crate::client;
use crate::ToolError;

fn client_failure(error: ClientError, servers: &str) -> ToolError {
    client::unreachable_or(error, servers)
}

/// `kafka-console-producer`: one record per stdin line.
pub fn produce(command: &ProducerCommand, err: &mut dyn Write) -> Result<i32, ToolError> {
    let servers = command.bootstrap_server.clone();
    let mut client_config = client::client_config(&servers, &Default::default())?;
    let mut config = ProducerConfig::new(client_config.clone());
    for (key, value) in &command.producer_props {
        // Settings fjord's producer does not have are ignored, as Kafka warns and ignores.
        config
            .set(key, value)
            .map_err(|e| ToolError::Failed(e.to_string()))?;
    }
    client_config.clone_from(&config.client);
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(1024);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    client::block_on(async move {
        let producer = Producer::connect(config)
            .await
            .map_err(|e| client_failure(e, &servers))?;
        let mut pending: Vec<DeliveryFuture> = Vec::new();
        let mut failures = 0u64;
        let mut line_number = 0u64;
        loop {
            if interactive {
                let mut stdout = std::io::stdout();
                let _ = write!(stdout, ">");
                let _ = stdout.flush();
            }
            let Some(line) = lines_rx.recv().await else {
                break;
            };
            let line = line.map_err(|e| ToolError::Failed(format!("cannot read stdin: {e}")))?;
            line_number += 1;
            let parsed = command
                .reader
                .record(&line, line_number)
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            let record = ProducerRecord {
                topic: command.topic.clone(),
                partition: None,
                key: parsed.key.map(Into::into),
                value: parsed.value.map(Into::into),
                headers: parsed
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k, v.map(Into::into)))
                    .collect(),
                timestamp: None,
            };
            let delivery = producer.send(record).await.map_err(ToolError::Client)?;
            if command.sync {
                if let Err(e) = delivery.await {
                    failures += 1;
                    let _ = writeln!(
                        err,
                        "Error when sending message to topic {} with error: {e}",
                        command.topic
                    );
                }
            } else {
                pending.push(delivery);
            }
        }
        producer.flush().await;
        for delivery in pending {
            if let Err(e) = delivery.await {
                failures += 1;
                let _ = writeln!(
                    err,
                    "Error when sending message to topic {} with error: {e}",
                    command.topic
                );
            }
        }
        producer.close().await;
        Ok(if failures == 0 { 0 } else { 1 })
    })
}

fn formatted<'a>(record: &'a ConsumerRecord) -> FormattedRecord<'a> {
    FormattedRecord {
        partition: record.partition,
        offset: record.offset,
        timestamp_type: if record.timestamp < 0 {
            TimestampType::NoTimestamp
        } else {
            match record.timestamp_type {
                WireTimestampType::Creation => TimestampType::CreateTime,
                WireTimestampType::LogAppend => TimestampType::LogAppendTime,
            }
        },
        timestamp: record.timestamp,
        leader_epoch: (record.leader_epoch >= 0).then_some(record.leader_epoch),
        key: record.key.as_deref(),
        value: record.value.as_deref(),
        headers: &[],
    }
}

fn write_record(formatter: &RecordFormatter, record: &ConsumerRecord, buffer: &mut Vec<u8>) {
    let headers: Vec<(String, Option<Vec<u8>>)> = record
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_ref().map(|b| b.to_vec())))
        .collect();
    let mut view = formatted(record);
    view.headers = &headers;
    formatter.write(&view, buffer);
}

/// `kafka-console-consumer`.
pub fn consume(
    command: &ConsumerCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ToolError> {
    let servers = command.bootstrap_server.clone();
    let client_config = client::client_config(&servers, &Default::default())?;
    let mut config = ConsumerConfig::new(client_config);
    for (key, value) in &command.consumer_props {
        config
            .set(key, value)
            .map_err(|e| ToolError::Failed(e.to_string()))?;
    }
    if command.group_id.is_none() {
        config.group_id = None;
    }
    let mut processed = 0u64;
    let result = client::block_on(async {
        let mut consumer = Consumer::connect(config)
            .await
            .map_err(|e| client_failure(e, &servers))?;
        if let (Some(topic), Some(partition)) = (&command.topic, command.partition) {
            let tp = TopicPartition::new(topic.clone(), partition);
            consumer.assign([tp.clone()]);
            match command.start {
                StartOffset::Earliest => consumer.seek_to_beginning(std::slice::from_ref(&tp)),
                StartOffset::Latest => consumer.seek_to_end(std::slice::from_ref(&tp)),
                StartOffset::At(offset) => consumer.seek(&tp, offset),
            }
            .map_err(ToolError::Client)?;
        } else {
            let topics: Vec<String> = match (&command.topic, &command.include) {
                (Some(topic), _) => vec![topic.clone()],
                (None, Some(pattern)) => {
                    let matcher = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                        ToolError::Failed(format!("Invalid --include pattern: {e}"))
                    })?;
                    let metadata = consumer
                        .cluster()
                        .refresh_metadata(None)
                        .await
                        .map_err(ToolError::Client)?;
                    metadata
                        .topics
                        .keys()
                        .filter(|t| matcher.is_match(t))
                        .cloned()
                        .collect()
                }
                (None, None) => Vec::new(),
            };
            consumer.subscribe(&topics).map_err(ToolError::Client)?;
        }
        let idle_limit = command.timeout_ms.map(Duration::from_millis);
        let mut last_record = Instant::now();
        let mut buffer = Vec::new();
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        'consume: loop {
            if command.max_messages.is_some_and(|max| processed >= max) {
                break;
            }
            let wait = idle_limit
                .map(|limit| limit.saturating_sub(last_record.elapsed()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            let records = tokio::select! {
                records = consumer.poll(wait) => records.map_err(ToolError::Client)?,
                _ = &mut stop => break 'consume,
            };
            if records.is_empty() {
                if idle_limit.is_some_and(|limit| last_record.elapsed() >= limit) {
                    break;
                }
                continue;
            }
            last_record = Instant::now();
            for record in &records {
                if command.max_messages.is_some_and(|max| processed >= max) {
                    break;
                }
                write_record(&command.formatter, record, &mut buffer);
                processed += 1;
            }
            if out.write_all(&buffer).and_then(|()| out.flush()).is_err() {
                // The reader went away (`| head`): stop quietly, as Kafka does.
                break;
            }
            buffer.clear();
        }
        if command
            .consumer_props
            .get("enable.auto.commit")
            .map(String::as_str)
            != Some("false")
            && command.group_id.is_some()
        {
            let _ = consumer.commit_sync().await;
        }
        let _ = consumer.close().await;
        Ok(0)
    });
    let _ = writeln!(err, "Processed a total of {processed} messages");
    result
}
