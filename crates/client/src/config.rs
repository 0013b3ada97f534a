//! Settings shared by every client (admin, producer, consumer), under Kafka's names and with
//! Kafka's defaults. [`ClientConfig::set`] takes the Java property names, so tools can pass
//! `--command-config` files and `--producer-property k=v` through unchanged.

use std::time::Duration;

use crate::error::ClientError;

/// Connection and retry settings common to all clients.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` pairs tried in order.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`, sent in every request header.
    pub client_id: String,
    /// `request.timeout.ms`: how long one request may wait for its response.
    pub request_timeout_ms: u64,
    /// `socket.connection.setup.timeout.ms`: how long a TCP connect may take.
    pub connection_setup_timeout_ms: u64,
    /// `retry.backoff.ms`: pause before the first retry of a retriable failure; later
    /// retries double it (KIP-580).
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms`: the ceiling of the doubling retry backoff (default 1000).
    pub retry_backoff_max_ms: u64,
    /// `metadata.max.age.ms`: metadata older than this is refreshed before use.
    pub metadata_max_age_ms: u64,
    /// `default.api.timeout.ms`: overall deadline of an admin call including retries.
    pub default_api_timeout_ms: u64,
    /// Largest response frame accepted; protects against a broken peer declaring 2 GiB.
    pub max_response_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            bootstrap_servers: vec!["localhost:9092".to_string()],
            client_id: "fjord-client".to_string(),
            request_timeout_ms: 30_000,
            connection_setup_timeout_ms: 10_000,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1_000,
            metadata_max_age_ms: 300_000,
            default_api_timeout_ms: 60_000,
            max_response_bytes: 512 * 1024 * 1024,
        }
    }
}

impl ClientConfig {
    /// A config for `bootstrap_servers` (comma-separated `host:port` list) with defaults.
    pub fn new(bootstrap_servers: &str) -> ClientConfig {
        ClientConfig {
            bootstrap_servers: split_list(bootstrap_servers),
            ..ClientConfig::default()
        }
    }

    /// Applies one Java property. Returns `Ok(false)` for a key this struct does not own, so
    /// the producer and consumer configs can try theirs.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ClientError> {
        match key {
            "bootstrap.servers" => self.bootstrap_servers = split_list(value),
            "client.id" => self.client_id = value.to_string(),
            "request.timeout.ms" => self.request_timeout_ms = parse(key, value)?,
            "socket.connection.setup.timeout.ms" => {
                self.connection_setup_timeout_ms = parse(key, value)?
            }
            "retry.backoff.ms" => self.retry_backoff_ms = parse(key, value)?,
            "retry.backoff.max.ms" => self.retry_backoff_max_ms = parse(key, value)?,
            "metadata.max.age.ms" => self.metadata_max_age_ms = parse(key, value)?,
            "default.api.timeout.ms" => self.default_api_timeout_ms = parse(key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn retry_backoff(&self) -> Duration {
        Duration::from_millis(self.retry_backoff_ms)
    }

    /// The pause before retry number `attempt` (0 = the first retry): `retry.backoff.ms`
    /// doubled per attempt up to `retry.backoff.max.ms`, with ±20% random jitter so that
    /// many clients failing together do not retry in lock step (KIP-580, as Java does).
    pub(crate) fn retry_backoff_for(&self, attempt: u32) -> Duration {
        let base = self.retry_backoff_ms as f64;
        let ceiling = (self.retry_backoff_max_ms.max(self.retry_backoff_ms)) as f64;
        let exp = base * 2f64.powi(attempt.min(31) as i32);
        let jitter = rand::random::<f64>() * 0.4 + 0.8;
        Duration::from_millis((exp.min(ceiling) * jitter).round() as u64)
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses a numeric or boolean property value, naming the key on failure.
pub(crate) fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ClientError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|err: T::Err| ClientError::InvalidConfig {
            key: key.to_string(),
            message: format!("{value:?}: {err}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_keys_apply_and_bad_values_name_the_key() {
        let mut config = ClientConfig::new("a:1, b:2");
        assert_eq!(config.bootstrap_servers, vec!["a:1", "b:2"]);
        assert!(config.set("retry.backoff.ms", "250").unwrap());
        assert_eq!(config.retry_backoff_ms, 250);
        assert!(!config.set("acks", "all").unwrap());
        assert!(config.set("retry.backoff.max.ms", "900").unwrap());
        assert_eq!(config.retry_backoff_max_ms, 900);
        let err = config.set("request.timeout.ms", "soon").unwrap_err();
        assert!(err.to_string().contains("request.timeout.ms"), "{err}");
    }

    #[test]
    fn retry_backoff_doubles_up_to_the_ceiling_with_jitter() {
        let config = ClientConfig::default();
        for (attempt, nominal) in [
            (0u32, 100u64),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (40, 1000),
        ] {
            for _ in 0..50 {
                let ms = config.retry_backoff_for(attempt).as_millis() as u64;
                assert!(
                    ms >= nominal * 8 / 10 && ms <= nominal * 12 / 10,
                    "attempt {attempt}: {ms} ms vs nominal {nominal}"
                );
            }
        }
    }
}
