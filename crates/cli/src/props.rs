//! `key=value` settings as Kafka's tools take them: from repeated options
//! (`--producer-property acks=all`, `--property print.key=true`, `--config retention.ms=1000`)
//! and from Java `.properties` files (`--command-config`, `--producer.config`,
//! `--consumer.config`).
//!
//! Files are read by `fjord_config::properties`, the reader of `server.properties`, which
//! follows `java.util.Properties.load`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fjord_config::properties;

/// Settings by name; later settings replace earlier ones.
pub type Properties = BTreeMap<String, String>;

/// A properties file that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesFileError {
    #[error("cannot read properties file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("properties file {path}, line {line}: {reason}")]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// Kafka's `parseKeyValueArgs`: each word is split at its first `=`; a word without `=` (or
/// with nothing after it) sets the key to the empty string.
pub fn from_key_values<S: AsRef<str>>(words: &[S]) -> Properties {
    words
        .iter()
        .map(|w| {
            let w = w.as_ref();
            match w.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (w.to_owned(), String::new()),
            }
        })
        .collect()
}

/// Reads a `.properties` file (UTF-8, or ISO-8859-1 when it is not valid UTF-8).
pub fn from_file(path: &Path) -> Result<Properties, PropertiesFileError> {
    let bytes = std::fs::read(path).map_err(|source| PropertiesFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    from_text(&properties::decode(&bytes)).map_err(|e| PropertiesFileError::Syntax {
        path: path.to_owned(),
        line: e.line,
        reason: e.reason,
    })
}

/// Parses the text of a `.properties` file; a key given twice keeps its last value.
pub fn from_text(text: &str) -> Result<Properties, properties::SyntaxError> {
    Ok(properties::parse(text)?
        .into_iter()
        .map(|p| (p.key, p.value))
        .collect())
}

/// The value of a boolean setting as Kafka reads it (`Boolean.parseBoolean`: only a
/// case-insensitive `true` is true).
pub fn flag(props: &Properties, key: &str) -> bool {
    props
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_split_at_the_first_equals() {
        let p = from_key_values(&["print.key=true", "key.separator==", "a", "b="]);
        assert_eq!(p["print.key"], "true");
        assert_eq!(p["key.separator"], "=");
        assert_eq!(p["a"], "");
        assert_eq!(p["b"], "");
        assert!(flag(&p, "print.key"));
        assert!(!flag(&p, "a") && !flag(&p, "missing"));
    }

    #[test]
    fn properties_files_as_java_reads_them() {
        let text = "# comment\n! also\n\nacks=all\nclient.id : tools\nlinger.ms 5\n\
                    sasl.jaas.config=a \\\n    b\\\n  c\nsep=\\=\\:x\\u0041\\\\\nempty=\n";
        let p = from_text(text).expect("valid");
        assert_eq!(p["acks"], "all");
        assert_eq!(p["client.id"], "tools");
        assert_eq!(p["linger.ms"], "5");
        assert_eq!(p["sasl.jaas.config"], "a bc");
        assert_eq!(p["sep"], "=:xA\\");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let e = from_file(Path::new("/no/such/client.properties")).expect_err("missing");
        assert!(e.to_string().contains("/no/such/client.properties"), "{e}");
    }
}
