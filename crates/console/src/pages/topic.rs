//! `/topics/{topic}`: the topic page: summary, partitions (leader, replicas, ISR, offsets,
//! size), the consumer groups reading it (state, lag on this topic, link to the group page),
//! configs with an edit form (`POST /topics/{topic}/configs`), and the delete form.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{bytes, csrf_field, esc, form, layout, see_other, url, PageError, PageResult};
use crate::api::topics::{self, ConfigChanges};
use crate::error::ConsoleError;
use crate::groups::{topic_groups, TopicGroup};
use crate::state::ConsoleState;

fn ids(list: &[i32]) -> String {
    list.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or("—".to_string(), |v| v.to_string())
}

/// The "Consumer groups" section: one row per group consuming the topic.
fn groups_section(groups: &[TopicGroup]) -> String {
    if groups.is_empty() {
        return "<h2 id=\"groups\">Consumer groups</h2>\
                <p class=\"empty\" id=\"topic-groups-empty\">No consumer group has committed offsets on \
                this topic or is assigned its partitions.</p>"
            .to_string();
    }
    let rows: String = groups
        .iter()
        .map(|g| {
            format!(
                "<tr><td><a href=\"/groups/{}\">{}</a></td><td>{}</td><td>{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                url(&g.group_id),
                esc(&g.group_id),
                g.group_type,
                esc(&g.state),
                g.members,
                g.partitions,
                opt(g.lag),
            )
        })
        .collect();
    format!(
        "<h2 id=\"groups\">Consumer groups</h2><table id=\"topic-groups\"><thead><tr><th>Group</th>\
         <th>Type</th><th>State</th><th>Members</th><th>Partitions</th><th>Lag</th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

pub async fn render(
    state: &ConsoleState,
    topic: &str,
    error: Option<&str>,
) -> Result<axum::response::Html<String>, ConsoleError> {
    let detail = topics::topic_detail(&state.ctx, topic)?;
    let groups = groups_section(&topic_groups(&state.ctx, topic).await?);
    let s = &detail.summary;
    let u = url(&s.name);
    let partitions: String = detail
        .partitions
        .iter()
        .map(|p| {
            let under = p.isr.len() < p.replicas.len();
            format!(
                "<tr{cls}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                p.partition,
                if p.leader < 0 { "none".to_string() } else { p.leader.to_string() },
                ids(&p.replicas),
                ids(&p.isr),
                opt(p.log_start_offset),
                opt(p.high_watermark),
                opt(p.message_count),
                p.size_bytes.map_or("—".to_string(), |b| bytes(b as i64)),
                cls = if under { " class=\"bad\"" } else { "" },
            )
        })
        .collect();
    let configs: String =
        detail
            .configs
            .iter()
            .map(|c| {
                format!(
                "<tr{cls}><td title=\"{doc}\">{name}</td><td>{value}</td><td>{source}</td></tr>",
                cls = if c.is_default { "" } else { " class=\"override\"" },
                doc = esc(c.documentation.as_deref().unwrap_or("")),
                name = esc(&c.name),
                value = if c.sensitive {
                    "<i>hidden</i>".to_string()
                } else {
                    esc(c.value.as_deref().unwrap_or("null"))
                },
                source = esc(c.source),
            )
            })
            .collect();
    let names: String = detail
        .configs
        .iter()
        .filter(|c| !c.read_only)
        .map(|c| format!("<option value=\"{0}\">{0}</option>", esc(&c.name)))
        .collect();
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))
    });
    let body = format!(
        "<h1>Topic <span class=\"topic-name\">{name}</span>{internal}</h1>\
         <p class=\"actions\"><a class=\"button\" href=\"/topics/{u}/messages\">Messages</a> \
         <a class=\"button\" href=\"/topics/{u}/produce\">Produce</a></p>\
         <section class=\"cards\">\
         <div class=\"card\"><div class=\"label\">Partitions</div><div class=\"value\">{parts}</div></div>\
         <div class=\"card\"><div class=\"label\">Replication factor</div><div class=\"value\">{rf}</div></div>\
         <div class=\"card\"><div class=\"label\">Messages</div><div class=\"value\">{msgs}</div></div>\
         <div class=\"card\"><div class=\"label\">Size</div><div class=\"value\">{size}</div></div>\
         <div class=\"card wide\"><div class=\"label\">Topic id</div><div class=\"value small\">{id}</div></div></section>\
         <h2>Partitions</h2><table id=\"partitions\"><thead><tr><th>Partition</th><th>Leader</th><th>Replicas</th><th>ISR</th>\
         <th>Start offset</th><th>End offset</th><th>Messages</th><th>Size</th></tr></thead><tbody>{partitions}</tbody></table>\
         {groups}<h2 id=\"configs\">Configs</h2>{error}\
         <form class=\"inline\" method=\"post\" action=\"/topics/{u}/configs\">{csrf}\
         <select name=\"name\" aria-label=\"Config key\">{names}</select>\
         <input name=\"value\" placeholder=\"new value\" aria-label=\"New value\">\
         <button name=\"action\" value=\"set\">Set</button>\
         <button name=\"action\" value=\"delete\">Reset to default</button></form>\
         <table id=\"configs-table\"><thead><tr><th>Key</th><th>Value</th><th>Source</th></tr></thead><tbody>{configs}</tbody></table>\
         <h2>Delete</h2>\
         <form class=\"danger\" method=\"post\" action=\"/topics/{u}/delete\" data-confirm=\"Delete topic {name} and all its messages?\">{csrf}\
         <label>Type the topic name to confirm <input name=\"confirm\" autocomplete=\"off\" required></label>\
         <button class=\"danger\">Delete topic</button></form>",
        name = esc(&s.name),
        internal = if s.internal { " <span class=\"tag\">internal</span>" } else { "" },
        parts = s.partitions,
        rf = s.replication_factor,
        msgs = s.message_count,
        size = bytes(s.size_bytes as i64),
        id = esc(&s.topic_id),
        csrf = csrf_field(state),
    );
    Ok(layout(&format!("Topic {}", s.name), "/topics", &body))
}

pub async fn page(State(state): State<ConsoleState>, Path(topic): Path<String>) -> PageResult {
    Ok(render(&state, &topic, None).await?.into_response())
}

pub async fn edit_configs(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
    body: Bytes,
) -> PageResult {
    let fields = form(&state, &body)?;
    let name = fields
        .get("name")
        .map(|n| n.trim().to_string())
        .unwrap_or_default();
    let mut changes = ConfigChanges::default();
    match fields.get("action").map(String::as_str) {
        Some("delete") => changes.delete.push(name),
        _ => {
            changes
                .set
                .insert(name, fields.get("value").cloned().unwrap_or_default());
        }
    }
    match topics::change_topic_configs(&state.ctx, &topic, changes).await {
        Ok(()) => Ok(see_other(&format!("/topics/{}#configs", url(&topic)))),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let html = render(&state, &topic, Some(&e.client_message())).await?;
            Ok((StatusCode::BAD_REQUEST, html).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}
