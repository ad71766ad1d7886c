//! A small private Tokio runtime for the network exporters.
//!
//! tonic and hyper need a Tokio reactor, while the batch processors export from their
//! own threads. Owning a one-worker runtime makes gRPC and HTTP export work the same in
//! sync programs, on a user's current-thread runtime (where a blocked export would
//! otherwise deadlock), and during shutdown after the user's runtime is gone.

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod imp {
    use std::future::Future;
    use std::time::Duration;

    use crate::{Error, ErrorKind};

    #[derive(Debug)]
    pub(crate) struct ExportRuntime {
        runtime: Option<tokio::runtime::Runtime>,
        handle: tokio::runtime::Handle,
    }

    impl ExportRuntime {
        pub(crate) fn new() -> Result<Self, Error> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otel-export")
                // Same reason as the batch worker: nothing the exporters do on these
                // threads (hyper, h2 and tonic emit `tracing` events) may be recorded.
                .on_thread_start(|| {
                    std::mem::forget(opentelemetry::Context::enter_telemetry_suppressed_scope())
                })
                .enable_all()
                .build()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Exporter,
                        format!("cannot start the export runtime: {e}"),
                    )
                })?;
            let handle = runtime.handle().clone();
            Ok(Self {
                runtime: Some(runtime),
                handle,
            })
        }

        pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
            &self.handle
        }

        /// Runs `fut` on the runtime from a non-runtime thread, bounded by `timeout`.
        pub(crate) fn block_on_timeout<F: Future>(
            handle: &tokio::runtime::Handle,
            timeout: Duration,
            fut: F,
        ) -> Option<F::Output> {
            handle.block_on(async { tokio::time::timeout(timeout, fut).await.ok() })
        }
    }

    impl Drop for ExportRuntime {
        fn drop(&mut self) {
            // Dropping a runtime inside another runtime's context panics; shutting it
            // down in the background never does.
            if let Some(rt) = self.runtime.take() {
                rt.shutdown_background();
            }
        }
    }
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) use imp::ExportRuntime;

/// How an exporter's future is driven from a processor thread.
#[derive(Debug, Clone)]
pub(crate) enum Executor {
    /// Local exporters (console, in-memory) finish without I/O: poll them in place.
    Inline,
    /// Network exporters run on the export runtime, bounded by a timeout.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    Tokio(tokio::runtime::Handle),
}

impl Executor {
    /// Drives `fut` to completion; `None` when it did not finish within `timeout`.
    pub(crate) fn run<F: std::future::Future>(
        &self,
        timeout: std::time::Duration,
        fut: F,
    ) -> Option<F::Output> {
        match self {
            Self::Inline => {
                let _ = timeout;
                Some(futures_executor::block_on(fut))
            }
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            Self::Tokio(handle) => ExportRuntime::block_on_timeout(handle, timeout, fut),
        }
    }
}
