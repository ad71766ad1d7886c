//! Waterfall layout: each span's row (depth-first, children in start order), its
//! indentation, the width of the name column and the cells its bar covers on the
//! trace's timeline. The bar gives up columns to long names, so that a row stays
//! within 80 columns.
//!
//! Widths are terminal columns measured with `unicode-width`, not `char`s: `検索` takes
//! four columns and a decomposed `é` (`e` + U+0301) one, so the bars of spans named in
//! any script start in the same column.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::SpanData;
use unicode_width::UnicodeWidthStr;

use crate::export::console::clean;

/// Cap on a whole line, in terminal columns: the width of a default terminal.
pub(super) const MAX_LINE_COLUMNS: usize = 80;
/// Columns of the timeline bar, between its two `│` borders, when the names leave room.
const MAX_BAR_WIDTH: usize = 32;
/// A floor for the bar. Names cut at `MAX_NAME_WIDTH` leave it 19 columns at least, so
/// the floor only matters if that cap grows.
const MIN_BAR_WIDTH: usize = 16;
/// Right-aligned duration column: "99.9 ms" is the widest below 100 000 s.
pub(super) const DURATION_WIDTH: usize = 7;
/// Widest name column, indentation included.
const MAX_NAME_WIDTH: usize = 48;
/// Deeper spans keep this indentation, so a runaway recursion cannot push names off screen.
const MAX_INDENT_DEPTH: usize = 12;

/// A trace laid out as one row per span, in drawing order.
#[derive(Debug)]
pub(super) struct Waterfall<'a> {
    /// From the earliest start to the latest end of the trace's spans.
    pub(super) total: Duration,
    /// Columns of the name column, indentation included; every row is padded to it.
    pub(super) name_width: usize,
    /// Columns of the bar between its borders: what the name column leaves of the line.
    pub(super) bar_width: usize,
    pub(super) rows: Vec<Row<'a>>,
}

/// One span's place in the waterfall.
#[derive(Debug)]
pub(super) struct Row<'a> {
    pub(super) span: &'a SpanData,
    /// Columns of indentation before the name.
    pub(super) indent: usize,
    /// The span name, cleaned and cut to fit the name column.
    pub(super) name: String,
    /// Columns after the name that bring the row to the name column's width.
    pub(super) padding: usize,
    pub(super) duration: Duration,
    /// Filled cells `[from, to)` of the bar.
    pub(super) bar: (usize, usize),
}

impl<'a> Waterfall<'a> {
    /// Lays out `spans`; `None` when there is none.
    pub(super) fn new(spans: &'a [SpanData]) -> Option<Self> {
        let start = spans.iter().map(|s| s.start_time).min()?;
        let end = spans.iter().map(|s| s.end_time.max(s.start_time)).max()?;
        let total = duration_between(start, end);
        let mut rows: Vec<Row<'a>> = waterfall_order(spans)
            .into_iter()
            .map(|(depth, i)| {
                let span = &spans[i];
                let indent = 2 * depth.min(MAX_INDENT_DEPTH);
                Row {
                    span,
                    indent,
                    name: clean(&span.name, MAX_NAME_WIDTH - indent, true),
                    padding: 0,
                    duration: duration_between(span.start_time, span.end_time),
                    bar: (0, 0),
                }
            })
            .collect();
        let name_width = rows.iter().map(Row::name_columns).max().unwrap_or(0);
        let bar_width = bar_width(name_width);
        for row in &mut rows {
            row.padding = name_width - row.name_columns();
            row.bar = bar_cells(row.span, start, total, bar_width);
        }
        Some(Self {
            total,
            name_width,
            bar_width,
            rows,
        })
    }
}

impl Row<'_> {
    /// Columns taken by the indentation and the name.
    fn name_columns(&self) -> usize {
        self.indent + self.name.width()
    }
}

