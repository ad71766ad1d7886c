//! The standalone HTTP/1.1 scrape listener behind [`PrometheusExporter::serve`]: one thread,
//! one connection at a time, `GET /metrics` only.

use std::fmt;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{PrometheusExporter, CONTENT_TYPE};
use crate::{Error, ErrorKind, Result};

/// The largest request head the standalone listener reads; scrapers send a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// A stalled client must not hold the (single) listener thread for long.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Bounds on discarding the rest of an oversized request before closing.
const MAX_DRAIN: usize = 64 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);
/// How long `shutdown` waits to wake the listener before giving up on joining it.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// The standalone scrape listener started by [`PrometheusExporter::serve`].
///
/// Dropping it stops the listener too.
///
/// ```
/// use otel_core::export::prometheus::PrometheusExporter;
///
/// let server = PrometheusExporter::new().serve(([127, 0, 0, 1], 0).into())?;
/// println!("scrape http://{}/metrics", server.local_addr());
/// drop(server); // stops the listener thread
/// # Ok::<(), otel_core::Error>(())
/// ```
pub struct PrometheusServer {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for PrometheusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusServer")
            .field("local_addr", &self.local_addr)
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl PrometheusServer {
    /// Binds `addr` and serves scrapes of `exporter` from a background thread.
    pub(super) fn start(addr: SocketAddr, exporter: PrometheusExporter) -> Result<Self> {
        let listener = TcpListener::bind(addr).map_err(|err| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot listen for Prometheus scrapes on {addr}: {err}; choose a free \
                     address, or port 0 for an ephemeral port"
                ),
            )
        })?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("otel-prometheus".into())
            .spawn(move || accept_loop(&listener, &exporter, &stop_flag))
            .map_err(|err| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start the Prometheus listener thread: {err}"),
                )
            })?;
        Ok(Self {
            local_addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address the listener is bound to (with the real port when port `0` was asked for).
    ///
    /// ```
    /// let server = otel_core::export::prometheus::PrometheusExporter::new()
    ///     .serve(([127, 0, 0, 1], 0).into())?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the listener and waits for its thread to finish the scrape in progress, if any.
    ///
    /// ```
    /// let server = otel_core::export::prometheus::PrometheusExporter::new()
    ///     .serve(([127, 0, 0, 1], 0).into())?;
    /// server.shutdown();
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn shutdown(mut self) {
        self.stop_listener();
    }

    fn stop_listener(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::Release);
        // `accept` has no timeout, so the thread only sees the flag once a connection arrives.
        let wake = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), self.local_addr.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), self.local_addr.port())
            }
            _ => self.local_addr,
        };
        if TcpStream::connect_timeout(&wake, WAKE_TIMEOUT).is_ok() {
            // A panic in the thread has already been reported on stderr; nothing to add.
            let _ = thread.join();
        }
        // Otherwise joining could block forever: the thread is detached and exits on its next
        // connection, which it no longer serves.
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop_listener();
    }
}

fn accept_loop(listener: &TcpListener, exporter: &PrometheusExporter, stop: &AtomicBool) {
    for connection in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            break;
        }
        match connection {
            // A failed exchange concerns one scraper only; the next scrape starts afresh.
            Ok(stream) => {
                let _ = serve_connection(stream, exporter);
            }
            // Typically EMFILE: back off instead of spinning on a listener that keeps failing.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

enum Head {
    Complete(Vec<u8>),
    TooLarge,
    Truncated,
}

fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    // Each pass reads at least one byte or returns, so the loop ends by the size cap at most.
    loop {
        if let Some(end) = find_head_end(&head) {
            head.truncate(end);
            return Ok(Head::Complete(head));
        }
        if head.len() >= MAX_REQUEST_HEAD {
            return Ok(Head::TooLarge);
        }
        let room = (MAX_REQUEST_HEAD - head.len()).min(chunk.len());
        let read = stream.read(&mut chunk[..room])?;
        if read == 0 {
            return Ok(Head::Truncated);
        }
        head.extend_from_slice(&chunk[..read]);
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n"))
}

struct Reply {
    status: &'static str,
    content_type: &'static str,
    allow: bool,
    body: String,
}

impl Reply {
    fn text(status: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            allow: false,
            body: body.into(),
        }
    }
}

