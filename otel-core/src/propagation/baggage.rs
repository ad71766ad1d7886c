//! The W3C Baggage propagator, with the limits and encoding of the current spec.

use std::fmt::Write as _;
use std::sync::OnceLock;

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;
use percent_encoding::percent_decode_str;

/// The `baggage` header name.
pub const BAGGAGE: &str = "baggage";
/// At most this many list members are accepted and sent.
pub const MAX_BAGGAGE_MEMBERS: usize = 180;
/// At most this many bytes of baggage-string are accepted and sent.
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// Members received beyond what `opentelemetry`'s `Baggage` holds (64 entries), kept as
/// received so they are forwarded, within the W3C limits.
#[derive(Debug)]
struct BaggageOverflow(Vec<(String, String)>);

/// W3C Baggage: percent-decoded values, properties kept and forwarded, at most 180
/// members and 8192 bytes (a member that does not fit is dropped whole, never cut), and an
/// invalid member dropped without losing the valid ones.
///
/// ```
/// use otel_core::opentelemetry::baggage::BaggageExt;
/// use otel_core::opentelemetry::propagation::TextMapPropagator;
/// use otel_core::propagation::BaggagePropagator;
/// use std::collections::HashMap;
///
/// let incoming = HashMap::from([(
///     "baggage".to_string(),
///     "user.id=42;pii, bad key=1, city=S%C3%A3o%20Paulo".to_string(),
/// )]);
/// let cx = BaggagePropagator::new().extract(&incoming);
/// assert_eq!(cx.baggage().get("city").map(|v| v.as_str().to_owned()).as_deref(), Some("São Paulo"));
/// assert!(cx.baggage().get("bad key").is_none());
///
/// let mut outgoing = HashMap::new();
/// BaggagePropagator::new().inject_context(&cx, &mut outgoing);
/// assert!(outgoing["baggage"].contains("user.id=42;pii"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct BaggagePropagator {
    _private: (),
}

impl BaggagePropagator {
    /// A Baggage propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

/// `tchar` of RFC 9110's `token`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Whether every `%` of `value` starts an escape (`%` and two hex digits): the spec
/// requires a `%` in a value to be sent as `%25`.
fn valid_escapes(value: &str) -> bool {
    value
        .split('%')
        .skip(1)
        .all(|after| after.len() >= 2 && after.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit))
}

/// One validated list member: key, percent-decoded value, properties normalised.
fn parse_member(member: &str) -> Option<(&str, String, String)> {
    let mut parts = member.split(';');
    let (key, value) = parts.next()?.split_once('=')?;
    let (key, value) = (trim(key), trim(value));
    // A bare `%` would be forwarded as `%25`, longer than received: a member that fit
    // the byte limit on the way in could then not be forwarded.
    if !is_token(key) || !value.bytes().all(is_baggage_octet) || !valid_escapes(value) {
        return None;
    }
    let value = percent_decode_str(value).decode_utf8().ok()?.into_owned();
    let mut properties = String::new();
    for property in parts {
        let property = match property.split_once('=') {
            Some((k, v)) => {
                let (k, v) = (trim(k), trim(v));
                (is_token(k) && v.bytes().all(is_baggage_octet)).then(|| format!("{k}={v}"))?
            }
            None => {
                let k = trim(property);
                is_token(k).then(|| k.to_owned())?
            }
        };
        if !properties.is_empty() {
            properties.push(';');
        }
        properties.push_str(&property);
    }
    Some((key, value, properties))
}