/// Spans in drawing order: depth-first, children in start order; spans whose parent is
/// not in the trace (or that sit in a parent cycle) start a top-level branch.
fn waterfall_order(spans: &[SpanData]) -> Vec<(usize, usize)> {
    let mut index: HashMap<SpanId, usize> = HashMap::with_capacity(spans.len());
    for (i, span) in spans.iter().enumerate() {
        index.entry(span.span_context.span_id()).or_insert(i);
    }
    let mut by_start: Vec<usize> = (0..spans.len()).collect();
    by_start.sort_by_key(|&i| (spans[i].start_time, spans[i].end_time));

    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for &i in &by_start {
        let parent = spans[i].parent_span_id;
        match index.get(&parent) {
            Some(&p) if p != i && parent != SpanId::INVALID => children[p].push(i),
            _ => roots.push(i),
        }
    }

    let mut order = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut stack = Vec::new();
    // Roots first, then whatever a parent cycle kept unreachable.
    for start in roots.into_iter().chain(by_start) {
        stack.push((0usize, start));
        while let Some((depth, i)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            order.push((depth, i));
            stack.extend(children[i].iter().rev().map(|&c| (depth + 1, c)));
        }
    }
    order
}

/// The bar's width for a name column `name_width` wide: the rest of an 80-column line
/// after the name, the duration and the bar's borders, between the bounds.
fn bar_width(name_width: usize) -> usize {
    let fixed = name_width + 2 + DURATION_WIDTH + 2 + 2;
    MAX_LINE_COLUMNS
        .saturating_sub(fixed)
        .clamp(MIN_BAR_WIDTH, MAX_BAR_WIDTH)
}

fn duration_between(start: SystemTime, end: SystemTime) -> Duration {
    end.duration_since(start).unwrap_or_default()
}

