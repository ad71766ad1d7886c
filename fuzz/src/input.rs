//! Turning fuzz bytes into header fields: one field a line, `name: value`, so seeds stay
//! readable and a mutation of one line changes one field.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// At most this many header fields are built from one input: enough to cross every
/// limit under test (32 `tracestate` members, 180 baggage members fit in a few fields),
/// few enough that one execution stays cheap.
const MAX_FIELDS: usize = 64;

/// The lines of `data`, without their `\r\n` or `\n`.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

/// `name: value` as a header field, if `http` accepts both halves (one space after the
/// colon is dropped, the rest of the value is kept as is).
pub(crate) fn field(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    let value = value.strip_prefix(b" ").unwrap_or(value);
    Some((
        HeaderName::from_bytes(name).ok()?,
        HeaderValue::from_bytes(value).ok()?,
    ))
}

/// A header map of every line that is a valid field, in order (repeated names appended).
pub(crate) fn header_map<'a>(lines: impl Iterator<Item = &'a [u8]>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in lines.filter_map(field).take(MAX_FIELDS) {
        headers.append(name, value);
    }
    headers
}

/// A header map with every line that is a valid value as one field called `name`.
pub(crate) fn fields_named<'a>(name: &'static str, lines: impl Iterator<Item = &'a [u8]>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in lines
        .filter_map(|l| HeaderValue::from_bytes(l).ok())
        .take(MAX_FIELDS)
    {
        headers.append(name, value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_from_lines() {
        let headers = header_map(lines(b"a: 1\r\nbad name: x\na:2\nb:  3\nnocolon"));
        let a: Vec<_> = headers.get_all("a").iter().collect();
        assert_eq!(a, ["1", "2"]);
        assert_eq!(headers["b"], " 3");
        assert_eq!(headers.len(), 3);
        assert_eq!(fields_named("baggage", lines(b"k=v\n\x01")).len(), 1);
    }
}
