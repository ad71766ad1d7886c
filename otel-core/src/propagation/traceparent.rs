//! The W3C `traceparent` header: a strict parser and the one formatter.
//!
//! Strict where the stock propagator is lenient: it parses with `from_str_radix`, so it
//! accepts `+` signs and short ids, accepts trailing fields after version `00`, and
//! clears the Level 2 `random` flag.

use std::fmt;

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

/// The `random` trace flag of Trace Context Level 2: the rightmost 7 bytes of the trace id
/// are random. `opentelemetry` has no constant for it yet.
pub const FLAG_RANDOM: u8 = 0x02;

/// The flags version `00` defines; the other bits MUST be sent as zero.
const FLAGS_V00: u8 = 0x01 | FLAG_RANDOM;

const TRACEPARENT_V00_LEN: usize = 55;

/// A `traceparent` value that passed validation.
///
/// ```
/// use otel_core::propagation::Traceparent;
///
/// let tp = Traceparent::parse(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03").unwrap();
/// assert_eq!(tp.trace_flags.to_u8(), 0x03); // sampled + random, both kept
/// assert_eq!(tp.to_string(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traceparent {
    /// The version field as received (`00` today; higher versions are read as `00`).
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

/// Strips the optional white space (space, tab) HTTP allows around a field value.
#[inline]
pub(crate) fn trim_ows(mut v: &[u8]) -> &[u8] {
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

impl Traceparent {
    /// Parses one `traceparent` header field value.
    ///
    /// ```
    /// use otel_core::propagation::{InvalidTraceparent, Traceparent};
    ///
    /// // A future version may carry more fields after a '-'.
    /// let tp = Traceparent::parse(b"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra").unwrap();
    /// assert_eq!(tp.version, 0xcc);
    /// assert_eq!(
    ///     Traceparent::parse(b"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ///     Err(InvalidTraceparent::Version)
    /// );
    /// assert_eq!(
    ///     Traceparent::parse(b"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"),
    ///     Err(InvalidTraceparent::TraceId)
    /// );
    /// ```
    pub fn parse(value: &[u8]) -> Result<Self, InvalidTraceparent> {
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
            FLAGS_V00
        } else {
            TraceFlags::SAMPLED.to_u8()
        };
        Ok(Self {
            version,
            trace_id: TraceId::from(trace_id),
            parent_id: SpanId::from(parent_id),
            trace_flags: TraceFlags::new(flags & kept),
        })
    }
}

/// Writes version `00`: the only version we send, with only the flags it defines.
impl Traceparent {
    /// `00-{trace-id}-{parent-id}-{flags}`, written digit by digit: it goes out on every
    /// outgoing request, and the formatting machinery costs ten times as much.
    fn encode(&self) -> [u8; 55] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 55];
        out[0] = b'0';
        out[1] = b'0';
        let trace_id = u128::from_be_bytes(self.trace_id.to_bytes());
        for (i, digit) in out[3..35].iter_mut().enumerate() {
            *digit = HEX[((trace_id >> (124 - 4 * i)) & 0xf) as usize];
        }
        let parent_id = u64::from_be_bytes(self.parent_id.to_bytes());
        for (i, digit) in out[36..52].iter_mut().enumerate() {
            *digit = HEX[((parent_id >> (60 - 4 * i)) & 0xf) as usize];
        }
        let flags = self.trace_flags.to_u8() & FLAGS_V00;
        out[53] = HEX[usize::from(flags >> 4)];
        out[54] = HEX[usize::from(flags & 0xf)];
        out
    }
}

impl fmt::Display for Traceparent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoded = self.encode();
        f.write_str(std::str::from_utf8(&encoded).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    #[test]
    fn written_as_the_formatter_would() {
        for (trace, span, flags) in [
            (1u128, 1u64, 0u8),
            (u128::MAX, u64::MAX, 0xff),
            (
                0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
                0xb7ad_6b71_6920_3331,
                0x03,
            ),
            (
                0x1000_0000_0000_0000_0000_0000_0000_000f,
                0x8000_0000_0000_0001,
                0x01,
            ),
        ] {
            let tp = Traceparent {
                version: 0,
                trace_id: TraceId::from(trace),
                parent_id: SpanId::from(span),
                trace_flags: TraceFlags::new(flags),
            };
            let expected = format!("00-{trace:032x}-{span:016x}-{:02x}", flags & FLAGS_V00);
            assert_eq!(tp.to_string(), expected);
        }
    }

    #[test]
    fn traceparent_table() {
        let ok = |s: &str| Traceparent::parse(s.as_bytes());
        let valid = format!("00-{TID}-{SID}-01");
        let tp = ok(&valid).expect("valid");
        assert_eq!(tp.trace_id.to_string(), TID);
        assert_eq!(tp.parent_id.to_string(), SID);
        assert!(tp.trace_flags.is_sampled());
        assert_eq!(tp.to_string(), valid);

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
    fn higher_versions_are_written_as_00_with_defined_flags_only() {
        let tp = Traceparent::parse(format!("cc-{TID}-{SID}-ff-x").as_bytes()).expect("future version");
        assert_eq!(tp.to_string(), format!("00-{TID}-{SID}-01"));
    }

    #[test]
    fn rejects_non_ascii_without_panicking() {
        let mut bytes = format!("00-{TID}-{SID}-01").into_bytes();
        bytes[10] = 0xff;
        assert_eq!(Traceparent::parse(&bytes), Err(InvalidTraceparent::TraceId));
        let long = "é".repeat(40);
        assert!(Traceparent::parse(long.as_bytes()).is_err());
    }
}
