//! The standalone HTTP/1.1 scrape listener behind [`PrometheusExporter::serve`]: one thread,
//! one connection at a time, `GET /metrics` only.

use std::fmt;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http::{header, HeaderValue, Method, Response, StatusCode, Uri};

use super::PrometheusExporter;
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

fn serve_connection(mut stream: TcpStream, exporter: &PrometheusExporter) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head_only = false;
    let mut unread_input = false;
    let response = match read_head(&mut stream)? {
        Head::Truncated => return Ok(()),
        Head::TooLarge => {
            unread_input = true;
            plain_text(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request head too large\n",
            )
        }
        Head::Complete(head) => match parse_request_line(&head) {
            None => plain_text(StatusCode::BAD_REQUEST, "malformed HTTP request line\n"),
            Some((method, target)) => {
                head_only = method == Method::HEAD;
                route(&method, target.path(), exporter)
            }
        },
    };
    write_response(&mut stream, response, head_only)?;
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

/// The method and target of an HTTP/1.x request line; `None` when the line is malformed.
fn parse_request_line(head: &[u8]) -> Option<(Method, Uri)> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|b| *b == b' ');
    let method = Method::from_bytes(parts.next()?).ok()?;
    // `Uri` takes every form a request target can have (origin `/metrics?x`, absolute
    // `http://host/metrics`), so `path()` is the path whichever a scraper sends.
    let target = Uri::try_from(parts.next()?).ok()?;
    let version = parts.next()?;
    if !version.starts_with(b"HTTP/1.") || parts.next().is_some() {
        return None;
    }
    Some((method, target))
}

fn route(method: &Method, path: &str, exporter: &PrometheusExporter) -> Response<String> {
    if path != "/metrics" {
        return plain_text(
            StatusCode::NOT_FOUND,
            "not found; metrics are served at /metrics\n",
        );
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain_text(StatusCode::METHOD_NOT_ALLOWED, "use GET /metrics\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    // The same answer a scrape gets when the exporter is mounted in the application's server.
    exporter.response()
}

fn plain_text(status: StatusCode, body: &str) -> Response<String> {
    let mut response = Response::new(body.to_owned());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Writes `response` as HTTP/1.1, closing the connection after it (one exchange per
/// connection keeps the single listener thread free of idle keep-alive clients).
fn write_response(
    stream: &mut TcpStream,
    mut response: Response<String>,
    head_only: bool,
) -> std::io::Result<()> {
    let length = HeaderValue::from(response.body().len());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, length);
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    let status = response.status();
    let mut head = Vec::with_capacity(256);
    write!(
        head,
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or_default()
    )?;
    for (name, value) in response.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head)?;
    if !head_only {
        stream.write_all(response.body().as_bytes())?;
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
    fn listener_takes_every_request_target_form_and_rejects_malformed_lines() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.targets")
            .u64_counter("t")
            .build()
            .add(1, &[]);
        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        let addr = server.local_addr();

        // RFC 9112 section 3.2.2: a server must accept the absolute form (proxies send it).
        let absolute = http_get(addr, &format!("GET http://{addr}/metrics HTTP/1.1\r\n\r\n"));
        assert!(absolute.starts_with("HTTP/1.1 200 OK\r\n"), "{absolute}");
        assert!(absolute.contains("t_total{otel_scope_name=\"prom.test.targets\"} 1\n"));
        let fragment = http_get(addr, "GET /metrics#top HTTP/1.1\r\n\r\n");
        assert!(fragment.starts_with("HTTP/1.1 200 OK\r\n"), "{fragment}");

        let post = http_get(addr, "PUT /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{post}");
        assert!(
            post.to_ascii_lowercase().contains("\r\nallow: get, head\r\n"),
            "{post}"
        );

        for line in [
            "GET /met<rics> HTTP/1.1",
            "G(T /metrics HTTP/1.1",
            "GET  /metrics HTTP/1.1",
            "GET /metrics HTTP/2",
            "GET /metrics HTTP/1.1 extra",
        ] {
            let reply = http_get(addr, &format!("{line}\r\n\r\n"));
            assert!(
                reply.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{line}: {reply}"
            );
        }
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
