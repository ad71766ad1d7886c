//! The W3C `tracestate` header, validated against the current Trace Context grammar.
//!
//! `opentelemetry::trace::TraceState` checks an older key grammar (it refuses a
//! multi-tenant key with a 14-character system id, for instance), so the validated list
//! is kept as it arrived and forwarded as is; the `TraceState` handed to the SDK holds
//! the members it can represent.

use std::fmt;

use opentelemetry::trace::TraceState;

use super::traceparent::trim_ows;

/// The spec's limit; a longer list is dropped whole.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// A `tracestate` list that passed validation, in the order it arrived, without
/// empty members and with repeated keys reduced to their first (most recent) entry.
///
/// ```
/// use otel_core::propagation::Tracestate;
///
/// let ts = Tracestate::parse([&b"rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE"[..], b"rojo=1"]).unwrap();
/// assert_eq!(ts.header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
/// // Keys follow the current grammar: '@' anywhere after the first character.
/// assert_eq!(Tracestate::parse([&b"foo@=1"[..]]).unwrap().header(), "foo@=1");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracestate {
    header: String,
}

/// Why a `tracestate` value was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidTracestate {
    /// More than 32 list members.
    TooManyMembers,
    /// A member is not `key=value`, or its key breaks the key grammar or length.
    Key,
    /// A value is empty, longer than 256 characters, or has a forbidden character.
    Value,
}

impl fmt::Display for InvalidTracestate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::TooManyMembers => "more than 32 list members",
            Self::Key => "invalid key",
            Self::Value => "invalid value",
        };
        write!(f, "invalid tracestate: {what}")
    }
}

impl std::error::Error for InvalidTracestate {}

