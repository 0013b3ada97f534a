//! Carries out a checked [`GroupCommand`] with the admin client and prints Kafka's output:
//! `--list` (one group per line, or a GROUP/STATE table with `--state`), `--describe`
//! (offsets, `--members` or `--state` views), `--reset-offsets` (the plan table; committed
//! only with `--execute` and only for inactive groups, as Kafka requires) and `--delete`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use fjord_client::admin::OffsetSpec;
use fjord_client::{AdminClient, ClientError, TopicPartition};

use super::consumer_groups::{
    offsets_table, reset_table, DescribeView, GroupAction, GroupCommand, OffsetRow, ResetSpec,
    TopicScope,
};
use crate::client;
use crate::tools::OutputFormat;
use crate::ToolError;

fn message(error: &ClientError) -> String {
    match error {
        ClientError::Kafka {
            message: Some(m), ..
        } if !m.is_empty() => m.clone(),
        other => other.to_string(),
    }
}

/// Runs the command; what Kafka prints goes to `out` and `err`.
pub fn run(
    command: &GroupCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ToolError> {
    let mut config = client::client_config(&command.bootstrap_server, &command.command_config)?;
    // Kafka's ConsumerGroupCommand passes --timeout (default 5000 ms) to every admin call.
    config.default_api_timeout_ms = command.timeout_ms;
    client::block_on(async {
        let admin = client::admin(config).await?;
        let result = execute(&admin, command, out, err).await;
        admin.cluster().close().await;
        result
    })
}

async fn group_ids(admin: &AdminClient, command: &GroupCommand) -> Result<Vec<String>, ToolError> {
    if !command.all_groups {
        return Ok(command.groups.clone());
    }
    let mut ids: Vec<String> = admin
        .list_groups()
        .await
        .map_err(ToolError::Client)?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    ids.sort();
    Ok(ids)
}

async fn execute(
    admin: &AdminClient,
    command: &GroupCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ToolError> {
    match &command.action {
        GroupAction::List { states } => {
            let mut groups = admin.list_groups().await.map_err(ToolError::Client)?;
            groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
            if let Some(wanted) = states.as_ref().filter(|w| !w.is_empty()) {
                groups.retain(|g| wanted.contains(&g.group_state.to_ascii_lowercase()));
            }
            if command.output == OutputFormat::Json {
                let list: Vec<_> = groups
                    .iter()
                    .map(|g| serde_json::json!({"group": g.group_id, "state": g.group_state}))
                    .collect();
                let _ = writeln!(out, "{}", serde_json::Value::Array(list));
            } else if states.is_some() {
                let width = groups.iter().map(|g| g.group_id.len()).fold(15, usize::max);
                let _ = writeln!(out, "{:<width$} STATE", "GROUP");
                for g in &groups {
                    let _ = writeln!(out, "{:<width$} {}", g.group_id, g.group_state);
                }
            } else {
                for g in &groups {
                    let _ = writeln!(out, "{}", g.group_id);
                }
            }
            Ok(0)
        }
        GroupAction::Describe { view, .. } => {
            let mut documents = Vec::new();
            for group in group_ids(admin, command).await? {
                describe(
                    admin,
                    &group,
                    *view,
                    command.output,
                    out,
                    err,
                    &mut documents,
                )
                .await?;
            }
            if command.output == OutputFormat::Json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&documents).unwrap_or_default()
                );
            }
            Ok(0)
        }
        GroupAction::Delete => {
            let groups = group_ids(admin, command).await?;
            let outcomes = admin
                .delete_groups(&groups)
                .await
                .map_err(ToolError::Client)?;
            let ok: Vec<&String> = outcomes
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(g, _)| g)
                .collect();
            let failed: Vec<(&String, String)> = outcomes
                .iter()
                .filter_map(|(g, r)| r.as_ref().err().map(|e| (g, message(e))))
                .collect();
            if failed.is_empty() {
                let names: Vec<String> = ok.iter().map(|g| format!("'{g}'")).collect();
                let _ = writeln!(
                    out,
                    "Deletion of requested consumer groups ({}) was successful.",
                    names.join(", ")
                );
                return Ok(0);
            }
            let _ = writeln!(out, "\nError: Deletion of some consumer groups failed:");
            for (group, e) in &failed {
                let _ = writeln!(out, "* Group '{group}' could not be deleted due to: {e}");
            }
            Ok(1)
        }
        GroupAction::DeleteOffsets => Err(ToolError::Failed(
            "--delete-offsets is not supported by fjord's admin client yet".into(),
        )),
        GroupAction::ResetOffsets { spec, execute, .. } => {
            let mut plan = Vec::new();
            for group in group_ids(admin, command).await? {
                let offsets = reset_plan(admin, &group, spec, &command.scope).await?;
                if *execute {
                    let described = admin
                        .describe_groups(std::slice::from_ref(&group))
                        .await
                        .map_err(ToolError::Client)?;
                    let state = described.first().map_or("Dead", |d| d.group_state.as_str());
                    if !matches!(state, "Empty" | "Dead" | "") {
                        return Err(ToolError::Failed(format!(
                            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
                        )));
                    }
                    let outcomes = admin
                        .alter_consumer_group_offsets(&group, &offsets)
                        .await
                        .map_err(ToolError::Client)?;
                    if let Some((tp, Err(e))) = outcomes.iter().find(|(_, r)| r.is_err()) {
                        return Err(ToolError::Failed(format!(
                            "Failed to reset offsets of {}-{}: {}",
                            tp.topic,
                            tp.partition,
                            message(e)
                        )));
                    }
                }
                plan.extend(
                    offsets
                        .into_iter()
                        .map(|(tp, o)| (group.clone(), tp.topic, tp.partition, o)),
                );
            }
            let _ = write!(out, "{}", reset_table(&plan));
            Ok(0)
        }
    }
}

