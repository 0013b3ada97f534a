//! Layering and validation: turns defaults, a `server.properties` file, the environment and
//! `--override` arguments into one checked [`ServerConfig`], and reports it back as
//! [`ConfigEntry`] rows for DescribeConfigs.
//!
//! Precedence is per key, lowest first: embedded default < file < `KAFKA_*` < `KAFKA_CFG_*`
//! < `--override`. After the layers are merged, keys are applied in the order of
//! [`crate::keys::KEYS`] and the whole is checked for consistency the way Kafka's
//! `KafkaConfig` validation does (listener names, controller quorum, advertised listeners).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use crate::env::EnvVar;
use crate::keys::{self, ACCEPTED_WITHOUT_EFFECT, KEYS};
use crate::properties;
use crate::{ConfigEntry, ConfigError, ConfigSource, Listener, SecurityProtocol, ServerConfig};

/// Where an explicitly set key came from, and its raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOrigin {
    /// The text as written (after properties-file unescaping).
    pub value: String,
    pub source: ConfigSource,
    /// For people: `server.properties:12`, `environment variable KAFKA_NUM_PARTITIONS`,
    /// `--override`.
    pub location: String,
}

/// One `--override key=value` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    pub value: String,
}

impl FromStr for Override {
    type Err = ConfigError;

    /// Splits at the first `=`: `--override listeners=PLAINTEXT://:9092` works.
    fn from_str(arg: &str) -> Result<Override, ConfigError> {
        match arg.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok(Override {
                key: key.trim().to_string(),
                value: value.to_string(),
            }),
            _ => Err(ConfigError::MalformedOverride {
                arg: arg.to_string(),
            }),
        }
    }
}