fn serve_connection(mut stream: TcpStream, exporter: &PrometheusExporter) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head_only = false;
    let mut unread_input = false;
    let reply = match read_head(&mut stream)? {
        Head::Truncated => return Ok(()),
        Head::TooLarge => {
            unread_input = true;
            Reply::text("431 Request Header Fields Too Large", "request head too large\n")
        }
        Head::Complete(head) => match parse_request_line(&head) {
            None => Reply::text("400 Bad Request", "malformed HTTP request line\n"),
            Some((method, path)) => {
                head_only = method == "HEAD";
                route(method, path, exporter)
            }
        },
    };
    write_reply(&mut stream, &reply, head_only)?;
    stream.flush()?;
    // Half-close so the client sees the end of the body even if it ignores Content-Length.
    let _ = stream.shutdown(Shutdown::Write);
    if unread_input {
        // Closing with unread input makes the kernel send RST, which can destroy the reply
        // before the client reads it; drain a bounded amount first.
        stream.set_read_timeout(Some(DRAIN_TIMEOUT))?;
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < MAX_DRAIN {
            match stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(read) => drained += read,
            }
        }
    }
    Ok(())
}

fn parse_request_line(head: &[u8]) -> Option<(&str, &str)> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let method = parts.next().filter(|m| !m.is_empty())?;
    let target = parts.next().filter(|t| !t.is_empty())?;
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return None;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Some((method, path))
}

fn route(method: &str, path: &str, exporter: &PrometheusExporter) -> Reply {
    if path != "/metrics" {
        return Reply::text("404 Not Found", "not found; metrics are served at /metrics\n");
    }
    if method != "GET" && method != "HEAD" {
        let mut reply = Reply::text("405 Method Not Allowed", "use GET /metrics\n");
        reply.allow = true;
        return reply;
    }
    match exporter.render() {
        Ok(body) => Reply {
            status: "200 OK",
            content_type: CONTENT_TYPE,
            allow: false,
            body,
        },
        Err(err) => Reply::text("500 Internal Server Error", format!("{err}\n")),
    }
}

fn write_reply(stream: &mut TcpStream, reply: &Reply, head_only: bool) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    if reply.allow {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(reply.body.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::Arc;
    use std::time::Duration;

    use opentelemetry::metrics::MeterProvider as _;

    use super::super::test_support::setup;
    use super::super::{PrometheusExporter, CONTENT_TYPE};
    use crate::ErrorKind;

    fn http_get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn listener_serves_metrics_and_404s() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.listener")
            .u64_counter("scrapes")
            .build()
            .add(11, &[]);
        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);

        let response = http_get(addr, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        let head_lower = head.to_ascii_lowercase();
        assert!(head_lower.contains(&format!("\r\ncontent-type: {CONTENT_TYPE}\r\n")));
        assert!(head_lower.contains("\r\nconnection: close"));
        assert!(head_lower.contains(&format!("\r\ncontent-length: {}", body.len())));
        assert!(body.contains("scrapes_total{otel_scope_name=\"prom.test.listener\"} 11\n"));

        let query = http_get(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(query.starts_with("HTTP/1.1 200 OK\r\n"));

        let head_only = http_get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head_only.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head_only.ends_with("\r\n\r\n"));

        let missing = http_get(addr, "GET /other HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"), "{missing}");

        let post = http_get(addr, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));

        let garbage = http_get(addr, "hello\r\n\r\n");
        assert!(garbage.starts_with("HTTP/1.1 400 Bad Request\r\n"));

        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(10_000));
        let too_large = http_get(addr, &huge);
        assert!(too_large.starts_with("HTTP/1.1 431 "), "{too_large}");

        server.shutdown();
    }

    #[test]
    fn shutdown_and_drop_stop_the_listener_thread() {
        let exporter = PrometheusExporter::new();
        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        let unregistered = http_get(server.local_addr(), "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(unregistered.starts_with("HTTP/1.1 500 "), "{unregistered}");
        // The listener thread owns a clone of the exporter until it has exited.
        assert_eq!(Arc::strong_count(&exporter.reader), 2);
        drop(server);
        assert_eq!(Arc::strong_count(&exporter.reader), 1);

        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        assert_eq!(Arc::strong_count(&exporter.reader), 2);
        server.shutdown();
        assert_eq!(Arc::strong_count(&exporter.reader), 1);
    }

    #[test]
    fn bind_error_names_the_address() {
        let exporter = PrometheusExporter::new();
        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        let err = exporter.serve(server.local_addr()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.message().contains(&server.local_addr().to_string()));
    }
}
