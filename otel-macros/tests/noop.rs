//! Built with `--cfg otel_noop`, the attributes still check their options but keep the
//! item as written: no span, no metric, and no evaluation of fields. Run with
//! `RUSTFLAGS="--cfg otel_noop" cargo test -p otel-macros --test noop` (a separate
//! `CARGO_TARGET_DIR` keeps the usual build cached).
#![cfg(otel_noop)]

use std::sync::atomic::{AtomicUsize, Ordering};

use otel_core::testing::{self, metric_points};
use otel_macros::{instrument_struct, instrumented};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

// Only the attribute names it, and `otel_noop` drops the attribute's code.
#[allow(dead_code)]
fn field() -> u32 {
    EVALUATED.fetch_add(1, Ordering::Relaxed);
    1
}

#[instrumented(fields(n = field()), ret, kind = server)]
fn plain(a: u32) -> Result<u32, std::fmt::Error> {
    Ok(a)
}

struct Repo;

#[instrument_struct(kind = client)]
impl Repo {
    fn get(&self) -> u32 {
        7
    }

    #[instrumented(name = "custom")]
    async fn fetch(&self) -> u32 {
        8
    }

    #[no_instrument]
    fn skipped(&self) -> u32 {
        9
    }
}

#[tokio::test]
async fn nothing_is_recorded() {
    let cap = testing::capture();
    assert_eq!(plain(3), Ok(3));
    assert_eq!(Repo.get() + Repo.fetch().await + Repo.skipped(), 24);
    assert_eq!(cap.tree(), "");
    assert_eq!(EVALUATED.load(Ordering::Relaxed), 0);
    assert!(metric_points("function.calls").is_empty());
}
