//! Shared helpers for the coordinator's integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use fjord_coordinator::{
    GroupConfig, GroupCoordinator, GroupError, JoinGroupRequest, JoinGroupResponse, Outcome, Ready,
    Reply, SyncGroupRequest, SyncGroupResponse,
};

pub const GROUP: &str = "g";

pub fn coordinator() -> GroupCoordinator {
    GroupCoordinator::new(GroupConfig::default())
}

pub fn join_req(member_id: &str, instance: Option<&str>, protocols: &[&str]) -> JoinGroupRequest {
    JoinGroupRequest {
        group_id: GROUP.into(),
        member_id: member_id.into(),
        group_instance_id: instance.map(str::to_string),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
        require_known_member_id: true,
    }
}

pub fn sync_req(
    member_id: &str,
    generation_id: i32,
    assignments: &[(&str, Bytes)],
) -> SyncGroupRequest {
    SyncGroupRequest {
        group_id: GROUP.into(),
        member_id: member_id.into(),
        group_instance_id: None,
        generation_id,
        protocol_type: Some("consumer".into()),
        protocol_name: None,
        assignments: assignments
            .iter()
            .map(|(m, b)| (m.to_string(), b.clone()))
            .collect(),
    }
}

/// The join answers in an outcome, by member id.
pub fn joins(out: &Outcome) -> Vec<(String, Result<JoinGroupResponse, GroupError>)> {
    out.ready
        .iter()
        .filter_map(|r| match r {
            Ready::Join {
                member_id, result, ..
            } => Some((member_id.clone(), result.clone())),
            Ready::Sync { .. } => None,
        })
        .collect()
}

/// The sync answers in an outcome, by member id.
pub fn syncs(out: &Outcome) -> Vec<(String, Result<SyncGroupResponse, GroupError>)> {
    out.ready
        .iter()
        .filter_map(|r| match r {
            Ready::Sync {
                member_id, result, ..
            } => Some((member_id.clone(), result.clone())),
            Ready::Join { .. } => None,
        })
        .collect()
}

/// KIP-394 dance: first join gets MEMBER_ID_REQUIRED, the rejoin parks. Returns the member id.
pub fn join_new(c: &mut GroupCoordinator, now_ms: i64) -> (String, Outcome) {
    let (reply, out) = c.join_group(join_req("", None, &["range"]), now_ms);
    assert!(out.ready.is_empty());
    let member_id = match reply {
        Reply::Now(Err(GroupError::MemberIdRequired { member_id })) => member_id,
        other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
    };
    let (reply, out) = c.join_group(join_req(&member_id, None, &["range"]), now_ms);
    assert_eq!(
        reply,
        Reply::Parked {
            member_id: member_id.clone()
        }
    );
    (member_id, out)
}

/// Brings a fresh group to Stable with `n` dynamic members; returns (member ids, leader,
/// generation, time).
pub fn stable_group(c: &mut GroupCoordinator, n: usize) -> (Vec<String>, String, i32, i64) {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(join_new(c, 0).0);
    }
    let out = c.poll(3_000);
    let answers = joins(&out);
    assert_eq!(answers.len(), n);
    let first = answers[0].1.clone().expect("join ok");
    let (leader, generation_id) = (first.leader.clone(), first.generation_id);
    let assignments: Vec<(&str, Bytes)> = ids
        .iter()
        .map(|id| (id.as_str(), Bytes::from(format!("assign-{id}"))))
        .collect();
    for id in ids.iter().filter(|id| **id != leader) {
        let (reply, _) = c.sync_group(sync_req(id, generation_id, &[]), 3_000);
        assert!(matches!(reply, Reply::Parked { .. }));
    }
    let (_, out) = c.sync_group(sync_req(&leader, generation_id, &assignments), 3_000);
    assert_eq!(syncs(&out).len(), n);
    (ids, leader, generation_id, 3_000)
}
