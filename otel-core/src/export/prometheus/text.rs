//! The lexical layer of the text format: sample lines, numbers and `# HELP` escaping.

use std::fmt::Write as _;

/// A numeric sample value as the SDK hands it out.
pub(super) trait Sample: Copy {
    fn write_to(self, out: &mut String);
    fn is_negative(self) -> bool;
}

impl Sample for u64 {
    fn write_to(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
    fn is_negative(self) -> bool {
        false
    }
}

impl Sample for i64 {
    fn write_to(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
    fn is_negative(self) -> bool {
        self < 0
    }
}

impl Sample for f64 {
    fn write_to(self, out: &mut String) {
        write_float(out, self);
    }
    fn is_negative(self) -> bool {
        self < 0.0
    }
}

/// Writes `name{labels[,le="bound"]} value\n`.
pub(super) fn write_sample(
    out: &mut String,
    name: &str,
    labels: &str,
    le: Option<f64>,
    value: impl FnOnce(&mut String),
) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        out.push_str(labels);
        if let Some(bound) = le {
            if !labels.is_empty() {
                out.push(',');
            }
            out.push_str("le=\"");
            write_float(out, bound);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    value(out);
    out.push('\n');
}

/// Escapes `\\` and line breaks, the two characters `# HELP` text cannot hold as they are.
pub(super) fn escape_help(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Formats a float the way Prometheus parses it: `+Inf`, `-Inf`, `NaN`, the shortest decimal
/// that round-trips, and exponent notation for very large or small magnitudes.
pub(super) fn write_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let magnitude = value.abs();
        if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
            let _ = write!(out, "{value:e}");
        } else {
            let _ = write!(out, "{value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write_float;

    #[test]
    fn floats_use_prometheus_spelling() {
        let cases = [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (1.0, "1"),
            (0.005, "0.005"),
            (-2.5, "-2.5"),
            (1e22, "1e22"),
            (1.5e-9, "1.5e-9"),
            (0.0, "0"),
        ];
        for (value, expected) in cases {
            let mut out = String::new();
            write_float(&mut out, value);
            assert_eq!(out, expected, "formatting {value}");
        }
    }
}
