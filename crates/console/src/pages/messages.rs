//! `/topics/{topic}/messages` (browse, filter, live tail), `/topics/{topic}/messages/{p}/{o}`
//! (one message whole) and `/topics/{topic}/produce` (the Produce form).
//!
//! The live tail is the script polling `/api/v1/topics/{topic}/messages` with the
//! `next_offsets` of the previous answer; it builds rows with `textContent`, never markup.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{csrf_field, esc, form, layout, url, PageError, PageResult};
use crate::api::{path_number, Params};
use crate::error::ConsoleError;
use crate::messages::{self, Browse, MessageView, NewHeader, NewMessage, Rendered, Seek};
use crate::state::ConsoleState;

/// `2024-05-01 12:00:00.123 UTC` from ms since the epoch (proleptic Gregorian, UTC).
pub fn utc(ms: i64) -> String {
    if ms < 0 {
        return "—".to_string();
    }
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

fn rendered(r: Option<&Rendered>, whole_link: &str) -> String {
    match r {
        None => "<i class=\"null\">null</i>".to_string(),
        Some(r) => {
            let more = if r.truncated {
                format!(
                    " <a class=\"more\" href=\"{}\">show all {} bytes</a>",
                    esc(whole_link),
                    r.size
                )
            } else {
                String::new()
            };
            format!("<pre class=\"{}\">{}</pre>{more}", r.format, esc(&r.text))
        }
    }
}

fn row(topic: &str, m: &MessageView) -> String {
    let link = format!(
        "/topics/{}/messages/{}/{}",
        url(topic),
        m.partition,
        m.offset
    );
    let headers: String = m
        .headers
        .iter()
        .map(|h| {
            format!(
                "<div><b>{}</b>: {}</div>",
                esc(&h.key),
                rendered(h.value.as_ref(), &link)
            )
        })
        .collect();
    format!(
        "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        m.partition,
        esc(&link),
        m.offset,
        m.timestamp,
        utc(m.timestamp),
        rendered(m.key.as_ref(), &link),
        rendered(m.value.as_ref(), &link),
        headers
    )
}

pub async fn browse_page(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
    Query(params): Query<Params>,
) -> PageResult {
    let query = Browse::try_from(&params)?;
    let result = messages::browse(&state.ctx, &topic, &query).await?;
    let image = state.ctx.controller.image();
    let partitions: Vec<i32> = image
        .topic(&topic)
        .map(|t| t.partitions.keys().copied().collect())
        .unwrap_or_default();
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let partition_options: String = std::iter::once(("".to_string(), "all".to_string()))
        .chain(partitions.iter().map(|p| (p.to_string(), p.to_string())))
        .map(|(v, label)| {
            let selected = if get("partition") == v {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{v}\"{selected}>{label}</option>")
        })
        .collect();
    let seek = match query.seek {
        Seek::Earliest => "earliest",
        Seek::Latest => "latest",
        Seek::Offset(_) => "offset",
        Seek::Timestamp(_) => "timestamp",
    };
    let seek_options: String = ["latest", "earliest", "offset", "timestamp"]
        .iter()
        .map(|s| {
            let selected = if *s == seek { " selected" } else { "" };
            format!("<option{selected}>{s}</option>")
        })
        .collect();
    let rows: String = result.messages.iter().map(|m| row(&topic, m)).collect();
    let next: String = result
        .next_offsets
        .iter()
        .map(|(p, o)| format!("{p}:{o}"))
        .collect::<Vec<_>>()
        .join(",");
    let u = url(&topic);
    let body = format!(
        "<h1>Messages of <a href=\"/topics/{u}\" class=\"topic-name\">{name}</a></h1>\
         <form class=\"browse\" method=\"get\" action=\"/topics/{u}/messages\">\
         <label>Partition <select name=\"partition\">{partition_options}</select></label>\
         <label>From <select name=\"seek\">{seek_options}</select></label>\
         <label>Offset <input name=\"offset\" type=\"number\" value=\"{offset}\"></label>\
         <label>Timestamp (ms) <input name=\"timestamp\" type=\"number\" value=\"{timestamp}\"></label>\
         <label>Limit <input name=\"limit\" type=\"number\" min=\"1\" max=\"500\" value=\"{limit}\"></label>\
         <label>Filter <input name=\"q\" type=\"search\" value=\"{q}\"></label>\
         <button>Show</button> <button type=\"button\" id=\"tail\" data-api=\"/api/v1/topics/{u}/messages\" \
         data-topic=\"{u}\" data-positions=\"{next}\" data-partition=\"{partition}\" data-q=\"{q}\">Live tail</button>\
         <a class=\"button\" href=\"/topics/{u}/produce\">Produce</a></form>\
         <p class=\"count\"><span id=\"count\">{count}</span> messages</p>\
         <table id=\"messages\"><thead><tr><th>Partition</th><th>Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>\
         <tbody>{rows}</tbody></table>",
        name = esc(&topic),
        offset = esc(get("offset")),
        timestamp = esc(get("timestamp")),
        limit = query.limit,
        q = esc(get("q")),
        partition = esc(get("partition")),
        count = result.messages.len(),
    );
    Ok(layout(&format!("Messages of {topic}"), "/topics", &body).into_response())
}

pub async fn one_page(
    State(state): State<ConsoleState>,
    Path((topic, partition, offset)): Path<(String, String, String)>,
) -> PageResult {
    let partition: i32 = path_number("partition", &partition)?;
    let offset: i64 = path_number("offset", &offset)?;
    let m = messages::fetch_one(&state.ctx, &topic, partition, offset).await?;
    let headers: String = m
        .headers
        .iter()
        .map(|h| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&h.key),
                rendered(h.value.as_ref(), "")
            )
        })
        .collect();
    let describe = |r: Option<&Rendered>| {
        r.map_or("null".to_string(), |r| {
            format!("{}, {} bytes", r.format, r.size)
        })
    };
    let body = format!(
        "<h1>Message {partition}/{offset} of <a href=\"/topics/{u}/messages\" class=\"topic-name\">{name}</a></h1>\
         <p>Timestamp {ts} ({tt})</p>\
         <h2>Key <small>{kd}</small></h2>{key}<h2>Value <small>{vd}</small></h2>{value}\
         <h2>Headers</h2><table><tbody>{headers}</tbody></table>",
        u = url(&topic),
        name = esc(&topic),
        ts = utc(m.timestamp),
        tt = m.timestamp_type,
        kd = describe(m.key.as_ref()),
        vd = describe(m.value.as_ref()),
        key = rendered(m.key.as_ref(), ""),
        value = rendered(m.value.as_ref(), ""),
    );
    Ok(layout(&format!("Message of {topic}"), "/topics", &body).into_response())
}

