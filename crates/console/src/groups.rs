//! Consumer groups as the console lists them: the classic groups of every
//! `__consumer_offsets` partition this broker coordinates, read from the group coordinator
//! runtime (`BrokerContext::groups`) the way the ListGroups and DescribeGroups handlers read
//! it. Shards still loading are skipped, so a listing during start-up may be partial.
//! Offsets and lag per partition are not shown yet.

use fjord_broker::BrokerContext;
use serde::Serialize;

/// One member of a group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
}

/// One group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    pub group_id: String,
    /// Kafka's state names: Empty, PreparingRebalance, CompletingRebalance, Stable.
    pub state: String,
    pub protocol_type: Option<String>,
    /// The assignor chosen for the current generation.
    pub protocol: Option<String>,
    pub generation_id: i32,
    pub members: Vec<GroupMember>,
}

/// Every live group this broker coordinates, sorted by id.
pub async fn list_groups(ctx: &BrokerContext) -> Vec<GroupSummary> {
    let mut groups = Vec::new();
    for shard in ctx.groups.shards() {
        let listed = shard
            .read(|coordinator| {
                coordinator
                    .group_ids()
                    .filter_map(|id| coordinator.group(id))
                    .map(|g| GroupSummary {
                        group_id: g.group_id.clone(),
                        state: g.state.to_string(),
                        protocol_type: g.protocol_type.clone(),
                        protocol: g.protocol_name.clone(),
                        generation_id: g.generation_id,
                        members: g
                            .members
                            .values()
                            .map(|m| GroupMember {
                                member_id: m.member_id.clone(),
                                group_instance_id: m.group_instance_id.clone(),
                                client_id: m.client_id.clone(),
                                client_host: m.client_host.clone(),
                            })
                            .collect(),
                    })
                    .filter(|g| g.state != "Dead")
                    .collect::<Vec<_>>()
            })
            .await;
        if let Ok(listed) = listed {
            groups.extend(listed);
        }
    }
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    groups
}
