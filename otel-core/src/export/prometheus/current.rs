//! The exporter [`init`](crate::init) published, for applications that mount it themselves.

use std::sync::{PoisonError, RwLock};

use super::PrometheusExporter;

static CURRENT: RwLock<Option<PrometheusExporter>> = RwLock::new(None);

/// The exporter that [`init`](crate::init) installed for `OTEL_METRICS_EXPORTER=prometheus`, if
/// any, so the application can mount it on its own router.
///
/// ```
/// use otel_core::export::prometheus;
///
/// if let Some(exporter) = prometheus::current() {
///     let _response = exporter.response();
/// }
/// ```
pub fn current() -> Option<PrometheusExporter> {
    CURRENT.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Publishes (or with `None`, withdraws) the exporter returned by [`current`].
pub(crate) fn set_current(exporter: Option<PrometheusExporter>) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = exporter;
}
