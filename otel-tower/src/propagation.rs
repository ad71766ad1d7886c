//! Strict W3C Trace Context handling for HTTP headers.
//!
//! The layers extract and inject context with the *global* propagator, so whatever the
//! application configured (`tracecontext`, `baggage`, B3, …) keeps working. The W3C
//! headers, though, are checked here first, to the letter of the
//! [Trace Context](https://www.w3.org/TR/trace-context-2/) specification, because the
//! stock propagator is lenient in ways that let malformed or hostile input through:
//! it accepts `+` signs and short ids (it parses with `from_str_radix`), trailing fields
//! after version `00`, several `traceparent` header fields (it reads the first), and it
//! clears the `random` flag (`0x02`) that Trace Context Level 2 asks to keep.
//!
//! What is enforced:
//! - exactly one `traceparent` header field; two or more start a new trace;
//! - `traceparent`: lowercase hex only, exact field widths, version `ff` invalid, version
//!   `00` exactly 55 characters, higher versions parsed on their first 55 characters
//!   (followed by the end or a `-`), all-zero trace or parent ids invalid; flags keep
//!   `sampled` and, for version `00`, `random`, and drop the undefined bits;
//! - `tracestate`: several header fields are joined in order; keys and values follow the
//!   spec grammar and lengths; empty members are skipped; more than 32 members, a
//!   duplicated key or any invalid member drops the whole `tracestate` (the
//!   `traceparent` is kept).
//!
//! ```
//! use otel_tower::propagation::{parse_traceparent, parse_tracestate};
//!
//! let tp = parse_traceparent(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03").unwrap();
//! assert_eq!(tp.trace_flags.to_u8(), 0x03); // sampled + random, both kept
//! assert!(parse_traceparent(b"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01").is_err());
//!
//! let ts = parse_tracestate([&b"rojo=00f067aa0ba902b7"[..], b"congo=t61rcWkgMzE"]).unwrap();
//! assert_eq!(ts.header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
//! ```

use std::borrow::Cow;
use std::fmt;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{global, Context};

/// The `traceparent` header name.
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";
/// The `traceresponse` header name (Trace Context Level 2).
pub const TRACERESPONSE: &str = "traceresponse";

/// The `random` trace flag of Trace Context Level 2: the trace id's rightmost 7 bytes
/// are random. `opentelemetry` has no constant for it yet.
pub const FLAG_RANDOM: u8 = 0x02;

const TRACEPARENT_V00_LEN: usize = 55;

// Built at compile time: `HeaderName::from_static` validates its input on every call
// when evaluated at run time.
pub(crate) const TRACEPARENT_HEADER: HeaderName = HeaderName::from_static(TRACEPARENT);
pub(crate) const TRACESTATE_HEADER: HeaderName = HeaderName::from_static(TRACESTATE);
pub(crate) const TRACERESPONSE_HEADER: HeaderName = HeaderName::from_static(TRACERESPONSE);
const BAGGAGE_HEADER: HeaderName = HeaderName::from_static("baggage");
const MAX_TRACESTATE_MEMBERS: usize = 32;

/// A `traceparent` value that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traceparent {
    /// The version field (`00` today; higher versions are parsed as `00`).
    pub version: u8,
    /// The trace id (never all zeros).
    pub trace_id: TraceId,
    /// The parent span id (never all zeros).
    pub parent_id: SpanId,
    /// The flags the spec lets us keep: `sampled`, plus `random` for version `00`.
    pub trace_flags: TraceFlags,
}

/// Why a `traceparent` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidTraceparent {
    /// Shorter than 55 characters, or version `00` with anything after the flags.
    Length,
    /// The version is not two lowercase hex digits, or is `ff`.
    Version,
    /// A field separator is not `-`, or a higher version has no `-` after the flags.
    Separator,
    /// The trace id is not 32 lowercase hex digits.
    TraceId,
    /// The parent id is not 16 lowercase hex digits.
    ParentId,
    /// The flags are not 2 lowercase hex digits.
    Flags,
    /// The trace id is all zeros.
    ZeroTraceId,
    /// The parent id is all zeros.
    ZeroParentId,
}