/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`,
/// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`.
fn valid_key(key: &[u8]) -> bool {
    matches!(key.first(), Some(b'a'..=b'z' | b'0'..=b'9'))
        && key.len() <= 256
        && key
            .iter()
            .all(|&b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@'))
}

/// `value = 0*255(chr) nblk-chr`, `chr = %x20 / nblk-chr`,
/// `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E` (no ',' and no '=').
fn valid_value(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && value.last() != Some(&b' ')
        && value
            .iter()
            .all(|&b| matches!(b, 0x20..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e))
}

impl Tracestate {
    /// Parses the `tracestate` header fields, in the order they arrived, as one list.
    ///
    /// Empty members are skipped; a key seen before is dropped (the first entry is the
    /// most recent one, and the spec lets a receiver keep one of the duplicates); more
    /// than 32 members or any invalid member drops the whole list.
    ///
    /// ```
    /// use otel_core::propagation::{InvalidTracestate, Tracestate};
    ///
    /// assert_eq!(Tracestate::parse([&b"a=1,\tb=2 "[..]]).unwrap().header(), "a=1,b=2");
    /// assert_eq!(Tracestate::parse([&b"a=1,a=2"[..]]).unwrap().header(), "a=1");
    /// assert_eq!(Tracestate::parse([&b"A=1"[..]]), Err(InvalidTracestate::Key));
    /// ```
    pub fn parse<'a, I>(fields: I) -> Result<Self, InvalidTracestate>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut members: Vec<(&'a [u8], &'a [u8])> = Vec::new();
        let mut count = 0;
        for field in fields {
            for member in field.split(|&b| b == b',') {
                let member = trim_ows(member);
                if member.is_empty() {
                    continue;
                }
                count += 1;
                if count > MAX_TRACESTATE_MEMBERS {
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
                if !members.iter().any(|(k, _)| *k == key) {
                    members.push((key, value));
                }
            }
        }
        let mut header = Vec::with_capacity(members.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
        for (i, (key, value)) in members.into_iter().enumerate() {
            if i > 0 {
                header.push(b',');
            }
            header.extend_from_slice(key);
            header.push(b'=');
            header.extend_from_slice(value);
        }
        // Keys and values were checked to be printable ASCII above.
        String::from_utf8(header)
            .map(|header| Self { header })
            .map_err(|_| InvalidTracestate::Value)
    }

    /// The list as it is forwarded: `key=value` members joined by `,`.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// Whether the list has no member.
    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
    }

    /// The members, in order.
    ///
    /// ```
    /// use otel_core::propagation::Tracestate;
    ///
    /// let ts = Tracestate::parse([&b"a=1,b=2"[..]]).unwrap();
    /// assert_eq!(ts.members().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header
            .split(',')
            .filter(|m| !m.is_empty())
            .filter_map(|m| m.split_once('='))
    }

    /// The members `opentelemetry`'s `TraceState` can hold, for the SDK's span context.
    ///
    /// ```
    /// use otel_core::propagation::Tracestate;
    ///
    /// let key14 = format!("t@{}", "v".repeat(14)); // valid, but too long for TraceState
    /// let ts = Tracestate::parse([format!("a=1,{key14}=2").as_bytes()]).unwrap();
    /// assert_eq!(ts.to_trace_state().header(), "a=1");
    /// ```
    pub fn to_trace_state(&self) -> TraceState {
        if self.is_empty() {
            return TraceState::NONE;
        }
        TraceState::from_key_value(self.members()).unwrap_or_else(|_| {
            let representable = self
                .members()
                .filter(|member| TraceState::from_key_value([*member]).is_ok());
            TraceState::from_key_value(representable).unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(fields: &[&str]) -> Result<String, InvalidTracestate> {
        Tracestate::parse(fields.iter().map(|f| f.as_bytes())).map(|t| t.header().to_owned())
    }

    #[test]
    fn tracestate_table() {
        let members = |n: usize| (0..n).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",");
        let key256 = format!("a{}", "b".repeat(255));
        let key257 = format!("a{}", "b".repeat(256));
        let mt_sys14 = format!("{}@{}", "t".repeat(241), "v".repeat(14));
        let value256 = "v".repeat(256);
        let value257 = "v".repeat(257);
        let all_value_chars: String = (0x20u8..=0x7e)
            .filter(|b| *b != b',' && *b != b'=')
            .map(char::from)
            .collect::<String>()
            + "x";
        let ok = |s: &str| Ok(s.to_owned());

        let m32 = members(32);
        let cases: Vec<(Vec<String>, Result<String, InvalidTracestate>)> = vec![
            (vec!["foo=1".into()], ok("foo=1")),
            (vec!["foo=1".into(), "bar=2".into()], ok("foo=1,bar=2")),
            (vec![" foo=1 \t, \tbar=2 ".into()], ok("foo=1,bar=2")),
            (vec!["foo=1,,,bar=2".into()], ok("foo=1,bar=2")),
            (vec!["".into()], ok("")),
            (vec![" , ".into()], ok("")),
            (vec!["".into(), "foo=1".into()], ok("foo=1")),
            (vec![m32.clone()], Ok(m32)),
            (vec![members(33)], Err(InvalidTracestate::TooManyMembers)),
            (
                vec![members(20), members(20).replace('k', "j")],
                Err(InvalidTracestate::TooManyMembers),
            ),
            // Duplicates are inherited, the first (most recent) entry kept.
            (vec!["foo=1,foo=1".into()], ok("foo=1")),
            (vec!["foo=1,foo=2".into()], ok("foo=1")),
            (vec!["foo=1".into(), "bar=2,foo=3".into()], ok("foo=1,bar=2")),
            // The current key grammar.
            (vec!["foo@=1".into()], ok("foo@=1")),
            (vec!["1foo=1".into()], ok("1foo=1")),
            (vec!["t@s@x=1".into()], ok("t@s@x=1")),
            (vec![format!("{mt_sys14}=1")], Ok(format!("{mt_sys14}=1"))),
            (vec!["1tenant@sys=1".into()], ok("1tenant@sys=1")),
            (vec!["foo".into()], Err(InvalidTracestate::Key)),
            (vec!["=1".into()], Err(InvalidTracestate::Key)),
            (vec!["Foo=1".into()], Err(InvalidTracestate::Key)),
            (vec!["fo o=1".into()], Err(InvalidTracestate::Key)),
            (vec!["foo.bar=1".into()], Err(InvalidTracestate::Key)),
            (vec!["foo+=1".into()], Err(InvalidTracestate::Key)),
            (vec!["@sys=1".into()], Err(InvalidTracestate::Key)),
            (vec!["_foo=1".into()], Err(InvalidTracestate::Key)),
            (vec![format!("{key256}=1")], Ok(format!("{key256}=1"))),
            (vec![format!("{key257}=1")], Err(InvalidTracestate::Key)),
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
    fn trace_state_keeps_what_the_sdk_type_can_hold() {
        let key14 = format!("t@{}", "v".repeat(14));
        let parsed = Tracestate::parse([format!("a=1,{key14}=2,b=3").as_bytes()]).expect("valid");
        assert_eq!(parsed.header(), format!("a=1,{key14}=2,b=3"));
        assert_eq!(parsed.to_trace_state().header(), "a=1,b=3");
        let plain = Tracestate::parse([&b"a=1,b=2"[..]]).expect("valid");
        assert_eq!(plain.to_trace_state().header(), "a=1,b=2");
        assert_eq!(Tracestate::default().to_trace_state(), TraceState::NONE);
    }
}
