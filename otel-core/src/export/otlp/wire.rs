//! The protobuf wire format, as much of it as OTLP's requests need: varints, fixed-width
//! numbers, and length-delimited fields (strings, bytes, nested messages).
//!
//! A nested message is written in place and its length filled in afterwards
//! ([`message`]), so every field is visited once: no intermediate message structs, no
//! second pass to compute sizes (prost's generated code asks every nested message for
//! its length once per level above it).

/// Wire type of varint fields (`uint32`, `int64`, `bool`, enums).
const VARINT: u32 = 0;
/// Wire type of `fixed64` and `double` fields.
const I64: u32 = 1;
/// Wire type of strings, bytes and nested messages.
const LEN: u32 = 2;
/// Wire type of `fixed32` fields.
const I32: u32 = 5;

/// Appends `value` as a base-128 varint.
#[inline]
pub(super) fn varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push(value as u8 | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

#[inline]
fn tag(buf: &mut Vec<u8>, field: u32, wire_type: u32) {
    varint(buf, u64::from(field << 3 | wire_type));
}

/// A `uint32`/`uint64`/enum field; zero is the default and is not written.
#[inline]
pub(super) fn uint(buf: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        tag(buf, field, VARINT);
        varint(buf, value);
    }
}

/// A `bool` member of a `oneof`: written even when false, since it is the member's
/// presence that says which one is set.
#[inline]
pub(super) fn oneof_bool(buf: &mut Vec<u8>, field: u32, value: bool) {
    tag(buf, field, VARINT);
    buf.push(u8::from(value));
}

/// An `int64` member of a `oneof` (negative values take ten bytes, as in every
/// protobuf encoder).
#[inline]
pub(super) fn oneof_int64(buf: &mut Vec<u8>, field: u32, value: i64) {
    tag(buf, field, VARINT);
    varint(buf, value as u64);
}

/// A `double` member of a `oneof`.
#[inline]
pub(super) fn oneof_double(buf: &mut Vec<u8>, field: u32, value: f64) {
    tag(buf, field, I64);
    buf.extend_from_slice(&value.to_bits().to_le_bytes());
}

/// A `string` or `bytes` member of a `oneof`: written even when empty.
#[inline]
pub(super) fn oneof_bytes(buf: &mut Vec<u8>, field: u32, value: &[u8]) {
    tag(buf, field, LEN);
    varint(buf, value.len() as u64);
    buf.extend_from_slice(value);
}

/// A `string` or `bytes` field; empty is the default and is not written.
#[inline]
pub(super) fn bytes(buf: &mut Vec<u8>, field: u32, value: &[u8]) {
    if !value.is_empty() {
        oneof_bytes(buf, field, value);
    }
}

/// A `fixed64` field (zero not written).
#[inline]
pub(super) fn fixed64(buf: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        tag(buf, field, I64);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

/// A `fixed32` field (zero not written).
#[inline]
pub(super) fn fixed32(buf: &mut Vec<u8>, field: u32, value: u32) {
    if value != 0 {
        tag(buf, field, I32);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

/// A nested message (or a packed repeated field) whose body `write` appends. The
/// length, unknown until the body is written, gets one byte up front; a body of 128
/// bytes or more moves right by the length's extra bytes.
#[inline]
pub(super) fn message(buf: &mut Vec<u8>, field: u32, write: impl FnOnce(&mut Vec<u8>)) {
    tag(buf, field, LEN);
    let at = buf.len();
    buf.push(0);
    write(buf);
    let len = buf.len() - at - 1;
    if len < 0x80 {
        buf[at] = len as u8;
    } else {
        patch_length(buf, at, len);
    }
}

#[cold]
fn patch_length(buf: &mut Vec<u8>, at: usize, len: usize) {
    let mut head = Vec::with_capacity(10);
    varint(&mut head, len as u64);
    let end = buf.len();
    buf.resize(end + head.len() - 1, 0);
    buf.copy_within(at + 1..end, at + head.len());
    buf[at..at + head.len()].copy_from_slice(&head);
}

/// Reads the varint at the start of `input`, returning it and the bytes after it.
pub(super) fn read_varint(input: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((value, &input[i + 1..]));
        }
    }
    None
}

/// One field of a message being read: its number and its value.
#[derive(Debug, PartialEq)]
pub(super) enum Field<'a> {
    /// A varint field.
    Varint(u32, u64),
    /// A length-delimited field.
    Bytes(u32, &'a [u8]),
    /// A fixed-width field (read past, not interpreted).
    Fixed(u32),
}

/// Splits the first field off `input`, or `None` when it is malformed.
pub(super) fn read_field(input: &[u8]) -> Option<(Field<'_>, &[u8])> {
    let (key, rest) = read_varint(input)?;
    let field = u32::try_from(key >> 3).ok()?;
    match (key & 7) as u32 {
        VARINT => {
            let (value, rest) = read_varint(rest)?;
            Some((Field::Varint(field, value), rest))
        }
        LEN => {
            let (len, rest) = read_varint(rest)?;
            let len = usize::try_from(len).ok().filter(|&len| len <= rest.len())?;
            Some((Field::Bytes(field, &rest[..len]), &rest[len..]))
        }
        I64 => rest.get(8..).map(|rest| (Field::Fixed(field), rest)),
        I32 => rest.get(4..).map(|rest| (Field::Fixed(field), rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_base_128() {
        let mut buf = Vec::new();
        varint(&mut buf, 1);
        varint(&mut buf, 300);
        varint(&mut buf, u64::MAX);
        assert_eq!(buf[..3], [0x01, 0xac, 0x02]);
        assert_eq!(buf.len(), 3 + 10);
        let (a, rest) = read_varint(&buf).unwrap();
        let (b, rest) = read_varint(rest).unwrap();
        let (c, rest) = read_varint(rest).unwrap();
        assert_eq!((a, b, c, rest.len()), (1, 300, u64::MAX, 0));
    }

    #[test]
    fn a_long_nested_message_gets_a_multi_byte_length() {
        for len in [0usize, 1, 127, 128, 300, 20_000] {
            let mut buf = vec![0xff];
            message(&mut buf, 2, |buf| buf.extend(std::iter::repeat_n(7u8, len)));
            let (field, rest) = read_field(&buf[1..]).unwrap();
            assert!(rest.is_empty(), "len {len}");
            match field {
                Field::Bytes(2, body) => assert!(body.len() == len && body.iter().all(|&b| b == 7)),
                other => panic!("len {len}: {other:?}"),
            }
        }
    }

    #[test]
    fn defaults_are_omitted_but_oneof_members_are_not() {
        let mut buf = Vec::new();
        uint(&mut buf, 1, 0);
        bytes(&mut buf, 2, b"");
        fixed64(&mut buf, 3, 0);
        fixed32(&mut buf, 4, 0);
        assert!(buf.is_empty());
        oneof_bool(&mut buf, 2, false);
        oneof_bytes(&mut buf, 1, b"");
        assert_eq!(buf, [0x10, 0x00, 0x0a, 0x00]);
    }

    #[test]
    fn malformed_input_is_refused() {
        assert_eq!(read_field(&[0x0a, 0x05, 1, 2]), None); // length past the end
        assert_eq!(read_varint(&[0x80; 11]), None);
        assert_eq!(read_field(&[0x0b]), None); // wire type 3 (groups) is not used by OTLP
    }
}
