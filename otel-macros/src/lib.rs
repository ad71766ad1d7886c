//! Procedural macros for `otel-core`: `#[instrumented]` and `#[instrument_struct]`.
//!
//! One attribute gives a function an OpenTelemetry span **and** RED metrics (calls,
//! errors, duration). Use them through `otel_core` (`otel_core::instrumented`), which
//! carries the runtime the generated code calls into; the examples here import them from
//! this crate directly, which works the same.
//!
// Under `--cfg otel_noop` the examples still compile but record nothing to assert on.
#![cfg_attr(not(otel_noop), doc = "```")]
#![cfg_attr(otel_noop, doc = "```no_run")]
//! use otel_macros::instrumented;
//!
//! #[derive(Debug)]
//! struct NotFound;
//! impl std::fmt::Display for NotFound {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("no such user")
//!     }
//! }
//! impl std::error::Error for NotFound {}
//!
//! #[instrumented(fields(db.system.name = "sqlite"))]
//! fn find_user(id: u64) -> Result<String, NotFound> {
//!     if id == 42 { Ok("Ada".to_owned()) } else { Err(NotFound) }
//! }
//!
//! let cap = otel_core::testing::capture();
//! assert!(find_user(7).is_err());
//! let span = cap.span("find_user");
//! assert_eq!(span.status, otel_core::opentelemetry::trace::Status::error("no such user"));
//! ```
//!
//! # Recording arguments: the default, and why
//!
//! Like `tracing::instrument`, arguments are recorded as span attributes named after the
//! argument, but with these safety rules:
//!
//! - integers, floats, booleans and strings (and references, `Box`/`Arc`/`Rc` and
//!   `Option`s of them) keep their type: an `u32` is an integer attribute, not text;
//! - other types are recorded with `Debug` only when they implement it (a type without
//!   `Debug` is skipped, never a compile error), and text is capped at 256 bytes:
//!   formatting stops at the cap, so a huge `Debug` costs no more than the cap;
//! - `self` is never recorded (receivers are usually large: a pool, a client);
//! - arguments whose name contains `password`, `passwd`, `secret`, `token`, `apikey`,
//!   `api_key`, `credential`, `authorization`, `cookie` or `private_key` are never
//!   recorded by default (record one deliberately with `fields(token = token)`);
//! - nothing is evaluated unless the span is sampled: an unsampled or disabled call pays
//!   for no formatting and no allocation.
//!
//! `skip(a, b)` and `skip_all` work as in `tracing`.
//!
//! # Metrics
//!
//! Every call records, with instruments created once per callsite and cached (never
//! looked up per call), in the instrumentation scope of the span:
//!
//! | instrument | kind | unit | attributes |
//! |---|---|---|---|
//! | `function.calls` | counter | `{call}` | `code.function.name`, `code.namespace`, `result`, `error.type` (on errors) |
//! | `function.duration` | histogram | `s` | same as `function.calls` |
//! | `function.calls.active` (opt-in: `in_flight`) | up-down counter | `{call}` | `code.function.name`, `code.namespace` |
//!
//! `code.function.name` is the fully qualified function (`my_crate::db::UserRepo::find`),
//! as the semantic conventions ask; `code.namespace` is its module (`my_crate::db`), kept
//! for grouping by module even though the conventions deprecated it. `result` is `ok` or
//! `error`; `error.type` is the error's type name (`ParseIntError`; `_OTHER` for boxed
//! `dyn Error`), `panic`, or `cancelled` for a future dropped before it completed. The
//! duration buckets go from 100 µs to 10 s. `metrics = false` turns metrics off for
//! one function.
//!
//! # Providers
//!
//! After `otel_core::init()` (or `otel_core::testing::install()`) spans and metrics go
//! straight to the installed SDK providers, through tracers and instruments cached per
//! function and refreshed when a new provider is installed. Without it they go to
//! whatever is installed in `opentelemetry::global`: the global providers are read on
//! each call (instruments are re-created only when the meter provider changes), so a
//! provider set later is followed; nothing installed means the global no-op providers.
//!
//! # Cost
//!
//! - Telemetry disabled (`OTEL_SDK_DISABLED=true`): one atomic load, nothing else.
//! - Unsampled under an unsampled parent: no heap allocation (the span is not made
//!   current, since the parent already carries the sampling decision to children).
//! - Sampled: the same work as hand-written OpenTelemetry code (span, context, end),
//!   plus two clock reads and two instrument updates when metrics are on.
//!
//! # Turning instrumentation off at compile time
//!
//! Build with `--cfg otel_noop` (`RUSTFLAGS="--cfg otel_noop" cargo build --release`, or
//! `rustflags` in `.cargo/config.toml`) and both attributes keep every function exactly
//! as written: no span, no metric, no field evaluated; options are still checked. The cfg
//! is read by `otel_core`, so your crates need no `check-cfg` entry, and it works when
//! cross-compiling. It is a cfg rather than a cargo feature so that no dependency can
//! turn instrumentation off for the whole build, and `--all-features` stays instrumented.
#![deny(missing_docs)]