impl fmt::Display for InvalidTraceparent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Length => "wrong length",
            Self::Version => "invalid version (two lowercase hex digits, not ff)",
            Self::Separator => "fields must be separated by '-'",
            Self::TraceId => "trace-id must be 32 lowercase hex digits",
            Self::ParentId => "parent-id must be 16 lowercase hex digits",
            Self::Flags => "trace-flags must be 2 lowercase hex digits",
            Self::ZeroTraceId => "trace-id is all zeros",
            Self::ZeroParentId => "parent-id is all zeros",
        };
        write!(f, "invalid traceparent: {what}")
    }
}

impl std::error::Error for InvalidTraceparent {}

/// Why a `tracestate` value was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidTracestate {
    /// More than 32 list members.
    TooManyMembers,
    /// A member is not `key=value`, or its key breaks the key grammar or length.
    Key,
    /// A value is empty, longer than 256 characters, or has a forbidden character.
    Value,
    /// The same key appears twice.
    DuplicateKey,
    /// Valid per the spec, but refused by `opentelemetry::trace::TraceState`, which is
    /// one character stricter on multi-tenant system ids (13 instead of 14).
    Unrepresentable,
}

impl fmt::Display for InvalidTracestate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::TooManyMembers => "more than 32 list members",
            Self::Key => "invalid key",
            Self::Value => "invalid value",
            Self::DuplicateKey => "duplicated key",
            Self::Unrepresentable => "not representable by opentelemetry's TraceState",
        };
        write!(f, "invalid tracestate: {what}")
    }
}

impl std::error::Error for InvalidTracestate {}

#[inline]
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Lowercase hex digit values; 0xff marks every other byte (uppercase included).
static LOWER_HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

#[inline]
fn lower_hex_u64(bytes: &[u8]) -> Option<u64> {
    let mut acc = 0u64;
    let mut invalid = 0u8;
    for &b in bytes {
        let v = LOWER_HEX[usize::from(b)];
        // Branch-free accumulation; 0xff marks an invalid digit.
        invalid |= v & 0xf0;
        acc = (acc << 4) | u64::from(v & 0x0f);
    }
    (invalid == 0).then_some(acc)
}

/// Lowercase hex of up to 32 digits; 64-bit halves keep the arithmetic cheap.
#[inline]
fn lower_hex(bytes: &[u8]) -> Option<u128> {
    let split = bytes.len().saturating_sub(16);
    let (high, low) = bytes.split_at(split);
    let high = lower_hex_u64(high)?;
    let low = lower_hex_u64(low)?;
    Some((u128::from(high) << 64) | u128::from(low))
}

/// Parses one `traceparent` header field value.
///
/// ```
/// use otel_tower::propagation::{parse_traceparent, InvalidTraceparent};
///
/// // A future version may carry more fields after a '-'.
/// let tp = parse_traceparent(b"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra").unwrap();
/// assert_eq!(tp.version, 0xcc);
/// assert_eq!(
///     parse_traceparent(b"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
///     Err(InvalidTraceparent::Version)
/// );
/// ```
pub fn parse_traceparent(value: &[u8]) -> Result<Traceparent, InvalidTraceparent> {
    let v = trim_ows(value);
    if v.len() < TRACEPARENT_V00_LEN {
        return Err(InvalidTraceparent::Length);
    }
    let version = lower_hex(&v[0..2]).ok_or(InvalidTraceparent::Version)? as u8;
    if version == 0xff {
        return Err(InvalidTraceparent::Version);
    }
    if v[2] != b'-' || v[35] != b'-' || v[52] != b'-' {
        return Err(InvalidTraceparent::Separator);
    }
    let trace_id = lower_hex(&v[3..35]).ok_or(InvalidTraceparent::TraceId)?;
    let parent_id = lower_hex(&v[36..52]).ok_or(InvalidTraceparent::ParentId)? as u64;
    let flags = lower_hex(&v[53..55]).ok_or(InvalidTraceparent::Flags)? as u8;
    if version == 0 && v.len() != TRACEPARENT_V00_LEN {
        return Err(InvalidTraceparent::Length);
    }
    if v.len() > TRACEPARENT_V00_LEN && v[TRACEPARENT_V00_LEN] != b'-' {
        return Err(InvalidTraceparent::Separator);
    }
    if trace_id == 0 {
        return Err(InvalidTraceparent::ZeroTraceId);
    }
    if parent_id == 0 {
        return Err(InvalidTraceparent::ZeroParentId);
    }
    // Version 00 defines `sampled` and (Level 2) `random`; the other bits MUST be
    // zeroed. For a higher version the spec only lets us read the sampled bit.
    let kept = if version == 0 {
        TraceFlags::SAMPLED.to_u8() | FLAG_RANDOM
    } else {
        TraceFlags::SAMPLED.to_u8()
    };
    Ok(Traceparent {
        version,
        trace_id: TraceId::from(trace_id),
        parent_id: SpanId::from(parent_id),
        trace_flags: TraceFlags::new(flags & kept),
    })
}

