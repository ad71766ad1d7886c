//! What every service shares: the work queue behind the queue-length gauge, the
//! traced HTTP client, and the start/stop protocol with the launcher.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest_middleware::ClientWithMiddleware;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The prefix of the line a service prints on stdout once it listens:
/// `READY <service url> <metrics url or ->`.
pub(crate) const READY: &str = "READY";

/// A bounded pool of workers: requests beyond `workers` wait their turn, and the
/// number waiting is the `service.queue.length` gauge.
#[derive(Clone)]
pub(crate) struct WorkQueue {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

impl WorkQueue {
    /// A queue with `workers` requests served at once, reporting its length.
    pub(crate) fn new(workers: usize) -> Result<WorkQueue, otel_core::Error> {
        let waiting = Arc::new(AtomicUsize::new(0));
        let observed = Arc::clone(&waiting);
        otel_core::metrics::observable_gauge("service.queue.length", move || {
            observed.load(Ordering::Relaxed)
        })
        .with_unit("{request}")
        .with_description("Requests waiting for a worker")
        .build()?;
        Ok(WorkQueue {
            permits: Arc::new(Semaphore::new(workers)),
            waiting,
        })
    }

    /// Runs `work` once a worker is free.
    pub(crate) async fn run<F: Future>(&self, work: F) -> F::Output {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let output = work.await;
        drop(permit);
        output
    }
}

/// A reqwest client whose requests are CLIENT spans carrying the trace context, with
/// the `http.client.request.duration` histogram.
pub(crate) fn http_client() -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(otel_tower::reqwest::HttpClientMiddleware::new())
        .build()
}

/// A listener on an ephemeral loopback port.
pub(crate) async fn bind() -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Tells the launcher where this service listens and where its metrics are scraped.
pub(crate) fn announce(addr: SocketAddr, metrics: Option<String>) {
    println!("{READY} http://{addr} {}", metrics.as_deref().unwrap_or("-"));
}

/// The standalone Prometheus listener `OTEL_METRICS_EXPORTER=prometheus` started, as a
/// scrape URL.
pub(crate) fn metrics_url(prometheus: Option<SocketAddr>) -> Option<String> {
    prometheus.map(|addr| format!("http://{addr}/metrics"))
}

/// Resolves when the launcher closes this process's standard input: the signal to stop.
pub(crate) async fn stop_requested() {
    // A blocking read on its own thread: tokio's stdin would keep the runtime from
    // shutting down while the read is pending.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    let _ = rx.await;
}
