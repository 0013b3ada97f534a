//! Access control of the console: optional HTTP basic auth over every route, and CSRF
//! protection of mutating requests.
//!
//! CSRF: a mutating request (`POST`, `PUT`, `PATCH`, `DELETE`) must either carry the
//! `X-Fjord-Console` header (JSON API; browsers only send custom headers cross-origin after a
//! CORS preflight, which the console never approves), or be a form post whose `csrf` field
//! equals the process's token. On top of that, a request whose `Origin` header names another
//! host than `Host` is refused outright.

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::error::ConsoleError;
use crate::state::ConsoleState;

/// The header API clients send on mutating requests.
pub const CSRF_HEADER: &str = "x-fjord-console";

/// Credentials from `console.auth.username` / `console.auth.password`.
#[derive(Clone)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl BasicAuth {
    /// Does an `Authorization` header value carry these credentials?
    fn accepts(&self, authorization: &str) -> bool {
        let Some(encoded) = authorization
            .strip_prefix("Basic ")
            .or_else(|| authorization.strip_prefix("basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", self.username, self.password);
        constant_time_eq(&decoded, expected.as_bytes())
    }
}

/// Compares without an early exit, so response timing does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware: basic auth (when configured), then the origin check and the CSRF header rule.
/// Form posts are let through here and checked against the token by their handler, which
/// has the decoded form.
pub async fn guard(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    if let Some(auth) = &state.auth {
        let ok = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| auth.accepts(v));
        if !ok {
            return ConsoleError::Unauthorized.into_response();
        }
    }
    if is_mutating(request.method()) {
        if let Err(e) = check_origin(&request) {
            return e.into_response();
        }
        let has_header = request.headers().contains_key(CSRF_HEADER);
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let is_page = !request.uri().path().starts_with("/api/");
        let form_post = is_form && is_page;
        if !(has_header || form_post) {
            return ConsoleError::Forbidden(format!(
                "mutating API requests must carry the {CSRF_HEADER} header (CSRF protection)"
            ))
            .into_response();
        }
    }
    next.run(request).await
}

fn is_mutating(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Refuses a request whose `Origin` names another host than the one it was sent to.
fn check_origin(request: &Request) -> Result<(), ConsoleError> {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if origin_host.is_empty() || origin_host != host {
        return Err(ConsoleError::Forbidden(format!(
            "cross-origin request refused (Origin {origin:?}, Host {host:?})"
        )));
    }
    Ok(())
}

/// Checks a form's `csrf` field against the process token.
pub fn check_form_token(state: &ConsoleState, token: &str) -> Result<(), ConsoleError> {
    if constant_time_eq(token.as_bytes(), state.csrf_token.as_bytes()) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden(
            "the form's CSRF token is missing or stale; reload the page and try again".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_accepts_only_the_configured_pair() {
        let auth = BasicAuth {
            username: "admin".into(),
            password: "s3cret".into(),
        };
        let good = base64::engine::general_purpose::STANDARD.encode("admin:s3cret");
        let bad = base64::engine::general_purpose::STANDARD.encode("admin:wrong");
        assert!(auth.accepts(&format!("Basic {good}")));
        assert!(!auth.accepts(&format!("Basic {bad}")));
        assert!(!auth.accepts("Bearer xyz"));
        assert!(!auth.accepts("Basic !!!not-base64"));
    }
}
