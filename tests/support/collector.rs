//! A real OTLP collector (rotel) as a child process, with its debug output captured.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::parse::{self, ReceivedDataPoint, ReceivedLog, ReceivedSpan};

/// How to get the collector when it is missing.
pub const INSTALL_HINT: &str = "install it with `pip install rotel==0.0.1a15` (it puts the \
     `rotel-agent` binary inside the `rotel` Python package), or point the ROTEL_AGENT \
     environment variable at a rotel-agent binary";

/// How long the collector may take to open its ports.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How often the wait helpers re-read the collector's output.
const POLL: Duration = Duration::from_millis(25);

/// A running `rotel-agent` receiving OTLP on 127.0.0.1 (gRPC and HTTP) and printing what
/// it receives (`--debug-log traces|metrics|logs`, with every item in detail or, from
/// [`Collector::start_counting`], one line per batch).
///
/// The process is killed when this value is dropped.
#[derive(Debug)]
pub struct Collector {
    child: Child,
    grpc: SocketAddr,
    http: SocketAddr,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    dir: PathBuf,
}

impl Collector {
    /// Finds the binary (`ROTEL_AGENT`, else the `rotel` Python package), starts it on
    /// two free loopback ports and waits until both accept connections.
    ///
    /// # Panics
    ///
    /// When the binary cannot be found or the collector does not come up: the tests
    /// that need it must fail, not skip.
    pub fn start() -> Collector {
        Self::start_with(Verbosity::Detailed)
    }

    /// Like [`Collector::start`], but the collector prints one line per received batch
    /// with its span count instead of every span: for volume tests, where parsing the
    /// detailed output of 100,000 spans would take longer than sending them. Read the
    /// total with [`Collector::span_count`].
    ///
    /// # Panics
    ///
    /// As [`Collector::start`].
    pub fn start_counting() -> Collector {
        Self::start_with(Verbosity::Counts)
    }

