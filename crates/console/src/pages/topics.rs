//! `/topics`: the searchable, sortable, paginated topics list with the create form;
//! `POST /topics` creates, `POST /topics/{topic}/delete` deletes after the name was typed
//! again as confirmation.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{bytes, csrf_field, esc, form, layout, see_other, url, PageError, PageResult};
use crate::api::topics::{self, CreateTopic, TopicQuery, TopicSort};
use crate::api::Params;
use crate::error::ConsoleError;
use crate::state::ConsoleState;

pub async fn page(State(state): State<ConsoleState>, Query(params): Query<Params>) -> PageResult {
    let query = TopicQuery::try_from(&params)?;
    Ok(render(&state, &query, &CreateForm::default(), None).into_response())
}

/// What the create form shows (kept after a failed attempt).
#[derive(Default)]
struct CreateForm {
    name: String,
    partitions: String,
    replication_factor: String,
    configs: String,
}

fn render(
    state: &ConsoleState,
    query: &TopicQuery,
    create: &CreateForm,
    error: Option<&str>,
) -> axum::response::Html<String> {
    let page = topics::list_topics(&state.ctx, query);
    let search = query.search.as_deref().unwrap_or("");
    // Links keep the search and the internal toggle; a header link flips the order.
    let link = |sort: TopicSort, descending: bool, page_no: usize| {
        format!(
            "/topics?q={}&sort={}&order={}&page={page_no}&per_page={}&internal={}",
            url(search),
            sort.as_str(),
            if descending { "desc" } else { "asc" },
            query.per_page,
            query.include_internal
        )
    };
    let header = |sort: TopicSort, label: &str| {
        let active = query.sort == sort;
        let descending = active && !query.descending;
        let arrow = match (active, query.descending) {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        };
        format!(
            "<th><a href=\"{}\">{label}{arrow}</a></th>",
            esc(&link(sort, descending, 1))
        )
    };
    let rows: String =
        page.topics
            .iter()
            .map(|t| {
                format!(
                "<tr><td><a href=\"/topics/{u}\">{n}</a>{internal}</td><td>{p}</td><td>{rf}</td>\
                 <td>{m}</td><td>{s}</td><td>{urp}</td></tr>",
                u = url(&t.name),
                n = esc(&t.name),
                internal = if t.internal { " <span class=\"tag\">internal</span>" } else { "" },
                p = t.partitions,
                rf = t.replication_factor,
                m = t.message_count,
                s = bytes(t.size_bytes as i64),
                urp = t.under_replicated_partitions,
            )
            })
            .collect();
    let pages = page.total.div_ceil(page.per_page).max(1);
    let mut pager = format!(
        "<span>{} topics · page {} of {pages}</span>",
        page.total, page.page
    );
    if page.page > 1 {
        pager += &format!(
            " <a href=\"{}\">← previous</a>",
            esc(&link(query.sort, query.descending, page.page - 1))
        );
    }
    if page.page < pages {
        pager += &format!(
            " <a href=\"{}\">next →</a>",
            esc(&link(query.sort, query.descending, page.page + 1))
        );
    }
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))
    });
    let body = format!(
        "<h1>Topics</h1>\
         <form class=\"search\" method=\"get\" action=\"/topics\">\
         <input type=\"search\" name=\"q\" value=\"{q}\" placeholder=\"Search topics\" aria-label=\"Search topics\">\
         <input type=\"hidden\" name=\"sort\" value=\"{sort}\"><input type=\"hidden\" name=\"order\" value=\"{order}\">\
         <label><input type=\"checkbox\" name=\"internal\" value=\"true\"{checked}> show internal</label>\
         <button>Search</button></form>\
         <table id=\"topics\"><thead><tr>{h_name}{h_parts}{h_rf}{h_msgs}{h_size}<th>Under-replicated</th></tr></thead>\
         <tbody>{rows}</tbody></table><p class=\"pager\">{pager}</p>\
         <h2 id=\"create\">Create a topic</h2>{error}\
         <form class=\"create\" method=\"post\" action=\"/topics\">{csrf}\
         <label>Name <input name=\"name\" required maxlength=\"249\" value=\"{name}\"></label>\
         <label>Partitions <input name=\"partitions\" type=\"number\" min=\"1\" placeholder=\"num.partitions\" value=\"{parts}\"></label>\
         <label>Replication factor <input name=\"replication_factor\" type=\"number\" min=\"1\" placeholder=\"default.replication.factor\" value=\"{rf}\"></label>\
         <label>Configs (key=value per line) <textarea name=\"configs\" rows=\"3\" placeholder=\"retention.ms=86400000\">{configs}</textarea></label>\
         <button>Create topic</button></form>",
        q = esc(search),
        sort = query.sort.as_str(),
        order = if query.descending { "desc" } else { "asc" },
        checked = if query.include_internal { " checked" } else { "" },
        h_name = header(TopicSort::Name, "Name"),
        h_parts = header(TopicSort::Partitions, "Partitions"),
        h_rf = header(TopicSort::ReplicationFactor, "Replication factor"),
        h_msgs = header(TopicSort::Messages, "Messages"),
        h_size = header(TopicSort::Size, "Size"),
        csrf = csrf_field(state),
        name = esc(&create.name),
        parts = esc(&create.partitions),
        rf = esc(&create.replication_factor),
        configs = esc(&create.configs),
    );
    layout("Topics", "/topics", &body)
}

/// Parses `key=value` lines (blank lines ignored).
pub fn config_lines(text: &str) -> Result<BTreeMap<String, String>, ConsoleError> {
    let mut configs = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((k, v)) = line.split_once('=') else {
            return Err(ConsoleError::BadRequest(format!(
                "config line {line:?} is not key=value"
            )));
        };
        configs.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(configs)
}

fn optional_number<T: std::str::FromStr>(
    fields: &std::collections::HashMap<String, String>,
    name: &str,
    label: &str,
) -> Result<Option<T>, ConsoleError> {
    match fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ConsoleError::BadRequest(format!("{label} {v:?} is not a number"))),
    }
}

pub async fn create(State(state): State<ConsoleState>, body: Bytes) -> PageResult {
    let fields = form(&state, &body)?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let shown = CreateForm {
        name: get("name"),
        partitions: get("partitions"),
        replication_factor: get("replication_factor"),
        configs: get("configs"),
    };
    let request = (|| {
        Ok::<_, ConsoleError>(CreateTopic {
            name: shown.name.trim().to_string(),
            partitions: optional_number(&fields, "partitions", "partitions")?,
            replication_factor: optional_number(
                &fields,
                "replication_factor",
                "replication factor",
            )?,
            configs: config_lines(&shown.configs)?,
        })
    })();
    let outcome = match request {
        Ok(request) => topics::create_topic(&state.ctx, request).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(created) => Ok(see_other(&format!("/topics/{}", url(&created.name)))),
        Err(e) => {
            let status = e.status();
            if status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED {
                return Err(PageError(e));
            }
            let html = render(
                &state,
                &TopicQuery::default(),
                &shown,
                Some(&e.client_message()),
            );
            Ok((status, html).into_response())
        }
    }
}

pub async fn delete(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
    body: Bytes,
) -> PageResult {
    let fields = form(&state, &body)?;
    if fields.get("confirm").map(|c| c.trim()) != Some(topic.as_str()) {
        return Err(PageError(ConsoleError::BadRequest(format!(
            "type the topic name {topic:?} to confirm its deletion"
        ))));
    }
    topics::delete_topic(&state.ctx, &topic).await?;
    Ok(see_other("/topics"))
}