mod attr;
mod expand;
mod impl_block;

use proc_macro::TokenStream;
use quote::quote;
use syn::ext::IdentExt as _;
use syn::ItemFn;

use crate::attr::{Args, Errors};
use crate::expand::{expand_body, Target};

/// Records each call of a function as an OpenTelemetry span plus call, error and
/// duration metrics.
///
/// Works on free functions, inherent and trait-impl methods (any receiver), associated
/// functions, `async fn`, functions returning `impl Future` or `Box::pin(async ..)`
/// (including `#[async_trait]` methods), generic, `unsafe` and `extern` functions and
/// pattern arguments. The signature, attributes and doc comments are kept as written.
/// A `const fn` is rejected at compile time.
///
/// # Options
///
/// The options of `tracing::instrument` are accepted (migrate by renaming), plus
/// OpenTelemetry's own:
///
/// | option | effect |
/// |---|---|
/// | `name = "…"` | span name (default: the function name) |
/// | `skip(a, b)`, `skip_all` | do not record these / any arguments |
/// | `fields(key = expr, a.b = %expr, "c" = ?expr)` | extra attributes; `%` uses `Display`, `?` uses `Debug`, plain values keep their type |
/// | `err`, `err(Debug)`, `err(Display)` | errors are recorded without it; it picks how the message is formatted |
/// | `ret`, `ret(Debug)`, `ret(Display)` | record the return value (the `Ok` value of a `Result`) as the `return.value` attribute |
/// | `parent = expr` | explicit parent: a `Context`, `&Context`, `Option<Context>`, `SpanContext`, or `None` for a root span |
/// | `follows_from = [..]`, `links = [..]` | links to other spans: `Context`s, `SpanContext`s or `Link`s |
/// | `kind = server\|client\|producer\|consumer\|internal` | span kind (default `internal`) |
/// | `new_root` | start a new trace, linked to the current span |
/// | `tracer = "scope"` | instrumentation scope (default: the crate's name and version) |
/// | `metrics = false` | no metrics for this function |
/// | `in_flight` | also record `function.calls.active` |
/// | `level = …`, `target = "…"` | accepted for migration from `tracing`, and ignored |
///
/// # Outcome
///
/// - A `Result` return (detected by type, so aliases like `io::Result<T>` count) that is
///   `Err` sets span status Error with the error's message, sets `error.type` to the
///   error's type name and adds an `exception` event (`exception.type`,
///   `exception.message`), without needing `err`.
/// - A panic ends the span with status Error, `error.type = panic` and an `exception`
///   event carrying the panic message and location.
/// - A future dropped before completion ends its span once, with status Error
///   (`cancelled before completion`) and `error.type = cancelled`.
/// - `return`, `?` and borrowed return values work as in the undecorated function: the
///   body runs in an `FnOnce` closure (so `&mut self.field` can be returned) typed with
///   the declared return type.
///
/// An `async fn`'s span starts at its first poll and is the current context during every
/// poll, so spans started inside are its children even when other tasks interleave on
/// the same thread. A function returning a future starts its span when called.
///
/// # Examples
///
#[cfg_attr(not(otel_noop), doc = "```")]
#[cfg_attr(otel_noop, doc = "```no_run")]
/// use otel_macros::instrumented;
/// use otel_core::testing::{self, SpanDataExt};
/// use otel_core::opentelemetry::trace::SpanKind;
///
/// #[instrumented(kind = client, skip(body), fields(http.request.method = "POST"))]
/// fn send(url: &str, body: Vec<u8>, retries: u32) -> usize {
///     body.len()
/// }
///
/// let cap = testing::capture();
/// send("https://example.invalid/upload", vec![1, 2, 3], 2);
/// let span = cap.span("send");
/// assert_eq!(span.span_kind, SpanKind::Client);
/// assert_eq!(span.attr_str("url").as_deref(), Some("https://example.invalid/upload"));
/// assert_eq!(span.attr("retries"), Some(&2_i64.into()));
/// assert_eq!(span.attr("body"), None);
/// assert_eq!(span.attr_str("http.request.method").as_deref(), Some("POST"));
/// ```
///
/// Async functions and methods returning borrowed data:
///
/// ```
/// use otel_macros::instrumented;
///
/// struct Cache { entries: Vec<String> }
///
/// impl Cache {
///     #[instrumented(ret)]
///     fn first_mut(&mut self) -> Option<&mut String> {
///         self.entries.first_mut()
///     }
///
///     #[instrumented(name = "cache.refresh")]
///     async fn refresh(&mut self, n: usize) -> Result<usize, std::io::Error> {
///         self.entries.truncate(n);
///         Ok(self.entries.len())
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn instrumented(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let (args, mut errors) = Args::parse(attr.into());
    args.check_conflicts(&mut errors);
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            errors.push(syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[instrumented]` applies to functions and methods with a body; \
                 for every method of an impl block use `#[instrument_struct]`",
            ));
            return with_errors(errors, item);
        }
    };
    let name = function.sig.ident.unraw().to_string();
    let target = Target {
        span_name: name.clone(),
        function: name,
    };
    match expand_body(&args, &function.sig, &function.block, &target, true) {
        Err(e) => {
            errors.extend(e);
            with_errors(errors, item)
        }
        Ok(_) if !errors.is_empty() => with_errors(errors, item),
        Ok(body) => {
            let ItemFn { attrs, vis, sig, .. } = function;
            quote! {
                #(#attrs)*
                #vis #sig #body
            }
            .into()
        }
    }
}

