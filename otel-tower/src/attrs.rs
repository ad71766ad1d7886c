//! Small helpers shared by the server and client layers.

use std::borrow::Cow;

use http::{HeaderMap, Version};
use opentelemetry::{Key, KeyValue, Value};

/// A fixed-capacity attribute list on the stack: metric recording takes a slice, so
/// building one per request this way allocates nothing.
pub(crate) struct AttrBuf<const N: usize> {
    items: [KeyValue; N],
    len: usize,
}

impl<const N: usize> AttrBuf<N> {
    #[inline]
    pub(crate) fn new() -> Self {
        // A 'static key and a bool value: constructing the filler costs no allocation.
        Self {
            items: std::array::from_fn(|_| KeyValue::new(Key::from_static_str(""), false)),
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, kv: KeyValue) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = kv;
            self.len += 1;
        }
    }

    #[inline]
    pub(crate) fn push_opt(&mut self, kv: Option<KeyValue>) {
        if let Some(kv) = kv {
            self.push(kv);
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[KeyValue] {
        &self.items[..self.len]
    }
}

impl<const N: usize> AsRef<[KeyValue]> for AttrBuf<N> {
    fn as_ref(&self) -> &[KeyValue] {
        self.as_slice()
    }
}

/// `network.protocol.version` for an HTTP version.
#[inline]
pub(crate) fn protocol_version(version: Version) -> Option<&'static str> {
    match version {
        Version::HTTP_09 => Some("0.9"),
        Version::HTTP_10 => Some("1.0"),
        Version::HTTP_11 => Some("1.1"),
        Version::HTTP_2 => Some("2"),
        Version::HTTP_3 => Some("3"),
        _ => None,
    }
}

/// `error.type` for an HTTP status code: the code as text, without allocating for
/// the common ones.
pub(crate) fn status_error_type(code: u16) -> Cow<'static, str> {
    const CODES_4XX: [&str; 32] = [
        "400", "401", "402", "403", "404", "405", "406", "407", "408", "409", "410", "411", "412", "413",
        "414", "415", "416", "417", "418", "419", "420", "421", "422", "423", "424", "425", "426", "427",
        "428", "429", "430", "431",
    ];
    const CODES_5XX: [&str; 12] = [
        "500", "501", "502", "503", "504", "505", "506", "507", "508", "509", "510", "511",
    ];
    let static_code = match code {
        400..=431 => CODES_4XX.get(usize::from(code - 400)).copied(),
        500..=511 => CODES_5XX.get(usize::from(code - 500)).copied(),
        _ => None,
    };
    match static_code {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(code.to_string()),
    }
}

/// `error.type` for a Rust error type: its path, unless it is a trait object whose
/// concrete type is unknown, then the conventions' `_OTHER`.
pub(crate) fn error_type_name<E: ?Sized>() -> &'static str {
    let name = std::any::type_name::<E>();
    if name.contains("dyn ") {
        "_OTHER"
    } else {
        name
    }
}

/// A header value as text; non-UTF-8 bytes are replaced rather than dropped.
pub(crate) fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<Value> {
    headers
        .get(name)
        .map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()))
}

/// A `Cow<'static, str>` as an attribute value, copying only borrowed-from-request text.
pub(crate) fn cow_value(s: Cow<'static, str>) -> Value {
    match s {
        Cow::Borrowed(s) => Value::from(s),
        Cow::Owned(s) => Value::from(s),
    }
}
