//! Random KIP-848 traffic — joins, heartbeats with lost responses, leaves, static leaves and
//! rejoins, subscription changes, new partitions, time passing — never panics, never leaves
//! one partition in two members' current assignments, rebuilds to the same groups from its
//! records, and settles to Stable once every client heartbeats.

use std::collections::BTreeMap;

use fjord_coordinator::consumer_group::JOIN_GROUP_MEMBER_EPOCH;
use fjord_coordinator::{
    Assignment, ConsumerGroup, ConsumerGroupHeartbeatRequest, ConsumerGroupState,
    CoordinatorRecord, GroupConfig, GroupCoordinator, GroupError,
};
use proptest::prelude::*;
use uuid::Uuid;

const G: &str = "g";
const CLIENTS: usize = 4;
const TOPICS: [&str; 2] = ["orders", "audit"];

#[derive(Debug, Clone)]
enum Op {
    Heartbeat { client: usize, lose_response: bool },
    Leave { client: usize },
    StaticLeave,
    Subscribe { client: usize, topics: u8 },
    Range { client: usize },
    GrowTopic { topic: usize },
    Advance { ms: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..CLIENTS, any::<bool>()).prop_map(|(client, lose)| Op::Heartbeat {
            client,
            lose_response: lose && client % 2 == 0,
        }),
        1 => (0..CLIENTS).prop_map(|client| Op::Leave { client }),
        1 => Just(Op::StaticLeave),
        1 => (0..CLIENTS, 1u8..4).prop_map(|(client, topics)| Op::Subscribe { client, topics }),
        1 => (0..CLIENTS).prop_map(|client| Op::Range { client }),
        1 => (0..TOPICS.len()).prop_map(|topic| Op::GrowTopic { topic }),
        2 => (0i64..50_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// What a well-behaved client remembers. Client 3 is static (instance id "i3") and takes a
/// new member id each time it rejoins, like a restarted process.
#[derive(Debug, Clone, Default)]
struct Client {
    member_id: String,
    joined: bool,
    epoch: i32,
    owned: Assignment,
    topics: Vec<String>,
    assignor: Option<String>,
    incarnation: u32,
}

struct World {
    c: GroupCoordinator,
    clients: Vec<Client>,
    partitions: [i32; 2],
    now_ms: i64,
    log: Vec<CoordinatorRecord>,
}

fn topic_id(index: usize) -> Uuid {
    Uuid::from_u128(index as u128 + 1)
}

impl World {
    fn new() -> Self {
        let clients = (0..CLIENTS)
            .map(|i| Client {
                member_id: format!("m{i}-0"),
                topics: vec!["orders".into()],
                ..Client::default()
            })
            .collect();
        World {
            c: GroupCoordinator::new(GroupConfig::default()),
            clients,
            partitions: [3, 2],
            now_ms: 0,
            log: Vec::new(),
        }
    }

    fn heartbeat(&mut self, i: usize, lose_response: bool) {
        let client = &mut self.clients[i];
        let is_static = i == 3;
        if !client.joined && is_static {
            client.incarnation += 1;
            client.member_id = format!("m{i}-{}", client.incarnation);
        }
        let req = ConsumerGroupHeartbeatRequest {
            group_id: G.into(),
            member_id: client.member_id.clone(),
            member_epoch: if client.joined {
                client.epoch
            } else {
                JOIN_GROUP_MEMBER_EPOCH
            },
            instance_id: is_static.then(|| "i3".to_string()),
            rebalance_timeout_ms: if client.joined { -1 } else { 20_000 },
            client_id: "c".into(),
            client_host: "h".into(),
            subscribed_topic_names: Some(client.topics.clone()),
            server_assignor: client.assignor.clone(),
            topic_partitions: Some(if client.joined {
                client
                    .owned
                    .iter()
                    .map(|(t, ps)| (*t, ps.iter().copied().collect()))
                    .collect()
            } else {
                Vec::new()
            }),
            ..ConsumerGroupHeartbeatRequest::default()
        };
        let partitions = self.partitions;
        let metadata = move |name: &str| {
            let index = TOPICS.iter().position(|t| *t == name)?;
            Some((topic_id(index), partitions[index]))
        };
        let (result, records) = self.c.consumer_group_heartbeat(req, &metadata, self.now_ms);
        self.log.extend(records);
        if lose_response {
            return;
        }
        let client = &mut self.clients[i];
        match result {
            Ok(response) => {
                client.joined = true;
                client.member_id = response.member_id;
                client.epoch = response.member_epoch;
                if let Some(assignment) = response.assignment {
                    // The client revokes at once and reports it on its next heartbeat.
                    client.owned = assignment;
                }
            }
            Err(
                GroupError::FencedMemberEpoch
                | GroupError::UnknownMemberId
                | GroupError::FencedInstanceId
                | GroupError::GroupIdNotFound,
            ) => {
                client.joined = false;
                client.owned.clear();
            }
            // The previous incarnation has not left yet: try again later.
            Err(GroupError::UnreleasedInstanceId) => {}
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }

    fn leave(&mut self, i: usize, epoch: i32) {
        let client = &mut self.clients[i];
        if !client.joined {
            return;
        }
        let req = ConsumerGroupHeartbeatRequest {
            group_id: G.into(),
            member_id: client.member_id.clone(),
            member_epoch: epoch,
            instance_id: (i == 3).then(|| "i3".to_string()),
            rebalance_timeout_ms: -1,
            ..ConsumerGroupHeartbeatRequest::default()
        };
        let (_, records) = self
            .c
            .consumer_group_heartbeat(req, &|_: &str| None, self.now_ms);
        self.log.extend(records);
        client.joined = false;
        client.owned.clear();
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Heartbeat {
                client,
                lose_response,
            } => self.heartbeat(client, lose_response),
            Op::Leave { client } => self.leave(client, -1),
            Op::StaticLeave => self.leave(3, -2),
            Op::Subscribe { client, topics } => {
                self.clients[client].topics = TOPICS
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| topics & (1 << index) != 0)
                    .map(|(_, t)| t.to_string())
                    .collect();
            }
            Op::Range { client } => self.clients[client].assignor = Some("range".into()),
            Op::GrowTopic { topic } => self.partitions[topic] = (self.partitions[topic] + 1).min(8),
            Op::Advance { ms } => {
                self.now_ms += ms;
                let out = self.c.poll(self.now_ms);
                self.log.extend(out.records);
            }
        }
        assert_exclusive(self.c.consumer_group(G));
    }
}

/// No partition in two members' current assignments (assigned or pending revocation).
fn assert_exclusive(group: Option<&ConsumerGroup>) {
    let Some(group) = group else { return };
    let mut owner: BTreeMap<(Uuid, i32), &str> = BTreeMap::new();
    for member in group.members.values() {
        for assignment in [
            &member.assigned_partitions,
            &member.partitions_pending_revocation,
        ] {
            for (topic_id, partitions) in assignment {
                for partition in partitions {
                    let previous = owner.insert((*topic_id, *partition), &member.member_id);
                    assert!(
                        previous.is_none_or(|p| p == member.member_id),
                        "{topic_id}-{partition} owned by {previous:?} and {}",
                        member.member_id
                    );
                }
            }
        }
    }
}

/// A group without its timers, which restart at load time by design.
fn without_timers(group: &ConsumerGroup) -> ConsumerGroup {
    let mut group = group.clone();
    for member in group.members.values_mut() {
        member.last_heartbeat_ms = 0;
        member.revocation_deadline_ms = None;
    }
    group
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_heartbeats_keep_partitions_exclusive(ops in proptest::collection::vec(op(), 1..80)) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
        }
        // Replay through the record bytes rebuilds the same group.
        let mut replayed = GroupCoordinator::new(GroupConfig::default());
        for record in &world.log {
            let value = record.value_bytes();
            let decoded = CoordinatorRecord::decode(&record.key_bytes(), value.as_deref())
                .expect("our records decode");
            replayed.replay(&decoded, world.now_ms);
        }
        prop_assert_eq!(
            replayed.consumer_group(G).map(without_timers),
            world.c.consumer_group(G).map(without_timers)
        );
        // Once every client heartbeats, the group settles. Time moves 5 s a round, so
        // incarnations nobody speaks for (a static member's lost join) expire and free their
        // instance id.
        for _ in 0..16 {
            for client in 0..CLIENTS {
                world.heartbeat(client, false);
                assert_exclusive(world.c.consumer_group(G));
            }
            world.apply(&Op::Advance { ms: 5_000 });
        }
        for client in 0..CLIENTS {
            world.heartbeat(client, false);
        }
        let group = world.c.consumer_group(G).expect("clients joined");
        prop_assert_eq!(group.state(), ConsumerGroupState::Stable);
        for member in group.members.values() {
            let target = group.target_assignment.get(&member.member_id).cloned().unwrap_or_default();
            let target: Assignment = target.into_iter().filter(|(_, p)| !p.is_empty()).collect();
            prop_assert_eq!(&member.assigned_partitions, &target);
        }
    }
}
