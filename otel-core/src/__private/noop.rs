//! The compile-time off switch of the macros: a build with `--cfg otel_noop` (for example
//! `RUSTFLAGS="--cfg otel_noop" cargo build --release`) keeps every instrumented function
//! exactly as written, with no span, no metric and no evaluated field.
//!
//! A cfg set by whoever builds the binary, not a cargo feature: a feature that removed
//! instrumentation would turn it off for the whole build as soon as any crate enabled it,
//! and `--all-features` (tests, docs.rs) could no longer build the instrumented code.
//!
//! The cfg is read here, in a library compiled for the target, rather than by the proc
//! macro (compiled for the host, which `RUSTFLAGS` does not reach when cross-compiling
//! with `--target`) or in the code the macro emits (every user crate would then need a
//! `check-cfg` entry to avoid an `unexpected_cfgs` warning per function).

/// `__instrumented_or_plain!({ instrumented body } { body as written })`: the first
/// block, or the second in builds with `--cfg otel_noop`. Both are single token trees,
/// so the unused one is dropped without being parsed or type-checked.
#[cfg(not(otel_noop))]
#[doc(hidden)]
#[macro_export]
macro_rules! __instrumented_or_plain {
    ($instrumented:tt $plain:tt) => {
        $instrumented
    };
}

/// `__instrumented_or_plain!({ instrumented body } { body as written })`: the first
/// block, or the second in builds with `--cfg otel_noop`. Both are single token trees,
/// so the unused one is dropped without being parsed or type-checked.
#[cfg(otel_noop)]
#[doc(hidden)]
#[macro_export]
macro_rules! __instrumented_or_plain {
    ($instrumented:tt $plain:tt) => {
        $plain
    };
}