/// The bar's filled cells `[from, to)` for a span on the trace's timeline; at least one
/// cell, so instantaneous spans stay visible. Integer nanoseconds, so a span ending
/// exactly on a cell boundary does not spill into the next cell through float error.
fn bar_cells(span: &SpanData, trace_start: SystemTime, total: Duration, bar_width: usize) -> (usize, usize) {
    let total = total.as_nanos();
    if total == 0 {
        return (0, bar_width);
    }
    let offset = duration_between(trace_start, span.start_time).as_nanos();
    let end = offset + duration_between(span.start_time, span.end_time).as_nanos();
    let width = bar_width as u128;
    let cell = |nanos: u128, round_up: bool| -> usize {
        let scaled = nanos.saturating_mul(width);
        let cells = if round_up {
            scaled.div_ceil(total)
        } else {
            scaled / total
        };
        // At most bar_width once clamped, so the conversion cannot fail.
        usize::try_from(cells.min(width)).unwrap_or(bar_width)
    };
    let from = cell(offset, false).min(bar_width - 1);
    let to = cell(end, true).clamp(from + 1, bar_width);
    (from, to)
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use opentelemetry_sdk::trace::SpanExporter as _;

    use super::super::test_support::{at, exporter, S};
    use super::*;
    use crate::export::console::test_support::SharedBuf;

    #[test]
    fn parent_cycles_and_hostile_names_are_survived() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let a = S::new(1, 2, "a\x1b[2Jx", 0, 10).build();
        let b = S::new(2, 1, "b\nnewline", 1, 5).build();
        block_on(exporter.export(vec![a, b])).unwrap();
        exporter.force_flush().unwrap();
        let text = buf.text();
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(text.contains("\na\\u{1b}[2Jx "), "{text}");
        assert!(text.contains("\n  b newline "), "{text}");
    }

    #[test]
    fn bars_line_up_whatever_the_script_of_the_names() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        // Precomposed and decomposed accents, CJK (two columns a character), emoji
        // (two columns, one of them a sequence with a variation selector) and ASCII.
        let spans = vec![
            S::new(2, 1, "café", 0, 10).build(),
            S::new(3, 1, "cafe\u{301}", 5, 20).build(),
            S::new(4, 3, "検索", 6, 15).build(),
            S::new(5, 1, "🔍 search", 20, 30).build(),
            S::new(6, 1, "❤\u{fe0f} like", 30, 35).build(),
            S::new(7, 1, "データベース query", 35, 40).build(),
            S::new(1, 0, "root", 0, 40).build(),
        ];
        block_on(exporter.export(spans)).unwrap();
        let text = buf.text();
        let rows: Vec<&str> = text.lines().skip(1).filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 7, "{text}");
        let bar_columns: Vec<usize> = rows
            .iter()
            .map(|row| {
                let bar = row.find('│').unwrap_or_else(|| panic!("no bar in {row:?}"));
                row[..bar].width()
            })
            .collect();
        assert!(
            bar_columns.iter().all(|&c| c == bar_columns[0]),
            "bars start in columns {bar_columns:?}:\n{text}"
        );
        // Counting chars instead of columns would have misaligned these rows.
        let bar_chars: Vec<usize> = rows
            .iter()
            .map(|row| row.split('│').next().unwrap().chars().count())
            .collect();
        assert!(bar_chars.iter().any(|&c| c != bar_chars[0]), "{bar_chars:?}");
        assert!(
            text.contains("\n    検索 "),
            "nested under the decomposed café: {text}"
        );
    }

    #[test]
    fn long_names_are_cut_to_the_name_column_in_columns() {
        let name: &'static str = "検索".repeat(40).leak();
        let spans = [S::new(1, 0, name, 0, 1).build()];
        let waterfall = Waterfall::new(&spans).unwrap();
        let row = &waterfall.rows[0];
        // Two-column characters may leave the last column empty rather than overflow.
        assert!(
            (MAX_NAME_WIDTH - 1..=MAX_NAME_WIDTH).contains(&waterfall.name_width),
            "{} columns: {:?}",
            waterfall.name_width,
            row.name
        );
        assert!(row.name.ends_with('…'), "{:?}", row.name);
    }

    #[test]
    fn long_names_narrow_the_bar_so_rows_fit_80_columns() {
        let spans = [
            S::new(1, 0, "process_standalone", 0, 100).build(),
            S::new(2, 1, "embeddings text-embedding-3-small", 0, 50).build(),
            S::new(3, 2, "POST /v1/embeddings handled by a long name", 50, 100).build(),
        ];
        let waterfall = Waterfall::new(&spans).unwrap();
        // 4 columns of indentation and a 42-column name leave 80 - 46 - 13 = 21.
        assert_eq!((waterfall.name_width, waterfall.bar_width), (46, 21));
        assert_eq!(waterfall.rows[0].bar, (0, 21));
        assert_eq!(waterfall.rows[2].bar, (10, 21));

        let buf = SharedBuf::default();
        block_on(exporter(&buf).export(spans.to_vec())).unwrap();
        let text = buf.text();
        for line in text.lines() {
            assert!(
                line.width() <= MAX_LINE_COLUMNS,
                "{} columns: {line}",
                line.width()
            );
        }
        assert!(text.contains("│█████████████████████│"), "{text}");

        let widest = [S::new(1, 0, "x".repeat(200).leak(), 0, 1).build()];
        let waterfall = Waterfall::new(&widest).unwrap();
        assert_eq!(waterfall.name_width + 13 + waterfall.bar_width, MAX_LINE_COLUMNS);
        assert!(waterfall.bar_width >= MIN_BAR_WIDTH);
    }

    #[test]
    fn bars_cover_their_share_of_the_timeline() {
        let spans = [
            S::new(1, 0, "root", 0, 100).build(),
            S::new(2, 1, "first half", 0, 50).build(),
            S::new(3, 1, "last quarter", 75, 100).build(),
            S::new(4, 1, "instant", 60, 60).build(),
        ];
        let waterfall = Waterfall::new(&spans).unwrap();
        let bars: Vec<(&str, (usize, usize))> = waterfall
            .rows
            .iter()
            .map(|row| (row.name.as_str(), row.bar))
            .collect();
        assert_eq!(
            bars,
            [
                ("root", (0, 32)),
                ("first half", (0, 16)),
                ("instant", (19, 20)),
                ("last quarter", (24, 32)),
            ]
        );
        assert_eq!(waterfall.total, at(100).duration_since(at(0)).unwrap());
        assert_eq!(Waterfall::new(&[]).map(|w| w.rows.len()), None);
    }
}
