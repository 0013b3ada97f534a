//! ListGroups (key 16), v0-5: every group this node coordinates, with its protocol type,
//! state (v4+) and type (v5+, always "classic" here).
//!
//! v4+ filter by state and v5+ by type, both case-insensitively as Kafka does; an empty
//! filter keeps everything. A partition still loading makes the top-level error
//! COORDINATOR_LOAD_IN_PROGRESS while the groups of the other partitions are still listed.

use fjord_coordinator::GroupState;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

const CLASSIC: &str = "classic";

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: ListGroupsRequest,
) -> ListGroupsResponse {
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let types: Vec<String> = request
        .types_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    if !types.is_empty() && !types.iter().any(|t| t == CLASSIC) {
        return ListGroupsResponse::default();
    }
    let mut error_code = 0;
    let mut groups = Vec::new();
    for shard in ctx.groups.shards() {
        let listed = shard
            .read(|coordinator| {
                let mut listed: Vec<ListedGroup> = coordinator
                    .group_ids()
                    .filter_map(|id| coordinator.group(id))
                    .filter(|g| g.state != GroupState::Dead)
                    .filter(|g| {
                        states.is_empty() || states.contains(&g.state.to_string().to_lowercase())
                    })
                    .map(|g| {
                        ListedGroup::default()
                            .with_group_id(GroupId(StrBytes::from_string(g.group_id.clone())))
                            .with_protocol_type(StrBytes::from_string(
                                g.protocol_type.clone().unwrap_or_default(),
                            ))
                            .with_group_state(StrBytes::from_string(g.state.to_string()))
                            .with_group_type(StrBytes::from_static_str(CLASSIC))
                    })
                    .collect();
                listed.sort_by(|a, b| a.group_id.as_str().cmp(b.group_id.as_str()));
                listed
            })
            .await;
        match listed {
            Ok(listed) => groups.extend(listed),
            Err(e) => error_code = e.error_code(),
        }
    }
    ListGroupsResponse::default()
        .with_error_code(error_code)
        .with_groups(groups)
}
