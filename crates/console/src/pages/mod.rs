//! The HTML pages: server-rendered, one navigation bar, every user-supplied string passed
//! through [`esc`]. Pages call the same functions as the JSON API (`api::topics`, `messages`,
//! `model`), never the API over HTTP. Forms post `application/x-www-form-urlencoded` with the
//! process's CSRF token in a hidden `csrf` field, checked by [`form`] before anything else.

pub mod assets;
pub mod brokers;
pub mod dashboard;
pub mod groups;
pub mod messages;
pub mod topic;
pub mod topics;

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::ConsoleError;
use crate::security::check_form_token;
use crate::state::ConsoleState;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/brokers", get(brokers::page))
        .route("/groups", get(groups::page))
        .route("/groups/{group}", get(groups::detail))
        .route("/groups/{group}/reset-offsets", post(groups::reset_offsets))
        .route("/groups/{group}/delete", post(groups::delete))
        .route("/topics", get(topics::page).post(topics::create))
        .route("/topics/{topic}", get(topic::page))
        .route("/topics/{topic}/delete", post(topics::delete))
        .route("/topics/{topic}/configs", post(topic::edit_configs))
        .route("/topics/{topic}/messages", get(messages::browse_page))
        .route(
            "/topics/{topic}/messages/{partition}/{offset}",
            get(messages::one_page),
        )
        .route(
            "/topics/{topic}/produce",
            get(messages::produce_page).post(messages::produce_form),
        )
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value (topic names in links).
pub fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `1.5 MiB`-style sizes.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The navigation entries: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/brokers", "Brokers"),
    ("/topics", "Topics"),
    ("/groups", "Consumers"),
];

/// Wraps `body` in the common layout with the navigation bar; `active` is the nav path.
pub fn layout(title: &str, active: &str, body: &str) -> Html<String> {
    let nav: String = NAV
        .iter()
        .map(|(path, label)| {
            let class = if *path == active {
                " class=\"active\""
            } else {
                ""
            };
            format!("<a href=\"{path}\"{class}>{label}</a>")
        })
        .collect();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · fjord</title>\
         <link rel=\"stylesheet\" href=\"/assets/console.css\">\
         <script src=\"/assets/console.js\" defer></script></head>\
         <body><header><a class=\"brand\" href=\"/\">fjord</a><nav>{nav}</nav></header>\
         <main>{body}</main></body></html>",
        title = esc(title),
    ))
}

/// A page that reports an error (HTML counterpart of the JSON error body).
pub struct PageError(pub ConsoleError);

impl From<ConsoleError> for PageError {
    fn from(e: ConsoleError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status == StatusCode::UNAUTHORIZED {
            return self.0.into_response();
        }
        let body = format!(
            "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/topics\">Back to topics</a></p>",
            status.as_u16(),
            esc(&self.0.client_message())
        );
        (status, layout("Error", "", &body)).into_response()
    }
}

pub type PageResult = Result<Response, PageError>;

/// A decoded form after its CSRF token was checked.
pub fn form(state: &ConsoleState, body: &[u8]) -> Result<HashMap<String, String>, ConsoleError> {
    let fields: HashMap<String, String> = serde_urlencoded_pairs(body)?;
    check_form_token(state, fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    Ok(fields)
}

/// Decodes `a=b&c=d` (application/x-www-form-urlencoded): `+` is a space, `%XX` a byte.
fn serde_urlencoded_pairs(body: &[u8]) -> Result<HashMap<String, String>, ConsoleError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ConsoleError::BadRequest("the form is not UTF-8".into()))?;
    let mut fields = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        fields.insert(percent_decode(k)?, percent_decode(v)?);
    }
    Ok(fields)
}

fn percent_decode(text: &str) -> Result<String, ConsoleError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ConsoleError::BadRequest("bad %-escape in the form".into()))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ConsoleError::BadRequest("the form is not UTF-8".into()))
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(state: &ConsoleState) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&state.csrf_token)
    )
}

/// After a successful form post: back to a page (303, so reload does not re-post).
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(url("a b/<c>"), "a%20b%2F%3Cc%3E");
    }

    #[test]
    fn decodes_forms() {
        let f = serde_urlencoded_pairs(b"name=a+b&v=%3Cx%3E&e=").unwrap();
        assert_eq!(f["name"], "a b");
        assert_eq!(f["v"], "<x>");
        assert_eq!(f["e"], "");
        assert!(serde_urlencoded_pairs(b"x=%zz").is_err());
        assert_eq!(bytes(1536), "1.5 KiB");
    }
}
