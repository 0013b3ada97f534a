//! `key=value` settings as Kafka's tools take them: from repeated options
//! (`--producer-property acks=all`, `--property print.key=true`, `--config retention.ms=1000`)
//! and from Java `.properties` files (`--command-config`, `--producer.config`,
//! `--consumer.config`).
//!
//! The file format is the subset of `java.util.Properties` that configuration files use:
//! `#` and `!` comment lines, `key=value`, `key: value` or `key value`, blanks around the
//! separator ignored, a trailing `\` continuing the value on the next line, and the escapes
//! `\t \n \r \\ \= \: \uXXXX`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Settings by name; later settings replace earlier ones.
pub type Properties = BTreeMap<String, String>;

/// A properties file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read properties file {path}: {source}")]
pub struct PropertiesFileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
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

/// Reads a `.properties` file.
pub fn from_file(path: &Path) -> Result<Properties, PropertiesFileError> {
    std::fs::read_to_string(path)
        .map(|text| from_text(&text))
        .map_err(|source| PropertiesFileError {
            path: path.to_owned(),
            source,
        })
}

/// Parses the text of a `.properties` file.
pub fn from_text(text: &str) -> Properties {
    let mut props = Properties::new();
    let mut logical = String::new();
    for raw in text.lines() {
        // Leading blanks go, on first and continuation lines alike.
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (key, value) = split_entry(&logical);
        props.insert(unescape(key), unescape(value));
        logical.clear();
    }
    if !logical.is_empty() {
        let (key, value) = split_entry(&logical);
        props.insert(unescape(key), unescape(value));
    }
    props
}

/// Splits at the first unescaped `=`, `:` or blank; blanks around the separator are dropped.
fn split_entry(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..i], line[i + 1..].trim_start()),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix(['=', ':'])
                    .map(str::trim_start)
                    .unwrap_or(rest);
                return (&line[..i], rest);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
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
        let p = from_text(text);
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