/// Appends `value` percent-encoded: every byte that is not a baggage-octet, and `%`.
fn encode_value(out: &mut String, value: &str) {
    for &b in value.as_bytes() {
        if is_baggage_octet(b) && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Counts members and bytes against the W3C limits.
#[derive(Default)]
struct Budget {
    members: usize,
    bytes: usize,
}

impl Budget {
    /// Whether a member of `len` bytes still fits; takes its share if so.
    fn take(&mut self, len: usize) -> bool {
        let bytes = self.bytes + len + usize::from(self.members > 0);
        if self.members == MAX_BAGGAGE_MEMBERS || bytes > MAX_BAGGAGE_BYTES {
            return false;
        }
        self.members += 1;
        self.bytes = bytes;
        true
    }
}

fn fields() -> &'static [String; 1] {
    static NAMES: OnceLock<[String; 1]> = OnceLock::new();
    NAMES.get_or_init(|| [BAGGAGE.to_owned()])
}

impl TextMapPropagator for BaggagePropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let baggage = cx.baggage();
        let overflow = cx.get::<BaggageOverflow>();
        if baggage.is_empty() && overflow.is_none() {
            return;
        }
        let mut header = String::new();
        let mut budget = Budget::default();
        let mut member = String::new();
        for (key, (value, metadata)) in baggage {
            if !is_token(key.as_str()) {
                continue;
            }
            member.clear();
            member.push_str(key.as_str());
            member.push('=');
            encode_value(&mut member, value.as_str());
            if !metadata.as_str().is_empty() {
                member.push(';');
                member.push_str(metadata.as_str());
            }
            if budget.take(member.len()) {
                if !header.is_empty() {
                    header.push(',');
                }
                header.push_str(&member);
            }
        }
        for (key, member) in overflow.map_or(&[][..], |o| &o.0[..]) {
            if baggage.get(key.as_str()).is_none() && budget.take(member.len()) {
                if !header.is_empty() {
                    header.push(',');
                }
                header.push_str(member);
            }
        }
        if !header.is_empty() {
            injector.set(BAGGAGE, header);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(header) = extractor.get(BAGGAGE) else {
            return cx.clone();
        };
        let mut baggage = Baggage::new();
        let mut overflow = Vec::new();
        let mut budget = Budget::default();
        for raw in header.split(',') {
            let raw = trim(raw);
            if raw.is_empty() {
                continue;
            }
            let Some((key, value, properties)) = parse_member(raw) else {
                continue;
            };
            if !budget.take(raw.len()) {
                continue;
            }
            let before = baggage.len();
            let replaced = baggage
                .insert_with_metadata(key.to_owned(), value, properties)
                .is_some();
            if !replaced && baggage.len() == before && baggage.get(key).is_none() {
                overflow.retain(|(k, _): &(String, String)| k != key);
                overflow.push((key.to_owned(), raw.to_owned()));
            }
        }
        let cx = cx.with_baggage(baggage);
        if overflow.is_empty() {
            cx
        } else {
            cx.with_value(BaggageOverflow(overflow))
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(fields())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn extract(header: &str) -> Context {
        BaggagePropagator::new().extract(&HashMap::from([(BAGGAGE.to_string(), header.to_string())]))
    }

    fn inject(cx: &Context) -> Option<String> {
        let mut out = HashMap::new();
        BaggagePropagator::new().inject_context(cx, &mut out);
        out.remove(BAGGAGE)
    }

    /// Key, value, properties.
    type Entry = (String, String, String);

    fn entries(cx: &Context) -> Vec<Entry> {
        let mut all: Vec<_> = cx
            .baggage()
            .iter()
            .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
            .collect();
        all.sort();
        all
    }

    fn e(k: &str, v: &str, m: &str) -> Entry {
        (k.into(), v.into(), m.into())
    }

    #[test]
    fn members_table() {
        let cases: Vec<(&str, Vec<Entry>)> = vec![
            ("a=1", vec![e("a", "1", "")]),
            (" a = 1 ,\tb=2\t", vec![e("a", "1", ""), e("b", "2", "")]),
            ("a=", vec![e("a", "", "")]),
            ("a=S%C3%A3o%20Paulo", vec![e("a", "São Paulo", "")]),
            ("a=%2C%3B%3D", vec![e("a", ",;=", "")]),
            ("a=1;p1;p2=x", vec![e("a", "1", "p1;p2=x")]),
            ("a=1 ; p1 = x ;p2", vec![e("a", "1", "p1=x;p2")]),
            // Invalid members are dropped, valid neighbours kept.
            ("bad key=1,a=1", vec![e("a", "1", "")]),
            ("a=1,noequals,b=2", vec![e("a", "1", ""), e("b", "2", "")]),
            ("a=x y,b=2", vec![e("b", "2", "")]),
            ("a=\"q\",b=2", vec![e("b", "2", "")]),
            ("a=%FF,b=2", vec![e("b", "2", "")]),
            ("a=100%,b=%zz,c=%4,d=2", vec![e("d", "2", "")]),
            ("a=1;bad prop,b=2", vec![e("b", "2", "")]),
            ("=1,b=2", vec![e("b", "2", "")]),
            ("a=1,a=2", vec![e("a", "2", "")]),
            (",,,", vec![]),
        ];
        for (header, expected) in cases {
            assert_eq!(entries(&extract(header)), expected, "baggage {header:?}");
        }
    }

    #[test]
    fn forwards_180_members_and_drops_the_rest_whole() {
        let header = (0..200)
            .map(|i| format!("k{i}=v{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let out = inject(&extract(&header)).expect("baggage sent");
        let members: Vec<&str> = out.split(',').collect();
        assert_eq!(members.len(), MAX_BAGGAGE_MEMBERS);
        for i in 0..180 {
            assert!(
                members.contains(&format!("k{i}=v{i}").as_str()),
                "member k{i} forwarded"
            );
        }
        assert!(!out.contains("k180="), "member 181 dropped");
    }

    #[test]
    fn bytes_limit_drops_whole_members() {
        let big = "v".repeat(3000);
        let header = format!("a={big},b={big},c={big},d=1");
        let cx = extract(&header);
        let keys: Vec<String> = entries(&cx).into_iter().map(|(k, _, _)| k).collect();
        assert_eq!(keys, ["a", "b", "d"], "c would pass 8192 bytes; d still fits");
        let out = inject(&cx).expect("sent");
        assert!(out.len() <= MAX_BAGGAGE_BYTES);
        assert!(
            out.split(',').all(|m| m == "d=1" || m.len() == 3002),
            "no member cut: {}",
            out.len()
        );
    }

    #[test]
    fn inject_encodes_values_and_keeps_properties() {
        let cx = extract("city=S%C3%A3o%20Paulo;geo, pct=100%25");
        let out = inject(&cx).expect("sent");
        let mut members: Vec<&str> = out.split(',').collect();
        members.sort_unstable();
        assert_eq!(members, ["city=S%C3%A3o%20Paulo;geo", "pct=100%25"]);
        let user = Context::new().with_baggage([
            opentelemetry::KeyValue::new("bad key", "x"),
            opentelemetry::KeyValue::new("ok", "a,b"),
        ]);
        assert_eq!(inject(&user).as_deref(), Some("ok=a%2Cb"));
        assert_eq!(inject(&Context::new()), None);
    }

    /// Found by fuzzing: a value with a bare `%` (`x%x…`) was accepted at 8,192 bytes,
    /// then re-encoded as `%25` on injection, no longer fitted, and was silently not
    /// forwarded. Such a value is invalid (a `%` must be sent as `%25`), so the member is
    /// dropped on extraction, and whatever is extracted can always be forwarded.
    #[test]
    fn what_is_extracted_is_forwarded_whole() {
        let bare = format!("big={}%x", "x".repeat(MAX_BAGGAGE_BYTES - 6));
        assert_eq!(bare.len(), MAX_BAGGAGE_BYTES);
        assert_eq!(entries(&extract(&bare)), vec![]);

        let escaped = format!("big={}%25", "x".repeat(MAX_BAGGAGE_BYTES - 7));
        let cx = extract(&escaped);
        assert_eq!(entries(&cx).len(), 1);
        assert_eq!(inject(&cx).as_deref(), Some(escaped.as_str()));
    }
}
