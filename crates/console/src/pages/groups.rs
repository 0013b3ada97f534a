//! `/groups`: the consumer groups this broker coordinates, with state, assignor and members.
//! (Offsets, lag, reset and delete come with the group offsets API in the console.)

use axum::extract::State;
use axum::response::Html;

use super::{esc, layout};
use crate::groups::list_groups;
use crate::state::ConsoleState;

pub async fn page(State(state): State<ConsoleState>) -> Html<String> {
    let groups = list_groups(&state.ctx).await;
    let rows: String = groups
        .iter()
        .map(|g| {
            let members: String = g
                .members
                .iter()
                .map(|m| {
                    format!(
                        "<div>{} <span class=\"null\">{} {}</span></div>",
                        esc(&m.client_id),
                        esc(&m.client_host),
                        esc(&m.member_id)
                    )
                })
                .collect();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&g.group_id),
                esc(&g.state),
                esc(g.protocol.as_deref().unwrap_or("—")),
                g.generation_id,
                g.members.len(),
                members
            )
        })
        .collect();
    let body = format!(
        "<h1>Consumer groups</h1><p>{} groups coordinated by this broker.</p>\
         <table id=\"groups\"><thead><tr><th>Group</th><th>State</th><th>Assignor</th><th>Generation</th>\
         <th>Members</th><th>Clients</th></tr></thead><tbody>{rows}</tbody></table>",
        groups.len()
    );
    layout("Consumer groups", "/groups", &body)
}
