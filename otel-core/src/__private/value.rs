//! Turning arguments, fields and return values into attribute values.
//!
//! The generated code cannot know at macro time whether `x: Foo` is an integer, a string,
//! something with `Debug`, or none of these, so it uses autoref specialization: the call
//! `(&&&Arg(&x)).__otel_value()` resolves, by method lookup on the concrete type, to the
//! most specific of [`ArgTyped`] (typed value), [`ArgDebug`] (capped `Debug` text) and
//! [`ArgNone`] (not recorded). Everything is decided at compile time: no `dyn`, no
//! `Any`, no formatting of values that have a typed representation.

use std::borrow::Cow;
use std::fmt::{self, Debug, Display, Write as _};
use std::rc::Rc;
use std::sync::Arc;

use opentelemetry::{StringValue, Value};

/// Longest text recorded for one value, in bytes; longer text ends with `…`.
///
/// `Debug` formatting stops as soon as the cap is reached, so a value with a huge `Debug`
/// output costs no more than the cap to record.
pub const MAX_VALUE_LEN: usize = 256;

/// A value with a native OpenTelemetry representation (integers, floats, booleans,
/// strings), recorded without going through text.
pub trait Typed {
    /// The attribute value, or `None` when there is nothing to record (`Option::None`).
    fn typed_value(&self) -> Option<Value>;
}

macro_rules! typed_int {
    ($($t:ty),*) => {$(
        impl Typed for $t {
            #[inline]
            fn typed_value(&self) -> Option<Value> {
                Some(Value::I64(i64::from(*self)))
            }
        }
    )*};
}
typed_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! typed_wide_int {
    ($($t:ty),*) => {$(
        impl Typed for $t {
            #[inline]
            fn typed_value(&self) -> Option<Value> {
                // OpenTelemetry integers are i64; a value outside keeps its digits as text
                // rather than wrapping around to a wrong number.
                Some(match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                })
            }
        }
    )*};
}
typed_wide_int!(u64, usize, isize, i128, u128);

impl Typed for f64 {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl Typed for f32 {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl Typed for bool {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

impl Typed for char {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        Some(Value::String(self.to_string().into()))
    }
}

impl Typed for str {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        Some(Value::String(capped_str(self)))
    }
}

impl Typed for String {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        Some(Value::String(capped_str(self)))
    }
}

impl Typed for Cow<'_, str> {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        Some(Value::String(capped_str(self)))
    }
}

impl<T: Typed + ?Sized> Typed for &T {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        (**self).typed_value()
    }
}

impl<T: Typed + ?Sized> Typed for &mut T {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        (**self).typed_value()
    }
}

impl<T: Typed + ?Sized> Typed for Box<T> {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        (**self).typed_value()
    }
}

impl<T: Typed + ?Sized> Typed for Rc<T> {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        (**self).typed_value()
    }
}

impl<T: Typed + ?Sized> Typed for Arc<T> {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        (**self).typed_value()
    }
}

impl<T: Typed> Typed for Option<T> {
    #[inline]
    fn typed_value(&self) -> Option<Value> {
        self.as_ref().and_then(Typed::typed_value)
    }
}

fn capped_str(s: &str) -> StringValue {
    // A URL argument (a callback, a presigned link) is recorded like `url.full`.
    let redacted = crate::redact::url_with_defaults(s);
    let s = redacted.as_ref();
    if s.len() <= MAX_VALUE_LEN {
        return s.to_owned().into();
    }
    let mut end = MAX_VALUE_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + '…'.len_utf8());
    out.push_str(&s[..end]);
    out.push('…');
    out.into()
}

/// A `fmt::Write` that accepts at most `limit` bytes and then fails, which makes the
/// formatter stop instead of producing (and us discarding) the rest.
struct Capped {
    buf: String,
    limit: usize,
    truncated: bool,
}

impl fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit - self.buf.len();
        if s.len() <= room {
            self.buf.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf.push_str(&s[..end]);
        self.truncated = true;
        Err(fmt::Error)
    }
}

pub(crate) fn capped_fmt(args: fmt::Arguments<'_>, limit: usize) -> String {
    let mut w = Capped {
        buf: String::new(),
        limit,
        truncated: false,
    };
    // An error here is either our cap or a faulty impl; both keep what was written.
    let _ = w.write_fmt(args);
    if w.truncated {
        w.buf.push('…');
    }
    w.buf
}

/// `Debug` text of `v`, capped at [`MAX_VALUE_LEN`] bytes.
#[inline]
pub fn debug_value<T: Debug + ?Sized>(v: &T) -> Value {
    Value::String(capped_fmt(format_args!("{v:?}"), MAX_VALUE_LEN).into())
}

