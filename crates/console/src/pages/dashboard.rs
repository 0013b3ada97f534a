//! `/`: the dashboard: cluster id, version, brokers, controller, topic and partition counts,
//! offline and under-replicated partitions, disk use, and live msg/s and bytes/s charts that
//! the script draws from `/api/v1/throughput`.

use axum::extract::State;
use axum::response::Html;

use super::{bytes, esc, layout};
use crate::model;
use crate::state::ConsoleState;

pub async fn page(State(state): State<ConsoleState>) -> Html<String> {
    let o = model::overview(&state.ctx).await;
    let card = |label: &str, value: String, class: &str| {
        format!(
            "<div class=\"card {class}\"><div class=\"label\">{label}</div><div class=\"value\">{value}</div></div>"
        )
    };
    let warn = |n: usize| if n > 0 { "bad" } else { "" };
    let mut cards = String::new();
    cards += &card(
        "Cluster id",
        esc(o.cluster_id.as_deref().unwrap_or("(not yet bootstrapped)")),
        "wide",
    );
    cards += &card("Version", esc(o.version), "");
    cards += &card("Brokers", o.brokers.to_string(), "");
    cards += &card(
        "Controller",
        o.controller_id
            .map_or("none".to_string(), |c| c.to_string()),
        "",
    );
    cards += &card("Topics", o.topics.to_string(), "");
    cards += &card("Partitions", o.partitions.to_string(), "");
    cards += &card("Online partitions", o.online_partitions.to_string(), "");
    cards += &card(
        "Offline partitions",
        o.offline_partitions.to_string(),
        warn(o.offline_partitions),
    );
    cards += &card(
        "Under-replicated",
        o.under_replicated_partitions.to_string(),
        warn(o.under_replicated_partitions),
    );
    cards += &card("Consumer groups", o.groups.to_string(), "");
    cards += &card("Messages", o.message_count.to_string(), "");
    cards += &card("Log size", bytes(o.log_size_bytes as i64), "");
    let dirs: String = o
        .log_dirs
        .iter()
        .map(|d| {
            let used = d.total_bytes - d.usable_bytes;
            let pct = if d.total_bytes > 0 {
                used as f64 * 100.0 / d.total_bytes as f64
            } else {
                0.0
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} of {} ({pct:.0}%)</td></tr>",
                esc(&d.path),
                d.partitions,
                bytes(d.size_bytes),
                bytes(used),
                bytes(d.total_bytes)
            )
        })
        .collect();
    let body = format!(
        "<h1>Dashboard</h1><section class=\"cards\">{cards}</section>\
         <h2>Throughput</h2>\
         <section class=\"charts\" id=\"throughput\" data-source=\"/api/v1/throughput\">\
         <figure><figcaption>Messages/s <span class=\"in\">in</span> <span class=\"out\">out</span> \
         <span class=\"now\" data-now=\"messages\"></span></figcaption>\
         <svg class=\"chart\" data-chart=\"messages\" viewBox=\"0 0 600 160\" preserveAspectRatio=\"none\"></svg></figure>\
         <figure><figcaption>Bytes/s <span class=\"in\">in</span> <span class=\"out\">out</span> \
         <span class=\"now\" data-now=\"bytes\"></span></figcaption>\
         <svg class=\"chart\" data-chart=\"bytes\" viewBox=\"0 0 600 160\" preserveAspectRatio=\"none\"></svg></figure>\
         </section>\
         <h2>Disk use</h2><table><thead><tr><th>Log dir</th><th>Partitions</th><th>Log size</th><th>File system used</th></tr></thead>\
         <tbody>{dirs}</tbody></table>"
    );
    layout("Dashboard", "/", &body)
}
