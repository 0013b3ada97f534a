//! The console tests' fixture: an in-process broker (`ServerConfig::for_tests`) with the
//! console on `127.0.0.1:0`, and a small HTTP client around reqwest.

#![allow(dead_code)]

mod groups;
#[allow(unused_imports)]
pub use groups::{admin_commit, join_member, loaded_shard};

use std::net::SocketAddr;

use fjord_broker::Broker;
use fjord_config::ServerConfig;
use fjord_console::{BasicAuth, Console, ConsoleOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;

pub struct TestConsole {
    pub broker: Broker,
    pub console: Console,
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Option<(String, String)>,
    _dir: TempDir,
}

pub async fn start() -> TestConsole {
    start_with(None, |_| {}).await
}

pub async fn start_with(
    auth: Option<BasicAuth>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> TestConsole {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::for_tests(dir.path());
    tweak(&mut config);
    let broker = Broker::start(config).await.expect("broker starts");
    let options = ConsoleOptions {
        listener: SocketAddr::from(([127, 0, 0, 1], 0)),
        auth: auth.clone(),
    };
    let console = Console::start(std::sync::Arc::clone(broker.context()), options)
        .await
        .expect("console starts");
    let base = format!("http://{}", console.local_addr());
    TestConsole {
        broker,
        console,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        auth: auth.map(|a| (a.username, a.password)),
        _dir: dir,
    }
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl TestConsole {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, self.url(path));
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> Reply {
        let response = r.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Reply {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    /// A mutating API call with the CSRF header and a JSON body.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut r = self.request(method, path).header("X-Fjord-Console", "1");
        if let Some(body) = body {
            r = r.json(&body);
        }
        self.send(r).await
    }

    /// A raw request (tests of malformed input and missing headers).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut r = self.request(method, path).body(body);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r).await
    }

    /// A form post as the pages send it, with the page's CSRF token.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let page = self.get("/topics").await;
        let token = csrf_token(&page.text);
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.send(self.request(Method::POST, path).form(&all)).await
    }

    pub async fn create_topic(&self, name: &str, partitions: i32) {
        let reply = self
            .api(
                Method::POST,
                "/api/v1/topics",
                Some(serde_json::json!({"name": name, "partitions": partitions})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    pub async fn stop(self) {
        self.console.shutdown().await;
        self.broker.shutdown().await.expect("broker stops");
    }
}

/// The CSRF token a page embeds in its forms.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a csrf field") + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_string()
}
