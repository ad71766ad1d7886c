//! One metric data point as printed: its attributes, sorted and cut to fit, and its
//! value (durations for histograms in seconds), wrapped at 80 terminal columns.

use std::time::Duration;

use opentelemetry::{KeyValue, Value};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{clean, fmt_duration, fmt_f64, fmt_key, fmt_value, paint, Style};

const ATTRIBUTE_VALUE_CHARS: usize = 48;
/// Lines fit a default terminal; a data point too wide for one continues below.
pub(super) const MAX_LINE_COLUMNS: usize = 80;
const POINT_INDENT: usize = 4;
const CONTINUATION_INDENT: usize = 6;
/// Numbers as printed: floats without float noise.
pub(super) trait PointValue: Copy {
    fn show(self) -> String;
}

impl PointValue for f64 {
    fn show(self) -> String {
        fmt_f64(self)
    }
}

impl PointValue for u64 {
    fn show(self) -> String {
        self.to_string()
    }
}

impl PointValue for i64 {
    fn show(self) -> String {
        self.to_string()
    }
}

/// A point's attributes as printed, `{k=v, k2=v2}` in pieces (`{k=v,`, `k2=v2}`) so a
/// long list can wrap between attributes, ordered by their full values (not the
/// shortened ones) so points sort the same however their values are cut.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PointAttributes {
    order: Vec<(String, String)>,
    pub(super) pieces: Vec<String>,
}

/// Keys sorted so a point's line does not depend on recording order.
pub(super) fn fmt_attributes<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> PointAttributes {
    let mut pairs: Vec<(&KeyValue, String, String)> = attributes
        .map(|kv| (kv, fmt_key(&kv.key), fmt_point_value(&kv.value)))
        .collect();
    pairs.sort_by(|a, b| a.1.cmp(&b.1));
    let order = pairs
        .iter()
        .map(|(kv, key, _)| (key.clone(), kv.value.to_string()))
        .collect();
    let last = pairs.len().saturating_sub(1);
    let mut pieces: Vec<String> = pairs
        .into_iter()
        .enumerate()
        .map(|(i, (_, k, v))| format!("{k}={v}{}", if i == last { "" } else { "," }))
        .collect();
    match pieces.first_mut() {
        Some(first) => first.insert(0, '{'),
        None => pieces.push("{".to_owned()),
    }
    if let Some(last) = pieces.last_mut() {
        last.push('}');
    }
    PointAttributes { order, pieces }
}

/// An attribute value of a data point. A long code path (`code.function.name`) is cut
/// at its start rather than its end, so the points of two functions of one module do
/// not both read `my_crate::module::…`.
fn fmt_point_value(value: &Value) -> String {
    if let Value::String(s) = value {
        let text = s.as_str();
        if text.contains("::") && !text.contains(char::is_whitespace) && text.width() > ATTRIBUTE_VALUE_CHARS
        {
            let mut tail: Vec<char> = Vec::new();
            let mut columns = 1; // the leading `…`
            for c in text.chars().rev() {
                let width = c.width().unwrap_or(0);
                if columns + width > ATTRIBUTE_VALUE_CHARS {
                    break;
                }
                columns += width;
                tail.push(c);
            }
            let tail: String = tail.into_iter().rev().collect();
            return clean(&format!("…{tail}"), ATTRIBUTE_VALUE_CHARS, false);
        }
    }
    fmt_value(value, ATTRIBUTE_VALUE_CHARS)
}

/// Appends one data point: its attribute pieces (dim) and its value, words one space
/// apart, wrapped at [`MAX_LINE_COLUMNS`] with continuation lines indented deeper.
pub(super) fn render_point(out: &mut String, color: bool, attributes: &[String], value: &str) {
    let words = attributes
        .iter()
        .map(|piece| (Some(Style::Dim), piece.as_str()))
        .chain(std::iter::once((None, value)));
    out.push_str(&" ".repeat(POINT_INDENT));
    let mut column = POINT_INDENT;
    let mut line_start = true;
    for (style, word) in words {
        let width = word.width();
        if !line_start && column + 1 + width > MAX_LINE_COLUMNS {
            out.push('\n');
            out.push_str(&" ".repeat(CONTINUATION_INDENT));
            column = CONTINUATION_INDENT;
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            column += 1;
        }
        // A single word wider than a whole line is cut rather than overflowing it.
        let room = MAX_LINE_COLUMNS.saturating_sub(column);
        let word = if width > room {
            clean(word, room, false)
        } else {
            word.to_owned()
        };
        column += word.width();
        match style {
            Some(style) => paint(out, color, style, &word),
            None => out.push_str(&word),
        }
        line_start = false;
    }
    out.push('\n');
}

/// A value in seconds as a duration (`457 µs`, `1.20 s`), the way people read latency;
/// what no duration can hold (negative, not finite) stays a number.
fn seconds<T: PointValue>(value: T) -> String {
    let text = value.show();
    match text
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
    {
        Some(duration) => fmt_duration(duration),
        None => text,
    }
}

pub(super) fn summary<T: PointValue>(
    count: u64,
    sum: T,
    min: Option<T>,
    max: Option<T>,
    in_seconds: bool,
) -> String {
    let show = |v: T| if in_seconds { seconds(v) } else { v.show() };
    let mut text = format!("count={count} sum={}", show(sum));
    if let Some(min) = min {
        text.push_str(&format!(" min={}", show(min)));
    }
    if let Some(max) = max {
        text.push_str(&format!(" max={}", show(max)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_code_paths_keep_their_end() {
        let path = Value::from("otel_examples::search_backend::pipeline::Pipeline::cache_check");
        let shown = fmt_point_value(&path);
        assert_eq!(shown, "…search_backend::pipeline::Pipeline::cache_check");
        assert!(shown.width() <= ATTRIBUTE_VALUE_CHARS);
        let prose = fmt_point_value(&Value::from("a::b ".repeat(20)));
        assert!(
            prose.starts_with("\"a::b") && prose.contains('…'),
            "text with spaces is cut at its end"
        );
        assert_eq!(fmt_point_value(&Value::from("short::path")), "short::path");
    }

    #[test]
    fn a_word_wider_than_a_line_is_cut() {
        let mut out = String::new();
        render_point(&mut out, false, &["{k=".to_owned() + &"v".repeat(120) + "}"], "1");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0].width(), MAX_LINE_COLUMNS, "{out}");
        assert!(lines[0].ends_with('…'), "{out}");
        assert_eq!(lines[1], "      1");
    }
}
