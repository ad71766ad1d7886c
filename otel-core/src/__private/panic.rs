//! The panic message for spans that end while unwinding.
//!
//! A drop guard sees *that* a panic is unwinding (`std::thread::panicking()`), not *what*
//! panicked. Catching the unwind would tell us, but would cost a landing pad on every
//! call's happy path. Instead a panic hook, chained in front of whatever hook was
//! installed before (so panic output is unchanged), copies the message of the panic into
//! a thread-local that the guards read while unwinding. The hook is installed lazily by
//! the first instrumented callsite. If the application later replaces the hook without
//! chaining, spans still get status Error and `error.type = panic`, only without the
//! message.

use std::cell::RefCell;
use std::sync::Once;

use super::value::capped_fmt;

/// Longest panic message kept, in bytes.
const MAX_PANIC_LEN: usize = 1024;

static HOOK: Once = Once::new();

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the chaining hook once per process.
pub(crate) fn ensure_hook() {
    // `set_hook` panics when called from a panicking thread (e.g. a `Drop` that calls an
    // instrumented function while unwinding); a later callsite will install it instead.
    if HOOK.is_completed() || std::thread::panicking() {
        return;
    }
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("Box<dyn Any>");
            let message = match info.location() {
                Some(at) => capped_fmt(format_args!("{text} (at {at})"), MAX_PANIC_LEN),
                None => capped_fmt(format_args!("{text}"), MAX_PANIC_LEN),
            };
            // `try_with`/`try_borrow_mut`: a panic during thread teardown or inside this
            // very hook must not turn into a second panic (an abort).
            let _ = LAST_PANIC.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = Some(message);
                }
            });
            previous(info);
        }));
    });
}

/// The message of the panic now unwinding on this thread, if the hook saw it.
pub(crate) fn current_message() -> Option<String> {
    LAST_PANIC
        .try_with(|slot| slot.try_borrow().ok().and_then(|m| m.clone()))
        .ok()
        .flatten()
}
