//! Classifying a return value: is it an error, and what is recorded for `ret`.
//!
//! Detection is by type, not by syntax, so `io::Result<T>`, aliases and `Self::Output`
//! that are `Result`s are all recognised. It uses the same autoref specialization as
//! [`super::value`]: the generated code calls `(&&&&&Ret(&value)).__otel_failure()` and
//! method lookup picks the most specific impl for the concrete type.

use std::fmt::{Debug, Display};

use opentelemetry::Value;

use super::value::{debug_value, display_value, Typed};

/// A return value being inspected.
pub struct Ret<'a, T: ?Sized>(pub &'a T);

/// What the call's outcome was, as seen from its return value.
pub enum Failure<'a> {
    /// Not an error (not a `Result`, or `Ok`).
    None,
    /// An `Err`: its type and whatever formatting it offers.
    Error {
        /// `std::any::type_name` of the error type.
        type_name: &'static str,
        /// The error's `Display`, when implemented.
        display: Option<&'a dyn Display>,
        /// The error's `Debug`, when implemented.
        debug: Option<&'a dyn Debug>,
    },
}

macro_rules! fail_level {
    ($(#[$doc:meta])* $trait:ident) => {
        $(#[$doc])*
        pub trait $trait {
            /// Classifies the return value.
            fn __otel_failure(&self) -> Failure<'_>;
        }
    };
}

fail_level!(
    /// `Err(E)` with `E: Display + Debug` (every `std::error::Error`).
    RetFailError);
fail_level!(
    /// `Err(E)` with `E: Display` only.
    RetFailDisplay);
fail_level!(
    /// `Err(E)` with `E: Debug` only.
    RetFailDebug);
fail_level!(
    /// `Err(E)` with no formatting.
    RetFailAny);
fail_level!(
    /// Not a `Result`: never a failure.
    RetFailNone);

impl<T, E: Display + Debug> RetFailError for &&&&Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_failure(&self) -> Failure<'_> {
        match self.0 {
            Ok(_) => Failure::None,
            Err(e) => Failure::Error {
                type_name: std::any::type_name::<E>(),
                display: Some(e),
                debug: Some(e),
            },
        }
    }
}

impl<T, E: Display> RetFailDisplay for &&&Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_failure(&self) -> Failure<'_> {
        match self.0 {
            Ok(_) => Failure::None,
            Err(e) => Failure::Error {
                type_name: std::any::type_name::<E>(),
                display: Some(e),
                debug: None,
            },
        }
    }
}

impl<T, E: Debug> RetFailDebug for &&Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_failure(&self) -> Failure<'_> {
        match self.0 {
            Ok(_) => Failure::None,
            Err(e) => Failure::Error {
                type_name: std::any::type_name::<E>(),
                display: None,
                debug: Some(e),
            },
        }
    }
}

impl<T, E> RetFailAny for &Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_failure(&self) -> Failure<'_> {
        match self.0 {
            Ok(_) => Failure::None,
            Err(_) => Failure::Error {
                type_name: std::any::type_name::<E>(),
                display: None,
                debug: None,
            },
        }
    }
}

impl<T: ?Sized> RetFailNone for Ret<'_, T> {
    #[inline]
    fn __otel_failure(&self) -> Failure<'_> {
        Failure::None
    }
}

macro_rules! ret_level {
    ($(#[$doc:meta])* $trait:ident, $method:ident) => {
        $(#[$doc])*
        pub trait $trait {
            /// The value recorded as `return.value`, if any.
            fn $method(&self) -> Option<Value>;
        }
    };
}

ret_level!(
    /// `Ok(T)` with a typed `T`.
    RetOkTyped, __otel_ret_value);
ret_level!(
    /// `Ok(T)` with `T: Debug`.
    RetOkDebug, __otel_ret_value);
ret_level!(
    /// `Result` whose `Ok` type cannot be recorded.
    RetOkAny, __otel_ret_value);
ret_level!(
    /// A typed value.
    RetTyped, __otel_ret_value);
ret_level!(
    /// A `Debug` value.
    RetDebug, __otel_ret_value);
ret_level!(
    /// A value that cannot be recorded.
    RetAny, __otel_ret_value);
ret_level!(
    /// `ret(Debug)` on a `Result`: the `Ok` value's `Debug`.
    RetWithDebugOk, __otel_ret_debug);
ret_level!(
    /// `ret(Debug)`: the value's `Debug`.
    RetWithDebug, __otel_ret_debug);
ret_level!(
    /// `ret(Display)` on a `Result`: the `Ok` value's `Display`.
    RetWithDisplayOk, __otel_ret_display);
ret_level!(
    /// `ret(Display)`: the value's `Display`.
    RetWithDisplay, __otel_ret_display);

impl<T: Typed, E> RetOkTyped for &&&&&Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_ret_value(&self) -> Option<Value> {
        self.0.as_ref().ok().and_then(Typed::typed_value)
    }
}

impl<T: Debug, E> RetOkDebug for &&&&Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_ret_value(&self) -> Option<Value> {
        self.0.as_ref().ok().map(|v| debug_value(v))
    }
}

