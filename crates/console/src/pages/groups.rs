//! `/groups`: the consumer groups this broker coordinates with state, members, topics and
//! total lag; `/groups/{group}`: its partitions (current offset, log end offset, lag, owner),
//! the offset-reset form (`POST /groups/{group}/reset-offsets`) and the delete form
//! (`POST /groups/{group}/delete`, the group id typed again as confirmation). Every group id,
//! topic, client id and host is escaped: any client can pick them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};

use super::{csrf_field, esc, form, layout, see_other, url, PageError, PageResult};
use crate::error::ConsoleError;
use crate::group_admin::{self, ResetRequest};
use crate::groups::{group_detail, list_groups};
use crate::state::ConsoleState;

fn opt(v: Option<i64>) -> String {
    v.map_or("—".to_string(), |v| v.to_string())
}

pub async fn page(State(state): State<ConsoleState>) -> Html<String> {
    let groups = list_groups(&state.ctx).await;
    let rows: String = groups
        .iter()
        .map(|g| {
            let topics: Vec<String> = g.topics.iter().map(|t| esc(t)).collect();
            format!(
                "<tr><td><a href=\"/groups/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                url(&g.group_id),
                esc(&g.group_id),
                g.group_type,
                esc(&g.state),
                esc(g.protocol.as_deref().unwrap_or("—")),
                g.members.len(),
                topics.join(", "),
                opt(g.total_lag),
            )
        })
        .collect();
    let body = format!(
        "<h1>Consumer groups</h1><p>{} groups coordinated by this broker.</p>\
         <table id=\"groups\"><thead><tr><th>Group</th><th>Type</th><th>State</th><th>Assignor</th>\
         <th>Members</th><th>Topics</th><th>Total lag</th></tr></thead><tbody>{rows}</tbody></table>",
        groups.len()
    );
    layout("Consumer groups", "/groups", &body)
}

fn render(
    state: &ConsoleState,
    detail: &crate::groups::GroupDetail,
    error: Option<&str>,
) -> Html<String> {
    let g = &detail.summary;
    let u = url(&g.group_id);
    let partitions: String = detail
        .partitions
        .iter()
        .map(|p| {
            let owner = p.owner.as_ref().map_or("—".to_string(), |o| {
                format!(
                    "{} <span class=\"null\">{} {}</span>",
                    esc(&o.client_id),
                    esc(&o.client_host),
                    esc(&o.member_id)
                )
            });
            format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&p.topic),
                p.partition,
                opt(p.current_offset),
                opt(p.log_end_offset),
                opt(p.lag),
                owner
            )
        })
        .collect();
    let members: String = g
        .members
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.member_id),
                esc(m.group_instance_id.as_deref().unwrap_or("—")),
                esc(&m.client_id),
                esc(&m.client_host),
                m.assignment.len()
            )
        })
        .collect();
    let topics: String = g
        .topics
        .iter()
        .map(|t| format!("<option value=\"{0}\">{0}</option>", esc(t)))
        .collect();
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))
    });
    let empty = g.members.is_empty();
    let admin = if empty {
        format!(
            "<h2 id=\"reset\">Reset offsets</h2>\
             <form method=\"post\" action=\"/groups/{u}/reset-offsets\">{csrf}\
             <label>Topic <select name=\"topic\"><option value=\"\">all committed topics</option>{topics}</select></label> \
             <label>To <select name=\"to\"><option value=\"earliest\">earliest</option>\
             <option value=\"latest\">latest</option><option value=\"timestamp\">timestamp (ms)</option>\
             <option value=\"offset\">offset</option></select></label> \
             <label>Value <input name=\"value\" inputmode=\"numeric\" placeholder=\"for timestamp or offset\"></label> \
             <button>Reset</button></form>\
             <h2>Delete</h2>\
             <form class=\"danger\" method=\"post\" action=\"/groups/{u}/delete\" data-confirm=\"Delete group {name} and its committed offsets?\">{csrf}\
             <label>Type the group id to confirm <input name=\"confirm\" required></label> \
             <button class=\"danger\">Delete group</button></form>",
            csrf = csrf_field(state),
            name = esc(&g.group_id),
        )
    } else {
        "<p class=\"null\">Offsets can be reset and the group deleted only while it has no \
         members: stop its consumers first.</p>"
            .to_string()
    };
    let body = format!(
        "<h1>Group {name}</h1>{error}<p>{kind} group, state <b>{state}</b>, generation {generation}, \
         total lag {lag}.</p>\
         <h2>Partitions</h2><table id=\"partitions\"><thead><tr><th>Topic</th><th>Partition</th>\
         <th>Current offset</th><th>Log end offset</th><th>Lag</th><th>Owner</th></tr></thead>\
         <tbody>{partitions}</tbody></table>\
         <h2>Members</h2><table id=\"members\"><thead><tr><th>Member</th><th>Instance</th>\
         <th>Client</th><th>Host</th><th>Partitions</th></tr></thead><tbody>{members}</tbody></table>{admin}",
        name = esc(&g.group_id),
        kind = g.group_type,
        state = esc(&g.state),
        generation = g.generation_id,
        lag = opt(g.total_lag),
    );
    layout(&format!("Group {}", g.group_id), "/groups", &body)
}

pub async fn detail(State(state): State<ConsoleState>, Path(group): Path<String>) -> PageResult {
    let detail = group_detail(&state.ctx, &group).await?;
    Ok(render(&state, &detail, None).into_response())
}

pub async fn reset_offsets(
    State(state): State<ConsoleState>,
    Path(group): Path<String>,
    body: Bytes,
) -> PageResult {
    let fields = form(&state, &body)?;
    let value = match fields
        .get("value")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ConsoleError::BadRequest(format!("value {v:?} is not a number")))?,
        ),
    };
    let request = ResetRequest {
        topic: fields
            .get("topic")
            .cloned()
            .filter(|t| !t.trim().is_empty()),
        topics: Vec::new(),
        to: fields.get("to").cloned().unwrap_or_default(),
        value,
    };
    match group_admin::reset_offsets(&state.ctx, &group, &request).await {
        Ok(_) => Ok(see_other(&format!("/groups/{}", url(&group)))),
        Err(e) if matches!(e.status(), StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let detail = group_detail(&state.ctx, &group).await?;
            let html = render(&state, &detail, Some(&e.client_message()));
            Ok((e.status(), html).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

pub async fn delete(
    State(state): State<ConsoleState>,
    Path(group): Path<String>,
    body: Bytes,
) -> PageResult {
    let fields = form(&state, &body)?;
    if fields.get("confirm").map(|c| c.trim()) != Some(group.as_str()) {
        return Err(PageError(ConsoleError::BadRequest(format!(
            "type the group id {group:?} to confirm its deletion"
        ))));
    }
    group_admin::delete_group(&state.ctx, &group).await?;
    Ok(see_other("/groups"))
}
