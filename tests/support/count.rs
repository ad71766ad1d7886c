//! Counts from rotel's `--debug-log-verbosity basic` output, one line per received
//! batch:
//!
//! ```text
//! 2025-01-01T00:00:00.000000Z  INFO Received traces. data_type="traces" resource_spans=1 spans=512
//! ```
//!
//! Volume tests read these instead of the detailed layout of [`crate::parse`], which
//! prints some twenty lines per span.

/// Spans in all the "Received traces." lines of `output`.
pub fn span_count(output: &str) -> u64 {
    output
        .lines()
        .filter(|line| line.contains("Received traces."))
        .filter_map(|line| field(line, "spans"))
        .sum()
}

/// The number after ` name=` on `line`.
fn field(line: &str, name: &str) -> Option<u64> {
    let (_, rest) = line.split_once(&format!(" {name}="))?;
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::span_count;

    #[test]
    fn sums_the_spans_of_every_traces_line() {
        let output = "\
2025-01-01T00:00:00Z  INFO Starting Rotel. grpc_endpoint=\"127.0.0.1:1\"
2025-01-01T00:00:01Z  INFO Received traces. data_type=\"traces\" resource_spans=1 spans=512
2025-01-01T00:00:01Z  INFO Received metrics. data_type=\"metrics\" resource_metrics=1 metrics=7
2025-01-01T00:00:02Z  INFO Received traces. data_type=\"traces\" resource_spans=2 spans=30
";
        assert_eq!(span_count(output), 542);
        assert_eq!(span_count(""), 0);
    }
}