impl<T, E> RetOkAny for &&&Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_ret_value(&self) -> Option<Value> {
        None
    }
}

impl<T: Typed + ?Sized> RetTyped for &&Ret<'_, T> {
    #[inline]
    fn __otel_ret_value(&self) -> Option<Value> {
        self.0.typed_value()
    }
}

impl<T: Debug + ?Sized> RetDebug for &Ret<'_, T> {
    #[inline]
    fn __otel_ret_value(&self) -> Option<Value> {
        Some(debug_value(self.0))
    }
}

impl<T: ?Sized> RetAny for Ret<'_, T> {
    #[inline]
    fn __otel_ret_value(&self) -> Option<Value> {
        None
    }
}

impl<T: Debug, E> RetWithDebugOk for &Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_ret_debug(&self) -> Option<Value> {
        self.0.as_ref().ok().map(|v| debug_value(v))
    }
}

impl<T: Debug + ?Sized> RetWithDebug for Ret<'_, T> {
    #[inline]
    fn __otel_ret_debug(&self) -> Option<Value> {
        Some(debug_value(self.0))
    }
}

impl<T: Display, E> RetWithDisplayOk for &Ret<'_, Result<T, E>> {
    #[inline]
    fn __otel_ret_display(&self) -> Option<Value> {
        self.0.as_ref().ok().map(|v| display_value(v))
    }
}

impl<T: Display + ?Sized> RetWithDisplay for Ret<'_, T> {
    #[inline]
    fn __otel_ret_display(&self) -> Option<Value> {
        Some(display_value(self.0))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::needless_borrow)]
    use super::*;

    #[derive(Debug)]
    struct DebugOnly;
    struct Nothing;

    fn kind(f: Failure<'_>) -> (&'static str, bool, bool) {
        match f {
            Failure::None => ("none", false, false),
            Failure::Error {
                type_name,
                display,
                debug,
            } => (type_name, display.is_some(), debug.is_some()),
        }
    }

    #[test]
    fn results_are_recognised_by_type() {
        let e: Result<u8, std::num::ParseIntError> = "x".parse::<u8>();
        assert_eq!(
            kind((&&&&&Ret(&e)).__otel_failure()),
            ("core::num::error::ParseIntError", true, true)
        );
        let e: Result<u8, DebugOnly> = Err(DebugOnly);
        let (_, has_display, has_debug) = kind((&&&&&Ret(&e)).__otel_failure());
        assert!(!has_display && has_debug);
        let e: Result<u8, Nothing> = Err(Nothing);
        assert!(kind((&&&&&Ret(&e)).__otel_failure()).0.ends_with("Nothing"));
        let ok: Result<u8, Nothing> = Ok(1);
        assert_eq!(kind((&&&&&Ret(&ok)).__otel_failure()).0, "none");
        assert_eq!(kind((&&&&&Ret(&5_u32)).__otel_failure()).0, "none");
    }

    #[test]
    fn return_values_prefer_the_ok_value_and_types() {
        let r: Result<u32, Nothing> = Ok(3);
        assert_eq!((&&&&&&Ret(&r)).__otel_ret_value(), Some(Value::I64(3)));
        let r: Result<DebugOnly, Nothing> = Ok(DebugOnly);
        assert_eq!((&&&&&&Ret(&r)).__otel_ret_value(), Some(Value::from("DebugOnly")));
        let r: Result<u32, Nothing> = Err(Nothing);
        assert_eq!((&&&&&&Ret(&r)).__otel_ret_value(), None);
        assert_eq!((&&&&&&Ret(&"s")).__otel_ret_value(), Some(Value::from("s")));
        assert_eq!((&&&&&&Ret(&Nothing)).__otel_ret_value(), None);
        assert_eq!((&&Ret(&7_u8)).__otel_ret_debug(), Some(Value::from("7")));
        let r: Result<u32, Nothing> = Ok(9);
        assert_eq!((&&Ret(&r)).__otel_ret_display(), Some(Value::from("9")));
    }
}
