//! `/brokers`: every broker (id, listeners, rack, partitions led, log dirs with sizes) and
//! the configuration of the broker serving the console.

use axum::extract::State;
use axum::response::Html;

use super::{bytes, esc, layout};
use crate::model;
use crate::state::ConsoleState;

pub async fn page(State(state): State<ConsoleState>) -> Html<String> {
    let brokers = model::brokers(&state.ctx);
    let rows: String = brokers
        .iter()
        .map(|b| {
            let dirs = b.log_dirs.as_ref().map_or("(remote)".to_string(), |dirs| {
                dirs.iter()
                    .map(|d| {
                        format!(
                            "{} — {} in {} partitions, {} free of {}",
                            esc(&d.path),
                            bytes(d.size_bytes),
                            d.partitions,
                            bytes(d.usable_bytes),
                            bytes(d.total_bytes)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            });
            format!(
                "<tr><td>{id}{ctl}</td><td>{listeners}</td><td>{rack}</td><td>{state}</td>\
                 <td>{led}</td><td>{hosted}</td><td>{dirs}</td></tr>",
                id = b.id,
                ctl = if b.is_controller {
                    " <span class=\"tag\">controller</span>"
                } else {
                    ""
                },
                listeners = b
                    .listeners
                    .iter()
                    .map(|l| esc(l))
                    .collect::<Vec<_>>()
                    .join("<br>"),
                rack = esc(b.rack.as_deref().unwrap_or("—")),
                state = if b.fenced { "fenced" } else { "active" },
                led = b.partitions_led,
                hosted = b.partitions,
            )
        })
        .collect();
    let configs: String = model::broker_configs(&state.ctx)
        .iter()
        .map(|c| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.name),
                if c.sensitive {
                    "<i>hidden</i>".to_string()
                } else {
                    esc(c.value.as_deref().unwrap_or("null"))
                },
                esc(&c.source)
            )
        })
        .collect();
    let body = format!(
        "<h1>Brokers</h1><table><thead><tr><th>Id</th><th>Listeners</th><th>Rack</th><th>State</th>\
         <th>Partitions led</th><th>Replicas</th><th>Log dirs</th></tr></thead><tbody>{rows}</tbody></table>\
         <h2>Configuration of broker {id}</h2>\
         <input type=\"search\" class=\"filter\" data-filter=\"broker-configs\" placeholder=\"Filter keys\">\
         <table id=\"broker-configs\"><thead><tr><th>Key</th><th>Value</th><th>Source</th></tr></thead>\
         <tbody>{configs}</tbody></table>",
        id = state.ctx.config.node_id
    );
    layout("Brokers", "/brokers", &body)
}