/// `Display` text of `v`, capped at [`MAX_VALUE_LEN`] bytes.
#[inline]
pub fn display_value<T: Display + ?Sized>(v: &T) -> Value {
    let text = capped_fmt(format_args!("{v}"), MAX_VALUE_LEN);
    match crate::redact::url_with_defaults(&text) {
        Cow::Borrowed(_) => Value::String(text.into()),
        Cow::Owned(redacted) => Value::String(redacted.into()),
    }
}

/// A function argument on its way to becoming a span attribute.
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// Preferred: the argument has a typed representation.
pub trait ArgTyped {
    /// The value to record, if any.
    fn __otel_value(&self) -> Option<Value>;
}

impl<T: Typed + ?Sized> ArgTyped for &&Arg<'_, T> {
    #[inline]
    fn __otel_value(&self) -> Option<Value> {
        self.0.typed_value()
    }
}

/// Fallback: the argument implements `Debug`.
pub trait ArgDebug {
    /// The value to record, if any.
    fn __otel_value(&self) -> Option<Value>;
}

impl<T: Debug + ?Sized> ArgDebug for &Arg<'_, T> {
    #[inline]
    fn __otel_value(&self) -> Option<Value> {
        Some(debug_value(self.0))
    }
}

/// Last resort: the argument cannot be recorded and is left out.
pub trait ArgNone {
    /// Always `None`.
    fn __otel_value(&self) -> Option<Value>;
}

impl<T: ?Sized> ArgNone for Arg<'_, T> {
    #[inline]
    fn __otel_value(&self) -> Option<Value> {
        None
    }
}

/// A `fields(key = expr)` value. Unlike arguments there is no silent fallback: a field
/// the user asked for that is neither typed nor `Debug` is a compile error.
pub struct Field<'a, T: ?Sized>(pub &'a T);

/// Preferred: the field has a typed representation.
pub trait FieldTyped {
    /// The value to record, if any.
    fn __otel_field(&self) -> Option<Value>;
}

impl<T: Typed + ?Sized> FieldTyped for &Field<'_, T> {
    #[inline]
    fn __otel_field(&self) -> Option<Value> {
        self.0.typed_value()
    }
}

/// Fallback: the field implements `Debug`.
pub trait FieldDebug {
    /// The value to record.
    fn __otel_field(&self) -> Option<Value>;
}

impl<T: Debug + ?Sized> FieldDebug for Field<'_, T> {
    #[inline]
    fn __otel_field(&self) -> Option<Value> {
        Some(debug_value(self.0))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::needless_borrow)]
    use super::*;

    #[derive(Debug)]
    struct Big(#[allow(dead_code)] Vec<u32>);
    struct Opaque;

    #[test]
    fn arguments_keep_their_type() {
        assert_eq!((&&&Arg(&7_u8)).__otel_value(), Some(Value::I64(7)));
        assert_eq!((&&&Arg(&-3_i64)).__otel_value(), Some(Value::I64(-3)));
        assert_eq!((&&&Arg(&1.5_f32)).__otel_value(), Some(Value::F64(1.5)));
        assert_eq!((&&&Arg(&true)).__otel_value(), Some(Value::Bool(true)));
        assert_eq!((&&&Arg(&"a")).__otel_value(), Some(Value::from("a")));
        assert_eq!((&&&Arg(&Some(4_u16))).__otel_value(), Some(Value::I64(4)));
        assert_eq!((&&&Arg(&None::<u16>)).__otel_value(), None);
        assert_eq!(
            (&&&Arg(&u64::MAX)).__otel_value(),
            Some(Value::from(u64::MAX.to_string()))
        );
    }

    #[test]
    fn debug_is_capped_and_opaque_types_are_skipped() {
        let v = (&&&Arg(&Big((0..10_000).collect()))).__otel_value();
        let Some(Value::String(s)) = v else {
            panic!("expected a string, got {v:?}")
        };
        assert!(s.as_str().starts_with("Big([0, 1, 2"));
        assert!(s.as_str().ends_with('…'));
        assert_eq!(s.as_str().len(), MAX_VALUE_LEN + '…'.len_utf8());
        assert_eq!((&&&Arg(&Opaque)).__otel_value(), None);
    }

    #[test]
    fn long_strings_are_cut_on_a_char_boundary() {
        let s = "é".repeat(MAX_VALUE_LEN);
        let Some(Value::String(v)) = (&&&Arg(&s)).__otel_value() else {
            panic!("expected a string")
        };
        assert!(v.as_str().len() <= MAX_VALUE_LEN + '…'.len_utf8());
        assert!(v.as_str().ends_with("é…"));
    }

    #[test]
    fn fields_prefer_typed_then_debug() {
        assert_eq!((&&Field(&12_i32)).__otel_field(), Some(Value::I64(12)));
        assert_eq!(
            (&&Field(&Big(vec![1]))).__otel_field(),
            Some(Value::from("Big([1])"))
        );
        assert_eq!(display_value(&4.5), Value::from("4.5"));
    }
}