async fn list_offsets(
    admin: &AdminClient,
    partitions: &BTreeSet<TopicPartition>,
    spec: OffsetSpec,
) -> Result<BTreeMap<TopicPartition, i64>, ToolError> {
    let specs: BTreeMap<TopicPartition, OffsetSpec> =
        partitions.iter().map(|tp| (tp.clone(), spec)).collect();
    if specs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let answers = admin
        .list_offsets(&specs, false)
        .await
        .map_err(ToolError::Client)?;
    answers
        .into_iter()
        .map(|(tp, r)| match r {
            Ok(found) => Ok((tp, found.offset)),
            Err(e) => Err(ToolError::Failed(format!(
                "Error getting offsets of topic partition {}-{}: {}",
                tp.topic,
                tp.partition,
                message(&e)
            ))),
        })
        .collect()
}

async fn reset_plan(
    admin: &AdminClient,
    group: &str,
    spec: &ResetSpec,
    scope: &TopicScope,
) -> Result<BTreeMap<TopicPartition, i64>, ToolError> {
    let committed = admin
        .list_consumer_group_offsets(group, None)
        .await
        .map_err(ToolError::Client)?;
    if let ResetSpec::FromFile(path) = spec {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ToolError::Failed(format!("cannot read {path}: {e}")))?;
        let mut plan = BTreeMap::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            let (topic, partition, offset) = match cols.as_slice() {
                [t, p, o] | [_, t, p, o] => (*t, *p, *o),
                _ => return Err(ToolError::Failed(format!("Invalid line in {path}: {line}"))),
            };
            let partition = partition
                .parse()
                .map_err(|_| ToolError::Failed(format!("Invalid line in {path}: {line}")))?;
            let offset = offset
                .parse()
                .map_err(|_| ToolError::Failed(format!("Invalid line in {path}: {line}")))?;
            plan.insert(TopicPartition::new(topic, partition), offset);
        }
        return Ok(plan);
    }
    let partitions: BTreeSet<TopicPartition> = match scope {
        TopicScope::AllTopics | TopicScope::Unspecified => committed.keys().cloned().collect(),
        TopicScope::Topics(topics) => {
            let mut set = BTreeSet::new();
            let names: Vec<String> = topics.keys().cloned().collect();
            let metadata = admin
                .describe_topics(&names)
                .await
                .map_err(|e| ToolError::Failed(message(&e)))?;
            for topic in metadata {
                let chosen = topics.get(&topic.name).cloned().flatten();
                for p in &topic.partitions {
                    if chosen.as_ref().is_none_or(|c| c.contains(&p.partition)) {
                        set.insert(TopicPartition::new(topic.name.clone(), p.partition));
                    }
                }
            }
            set
        }
    };
    let earliest = list_offsets(admin, &partitions, OffsetSpec::Earliest).await?;
    let latest = list_offsets(admin, &partitions, OffsetSpec::Latest).await?;
    let clamp = |tp: &TopicPartition, offset: i64| {
        let low = earliest.get(tp).copied().unwrap_or(0);
        let high = latest.get(tp).copied().unwrap_or(offset);
        offset.clamp(low, high.max(low))
    };
    let current = |tp: &TopicPartition| {
        committed
            .get(tp)
            .map(|o| o.offset)
            .filter(|o| *o >= 0)
            .or_else(|| latest.get(tp).copied())
            .unwrap_or(0)
    };
    let by_time = match spec {
        ResetSpec::ToDatetime(ts) => Some(*ts),
        ResetSpec::ByDuration(ms) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            Some(now - ms)
        }
        _ => None,
    };
    let at_time = match by_time {
        Some(ts) => list_offsets(admin, &partitions, OffsetSpec::Timestamp(ts)).await?,
        None => BTreeMap::new(),
    };
    Ok(partitions
        .iter()
        .map(|tp| {
            let target = match spec {
                ResetSpec::ToEarliest => earliest.get(tp).copied().unwrap_or(0),
                ResetSpec::ToLatest => latest.get(tp).copied().unwrap_or(0),
                ResetSpec::ToCurrent => current(tp),
                ResetSpec::ToOffset(o) => clamp(tp, *o),
                ResetSpec::ShiftBy(n) => clamp(tp, current(tp).saturating_add(*n)),
                ResetSpec::ToDatetime(_) | ResetSpec::ByDuration(_) => match at_time.get(tp) {
                    Some(o) if *o >= 0 => *o,
                    _ => latest.get(tp).copied().unwrap_or(0),
                },
                ResetSpec::FromFile(_) => current(tp),
            };
            (tp.clone(), target)
        })
        .collect())
}