/// Instruments every method of an `impl` block (inherent or trait, generic or not) with
/// the block's options, naming each span `Type::method`.
///
/// A method can override options with its own `#[instrumented(..)]` (options set there
/// win; `fields` are merged) or opt out with `#[no_instrument]`. Associated consts and
/// types, and `const fn`s, are left untouched. `name` is not accepted on the block.
/// Works with `#[async_trait]`, in either order.
///
#[cfg_attr(not(otel_noop), doc = "```")]
#[cfg_attr(otel_noop, doc = "```no_run")]
/// use otel_macros::instrument_struct;
/// use otel_core::testing::{self, SpanDataExt};
///
/// struct UserRepo;
///
/// #[instrument_struct(fields(db.system.name = "sqlite"))]
/// impl UserRepo {
///     const TABLE: &'static str = "users";
///
///     pub fn find(&self, id: u64) -> Option<String> {
///         self.key(id)
///     }
///
///     #[instrumented(skip(id), fields(db.operation.name = "DELETE"))]
///     pub fn delete(&self, id: u64) -> bool {
///         id > 0
///     }
///
///     #[no_instrument]
///     fn key(&self, id: u64) -> Option<String> {
///         Some(format!("{}:{id}", Self::TABLE))
///     }
/// }
///
/// let cap = testing::capture();
/// UserRepo.find(1);
/// UserRepo.delete(2);
/// assert_eq!(cap.tree(), "UserRepo::find [Internal]\nUserRepo::delete [Internal]\n");
/// let delete = cap.span("UserRepo::delete");
/// assert_eq!(delete.attr_str("db.system.name").as_deref(), Some("sqlite"));
/// assert_eq!(delete.attr_str("db.operation.name").as_deref(), Some("DELETE"));
/// assert_eq!(delete.attr("id"), None);
/// ```
#[proc_macro_attribute]
pub fn instrument_struct(attr: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand(attr.into(), item.into()).into()
}

/// The compile errors followed by the item as written, so that one mistake in the
/// attribute does not cascade into errors about the function being missing.
fn with_errors(errors: Errors, item: proc_macro2::TokenStream) -> TokenStream {
    let errors = errors.into_compile_errors();
    quote!(#errors #item).into()
}
