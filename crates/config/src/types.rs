//! Value types that appear inside [`crate::ServerConfig`]: listeners, security protocols,
//! process roles, timestamp types, and the `ConfigEntry` / `ConfigSource` pair that
//! DescribeConfigs reports.
//!
//! Each type parses from Kafka's textual form with `FromStr` and prints it back with
//! `Display`, so a value read from `server.properties` round-trips unchanged.

use std::fmt;
use std::str::FromStr;

/// One entry of `listeners` / `advertised.listeners`: `NAME://host:port`.
///
/// An empty `host` means "all interfaces" (Kafka's `PLAINTEXT://:9092`); when binding, the
/// broker turns it into `0.0.0.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listener {
    /// Listener name, upper-cased as Kafka does (`PLAINTEXT`, `CONTROLLER`, `INTERNAL`...).
    pub name: String,
    /// Host name or IP literal, without brackets for IPv6; "" means all interfaces.
    pub host: String,
    /// TCP port; 0 asks the OS for a free port (used by tests).
    pub port: u16,
}

impl Listener {
    /// Builds a listener; the name is upper-cased like Kafka's `ListenerName.normalised`.
    pub fn new(name: impl Into<String>, host: impl Into<String>, port: u16) -> Listener {
        Listener {
            name: name.into().to_ascii_uppercase(),
            host: host.into(),
            port,
        }
    }

    /// The `host:port` string to hand to a socket bind (brackets around IPv6 literals,
    /// `0.0.0.0` for the "all interfaces" empty host).
    pub fn bind_address(&self) -> String {
        if self.host.is_empty() {
            format!("0.0.0.0:{}", self.port)
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

impl FromStr for Listener {
    type Err = String;

    /// Parses `NAME://host:port`, `NAME://[::1]:port` or `NAME://:port`.
    fn from_str(s: &str) -> Result<Listener, String> {
        let s = s.trim();
        let (name, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("`{s}` is not of the form NAME://host:port"))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "listener name `{name}` must be letters, digits or `_` (e.g. PLAINTEXT)"
            ));
        }
        let (host, port) = if let Some(after) = rest.strip_prefix('[') {
            let (host, tail) = after
                .split_once(']')
                .ok_or_else(|| format!("`{s}`: unclosed `[` in IPv6 address"))?;
            let port = tail
                .strip_prefix(':')
                .ok_or_else(|| format!("`{s}` has no port"))?;
            (host, port)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| format!("`{s}` has no port"))?
        };
        if host.contains('/') {
            return Err(format!("`{s}`: host `{host}` is not a host name"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{s}`: port `{port}` is not a number between 0 and 65535"))?;
        Ok(Listener::new(name, host, port))
    }
}

/// The security protocol a listener speaks (`listener.security.protocol.map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's spelling, as used in the protocol map and in listener names.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecurityProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<SecurityProtocol, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            other => Err(format!(
                "`{other}` is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"
            )),
        }
    }
}

/// One entry of `process.roles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProcessRole {
    Broker,
    Controller,
}

impl fmt::Display for ProcessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProcessRole::Broker => "broker",
            ProcessRole::Controller => "controller",
        })
    }
}

impl FromStr for ProcessRole {
    type Err = String;

    fn from_str(s: &str) -> Result<ProcessRole, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "broker" => Ok(ProcessRole::Broker),
            "controller" => Ok(ProcessRole::Controller),
            other => Err(format!(
                "`{other}` is not a process role (broker, controller)"
            )),
        }
    }
}

/// `log.message.timestamp.type`: who sets the timestamp stored with each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Keep the producer's timestamp.
    #[default]
    CreateTime,
    /// Overwrite with the broker's clock when appending.
    LogAppendTime,
}

impl fmt::Display for TimestampType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        })
    }
}

impl FromStr for TimestampType {
    type Err = String;

    /// Kafka's validator is case-sensitive (`CreateTime`, `LogAppendTime`); so are we.
    fn from_str(s: &str) -> Result<TimestampType, String> {
        match s.trim() {
            "CreateTime" => Ok(TimestampType::CreateTime),
            "LogAppendTime" => Ok(TimestampType::LogAppendTime),
            other => Err(format!(
                "`{other}` is not a timestamp type (CreateTime, LogAppendTime)"
            )),
        }
    }
}

/// Where a configuration value came from, lowest precedence first.
///
/// DescribeConfigs maps these to Kafka's `ConfigSource`: `Default` -> DEFAULT_CONFIG (5),
/// everything else -> STATIC_BROKER_CONFIG (4), because all of them are fixed at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigSource {
    /// fjord's embedded default.
    Default,
    /// The `server.properties` file given on the command line.
    File,
    /// A `KAFKA_*` / `KAFKA_CFG_*` environment variable.
    Env,
    /// A `--override key=value` argument.
    Override,
}

impl ConfigSource {
    /// The DescribeConfigs `config_source` code (Kafka `DescribeConfigsResponse.ConfigSource`).
    pub fn describe_configs_code(self) -> i8 {
        match self {
            ConfigSource::Default => 5,
            ConfigSource::File | ConfigSource::Env | ConfigSource::Override => 4,
        }
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigSource::Default => "default",
            ConfigSource::File => "file",
            ConfigSource::Env => "env",
            ConfigSource::Override => "override",
        })
    }
}

/// One row of [`crate::ServerConfig::describe`]: a key with its effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for keys whose value is null (e.g. `log.flush.interval.ms` unset) or hidden.
    pub value: Option<String>,
    pub source: ConfigSource,
    /// Passwords and secrets: DescribeConfigs must not return the value.
    pub sensitive: bool,
    /// Every broker key is read-only in fjord for now (no dynamic broker configs).
    pub read_only: bool,
    /// Kafka's type name (`int`, `long`, `boolean`, `string`, `list`, ...), for DescribeConfigs.
    pub config_type: &'static str,
    /// One-line documentation, for DescribeConfigs `include_documentation`.
    pub documentation: &'static str,
}
