//! A reader for Java `.properties` files, the format of Kafka's `server.properties`.
//!
//! It follows `java.util.Properties.load`, which is what Kafka uses to read the file:
//!
//! - lines end at `\n`, `\r` or `\r\n`; a line ending in an odd number of `\` continues on the
//!   next line, whose leading whitespace is dropped;
//! - a line whose first non-blank character is `#` or `!` is a comment (never continued);
//! - the key runs to the first unescaped `=`, `:` or whitespace; then blanks, at most one `=`
//!   or `:`, and blanks are skipped, and the rest of the line is the value (`key=value`,
//!   `key: value` and `key value` are all the same);
//! - escapes in keys and values: `\t`, `\n`, `\r`, `\f`, `\uXXXX`, and `\` before any other
//!   character stands for that character (so `\=`, `\:`, `\ `, `\\`, `\#`);
//! - a key given twice keeps its last value.
//!
//! Unlike Java, which reads the bytes as ISO-8859-1, the file is read as UTF-8 (falling back to
//! ISO-8859-1 when it is not valid UTF-8), so non-ASCII values work without `\u` escapes.

/// One `key = value` pair and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A syntax error at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub reason: String,
}

/// Decodes file bytes: UTF-8 when valid, else ISO-8859-1 (every byte is one code point).
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parses the text of a properties file, in file order (duplicates included; the caller keeps
/// the last).
pub fn parse(text: &str) -> Result<Vec<Property>, SyntaxError> {
    let lines = natural_lines(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start_line = i + 1;
        let first = lines[i].trim_start_matches(is_blank);
        i += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        // Join continuation lines into one logical line.
        let mut logical = String::from(first);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.get(i) {
                Some(next) => {
                    logical.push_str(next.trim_start_matches(is_blank));
                    i += 1;
                }
                // Java drops a trailing lone backslash at end of file.
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).map_err(|reason| SyntaxError {
            line: start_line,
            reason,
        })?;
        let value = unescape(value).map_err(|reason| SyntaxError {
            line: start_line,
            reason,
        })?;
        out.push(Property {
            key,
            value,
            line: start_line,
        });
    }
    Ok(out)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\u{c}'
}

/// Splits text at `\n`, `\r` and `\r\n`.
fn natural_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\n' => {
                lines.push(&text[start..pos]);
                pos += 1;
                start = pos;
            }
            b'\r' => {
                lines.push(&text[start..pos]);
                pos += 1;
                if bytes.get(pos) == Some(&b'\n') {
                    pos += 1;
                }
                start = pos;
            }
            _ => pos += 1,
        }
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits a logical line (leading blanks already removed) into raw key and raw value.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut key_end = line.len();
    let mut escaped = false;
    for (idx, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                key_end = idx;
                break;
            }
            c if is_blank(c) => {
                key_end = idx;
                break;
            }
            _ => {}
        }
    }
    let key = &line[..key_end];
    let mut rest = line[key_end..].trim_start_matches(is_blank);
    if let Some(stripped) = rest.strip_prefix(['=', ':']) {
        rest = stripped.trim_start_matches(is_blank);
    }
    (key, rest)
}

fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
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
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| format!("malformed \\uxxxx escape `\\u{hex}`"))?;
                // A lone surrogate half cannot be a Rust char; Java would keep it, we refuse.
                let ch = char::from_u32(code)
                    .ok_or_else(|| format!("`\\u{hex}` is not a Unicode scalar value"))?;
                out.push(ch);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .expect("valid properties")
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn three_separators_and_blanks() {
        assert_eq!(
            pairs("a=1\nb: 2\nc 3\n  d  =  4  \ne\t:\t5\nf\n"),
            vec![
                p("a", "1"),
                p("b", "2"),
                p("c", "3"),
                p("d", "4  "),
                p("e", "5"),
                p("f", "")
            ]
        );
    }

    #[test]
    fn comments_and_empty_lines_are_skipped() {
        assert_eq!(
            pairs(
                "# comment\n! also a comment\n\n   \n   # indented comment\nk=v # not a comment\n"
            ),
            vec![p("k", "v # not a comment")]
        );
    }

    #[test]
    fn continuation_lines_join_and_drop_leading_blanks() {
        assert_eq!(
            pairs("listeners=PLAINTEXT://:9092,\\\n    CONTROLLER://:9093\nnext=1"),
            vec![
                p("listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"),
                p("next", "1")
            ]
        );
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        assert_eq!(
            pairs("path=C:\\\\dir\\\\\nnext=1\n"),
            vec![p("path", "C:\\dir\\"), p("next", "1")]
        );
    }

    #[test]
    fn comment_lines_are_never_continued() {
        assert_eq!(pairs("# comment \\\nk=v\n"), vec![p("k", "v")]);
    }

    #[test]
    fn escapes_in_keys_and_values() {
        assert_eq!(
            pairs("a\\=b\\ c=x\\ty\\u0041\\:\\#\\z\n"),
            vec![p("a=b c", "x\tyA:#z")]
        );
    }

    #[test]
    fn value_may_contain_separators() {
        assert_eq!(
            pairs("controller.quorum.voters=1@localhost:9093\nk==v\n"),
            vec![
                p("controller.quorum.voters", "1@localhost:9093"),
                p("k", "=v")
            ]
        );
    }

    #[test]
    fn cr_and_crlf_line_endings() {
        assert_eq!(
            pairs("a=1\r\nb=2\rc=3"),
            vec![p("a", "1"), p("b", "2"), p("c", "3")]
        );
    }

    #[test]
    fn malformed_unicode_escape_names_the_line() {
        let err = parse("ok=1\n\nbad=\\u00zz\n").expect_err("malformed escape");
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("\\u"), "{}", err.reason);
    }

    #[test]
    fn line_numbers_point_at_the_start_of_a_logical_line() {
        let props = parse("a=1\\\n 2\nb=3\n").expect("valid");
        assert_eq!(props[0].line, 1);
        assert_eq!(props[1].line, 3);
        assert_eq!(props[0].value, "12");
    }

    #[test]
    fn latin1_fallback() {
        assert_eq!(decode(b"k=caf\xe9"), "k=caf\u{e9}");
        assert_eq!(decode("k=café".as_bytes()), "k=café");
    }
}
