//! Random sequences of joins, syncs, heartbeats, leaves, commits and time never panic, never
//! hand one member id to two clients, never elect two leaders in a generation, and every
//! assignment a member receives is the one the leader wrote for that member and generation.

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use common::*;
use fjord_coordinator::{
    GroupError, GroupState, JoinGroupResponse, LeavingMember, OffsetCommitEntry, Outcome, Ready,
    Reply,
};
use proptest::prelude::*;

const SLOTS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Join {
        slot: usize,
        roundrobin: bool,
        is_static: bool,
    },
    Sync {
        slot: usize,
    },
    Heartbeat {
        slot: usize,
    },
    Leave {
        slot: usize,
    },
    Commit {
        slot: usize,
    },
    Advance {
        ms: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    prop_oneof![
        (slot.clone(), any::<bool>(), any::<bool>()).prop_map(|(slot, roundrobin, is_static)| {
            Op::Join {
                slot,
                roundrobin,
                is_static,
            }
        }),
        slot.clone().prop_map(|slot| Op::Sync { slot }),
        slot.clone().prop_map(|slot| Op::Heartbeat { slot }),
        slot.clone().prop_map(|slot| Op::Leave { slot }),
        slot.prop_map(|slot| Op::Commit { slot }),
        (0i64..15_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

#[derive(Default)]
struct Slot {
    member_id: Option<String>,
    generation_id: i32,
    /// Set when this slot led its last generation: the members to assign.
    leads: Option<Vec<String>>,
}

#[derive(Default)]
struct Checker {
    slots: Vec<Slot>,
    /// member id -> slot that owns it.
    owners: HashMap<String, usize>,
    /// generation -> leader.
    leaders: HashMap<i32, String>,
    /// member id -> generation of its parked sync.
    parked_syncs: HashMap<String, i32>,
    last_generation: i32,
}

fn assignment_for(generation_id: i32, member_id: &str) -> Bytes {
    Bytes::from(format!("{generation_id}/{member_id}"))
}

impl Checker {
    fn slot_of(&self, member_id: &str) -> Option<usize> {
        self.owners.get(member_id).copied()
    }

    fn own(&mut self, slot: usize, member_id: &str) {
        let owner = *self.owners.entry(member_id.to_string()).or_insert(slot);
        assert_eq!(owner, slot, "member id {member_id} handed to two clients");
        self.slots[slot].member_id = Some(member_id.to_string());
    }

    fn joined(&mut self, slot: usize, response: &JoinGroupResponse) {
        self.own(slot, &response.member_id);
        let leader = self
            .leaders
            .entry(response.generation_id)
            .or_insert_with(|| response.leader.clone());
        assert_eq!(*leader, response.leader, "two leaders in one generation");
        let s = &mut self.slots[slot];
        s.generation_id = response.generation_id;
        s.leads =
            (response.leader == response.member_id && !response.members.is_empty()).then(|| {
                response
                    .members
                    .iter()
                    .map(|m| m.member_id.clone())
                    .collect()
            });
    }

    fn absorb(&mut self, out: &Outcome) {
        for ready in &out.ready {
            match ready {
                Ready::Join {
                    member_id, result, ..
                } => {
                    let Some(slot) = self.slot_of(member_id) else {
                        panic!("join answer for a member id no client holds: {member_id}")
                    };
                    if let Ok(response) = result {
                        assert_eq!(&response.member_id, member_id);
                        self.joined(slot, response);
                    }
                }
                Ready::Sync {
                    member_id, result, ..
                } => {
                    let generation_id = self.parked_syncs.remove(member_id);
                    let generation_id = generation_id.expect("answer to a sync that was parked");
                    if let Ok(response) = result {
                        let expected = assignment_for(generation_id, member_id);
                        assert!(response.assignment.is_empty() || response.assignment == expected);
                    }
                }
            }
        }
    }
}

fn run(ops: Vec<Op>) {
    let mut c = coordinator();
    let mut k = Checker {
        slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        ..Checker::default()
    };
    let mut now_ms = 0i64;
    for op in ops {
        match op {
            Op::Join {
                slot,
                roundrobin,
                is_static,
            } => {
                let member_id = k.slots[slot].member_id.clone().unwrap_or_default();
                let instance = format!("instance-{slot}");
                let protocols: &[&str] = if roundrobin {
                    &["roundrobin", "range"]
                } else {
                    &["range"]
                };
                let instance = is_static.then_some(instance.as_str());
                let (reply, out) = c.join_group(join_req(&member_id, instance, protocols), now_ms);
                match &reply {
                    Reply::Now(Err(GroupError::MemberIdRequired { member_id })) => {
                        k.own(slot, member_id)
                    }
                    Reply::Now(Ok(response)) => k.joined(slot, response),
                    Reply::Parked { member_id } => k.own(slot, member_id),
                    Reply::Now(Err(_)) => {}
                }
                k.absorb(&out);
            }
            Op::Sync { slot } => {
                let Some(member_id) = k.slots[slot].member_id.clone() else {
                    continue;
                };
                let generation_id = k.slots[slot].generation_id;
                let assignments: Vec<(String, Bytes)> = k.slots[slot]
                    .leads
                    .iter()
                    .flatten()
                    .map(|m| (m.clone(), assignment_for(generation_id, m)))
                    .collect();
                let assignments: Vec<(&str, Bytes)> = assignments
                    .iter()
                    .map(|(m, b)| (m.as_str(), b.clone()))
                    .collect();
                let mut req = sync_req(&member_id, generation_id, &assignments);
                req.protocol_type = None;
                let (reply, out) = c.sync_group(req, now_ms);
                match &reply {
                    Reply::Parked { member_id } => {
                        k.parked_syncs.insert(member_id.clone(), generation_id);
                    }
                    Reply::Now(Ok(response)) => {
                        let expected = assignment_for(generation_id, &member_id);
                        assert!(response.assignment.is_empty() || response.assignment == expected);
                    }
                    Reply::Now(Err(_)) => {}
                }
                k.absorb(&out);
            }
            Op::Heartbeat { slot } => {
                if let Some(member_id) = &k.slots[slot].member_id {
                    let _ =
                        c.heartbeat(GROUP, member_id, None, k.slots[slot].generation_id, now_ms);
                }
            }
            Op::Leave { slot } => {
                let Some(member_id) = k.slots[slot].member_id.clone() else {
                    continue;
                };
                let instance = c.group(GROUP).and_then(|g| {
                    g.members
                        .get(&member_id)
                        .and_then(|m| m.group_instance_id.clone())
                });
                let leaving = [LeavingMember {
                    member_id,
                    group_instance_id: instance,
                }];
                let (results, out) = c.leave_group(GROUP, &leaving, now_ms);
                assert_eq!(results.len(), 1);
                k.absorb(&out);
            }
            Op::Commit { slot } => {
                let member_id = k.slots[slot].member_id.clone().unwrap_or_default();
                let entry = OffsetCommitEntry {
                    topic: "t".into(),
                    partition: slot as i32,
                    offset: now_ms,
                    leader_epoch: -1,
                    metadata: None,
                };
                let generation_id = k.slots[slot].generation_id;
                if let Ok((_, records)) =
                    c.commit_offsets(GROUP, &member_id, None, generation_id, &[entry], now_ms)
                {
                    assert_eq!(records.len(), 1);
                    let fetched = c.fetch_offsets(GROUP, Some(&[("t".into(), slot as i32)]));
                    assert_eq!(fetched[0].offset, now_ms);
                }
            }
            Op::Advance { ms } => {
                now_ms += ms;
                let out = c.poll(now_ms);
                k.absorb(&out);
            }
        }
        if let Some(group) = c.group(GROUP) {
            assert!(
                group.generation_id >= k.last_generation,
                "generation went back"
            );
            k.last_generation = group.generation_id;
            for (id, member) in &group.members {
                assert_eq!(id, &member.member_id);
            }
            for (instance, id) in &group.static_members {
                let member = group
                    .members
                    .get(id)
                    .expect("static map points at a member");
                assert_eq!(member.group_instance_id.as_ref(), Some(instance));
            }
            if group.state == GroupState::Empty {
                assert!(group.members.is_empty());
            }
            if matches!(
                group.state,
                GroupState::Stable | GroupState::CompletingRebalance
            ) {
                let leader = group.leader.as_ref().expect("a leader");
                assert!(group.members.contains_key(leader));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn random_group_traffic_keeps_invariants(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops);
    }
}
