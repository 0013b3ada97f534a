//! `/api/v1/groups...`: the consumer groups this broker coordinates (state, members, topics,
//! total lag), one group's partitions (current offset, log end offset, lag, owner), offset
//! reset while the group is Empty, and delete; and `/api/v1/topics/{topic}/groups`, the groups
//! consuming one topic.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::json_body;
use crate::error::Result;
use crate::group_admin::{self, ResetOffset, ResetRequest};
use crate::groups::{self, GroupDetail, GroupSummary, TopicGroup};
use crate::state::ConsoleState;

#[derive(Serialize)]
pub struct GroupList {
    pub groups: Vec<GroupSummary>,
}

pub async fn list(State(state): State<ConsoleState>) -> Json<GroupList> {
    Json(GroupList {
        groups: groups::list_groups(&state.ctx).await,
    })
}

#[derive(Serialize)]
pub struct TopicGroupList {
    pub groups: Vec<TopicGroup>,
}

pub async fn of_topic(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
) -> Result<Json<TopicGroupList>> {
    Ok(Json(TopicGroupList {
        groups: groups::topic_groups(&state.ctx, &topic).await?,
    }))
}

pub async fn detail(
    State(state): State<ConsoleState>,
    Path(group): Path<String>,
) -> Result<Json<GroupDetail>> {
    Ok(Json(groups::group_detail(&state.ctx, &group).await?))
}

#[derive(Serialize)]
pub struct ResetAnswer {
    pub group_id: String,
    pub partitions: Vec<ResetOffset>,
}

pub async fn reset_offsets(
    State(state): State<ConsoleState>,
    Path(group): Path<String>,
    body: Bytes,
) -> Result<Json<ResetAnswer>> {
    let request: ResetRequest = json_body(&body)?;
    let partitions = group_admin::reset_offsets(&state.ctx, &group, &request).await?;
    Ok(Json(ResetAnswer {
        group_id: group,
        partitions,
    }))
}

pub async fn delete(
    State(state): State<ConsoleState>,
    Path(group): Path<String>,
) -> Result<StatusCode> {
    group_admin::delete_group(&state.ctx, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}