#[inline]
fn key_char(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
}

fn valid_key(key: &[u8]) -> bool {
    match key.iter().position(|&b| b == b'@') {
        // simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
        None => {
            matches!(key.first(), Some(b'a'..=b'z')) && key.len() <= 256 && key.iter().all(|&b| key_char(b))
        }
        // tenant-id "@" system-id, tenant-id = ( lcalpha / DIGIT ) 0*240( ... ),
        // system-id = lcalpha 0*13( ... )
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            matches!(tenant.first(), Some(b'a'..=b'z' | b'0'..=b'9'))
                && tenant.len() <= 241
                && tenant.iter().all(|&b| key_char(b))
                && matches!(system.first(), Some(b'a'..=b'z'))
                && system.len() <= 14
                && system.iter().all(|&b| key_char(b))
        }
    }
}

fn valid_value(value: &[u8]) -> bool {
    // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
    // nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (no ',' and no '=')
    !value.is_empty()
        && value.len() <= 256
        && value.last() != Some(&b' ')
        && value
            .iter()
            .all(|&b| matches!(b, 0x20..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e))
}

/// Parses the `tracestate` header fields, in the order they arrived, as one list.
///
/// Returns the empty `TraceState` when every field is empty.
///
/// ```
/// use otel_tower::propagation::{parse_tracestate, InvalidTracestate};
///
/// let ts = parse_tracestate([&b"a=1, ,\tb=2"[..]]).unwrap(); // empty members are skipped
/// assert_eq!(ts.header(), "a=1,b=2");
/// assert_eq!(parse_tracestate([&b"a=1,a=2"[..]]), Err(InvalidTracestate::DuplicateKey));
/// ```
pub fn parse_tracestate<'a, I>(fields: I) -> Result<TraceState, InvalidTracestate>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut members: Vec<(&'a str, &'a str)> = Vec::new();
    for field in fields {
        for member in field.split(|&b| b == b',') {
            let member = trim_ows(member);
            if member.is_empty() {
                continue;
            }
            if members.len() == MAX_TRACESTATE_MEMBERS {
                return Err(InvalidTracestate::TooManyMembers);
            }
            let eq = member
                .iter()
                .position(|&b| b == b'=')
                .ok_or(InvalidTracestate::Key)?;
            let (key, value) = (&member[..eq], &member[eq + 1..]);
            if !valid_key(key) {
                return Err(InvalidTracestate::Key);
            }
            if !valid_value(value) {
                return Err(InvalidTracestate::Value);
            }
            // Both were checked to be ASCII above.
            let key = std::str::from_utf8(key).map_err(|_| InvalidTracestate::Key)?;
            let value = std::str::from_utf8(value).map_err(|_| InvalidTracestate::Value)?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(InvalidTracestate::DuplicateKey);
            }
            members.push((key, value));
        }
    }
    if members.is_empty() {
        return Ok(TraceState::default());
    }
    TraceState::from_key_value(members).map_err(|_| InvalidTracestate::Unrepresentable)
}

/// The strictly validated W3C parent found in `headers`, if any.
///
/// `None` when there is no `traceparent`, when there are several `traceparent` header
/// fields, or when the one field is invalid. An invalid `tracestate` only empties the
/// trace state.
///
/// ```
/// use http::HeaderMap;
/// use otel_tower::propagation::w3c_parent;
///
/// let mut headers = HeaderMap::new();
/// let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
/// headers.append("traceparent", tp.parse().unwrap());
/// assert!(w3c_parent(&headers).is_some());
/// headers.append("traceparent", tp.parse().unwrap());
/// assert!(w3c_parent(&headers).is_none()); // two fields: start a new trace
/// ```
pub fn w3c_parent(headers: &HeaderMap) -> Option<SpanContext> {
    let tp = single_traceparent(headers)?;
    let trace_state = parse_tracestate(
        headers
            .get_all(TRACESTATE_HEADER)
            .iter()
            .map(HeaderValue::as_bytes),
    )
    .unwrap_or_default();
    Some(SpanContext::new(
        tp.trace_id,
        tp.parent_id,
        tp.trace_flags,
        true,
        trace_state,
    ))
}