impl ServerConfig {
    /// Builds the configuration from its layers (see the module docs) and validates it.
    ///
    /// `env` is usually `std::env::vars()`; only `KAFKA_*`, `KAFKA_CFG_*`, `CLUSTER_ID` are
    /// looked at. Unknown keys are logged once (`warn`) and ignored, as Kafka does.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &[(String, String)],
    ) -> Result<ServerConfig, ConfigError> {
        let mut layers: BTreeMap<String, ConfigOrigin> = BTreeMap::new();

        if let Some(path) = file {
            let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let text = properties::decode(&bytes);
            let props = properties::parse(&text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                line: e.line,
                reason: e.reason,
            })?;
            for p in props {
                layers.insert(
                    p.key,
                    ConfigOrigin {
                        value: p.value,
                        source: ConfigSource::File,
                        location: format!("{}:{}", path.display(), p.line),
                    },
                );
            }
        }

        // KAFKA_* first, then KAFKA_CFG_* over it, whatever order the environment lists them.
        let mut generic = Vec::new();
        let mut specific = Vec::new();
        for (name, value) in env {
            match EnvVar::classify(&name) {
                EnvVar::Ignored => {}
                EnvVar::Malformed => tracing::warn!(
                    "environment variable {name} does not name a configuration key \
                     (use one `_` for `.`, `__` for `_`, `___` for `-`); ignored"
                ),
                EnvVar::Key { key, specific: s } => {
                    let origin = ConfigOrigin {
                        value,
                        source: ConfigSource::Env,
                        location: format!("environment variable {name}"),
                    };
                    if s {
                        specific.push((key, origin));
                    } else {
                        generic.push((key, origin));
                    }
                }
            }
        }
        generic.sort_by(|a, b| a.1.location.cmp(&b.1.location));
        specific.sort_by(|a, b| a.1.location.cmp(&b.1.location));
        layers.extend(generic);
        layers.extend(specific);

        for (key, value) in overrides {
            layers.insert(
                key.trim().to_string(),
                ConfigOrigin {
                    value: value.clone(),
                    source: ConfigSource::Override,
                    location: "--override".to_string(),
                },
            );
        }

        ServerConfig::from_origins(layers)
    }

    /// Applies already-merged explicit values over the defaults and validates the result.
    pub fn from_origins(
        mut origins: BTreeMap<String, ConfigOrigin>,
    ) -> Result<ServerConfig, ConfigError> {
        let unknown: Vec<String> = origins
            .keys()
            .filter(|k| keys::find(k).is_none())
            .cloned()
            .collect();
        for key in unknown {
            if let Some(origin) = origins.remove(&key) {
                if ACCEPTED_WITHOUT_EFFECT.contains(&key.as_str()) {
                    tracing::info!(
                        "configuration `{key}` ({}) has no effect in fjord; ignored",
                        origin.location
                    );
                } else {
                    tracing::warn!(
                        "unknown configuration `{key}` ({}) ignored",
                        origin.location
                    );
                }
            }
        }

        let mut config = ServerConfig::default();
        for key in KEYS {
            if let Some(origin) = origins.get(key.name) {
                (key.set)(&mut config, &origin.value).map_err(|reason| {
                    ConfigError::InvalidValue {
                        key: key.name.to_string(),
                        value: origin.value.clone(),
                        reason,
                        origin: origin.location.clone(),
                    }
                })?;
            }
        }

        if let (Some(broker_id), Some(node_id)) = (origins.get("broker.id"), origins.get("node.id"))
        {
            if broker_id.value.trim() != node_id.value.trim() {
                return Err(ConfigError::Inconsistent {
                    reason: format!(
                        "broker.id={} ({}) and node.id={} ({}) differ; set only node.id",
                        broker_id.value.trim(),
                        broker_id.location,
                        node_id.value.trim(),
                        node_id.location
                    ),
                });
            }
        }

        config.origins = origins;
        if !config.origins.contains_key("controller.quorum.voters") {
            // Kafka has no default quorum; a single fjord node is its own quorum, on its own
            // controller listener.
            let derived = config.controller_listeners().next().map(|l| {
                let host = if l.host.is_empty() {
                    "127.0.0.1"
                } else {
                    &l.host
                };
                format!("{}@{}:{}", config.node_id, host, l.port)
            });
            if let Some(voters) = derived {
                config.controller_quorum_voters = voters;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Every key honoured, with its effective value and where it came from (DescribeConfigs
    /// on the broker resource).
    pub fn describe(&self) -> Vec<ConfigEntry> {
        KEYS.iter()
            .map(|key| ConfigEntry {
                name: key.name.to_string(),
                value: (key.get)(self),
                source: self
                    .origins
                    .get(key.name)
                    .map(|o| o.source)
                    .unwrap_or(ConfigSource::Default),
                sensitive: false,
                read_only: true,
                config_type: key.ty,
                documentation: key.doc,
            })
            .collect()
    }

    /// The node ids listed in `controller.quorum.voters`.
    pub fn voter_ids(&self) -> Vec<i32> {
        self.controller_quorum_voters
            .split(',')
            .filter_map(|v| v.split_once('@'))
            .filter_map(|(id, _)| id.trim().parse().ok())
            .collect()
    }

    /// Cross-key checks, after Kafka's `KafkaConfig.validateValues`. [`ServerConfig::load`]
    /// runs them; the broker runs them again for configurations built in code.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |reason: String| Err(ConfigError::Inconsistent { reason });

        let mut names = BTreeSet::new();
        let mut ports = BTreeSet::new();
        for l in &self.listeners {
            if !names.insert(l.name.as_str()) {
                return fail(format!(
                    "listener name {} appears twice in `listeners`; each listener needs its own name",
                    l.name
                ));
            }
            if l.port != 0 && !ports.insert((l.host.as_str(), l.port)) {
                return fail(format!(
                    "two listeners use {}; give each listener its own port",
                    l.bind_address()
                ));
            }
            match self.listener_security_protocol_map.get(&l.name) {
                None => {
                    return fail(format!(
                        "listener {} has no entry in `listener.security.protocol.map`; add `{}:PLAINTEXT`",
                        l.name, l.name
                    ))
                }
                Some(SecurityProtocol::Plaintext) => {}
                Some(other) => {
                    return fail(format!(
                        "listener {} uses security protocol {other}, which fjord does not support yet; only PLAINTEXT listeners can be served (check `listeners` and `listener.security.protocol.map`)",
                        l.name
                    ))
                }
            }
        }

        if self.is_controller() {
            if self.controller_listener_names.is_empty() {
                return fail("`controller.listener.names` is empty but `process.roles` contains controller; set controller.listener.names=CONTROLLER and add a CONTROLLER listener".into());
            }
            for name in &self.controller_listener_names {
                if !names.contains(name.as_str()) {
                    return fail(format!(
                        "controller listener {name} (from `controller.listener.names`) is not in `listeners`; add e.g. {name}://127.0.0.1:9093"
                    ));
                }
            }
            if !self.voter_ids().contains(&self.node_id) {
                return fail(format!(
                    "node.id={} is a controller but not in controller.quorum.voters={}",
                    self.node_id, self.controller_quorum_voters
                ));
            }
            if !self.is_broker() && self.broker_listeners().next().is_some() {
                return fail(
                    "with process.roles=controller, `listeners` may only hold controller listeners"
                        .into(),
                );
            }
        }

        if self.is_broker() {
            if self.broker_listeners().next().is_none() {
                return fail("no broker listener: every entry of `listeners` is a controller listener; add e.g. PLAINTEXT://127.0.0.1:9092".into());
            }
            if !self.is_controller() && self.controller_listeners().next().is_some() {
                return fail(
                    "with process.roles=broker, `listeners` must not hold controller listeners"
                        .into(),
                );
            }
            for a in &self.advertised_listeners {
                if !names.contains(a.name.as_str()) {
                    return fail(format!(
                        "`advertised.listeners` names {a}, which has no listener of the same name in `listeners`"
                    ));
                }
            }
            let advertised: Vec<Listener> = self.effective_advertised_listeners();
            if let Some(a) = advertised
                .iter()
                .find(|a| a.host == "0.0.0.0" || a.host == "::")
            {
                return fail(format!(
                    "advertised listener {a} uses the non-routable address {}, which clients cannot connect to; set `advertised.listeners` to a host they can reach",
                    a.host
                ));
            }
            if let Some(ib) = &self.inter_broker_listener_name {
                if !advertised.iter().any(|a| &a.name == ib) {
                    return fail(format!(
                        "inter.broker.listener.name={ib} is not an advertised broker listener"
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
