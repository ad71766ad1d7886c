//! A plain TCP forwarder on 127.0.0.1 that keeps a copy of what clients send, to look
//! at the exact HTTP requests an exporter made (bodies, content types) while the
//! collector behind it still receives them.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One HTTP/1.1 request as sent.
#[derive(Debug, Clone)]
pub struct TappedRequest {
    /// The request line, e.g. `POST /v1/metrics HTTP/1.1`.
    pub request_line: String,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (by `content-length`).
    pub body: Vec<u8>,
}

impl TappedRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The bytes one client sent, appended as they pass.
type Recording = Arc<Mutex<Vec<u8>>>;

/// Forwards each connection to `backend`; the bytes each client sent are kept per
/// connection. Stops when dropped.
#[derive(Debug)]
pub struct Tap {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<Recording>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Tap {
    /// Starts listening on a free loopback port.
    ///
    /// # Panics
    ///
    /// When the listener cannot be set up.
    pub fn start(backend: SocketAddr) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let sent: Arc<Mutex<Vec<Recording>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (connections, flag) = (sent.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut open: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let Ok(server) = TcpStream::connect(backend) else {
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let record = Arc::new(Mutex::new(Vec::new()));
                if let Ok(mut all) = connections.lock() {
                    all.push(record.clone());
                }
                if let (Ok(c1), Ok(c2), Ok(s1), Ok(s2)) = (
                    client.try_clone(),
                    client.try_clone(),
                    server.try_clone(),
                    server.try_clone(),
                ) {
                    open.push(c1);
                    open.push(s1);
                    pump(client, server, Some(record));
                    pump(s2, c2, None);
                }
            }
            // Closing both ends ends the pumps.
            for stream in open {
                let _ = stream.shutdown(Shutdown::Both);
            }
        });
        Tap {
            addr,
            sent,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The HTTP/1.1 requests sent so far whose path is `path`.
    pub fn requests(&self, path: &str) -> Vec<TappedRequest> {
        let connections = self.sent.lock().map(|c| c.clone()).unwrap_or_default();
        connections
            .iter()
            .filter_map(|bytes| bytes.lock().ok().map(|b| parse_requests(&b)))
            .flatten()
            .filter(|r| r.request_line.split(' ').nth(1) == Some(path))
            .collect()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies `from` to `to` on a thread until either side closes, keeping a copy.
fn pump(mut from: TcpStream, mut to: TcpStream, record: Option<Recording>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some(record) = &record {
                if let Ok(mut r) = record.lock() {
                    r.extend_from_slice(&buf[..n]);
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Splits a connection's bytes into HTTP/1.1 requests with `content-length` bodies; a
/// request cut short is left out.
fn parse_requests(mut bytes: &[u8]) -> Vec<TappedRequest> {
    let mut requests = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let body_start = end + 4;
        let Some(body) = bytes.get(body_start..body_start + length) else {
            break;
        };
        requests.push(TappedRequest {
            request_line,
            headers,
            body: body.to_vec(),
        });
        bytes = &bytes[body_start + length..];
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::parse_requests;

    #[test]
    fn requests_are_split_by_content_length() {
        let raw = b"POST /v1/traces HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}\
POST /v1/metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]POST /v1/logs HTTP/1.1\r\ncontent-length: 9\r\n\r\n{";
        let requests = parse_requests(raw);
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].header("content-type"), Some("application/json"));
        assert_eq!(requests[0].body, b"{}");
        assert_eq!(requests[1].request_line, "POST /v1/metrics HTTP/1.1");
        assert_eq!(requests[1].body, b"[1]");
    }
}