fn single_traceparent(headers: &HeaderMap) -> Option<Traceparent> {
    let mut all = headers.get_all(TRACEPARENT_HEADER).iter();
    let first = all.next()?;
    if all.next().is_some() {
        return None;
    }
    parse_traceparent(first.as_bytes()).ok()
}

/// Shows the global propagator the request headers, with the W3C ones replaced by
/// their validated form: an invalid or duplicated `traceparent` is hidden, several
/// `tracestate` fields are joined, an invalid `tracestate` is hidden.
struct ValidatedHeaders<'a> {
    headers: &'a HeaderMap,
    traceparent: Option<&'a str>,
    tracestate: Option<Cow<'a, str>>,
}

impl<'a> ValidatedHeaders<'a> {
    fn new(headers: &'a HeaderMap, parent: Option<&SpanContext>) -> Self {
        let Some(parent) = parent else {
            return Self {
                headers,
                traceparent: None,
                tracestate: None,
            };
        };
        let traceparent = headers.get(TRACEPARENT_HEADER).and_then(|v| v.to_str().ok());
        let tracestate = if parent.trace_state() == &TraceState::NONE {
            None
        } else {
            Some(Cow::Owned(parent.trace_state().header()))
        };
        Self {
            headers,
            traceparent,
            tracestate,
        }
    }
}

impl Extractor for ValidatedHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            self.traceparent
        } else if key.eq_ignore_ascii_case(TRACESTATE) {
            self.tracestate.as_deref()
        } else {
            self.headers.get(key).and_then(|v| v.to_str().ok())
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        if key.eq_ignore_ascii_case(TRACEPARENT) || key.eq_ignore_ascii_case(TRACESTATE) {
            return self.get(key).map(|v| vec![v]);
        }
        let values: Vec<&str> = self
            .headers
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Extracts the parent context of an incoming request with the global propagator,
/// on top of `base`, after strict W3C validation.
///
/// When the W3C headers are valid and the global propagator understood them, the
/// span context is the validated one (so the `random` flag survives); when they are
/// invalid the propagator never sees them, and the result is `base` plus whatever
/// other propagators (baggage, B3, …) found.
///
/// ```
/// use http::HeaderMap;
/// use otel_tower::opentelemetry::{trace::TraceContextExt, Context};
/// use otel_tower::propagation::extract_with_context;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("traceparent", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01".parse().unwrap());
/// let cx = extract_with_context(&Context::new(), &headers);
/// assert!(!cx.span().span_context().is_valid()); // uppercase hex is refused
/// ```
pub fn extract_with_context(base: &Context, headers: &HeaderMap) -> Context {
    let parent = w3c_parent(headers);
    match global_fields(headers) {
        Fields::W3cOnly => {
            return match parent {
                Some(parent) => base.with_remote_span_context(parent),
                None => base.clone(),
            }
        }
        Fields::Nothing => return base.clone(),
        Fields::Other => {}
    }
    let extractor = ValidatedHeaders::new(headers, parent.as_ref());
    let cx = global::get_text_map_propagator(|p| p.extract_with_context(base, &extractor));
    match parent {
        Some(parent) => {
            let needs_fix = {
                let span = cx.span();
                let found = span.span_context();
                found.is_remote()
                    && found.trace_id() == parent.trace_id()
                    && found.span_id() == parent.span_id()
                    && (found.trace_flags() != parent.trace_flags()
                        || found.trace_state() != parent.trace_state())
            };
            if needs_fix {
                cx.with_remote_span_context(parent)
            } else {
                cx
            }
        }
        None => cx,
    }
}

enum Fields {
    /// The propagator handles W3C trace context (and maybe baggage, absent from this
    /// request): our validated parent is exactly what it would extract.
    W3cOnly,
    /// The propagator reads none of this request's headers (e.g. `OTEL_PROPAGATORS=none`).
    Nothing,
    /// Anything else: ask the propagator.
    Other,
}

/// Decides whether the global propagator must run: the stock W3C propagators parse
/// `traceparent` again (with allocations) only to reach the result the strict parser
/// already has, so when the configured propagators are the W3C ones (`fields()` ⊆
/// traceparent, tracestate, baggage) and the request has no `baggage`, they are
/// skipped. A custom propagator reading other fields always runs.
fn global_fields(headers: &HeaderMap) -> Fields {
    global::get_text_map_propagator(|p| {
        let (mut w3c, mut baggage) = (false, false);
        for field in p.fields() {
            match field {
                TRACEPARENT | TRACESTATE => w3c = true,
                "baggage" => baggage = true,
                _ => return Fields::Other,
            }
        }
        if baggage && headers.contains_key(BAGGAGE_HEADER) {
            Fields::Other
        } else if w3c {
            Fields::W3cOnly
        } else {
            Fields::Nothing
        }
    })
}

/// Injects `cx` into outgoing request headers with the global propagator.
///
/// Two W3C details are fixed after the propagator ran: an empty `tracestate` is not
/// sent (the spec asks senders to avoid it), and the `random` flag of the span
/// context is kept in `traceparent` (the stock propagator clears it).
///
/// ```
/// use http::HeaderMap;
/// use otel_tower::opentelemetry::{trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState}, Context};
/// use otel_tower::propagation::inject_context;
///
/// # otel_tower::opentelemetry::global::set_text_map_propagator(
/// #     otel_core::opentelemetry_sdk::propagation::TraceContextPropagator::new());
/// let sc = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::new(0x03), true, TraceState::NONE);
/// let mut headers = HeaderMap::new();
/// inject_context(&Context::new().with_remote_span_context(sc), &mut headers);
/// assert_eq!(headers["traceparent"], "00-00000000000000000000000000000001-0000000000000002-03");
/// assert!(headers.get("tracestate").is_none());
/// ```
pub fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|p| {
        p.inject_context(cx, &mut otel_core::propagation::HeaderInjector(headers))
    });
    let tracestate = TRACESTATE_HEADER;
    if headers.get(&tracestate).is_some_and(|v| v.is_empty()) {
        headers.remove(&tracestate);
    }
    let span = cx.span();
    let sc = span.span_context();
    let flags = sc.trace_flags().to_u8();
    if sc.is_valid() && flags & FLAG_RANDOM != 0 {
        let name = TRACEPARENT_HEADER;
        let written = headers
            .get(&name)
            .and_then(|v| parse_traceparent(v.as_bytes()).ok());
        // Only touch a header the W3C propagator wrote for this very span.
        if let Some(tp) = written {
            if tp.version == 0
                && tp.trace_id == sc.trace_id()
                && tp.parent_id == sc.span_id()
                && tp.trace_flags.to_u8() != flags & 0x03
            {
                let fixed = format!("00-{}-{}-{:02x}", sc.trace_id(), sc.span_id(), flags & 0x03);
                if let Ok(value) = HeaderValue::from_str(&fixed) {
                    headers.insert(name, value);
                }
            }
        }
    }
}

