//! `meta.properties` of a data directory, in Kafka's (KRaft, version 1) Java-properties
//! format:
//! ```text
//! #
//! #Written by fjord
//! node.id=1
//! directory.id=J8aAPcfLQt2bqs1JT_rMgQ
//! version=1
//! cluster.id=MkU3OEVBNTcwNTJENDM2Qk
//! ```
//! `directory.id` is a random UUID in Kafka's URL-safe base64 form (22 characters, no padding).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::crashsafe::write_atomically;
use crate::error::LogError;

pub(crate) const META_PROPERTIES: &str = "meta.properties";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaProperties {
    pub node_id: i32,
    pub cluster_id: Option<String>,
    pub directory_id: String,
    /// Keys fjord does not interpret, kept when the file is rewritten.
    pub other: BTreeMap<String, String>,
}

/// Kafka's textual form of a UUID: URL-safe base64 of its 16 bytes, unpadded.
pub(crate) fn kafka_uuid_string(bytes: &[u8; 16]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub(crate) fn random_directory_id() -> String {
    kafka_uuid_string(uuid::Uuid::new_v4().as_bytes())
}

impl MetaProperties {
    pub(crate) fn path(dir: &Path) -> PathBuf {
        dir.join(META_PROPERTIES)
    }

    /// Reads the file; `Ok(None)` if it does not exist.
    pub(crate) fn read(dir: &Path) -> Result<Option<MetaProperties>, LogError> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io(&path, e)),
        };
        let mut map = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', ':']) else {
                continue;
            };
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        let malformed = |reason: String| LogError::ForeignDataDir {
            path: dir.to_path_buf(),
            reason,
        };
        match map.remove("version").as_deref() {
            Some("1") => {}
            other => {
                return Err(malformed(format!(
                    "meta.properties version {other:?} is not 1 (KRaft)"
                )))
            }
        }
        let node_id = map
            .remove("node.id")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| malformed("meta.properties has no valid node.id".to_string()))?;
        let cluster_id = map.remove("cluster.id");
        let directory_id = map
            .remove("directory.id")
            .unwrap_or_else(random_directory_id);
        Ok(Some(MetaProperties {
            node_id,
            cluster_id,
            directory_id,
            other: map,
        }))
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<(), LogError> {
        let mut text = String::from("#\n#Written by fjord\n");
        text.push_str(&format!("node.id={}\n", self.node_id));
        text.push_str(&format!("directory.id={}\n", self.directory_id));
        text.push_str("version=1\n");
        if let Some(id) = &self.cluster_id {
            text.push_str(&format!("cluster.id={id}\n"));
        }
        for (k, v) in &self.other {
            text.push_str(&format!("{k}={v}\n"));
        }
        write_atomically(&Self::path(dir), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_string_is_kafkas_base64url() {
        assert_eq!(kafka_uuid_string(&[0; 16]), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(kafka_uuid_string(&[0xff; 16]), "_____________________w");
        assert_eq!(random_directory_id().len(), 22);
    }

    #[test]
    fn round_trip_and_reads_kafka_written_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(META_PROPERTIES),
            "#\n#Thu Jan 01 00:00:00 UTC 2025\nnode.id=3\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n",
        )
        .unwrap();
        let meta = MetaProperties::read(dir.path()).unwrap().unwrap();
        assert_eq!(meta.node_id, 3);
        assert_eq!(meta.cluster_id.as_deref(), Some("MkU3OEVBNTcwNTJENDM2Qk"));
        assert_eq!(meta.directory_id, "J8aAPcfLQt2bqs1JT_rMgQ");
        meta.write(dir.path()).unwrap();
        assert_eq!(MetaProperties::read(dir.path()).unwrap().unwrap(), meta);
        std::fs::write(dir.path().join(META_PROPERTIES), "version=0\nbroker.id=1\n").unwrap();
        assert!(matches!(
            MetaProperties::read(dir.path()),
            Err(LogError::ForeignDataDir { .. })
        ));
    }
}
