//! Fuzz targets for what a client controls: the trace-context and baggage parsers, header
//! extraction and injection, query and URL redaction, and [`otel_tower::HttpServerLayer`]
//! fed arbitrary methods, URIs and headers.
//!
//! Every target is a plain `fn(&[u8])` that panics when an invariant breaks, so the same
//! code runs under three drivers:
//!
//! - [`smoke`]: the seed corpus plus deterministic mutations for a bounded time, on stable
//!   Rust with no fuzzer installed (`cargo run --release -p otel-fuzz --bin smoke`; CI);
//! - the `fuzz` binary built with `cargo afl build`: AFL++ with coverage feedback, for
//!   long runs;
//! - the same `fuzz` binary built normally: replays crash files
//!   (`cargo run -p otel-fuzz --bin fuzz -- redact crash.bin`).
//!
//! Beyond "no panic", the targets check what a hostile input must not break: a parsed
//! header formats back to itself, `inject(extract(headers))` extracts to the same trace,
//! a redacted query or URL keeps no sensitive value or credential and redacting it again
//! changes nothing, and the server layer never records a credential header's value nor
//! lets a client grow the set of span names or metric series without bound.
//!
//! ```
//! let target = otel_fuzz::target("traceparent").unwrap();
//! (target.run)(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
//! ```
#![deny(missing_docs)]

mod input;
mod mutate;
mod propagation;
mod redact;
mod server;
pub mod smoke;

use std::path::PathBuf;

pub use mutate::Mutator;

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name: the seed folder `seeds/<name>/` and the argument of the `fuzz` binary.
    pub name: &'static str,
    /// Runs one input; panics when an invariant is broken.
    pub run: fn(&[u8]),
    /// Tokens the smoke mutator splices in (separators, keys and values that matter to
    /// the code under test), the way an AFL dictionary would.
    pub dictionary: &'static [&'static [u8]],
}

/// Every target, in the order the smoke runner visits them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "traceparent",
        run: propagation::traceparent,
        dictionary: propagation::TRACEPARENT_TOKENS,
    },
    Target {
        name: "tracestate",
        run: propagation::tracestate,
        dictionary: propagation::TRACESTATE_TOKENS,
    },
    Target {
        name: "baggage",
        run: propagation::baggage,
        dictionary: propagation::BAGGAGE_TOKENS,
    },
    Target {
        name: "propagator",
        run: propagation::propagator,
        dictionary: propagation::HEADER_TOKENS,
    },
    Target {
        name: "redact",
        run: redact::redact,
        dictionary: redact::TOKENS,
    },
    Target {
        name: "server",
        run: server::server,
        dictionary: server::TOKENS,
    },
];

/// The target called `name`.
///
/// ```
/// assert!(otel_fuzz::target("server").is_some());
/// assert!(otel_fuzz::target("nope").is_none());
/// ```
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The seed corpus folder of `target` (`fuzz/seeds/<name>`), also AFL's `-i` folder.
///
/// ```
/// assert!(otel_fuzz::seed_dir("redact").ends_with("seeds/redact"));
/// ```
pub fn seed_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target)
}

/// The seed inputs of `target`, sorted by file name so every run starts the same way.
///
/// ```
/// let seeds = otel_fuzz::seeds("baggage").unwrap();
/// assert!(!seeds.is_empty());
/// ```
pub fn seeds(target: &str) -> std::io::Result<Vec<Vec<u8>>> {
    let dir = seed_dir(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths.iter().map(std::fs::read).collect()
}