/// The W3C `traceresponse` value for a span context: `00-{trace-id}-{span-id}-{flags}`.
///
/// ```
/// use otel_tower::opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
/// use otel_tower::propagation::traceresponse_value;
///
/// let sc = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED, false, TraceState::NONE);
/// assert_eq!(traceresponse_value(&sc).unwrap(), "00-00000000000000000000000000000001-0000000000000002-01");
/// ```
pub fn traceresponse_value(sc: &SpanContext) -> Option<HeaderValue> {
    if !sc.is_valid() {
        return None;
    }
    let value = format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8() & 0x03
    );
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    #[test]
    fn traceparent_table() {
        let ok = |s: &str| parse_traceparent(s.as_bytes());
        let valid = format!("00-{TID}-{SID}-01");
        let tp = ok(&valid).expect("valid");
        assert_eq!(tp.trace_id.to_string(), TID);
        assert_eq!(tp.parent_id.to_string(), SID);
        assert!(tp.trace_flags.is_sampled());

        let cases: Vec<(String, Result<u8, InvalidTraceparent>)> = vec![
            (format!("00-{TID}-{SID}-00"), Ok(0x00)),
            (format!("00-{TID}-{SID}-02"), Ok(0x02)),
            (format!("00-{TID}-{SID}-03"), Ok(0x03)),
            (format!("00-{TID}-{SID}-ff"), Ok(0x03)),
            (format!("00-{TID}-{SID}-09"), Ok(0x01)),
            (format!(" \t00-{TID}-{SID}-01 "), Ok(0x01)),
            (format!("01-{TID}-{SID}-03"), Ok(0x01)),
            (format!("cc-{TID}-{SID}-01-what-the-future-will-be"), Ok(0x01)),
            (
                format!("cc-{TID}-{SID}-01.what"),
                Err(InvalidTraceparent::Separator),
            ),
            (format!("00-{TID}-{SID}-01-"), Err(InvalidTraceparent::Length)),
            (
                format!("00-{TID}-{SID}-01-extra"),
                Err(InvalidTraceparent::Length),
            ),
            (format!("ff-{TID}-{SID}-01"), Err(InvalidTraceparent::Version)),
            (format!("0-{TID}-{SID}-01"), Err(InvalidTraceparent::Length)),
            (format!("0g-{TID}-{SID}-01"), Err(InvalidTraceparent::Version)),
            (format!("AA-{TID}-{SID}-01"), Err(InvalidTraceparent::Version)),
            (
                format!("00-{}-{SID}-01", TID.to_uppercase()),
                Err(InvalidTraceparent::TraceId),
            ),
            (
                format!("00-{TID}-{}-01", SID.to_uppercase()),
                Err(InvalidTraceparent::ParentId),
            ),
            (format!("00-{TID}-{SID}-0A"), Err(InvalidTraceparent::Flags)),
            (
                format!("00-+{}-{SID}-01", &TID[1..]),
                Err(InvalidTraceparent::TraceId),
            ),
            (
                format!("00-{TID}-+{}-01", &SID[1..]),
                Err(InvalidTraceparent::ParentId),
            ),
            (format!("00-{TID}-{SID}-+1"), Err(InvalidTraceparent::Flags)),
            (format!("+0-{TID}-{SID}-01"), Err(InvalidTraceparent::Version)),
            (
                format!("00-{}-{SID}-01", &TID[1..]),
                Err(InvalidTraceparent::Length),
            ),
            (
                format!("00-{TID}0-{}-01", &SID[1..]),
                Err(InvalidTraceparent::Separator),
            ),
            (format!("00-{TID}-{SID}-1"), Err(InvalidTraceparent::Length)),
            (format!("00-{TID}-{SID}-011"), Err(InvalidTraceparent::Length)),
            (format!("00_{TID}_{SID}_01"), Err(InvalidTraceparent::Separator)),
            (
                format!("00-{}-{SID}-01", "0".repeat(32)),
                Err(InvalidTraceparent::ZeroTraceId),
            ),
            (
                format!("00-{TID}-{}-01", "0".repeat(16)),
                Err(InvalidTraceparent::ZeroParentId),
            ),
            (String::new(), Err(InvalidTraceparent::Length)),
            ("00".into(), Err(InvalidTraceparent::Length)),
            ("x".repeat(55), Err(InvalidTraceparent::Version)),
        ];
        for (input, expected) in cases {
            let got = ok(&input).map(|tp| tp.trace_flags.to_u8());
            assert_eq!(got, expected, "traceparent {input:?}");
        }
    }

    #[test]
    fn traceparent_rejects_non_ascii_without_panicking() {
        let mut bytes = format!("00-{TID}-{SID}-01").into_bytes();
        bytes[10] = 0xff;
        assert_eq!(parse_traceparent(&bytes), Err(InvalidTraceparent::TraceId));
        let long = "é".repeat(40);
        assert!(parse_traceparent(long.as_bytes()).is_err());
    }

    fn ts(fields: &[&str]) -> Result<String, InvalidTracestate> {
        parse_tracestate(fields.iter().map(|f| f.as_bytes())).map(|t| t.header())
    }

    #[test]
    fn tracestate_table() {
        let members = |n: usize| (0..n).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",");
        let key256 = format!("a{}", "b".repeat(255));
        let key257 = format!("a{}", "b".repeat(256));
        let mt_ok = format!("{}@{}", "t".repeat(241), "v".repeat(13));
        let mt_sys14 = format!("{}@{}", "t".repeat(241), "v".repeat(14));
        let mt_tenant242 = format!("{}@v", "t".repeat(242));
        let mt_sys15 = format!("t@{}", "v".repeat(15));
        let value256 = "v".repeat(256);
        let value257 = "v".repeat(257);
        let all_value_chars: String = (0x20u8..=0x7e)
            .filter(|b| *b != b',' && *b != b'=')
            .map(char::from)
            .collect::<String>()
            + "x";

        let m32 = members(32);
        let m33 = members(33);
        let cases: Vec<(Vec<String>, Result<String, InvalidTracestate>)> = vec![
            (vec!["foo=1".into()], Ok("foo=1".into())),
            (vec!["foo=1".into(), "bar=2".into()], Ok("foo=1,bar=2".into())),
            (vec!["foo=1,bar=2".into()], Ok("foo=1,bar=2".into())),
            (vec![" foo=1 \t, \tbar=2 ".into()], Ok("foo=1,bar=2".into())),
            (vec!["foo=1,,,bar=2".into()], Ok("foo=1,bar=2".into())),
            (vec!["".into()], Ok(String::new())),
            (vec![" , ".into()], Ok(String::new())),
            (vec!["".into(), "foo=1".into()], Ok("foo=1".into())),
            (vec![m32.clone()], Ok(m32)),
            (vec![m33], Err(InvalidTracestate::TooManyMembers)),
            (
                vec![members(20), members(20).replace('k', "j")],
                Err(InvalidTracestate::TooManyMembers),
            ),
            (vec!["foo=1,foo=2".into()], Err(InvalidTracestate::DuplicateKey)),
            (
                vec!["foo=1".into(), "foo=1".into()],
                Err(InvalidTracestate::DuplicateKey),
            ),
            (vec!["foo".into()], Err(InvalidTracestate::Key)),
            (vec!["=1".into()], Err(InvalidTracestate::Key)),
            (vec!["Foo=1".into()], Err(InvalidTracestate::Key)),
            (vec!["1foo=1".into()], Err(InvalidTracestate::Key)),
            (vec!["fo o=1".into()], Err(InvalidTracestate::Key)),
            (vec!["foo.bar=1".into()], Err(InvalidTracestate::Key)),
            (vec!["foo+=1".into()], Err(InvalidTracestate::Key)),
            (vec![format!("{key256}=1")], Ok(format!("{key256}=1"))),
            (vec![format!("{key257}=1")], Err(InvalidTracestate::Key)),
            (vec![format!("{mt_ok}=1")], Ok(format!("{mt_ok}=1"))),
            (
                vec![format!("{mt_sys14}=1")],
                Err(InvalidTracestate::Unrepresentable),
            ),
            (vec![format!("{mt_tenant242}=1")], Err(InvalidTracestate::Key)),
            (vec![format!("{mt_sys15}=1")], Err(InvalidTracestate::Key)),
            (vec!["1tenant@sys=1".into()], Ok("1tenant@sys=1".into())),
            (vec!["tenant@1sys=1".into()], Err(InvalidTracestate::Key)),
            (vec!["t@s@x=1".into()], Err(InvalidTracestate::Key)),
            (vec!["@sys=1".into()], Err(InvalidTracestate::Key)),
            (vec!["foo=".into()], Err(InvalidTracestate::Value)),
            (vec!["foo=a=b".into()], Err(InvalidTracestate::Value)),
            (vec!["foo=a\u{7f}".into()], Err(InvalidTracestate::Value)),
            (vec!["foo=é".into()], Err(InvalidTracestate::Value)),
            (vec![format!("foo={value256}")], Ok(format!("foo={value256}"))),
            (vec![format!("foo={value257}")], Err(InvalidTracestate::Value)),
            (
                vec![format!("foo={all_value_chars}")],
                Ok(format!("foo={all_value_chars}")),
            ),
            (vec!["foo=1,bar".into()], Err(InvalidTracestate::Key)),
        ];
        for (fields, expected) in cases {
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            assert_eq!(ts(&refs), expected, "tracestate {fields:?}");
        }
    }

    #[test]
    fn w3c_parent_counts_header_fields() {
        let tp = format!("00-{TID}-{SID}-03");
        let mut headers = HeaderMap::new();
        headers.append(TRACEPARENT, tp.parse().unwrap());
        headers.append(TRACESTATE, "a=1".parse().unwrap());
        headers.append(TRACESTATE, "b=2".parse().unwrap());
        let sc = w3c_parent(&headers).expect("one valid traceparent");
        assert_eq!(sc.trace_flags().to_u8(), 0x03);
        assert!(sc.is_remote());
        assert_eq!(sc.trace_state().header(), "a=1,b=2");

        headers.append(TRACESTATE, "c".parse().unwrap());
        let sc = w3c_parent(&headers).expect("tracestate errors keep the traceparent");
        assert_eq!(sc.trace_state(), &TraceState::NONE);

        headers.append(TRACEPARENT, tp.parse().unwrap());
        assert!(w3c_parent(&headers).is_none(), "two traceparent fields");
    }
}
