//! ListGroups (key 16), v0-5: every group this node coordinates, classic and KIP-848
//! consumer groups alike, with its protocol type ("consumer" for both kinds of consumer
//! group, "" for a group that only has offsets), state (v4+) and type (v5+: "classic" or
//! "consumer").
//!
//! v4+ filter by state and v5+ by type, both case-insensitively as Kafka does; an empty
//! filter keeps everything. A partition still loading makes the top-level error
//! COORDINATOR_LOAD_IN_PROGRESS while the groups of the other partitions are still listed.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

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
    let mut error_code = 0;
    let mut groups = Vec::new();
    for shard in ctx.groups.shards() {
        let listed = shard
            .read(|coordinator| {
                coordinator
                    .list_groups()
                    .into_iter()
                    .filter(|g| states.is_empty() || states.contains(&g.state.to_lowercase()))
                    .filter(|g| types.is_empty() || types.contains(&g.group_type.to_string()))
                    .map(|g| {
                        ListedGroup::default()
                            .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                            .with_protocol_type(StrBytes::from_string(g.protocol_type))
                            .with_group_state(StrBytes::from_string(g.state))
                            .with_group_type(StrBytes::from_string(g.group_type.to_string()))
                    })
                    .collect::<Vec<ListedGroup>>()
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
