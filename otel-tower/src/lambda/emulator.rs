//! A Lambda Runtime API emulator on 127.0.0.1 (feature `lambda-emulator`), to run a
//! `lambda_runtime` function locally or in tests: the real runtime, your real handler
//! and [`LambdaLayer`](super::LambdaLayer), with no AWS account and no `cargo lambda`.
//!
//! [`RuntimeApi`] serves the three endpoints a runtime uses (`invocation/next`,
//! `invocation/{id}/response`, `invocation/{id}/error`): it hands out the events you
//! queued, one per `next` call, holds the long poll when none is left (as Lambda does
//! between invocations), and records what the function answered. `lambda_runtime` finds
//! it through `AWS_LAMBDA_RUNTIME_API`; [`RuntimeApi::environment`] lists that variable
//! and the other ones the runtime requires.
//!
//! ```no_run
//! use std::time::Duration;
//! use lambda_runtime::{service_fn, Error, LambdaEvent};
//! use otel_tower::lambda::emulator::{Invocation, RuntimeApi};
//! use otel_tower::lambda::LambdaLayer;
//! use serde_json::{json, Value};
//! use tower::ServiceBuilder;
//!
//! async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
//!     Ok(json!({ "echo": event.payload }))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let api = RuntimeApi::start().await?;
//! for (name, value) in api.environment("text-analysis") {
//!     std::env::set_var(name, value); // before init(): the resource reads them too
//! }
//! let _telemetry = otel_core::init()?;
//! api.push(Invocation::new("req-1", json!({ "text": "hello" })));
//!
//! let service = ServiceBuilder::new().layer(LambdaLayer::new()).service(service_fn(handler));
//! let function = tokio::spawn(lambda_runtime::run(service));
//! let answers = api.wait_for_answers(1, Duration::from_secs(10)).await;
//! function.abort(); // a runtime never returns by itself
//! assert_eq!(answers[0].body, json!({ "echo": { "text": "hello" } }));
//! # Ok(())
//! # }
//! ```
//!
//! Only for local runs and tests: it listens on 127.0.0.1 only, keeps every answer in
//! memory, and does not enforce deadlines.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";

/// The invoked ARN when an [`Invocation`] names none.
pub const DEFAULT_INVOKED_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:local";

/// One event to hand to the function, with the headers Lambda sends along.
#[derive(Debug, Clone)]
pub struct Invocation {
    request_id: String,
    payload: Value,
    invoked_function_arn: String,
    timeout: Duration,
    xray_trace_header: Option<String>,
}

impl Invocation {
    /// An event with request id `request_id`, the ARN [`DEFAULT_INVOKED_ARN`] and a
    /// deadline 60 seconds after it is handed out.
    ///
    /// ```
    /// use otel_tower::lambda::emulator::Invocation;
    /// let event = Invocation::new("req-1", serde_json::json!({"fail": true}));
    /// assert_eq!(event.request_id(), "req-1");
    /// ```
    pub fn new(request_id: impl Into<String>, payload: Value) -> Self {
        Self {
            request_id: request_id.into(),
            payload,
            invoked_function_arn: DEFAULT_INVOKED_ARN.to_owned(),
            timeout: Duration::from_secs(60),
            xray_trace_header: None,
        }
    }

    /// The ARN the function was invoked through (`lambda-runtime-invoked-function-arn`),
    /// e.g. one ending in an alias.
    ///
    /// ```
    /// # use otel_tower::lambda::emulator::Invocation;
    /// let event = Invocation::new("req-1", serde_json::Value::Null)
    ///     .with_invoked_arn("arn:aws:lambda:eu-west-1:123456789012:function:f:live");
    /// # let _ = event;
    /// ```
    pub fn with_invoked_arn(mut self, arn: impl Into<String>) -> Self {
        self.invoked_function_arn = arn.into();
        self
    }

    /// How long after it is handed out the invocation's deadline is
    /// (`lambda-runtime-deadline-ms`); the layer's flush is bounded by it.
    ///
    /// ```
    /// # use otel_tower::lambda::emulator::Invocation;
    /// # use std::time::Duration;
    /// let event = Invocation::new("req-1", serde_json::Value::Null).with_timeout(Duration::from_secs(3));
    /// # let _ = event;
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The X-Ray header Lambda sends (`lambda-runtime-trace-id`), e.g.
    /// `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.
    ///
    /// ```
    /// # use otel_tower::lambda::emulator::Invocation;
    /// let event = Invocation::new("req-1", serde_json::Value::Null)
    ///     .with_xray_trace_header("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
    /// # let _ = event;
    /// ```
    pub fn with_xray_trace_header(mut self, header: impl Into<String>) -> Self {
        self.xray_trace_header = Some(header.into());
        self
    }

    /// The request id (`lambda-runtime-aws-request-id`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    fn response(&self) -> Response<Full<Bytes>> {
        let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + self.timeout;
        let mut response = Response::builder()
            .header("lambda-runtime-aws-request-id", &self.request_id)
            .header("lambda-runtime-deadline-ms", deadline.as_millis().to_string())
            .header("lambda-runtime-invoked-function-arn", &self.invoked_function_arn)
            .header("content-type", "application/json");
        if let Some(header) = &self.xray_trace_header {
            response = response.header("lambda-runtime-trace-id", header);
        }
        response
            .body(Full::new(Bytes::from(self.payload.to_string())))
            .unwrap_or_else(|_| bad_request("the invocation's headers are not valid HTTP header values"))
    }
}