async fn describe(
    admin: &AdminClient,
    group: &str,
    view: DescribeView,
    output: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
    documents: &mut Vec<serde_json::Value>,
) -> Result<(), ToolError> {
    let described = admin
        .describe_groups(&[group.to_owned()])
        .await
        .map_err(ToolError::Client)?;
    let Some(description) = described.into_iter().next() else {
        return Ok(());
    };
    let committed = admin
        .list_consumer_group_offsets(group, None)
        .await
        .map_err(ToolError::Client)?;
    let state = description.group_state.clone();
    if state == "Dead" && committed.is_empty() {
        let _ = writeln!(out, "\nError: Consumer group '{group}' does not exist.");
        return Ok(());
    }
    if output == OutputFormat::Text {
        match state.as_str() {
            "Empty" => {
                let _ = writeln!(err, "\nConsumer group '{group}' has no active members.");
            }
            "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => {
                let _ = writeln!(err, "\nWarning: Consumer group '{group}' is rebalancing.");
            }
            _ => {}
        }
    }
    match view {
        DescribeView::State => {
            // Kafka names the coordinator as `host:port  (id)`, and prints `-` for a group
            // without an assignor (an empty group).
            let coordinator = match admin
                .cluster()
                .metadata()
                .brokers
                .get(&description.coordinator_id)
            {
                Some(b) => format!("{}  ({})", b.addr(), description.coordinator_id),
                None => format!("({})", description.coordinator_id),
            };
            let strategy = if description.protocol.is_empty() {
                "-"
            } else {
                description.protocol.as_str()
            };
            if output == OutputFormat::Json {
                documents.push(serde_json::json!({"group": group, "coordinator_id": description.coordinator_id, "assignment_strategy": description.protocol, "state": state, "members": description.members.len()}));
            } else {
                let width = group.len().max(15);
                let cw = coordinator.len().max(25);
                let _ = writeln!(
                    out,
                    "\n{:<width$} {:<cw$} {:<20} {:<20} #MEMBERS",
                    "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE"
                );
                let _ = writeln!(
                    out,
                    "{:<width$} {:<cw$} {:<20} {:<20} {}",
                    group,
                    coordinator,
                    strategy,
                    state,
                    description.members.len()
                );
            }
        }
        DescribeView::Members => {
            if output == OutputFormat::Json {
                documents.push(serde_json::json!({"group": group, "members": description.members.iter().map(|m| serde_json::json!({"consumer_id": m.member_id, "host": m.client_host, "client_id": m.client_id, "partitions": m.assignment.len()})).collect::<Vec<_>>()}));
            } else {
                // Kafka prints the header even when the group has no members.
                let w = |f: &dyn Fn(&fjord_client::admin::GroupMember) -> usize| {
                    description.members.iter().map(f).fold(15, usize::max)
                };
                let (gw, cw, hw, iw) = (
                    group.len().max(15),
                    w(&|m| m.member_id.len()),
                    w(&|m| m.client_host.len()),
                    w(&|m| m.client_id.len()),
                );
                let _ = writeln!(
                    out,
                    "\n{:<gw$} {:<cw$} {:<hw$} {:<iw$} {:<15} ",
                    "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"
                );
                for m in &description.members {
                    let _ = writeln!(
                        out,
                        "{:<gw$} {:<cw$} {:<hw$} {:<iw$} {:<15} ",
                        group,
                        m.member_id,
                        m.client_host,
                        m.client_id,
                        m.assignment.len()
                    );
                }
            }
        }
        DescribeView::Offsets => {
            let mut owner: BTreeMap<TopicPartition, &fjord_client::admin::GroupMember> =
                BTreeMap::new();
            for m in &description.members {
                for tp in &m.assignment {
                    owner.insert(tp.clone(), m);
                }
            }
            let partitions: BTreeSet<TopicPartition> =
                committed.keys().chain(owner.keys()).cloned().collect();
            let log_end = list_offsets(admin, &partitions, OffsetSpec::Latest)
                .await
                .unwrap_or_default();
            let rows: Vec<OffsetRow> = partitions
                .iter()
                .map(|tp| {
                    let current = committed.get(tp).map(|o| o.offset).filter(|o| *o >= 0);
                    let end = log_end.get(tp).copied();
                    let member = owner.get(tp);
                    OffsetRow {
                        group: group.to_owned(),
                        topic: Some(tp.topic.clone()),
                        partition: Some(tp.partition),
                        current_offset: current,
                        log_end_offset: end,
                        lag: current.zip(end).map(|(c, e)| (e - c).max(0)),
                        consumer_id: member.map(|m| m.member_id.clone()),
                        host: member.map(|m| m.client_host.clone()),
                        client_id: member.map(|m| m.client_id.clone()),
                    }
                })
                .collect();
            if output == OutputFormat::Json {
                documents.push(serde_json::json!({"group": group, "state": state, "partitions": rows.iter().map(|r| serde_json::json!({
                    "topic": r.topic, "partition": r.partition, "current_offset": r.current_offset,
                    "log_end_offset": r.log_end_offset, "lag": r.lag, "consumer_id": r.consumer_id,
                    "host": r.host, "client_id": r.client_id,
                })).collect::<Vec<_>>()}));
            } else if !rows.is_empty() {
                let _ = write!(out, "{}", offsets_table(&rows));
            }
        }
    }
    Ok(())
}