fn render_produce(
    state: &ConsoleState,
    topic: &str,
    notice: &str,
) -> Result<axum::response::Html<String>, ConsoleError> {
    let image = state.ctx.controller.image();
    let Some(t) = image.topic(topic) else {
        return Err(ConsoleError::NotFound(format!(
            "topic {topic:?} does not exist"
        )));
    };
    let options: String = std::iter::once("<option value=\"\">by key hash</option>".to_string())
        .chain(t.partitions.keys().map(|p| format!("<option>{p}</option>")))
        .collect();
    let u = url(topic);
    let body = format!(
        "<h1>Produce to <a href=\"/topics/{u}\" class=\"topic-name\">{name}</a></h1>{notice}\
         <form class=\"produce\" method=\"post\" action=\"/topics/{u}/produce\">{csrf}\
         <label>Partition <select name=\"partition\">{options}</select></label>\
         <label>Key <input name=\"key\" placeholder=\"(none)\"></label>\
         <label>Value <textarea name=\"value\" rows=\"8\"></textarea></label>\
         <label>Headers (key: value per line) <textarea name=\"headers\" rows=\"3\"></textarea></label>\
         <button>Produce</button></form>",
        name = esc(topic),
        csrf = csrf_field(state),
    );
    Ok(layout(&format!("Produce to {topic}"), "/topics", &body))
}

pub async fn produce_page(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
) -> PageResult {
    Ok(render_produce(&state, &topic, "")?.into_response())
}

async fn produce_form_post(
    state: &ConsoleState,
    topic: &str,
    body: &[u8],
) -> Result<messages::Produced, ConsoleError> {
    let fields = form(state, body)?;
    let partition = match fields.get("partition").map(|p| p.trim()) {
        None | Some("") => None,
        Some(p) => Some(path_number("partition", p)?),
    };
    let headers = fields
        .get("headers")
        .map(String::as_str)
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            NewHeader {
                key: k.trim().to_string(),
                value: Some(v.trim_start().to_string()),
            }
        })
        .collect();
    let message = NewMessage {
        key: fields.get("key").cloned().filter(|k| !k.is_empty()),
        value: fields.get("value").map(|v| v.replace("\r\n", "\n")),
        headers,
        partition,
    };
    messages::produce(&state.ctx, topic, message).await
}

pub async fn produce_form(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
    body: Bytes,
) -> PageResult {
    match produce_form_post(&state, &topic, &body).await {
        Ok(p) => {
            let notice = format!(
                "<p class=\"ok\" role=\"status\">Produced to partition {} at offset {}. \
                 <a href=\"/topics/{}/messages/{}/{}\">View it</a></p>",
                p.partition,
                p.offset,
                url(&topic),
                p.partition,
                p.offset
            );
            Ok(render_produce(&state, &topic, &notice)?.into_response())
        }
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let notice = format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                esc(&e.client_message())
            );
            Ok((
                StatusCode::BAD_REQUEST,
                render_produce(&state, &topic, &notice)?,
            )
                .into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(super::utc(1_709_251_199_999), "2024-02-29 23:59:59.999 UTC");
    }
}