    fn start_with(verbosity: Verbosity) -> Collector {
        let binary = agent_binary();
        let mut last_failure = String::new();
        // A free port can be taken by another process between probing and binding:
        // retry on fresh ports a few times.
        for _ in 0..4 {
            match Self::try_start(&binary, verbosity) {
                Ok(collector) => return collector,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("rotel-agent ({}) did not start: {last_failure}", binary.display());
    }

    fn try_start(binary: &Path, verbosity: Verbosity) -> Result<Collector, String> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let (grpc, http) = two_free_ports();
        let dir = std::env::temp_dir().join(format!(
            "otel-tests-rotel-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        let mut child = Command::new(binary)
            .arg("start")
            .args(["--otlp-grpc-endpoint", &grpc.to_string()])
            .args(["--otlp-http-endpoint", &http.to_string()])
            .args(["--debug-log", "traces"])
            .args(["--debug-log", "metrics"])
            .args(["--debug-log", "logs"])
            .args(["--debug-log-verbosity", verbosity.as_arg()])
            .args(["--exporter", "blackhole"])
            // Print what arrives promptly instead of after the default 200 ms.
            .args(["--batch-timeout", "20ms"])
            .arg("--log-file")
            .arg(dir.join("rotel.log"))
            .arg("--pid-file")
            .arg(dir.join("rotel.pid"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot spawn {}: {e}", binary.display()))?;

        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(capture(stdout, output.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(capture(stderr, output.clone()));
        }
        let mut collector = Collector {
            child,
            grpc,
            http,
            output,
            readers,
            dir,
        };

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = collector.child.try_wait() {
                return Err(format!(
                    "it exited with {status} before listening; its output:\n{}",
                    collector.output()
                ));
            }
            if accepts(grpc) && accepts(http) {
                return Ok(collector);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "ports {grpc} and {http} were not open after {START_TIMEOUT:?}; its output:\n{}",
                    collector.output()
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The address the OTLP/gRPC receiver listens on.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc
    }

    /// The address the OTLP/HTTP receiver listens on.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// OTLP/gRPC endpoint, e.g. `http://127.0.0.1:40001`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// OTLP/HTTP base endpoint (without `/v1/...`), e.g. `http://127.0.0.1:40002`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Everything the collector printed so far (ANSI colours removed).
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Spans received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        parse::spans(&self.output())
    }

    /// Spans received so far, summed over the per-batch lines of a collector started with
    /// [`Collector::start_counting`] (always 0 for a detailed one).
    pub fn span_count(&self) -> u64 {
        crate::count::span_count(&self.output())
    }

    /// Polls [`Collector::span_count`] until it reaches `expected` or `timeout` passes;
    /// returns the last count, which may be higher than `expected`.
    pub fn wait_for_span_count(&self, expected: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.span_count();
            if count >= expected || Instant::now() >= deadline {
                return count;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Metric data points received so far.
    pub fn data_points(&self) -> Vec<ReceivedDataPoint> {
        parse::data_points(&self.output())
    }

    /// Log records received so far.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        parse::logs(&self.output())
    }

    /// Polls the received spans until `done` holds or `timeout` passes; returns them.
    ///
    /// # Panics
    ///
    /// On timeout, with `what` and the collector's output in the message.
    pub fn wait_for_spans(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        self.wait_for(what, timeout, parse::spans, |s| done(s))
    }

    /// Polls the received metric data points until `done` holds or `timeout` passes.
    ///
    /// # Panics
    ///
    /// On timeout, with `what` and the collector's output in the message.
    pub fn wait_for_data_points(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[ReceivedDataPoint]) -> bool,
    ) -> Vec<ReceivedDataPoint> {
        self.wait_for(what, timeout, parse::data_points, |p| done(p))
    }

    /// Polls the received log records until `done` holds or `timeout` passes.
    ///
    /// # Panics
    ///
    /// On timeout, with `what` and the collector's output in the message.
    pub fn wait_for_logs(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[ReceivedLog]) -> bool,
    ) -> Vec<ReceivedLog> {
        self.wait_for(what, timeout, parse::logs, |l| done(l))
    }

    /// Polls the collector's output until it contains `text` or `timeout` passes, for
    /// what the parsers do not decode (rotel prints some data types without values).
    ///
    /// # Panics
    ///
    /// On timeout, with `text` and the collector's output in the message.
    pub fn wait_for_text(&self, text: &str, timeout: Duration) {
        self.wait_for(
            text,
            timeout,
            |output| vec![output.to_owned()],
            |outputs| outputs.iter().any(|output| output.contains(text)),
        );
    }

    fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        parse: fn(&str) -> Vec<T>,
        done: impl Fn(&[T]) -> bool,
    ) -> Vec<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let items = parse(&self.output());
            if done(&items) {
                return items;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the collector did not receive {what} within {timeout:?}; it printed:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the collector prints about the data it receives.
#[derive(Debug, Clone, Copy)]
enum Verbosity {
    /// Every span, data point and log record with its attributes.
    Detailed,
    /// One line per batch with its counts.
    Counts,
}

impl Verbosity {
    fn as_arg(self) -> &'static str {
        match self {
            Self::Detailed => "detailed",
            Self::Counts => "basic",
        }
    }
}

/// The `rotel-agent` binary: `ROTEL_AGENT`, else the one inside the `rotel` Python
/// package.
///
/// # Panics
///
/// When neither exists, with [`INSTALL_HINT`].
pub fn agent_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "ROTEL_AGENT={} is not a file; {INSTALL_HINT}",
            path.display()
        );
        return path;
    }
    let located = Command::new("python3")
        .args([
            "-c",
            "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .stderr(Stdio::piped())
        .output();
    match located {
        Ok(out) if out.status.success() => {
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            assert!(
                path.is_file(),
                "the rotel Python package has no rotel-agent binary at {}; {INSTALL_HINT}",
                path.display()
            );
            path
        }
        Ok(out) => panic!(
            "the OTLP collector rotel-agent is not installed (python3 cannot import rotel: {}); \
             {INSTALL_HINT}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("no error message")
                .trim()
        ),
        Err(e) => panic!(
            "the OTLP collector rotel-agent was not found (cannot run python3 to locate it: {e}); \
             {INSTALL_HINT}"
        ),
    }
}

/// Two distinct loopback ports that were free a moment ago.
fn two_free_ports() -> (SocketAddr, SocketAddr) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    (
        a.local_addr().expect("local addr"),
        b.local_addr().expect("local addr"),
    )
}

/// A loopback address on which nothing listens (a collector that is down).
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr")
}

fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn capture(stream: impl Read + Send + 'static, output: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = strip_ansi(&String::from_utf8_lossy(&line));
                    if let Ok(mut out) = output.lock() {
                        out.push_str(&text);
                        if !text.ends_with('\n') {
                            out.push('\n');
                        }
                    }
                }
            }
        }
    })
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A TCP server on loopback that accepts connections and never answers: a collector
/// that hangs. Connections are held open until the value is dropped.
#[derive(Debug)]
pub struct SilentServer {
    addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentServer {
    /// Starts listening on a free loopback port.
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        SilentServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
