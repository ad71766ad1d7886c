//! The OpenTelemetry contexts made current by entered `tracing` spans, per thread.
//!
//! Entering a `tracing` span attaches its OpenTelemetry context, so that
//! [`opentelemetry::Context::current`] (what `in_span`, `#[instrumented]` and the log
//! bridge read) sees it; exiting detaches it. The [`ContextGuard`] that attaching returns
//! is `!Send` and belongs to the thread's context stack, so it cannot live in the span's
//! extensions (which other threads share): it is kept here, on the entering thread, keyed
//! by layer and span id.
//!
//! Exits do not always mirror enters. Tasks interleaving on one thread each enter and
//! exit their own span around every poll, which nests; but guards may also be dropped out
//! of order (`let a = x.enter(); let b = y.enter(); drop(a);`). An exit therefore removes
//! the most recent entry *of that span*, wherever it is, and the OpenTelemetry context
//! stack, which supports out-of-order guard drops, keeps the innermost still-entered span
//! current, as `tracing` itself does.

use std::cell::RefCell;

use opentelemetry::{Context, ContextGuard};

struct Entry {
    /// The layer that attached the context: two subscribers used on one thread (nested
    /// `with_default`) number their spans independently, so ids alone could collide.
    layer: usize,
    span: u64,
    guard: ContextGuard,
}

struct Stack(Vec<Entry>);

impl Drop for Stack {
    fn drop(&mut self) {
        // A thread ending with spans still entered (a leaked `Entered` guard): the
        // thread's context stack may already be gone, and dropping a guard then would
        // panic inside a thread-local destructor. The contexts die with that stack.
        for entry in self.0.drain(..) {
            std::mem::forget(entry.guard);
        }
    }
}

thread_local! {
    static STACK: RefCell<Stack> = const { RefCell::new(Stack(Vec::new())) };
}

/// Makes `cx` current on this thread until [`exit`] is called with the same ids.
pub(super) fn enter(layer: usize, span: u64, cx: Context) {
    // Attached before borrowing the stack: nothing of ours may be borrowed while the
    // OpenTelemetry context code runs.
    let guard = cx.attach();
    // Fails only during thread teardown, when the stack is gone: the closure, and the
    // guard it owns, are dropped at once.
    let _ = STACK.try_with(move |stack| stack.borrow_mut().0.push(Entry { layer, span, guard }));
}

/// Detaches the context attached by the latest [`enter`] of this span on this thread;
/// does nothing if there is none (the span had no OpenTelemetry span, or was entered
/// before the layer saw it).
pub(super) fn exit(layer: usize, span: u64) {
    let guard = STACK
        .try_with(|stack| {
            let mut stack = stack.borrow_mut();
            let entries = &mut stack.0;
            let at = entries.iter().rposition(|e| e.span == span && e.layer == layer)?;
            Some(entries.remove(at).guard)
        })
        .ok()
        .flatten();
    // Dropped after the borrow ends: restoring the previous context may drop the last
    // reference to a span, whose end runs processors that may re-enter this layer.
    drop(guard);
}

/// Whether this thread has no context attached by an entered span.
#[cfg(test)]
fn is_empty() -> bool {
    STACK
        .try_with(|stack| stack.borrow().0.is_empty())
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use opentelemetry::Context;

    use super::{enter, exit, is_empty};

    #[derive(Debug, PartialEq)]
    struct Name(&'static str);

    fn current() -> Option<&'static str> {
        Context::map_current(|cx| cx.get::<Name>().map(|n| n.0))
    }

    #[test]
    fn nested_enters_and_exits_restore_each_level() {
        enter(1, 10, Context::new().with_value(Name("a")));
        enter(1, 11, Context::new().with_value(Name("b")));
        assert_eq!(current(), Some("b"));
        exit(1, 11);
        assert_eq!(current(), Some("a"));
        exit(1, 10);
        assert_eq!(current(), None);
        assert!(is_empty());
    }

    #[test]
    fn out_of_order_exit_keeps_the_innermost_current() {
        enter(1, 10, Context::new().with_value(Name("a")));
        enter(1, 11, Context::new().with_value(Name("b")));
        exit(1, 10);
        assert_eq!(current(), Some("b"), "b is still entered");
        exit(1, 11);
        assert_eq!(current(), None);
        assert!(is_empty());
    }

    #[test]
    fn reentering_a_span_pops_the_latest_entry_and_ids_are_per_layer() {
        enter(1, 10, Context::new().with_value(Name("a")));
        enter(2, 10, Context::new().with_value(Name("other layer")));
        enter(1, 10, Context::new().with_value(Name("a again")));
        exit(1, 10);
        assert_eq!(current(), Some("other layer"));
        exit(2, 10);
        assert_eq!(current(), Some("a"));
        exit(1, 10);
        exit(1, 99); // never entered: ignored
        assert_eq!(current(), None);
        assert!(is_empty());
    }
}
