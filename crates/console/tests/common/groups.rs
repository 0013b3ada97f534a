//! Consumer-group fixtures: offsets committed and members joined in-process, through the
//! group's coordinator shard, as an admin tool or a consumer would.

use fjord_coordinator::{JoinGroupRequest, OffsetCommitEntry, Outcome};

use super::TestConsole;

/// The group's coordinator shard once `__consumer_offsets` exists and the shard has loaded.
pub async fn loaded_shard(
    c: &TestConsole,
    group: &str,
) -> std::sync::Arc<fjord_broker::group::Shard> {
    let ctx = c.broker.context();
    for _ in 0..200 {
        if let Ok(shard) = ctx.groups.shard_for(group).await {
            if shard.is_loaded() {
                return shard;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the coordinator of {group:?} did not load in 10 s");
}

/// Commits `offsets` for `group` as an admin tool does (empty member id, generation -1).
pub async fn admin_commit(c: &TestConsole, group: &str, offsets: &[(&str, i32, i64)]) {
    let shard = loaded_shard(c, group).await;
    let entries: Vec<OffsetCommitEntry> = offsets
        .iter()
        .map(|(topic, partition, offset)| OffsetCommitEntry {
            topic: topic.to_string(),
            partition: *partition,
            offset: *offset,
            leader_epoch: -1,
            metadata: None,
        })
        .collect();
    let (result, _) = shard
        .write(|coordinator, now| {
            match coordinator.commit_offsets(group, "", None, -1, &entries, now) {
                Ok((results, records)) => (
                    Ok(results),
                    Outcome {
                        ready: Vec::new(),
                        records,
                    },
                    None,
                ),
                Err(e) => (Err(e), Outcome::default(), None),
            }
        })
        .await
        .expect("shard write");
    let results = result.expect("admin commit accepted");
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
}

/// A classic member joins `group` (it stays in PreparingRebalance: enough to be a member).
pub async fn join_member(c: &TestConsole, group: &str) {
    let shard = loaded_shard(c, group).await;
    let request = JoinGroupRequest {
        group_id: group.to_string(),
        member_id: String::new(),
        group_instance_id: None,
        client_id: "reader-1".to_string(),
        client_host: "/127.0.0.1".to_string(),
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 60_000,
        protocol_type: "consumer".to_string(),
        protocols: vec![("range".to_string(), bytes::Bytes::new())],
        require_known_member_id: false,
    };
    shard
        .write(|coordinator, now| {
            let (_, outcome) = coordinator.join_group(request, now);
            ((), outcome, None)
        })
        .await
        .expect("join written");
}