/// How the function answered an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `POST invocation/{id}/response`: the handler returned `Ok`.
    Response,
    /// `POST invocation/{id}/error`: the handler returned `Err` or panicked.
    Error,
}

impl Outcome {
    /// `"response"` or `"error"`, the last segment of the path the runtime posted to.
    ///
    /// ```
    /// assert_eq!(otel_tower::lambda::emulator::Outcome::Error.as_str(), "error");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Response => "response",
            Outcome::Error => "error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The invocation's request id.
    pub request_id: String,
    /// A response or an error.
    pub outcome: Outcome,
    /// The posted body as JSON (`Null` when it was not JSON); for errors, the runtime's
    /// `{"errorType": .., "errorMessage": ..}`.
    pub body: Value,
}

/// An exchange with the function, as it happens; see [`RuntimeApi::observe`].
#[derive(Debug, Clone, Copy)]
pub enum Exchange<'a> {
    /// An invocation was handed out in answer to `next`.
    HandedOut(&'a str),
    /// The function answered an invocation.
    Answered(&'a Answer),
}

type Observer = Box<dyn Fn(Exchange<'_>) + Send + Sync>;

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Invocation>>,
    answers: Mutex<Vec<Answer>>,
    observer: Mutex<Option<Observer>>,
    /// Wakes `next` calls waiting for an event and callers waiting for answers.
    queued: Notify,
    answered: Notify,
}

/// A Lambda Runtime API emulator listening on 127.0.0.1 on a port the OS chose; see the
/// [module documentation](self). Dropping it stops the server.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Binds 127.0.0.1 on a free port and serves on the current Tokio runtime.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let serving = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            // The runtime opens one connection and keeps it; errors end only that one.
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&serving);
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(Arc::clone(&shared), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RuntimeApi { addr, shared, server })
    }

    /// The address to put in `AWS_LAMBDA_RUNTIME_API` (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The variables `lambda_runtime` requires at start, for a function named
    /// `function_name`: `AWS_LAMBDA_RUNTIME_API` (this emulator),
    /// `AWS_LAMBDA_FUNCTION_NAME`, `_VERSION` (`$LATEST`), `_MEMORY_SIZE` (128),
    /// `AWS_LAMBDA_LOG_STREAM_NAME` and `AWS_LAMBDA_LOG_GROUP_NAME`. Set them before
    /// `otel_core::init()`, which describes the function in the resource from them.
    pub fn environment(&self, function_name: &str) -> [(&'static str, String); 6] {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local/[$LATEST]emulator".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
        ]
    }

    /// Queues an invocation; the function receives queued invocations in order.
    pub fn push(&self, invocation: Invocation) {
        lock(&self.shared.queue).push_back(invocation);
        self.shared.queued.notify_one();
    }

    /// Calls `observer` on every hand-out and answer, in the order they happen, on the
    /// emulator's task (keep it short): to see what the function exported before it
    /// answered, for example. Replaces any previous observer.
    pub fn observe(&self, observer: impl Fn(Exchange<'_>) + Send + Sync + 'static) {
        *lock(&self.shared.observer) = Some(Box::new(observer));
    }

    /// The answers received so far, in order.
    pub fn answers(&self) -> Vec<Answer> {
        lock(&self.shared.answers).clone()
    }

    /// Waits until `count` answers have arrived or `timeout` has passed, and returns the
    /// answers received by then (fewer than `count` on timeout).
    pub async fn wait_for_answers(&self, count: usize, timeout: Duration) -> Vec<Answer> {
        let deadline = Instant::now() + timeout;
        loop {
            let answered = self.shared.answered.notified();
            let answers = self.answers();
            let left = deadline.saturating_duration_since(Instant::now());
            if answers.len() >= count || left.is_zero() {
                return answers;
            }
            let _ = tokio::time::timeout(left, answered).await;
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    if path == NEXT {
        let invocation = loop {
            let queued = shared.queued.notified();
            if let Some(invocation) = lock(&shared.queue).pop_front() {
                break invocation;
            }
            // None left: hold the long poll, as Lambda does between invocations.
            queued.await;
        };
        notify(&shared, Exchange::HandedOut(&invocation.request_id));
        return Ok(invocation.response());
    }
    let answer = path
        .strip_prefix(INVOCATION)
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(id, kind)| {
            let outcome = match kind {
                "response" => Outcome::Response,
                "error" => Outcome::Error,
                _ => return None,
            };
            Some((id.to_owned(), outcome))
        });
    let Some((request_id, outcome)) = answer else {
        return Ok(bad_request("not a Runtime API path this emulator serves"));
    };
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = Answer {
        request_id,
        outcome,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    notify(&shared, Exchange::Answered(&answer));
    lock(&shared.answers).push(answer);
    shared.answered.notify_waiters();
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default())
}

fn notify(shared: &Shared, exchange: Exchange<'_>) {
    if let Some(observer) = lock(&shared.observer).as_ref() {
        observer(exchange);
    }
}

fn bad_request(message: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = http::StatusCode::BAD_REQUEST;
    response
}

/// A panicking observer must not stop the emulator: the data is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
