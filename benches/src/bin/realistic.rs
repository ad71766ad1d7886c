//! A small axum service written from the README, as a benchmark of what telemetry costs
//! a realistic request (`benches/realistic.sh` drives it with wrk).
//!
//! `GET /users/{id}` runs an `#[instrumented]` handler that looks the user up through an
//! `#[instrument_struct]` repository (SQLite, in memory) and makes one downstream call
//! through `HttpClientLayer` (hyper-util client) to `GET /slow` of the same process, a
//! handler that sleeps 3 ms. Both routes sit under `HttpServerLayer`. Per request: 5
//! spans (server, handler, repository, client, downstream server) and 7 metric
//! recordings (2 server durations, 1 client duration, `function.calls` and
//! `function.duration` of the handler and of the repository).
//!
//! Telemetry is configured only through `OTEL_*` variables and `otel_core::init()`, as a
//! user's service is: `OTEL_SDK_DISABLED=true` for the baseline.
//!
//! ```text
//! realistic serve PORT SECS   # serve on 127.0.0.1:PORT (0 picks one) for SECS seconds
//! realistic loop N            # N sequential requests in-process, then exit
//! ```
//! `serve` prints `listening on http://127.0.0.1:PORT` and, at the end,
//! `[check] requests=N` on stderr. `loop` sends each outer request through the router
//! with `tower::ServiceExt::oneshot` (the downstream call still goes over loopback), for
//! instruction counts under callgrind: Ir per request = ΔIr / ΔN between two runs.
//! Both run on a Tokio runtime with one worker thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use otel_core::{instrument_struct, instrumented};
use otel_tower::{HttpClientLayer, HttpClientService, HttpServerLayer};
use tower::ServiceExt;

const USAGE: &str = "usage: realistic serve PORT SECS | realistic loop N";

/// Rows in the users table; requests ask for ids in 1..=USERS.
const USERS: u64 = 1000;

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// A row of the users table.
struct User {
    id: u64,
    name: String,
}

/// The repository: one SQLite connection (a real service would pool them).
struct UserRepo {
    conn: Mutex<rusqlite::Connection>,
}

impl UserRepo {
    fn open() -> rusqlite::Result<Self> {
        let conn = rusqlite::Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
        {
            let mut insert = conn.prepare("INSERT INTO users (id, name) VALUES (?1, ?2)")?;
            for id in 1..=USERS {
                insert.execute(rusqlite::params![id as i64, format!("user-{id}")])?;
            }
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }
}

#[instrument_struct(kind = client, fields(db.system.name = "sqlite"))]
impl UserRepo {
    /// The user with this id, if any.
    async fn find(&self, id: u64) -> Result<Option<User>, rusqlite::Error> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut query = conn.prepare_cached("SELECT id, name FROM users WHERE id = ?1")?;
        let mut rows = query.query([id as i64])?;
        match rows.next()? {
            Some(row) => Ok(Some(User {
                id: row.get::<_, i64>(0)? as u64,
                name: row.get(1)?,
            })),
            None => Ok(None),
        }
    }
}

type HttpClient = HttpClientService<Client<HttpConnector, Empty<bytes::Bytes>>>;

/// What the handlers share.
struct App {
    repo: UserRepo,
    client: HttpClient,
    /// `http://127.0.0.1:PORT/slow`, the downstream call.
    slow: http::Uri,
}

/// Why a request failed, as the handler reports it.
#[derive(Debug)]
enum AppError {
    Db(rusqlite::Error),
    Downstream(String),
    NotFound,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Db(e) => write!(f, "database: {e}"),
            Self::Downstream(e) => write!(f, "downstream: {e}"),
            Self::NotFound => f.write_str("no such user"),
        }
    }
}

impl std::error::Error for AppError {}

/// The handler's work: the lookup and the downstream call.
#[instrumented(skip(app))]
async fn load_user(app: &App, id: u64) -> Result<String, AppError> {
    let user = app
        .repo
        .find(id)
        .await
        .map_err(AppError::Db)?
        .ok_or(AppError::NotFound)?;
    let request = http::Request::get(app.slow.clone())
        .body(Empty::new())
        .map_err(|e| AppError::Downstream(e.to_string()))?;
    let response = app
        .client
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| AppError::Downstream(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| AppError::Downstream(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        return Err(AppError::Downstream(format!("status {status}")));
    }
    Ok(format!(
        "{{\"id\":{},\"name\":\"{}\",\"quota\":{}}}",
        user.id,
        user.name,
        body.len()
    ))
}

async fn user(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Result<String, StatusCode> {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    load_user(&app, id).await.map_err(|e| match e {
        AppError::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    })
}

/// The downstream service: 3 ms of waiting (another service's work, not this CPU's).
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(3)).await;
    "7"
}

fn app(port: u16) -> Result<Router, String> {
    let repo = UserRepo::open().map_err(|e| format!("sqlite: {e}"))?;
    let client = tower::ServiceBuilder::new()
        .layer(HttpClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http());
    let slow_uri = format!("http://127.0.0.1:{port}/slow")
        .parse()
        .map_err(|e| format!("uri: {e}"))?;
    let state = Arc::new(App {
        repo,
        client,
        slow: slow_uri,
    });
    Ok(Router::new()
        .route("/users/{id}", get(user))
        .route("/slow", get(slow))
        .layer(HttpServerLayer::new())
        .with_state(state))
}

async fn serve(port: u16, secs: u64) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("realistic: listening on http://{addr}");
    axum::serve(listener, app(addr.port())?)
        .with_graceful_shutdown(tokio::time::sleep(Duration::from_secs(secs)))
        .await
        .map_err(|e| format!("serve: {e}"))
}

/// `n` outer requests through the router in-process; the downstream calls reach the
/// same router over loopback.
async fn run_loop(n: u64) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let router = app(port)?;
    let server = tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener,
        router.clone(),
    )));
    let mut bytes = 0;
    for i in 0..n {
        let request = http::Request::get(format!("/users/{}", i % USERS + 1))
            .header(http::header::HOST, format!("127.0.0.1:{port}"))
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let response = router.clone().oneshot(request).await.map_err(|e| e.to_string())?;
        if response.status() != StatusCode::OK {
            return Err(format!("request {i}: status {}", response.status()));
        }
        bytes += response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes()
            .len();
    }
    server.abort();
    eprintln!("realistic loop: {n} requests, {bytes} body bytes");
    Ok(())
}

enum Command {
    Serve { port: u16, secs: u64 },
    Loop { n: u64 },
}

fn parse_args() -> Result<Command, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, what: &str| -> Result<u64, String> {
        let raw = args.get(i).ok_or_else(|| format!("missing {what}; {USAGE}"))?;
        raw.parse().map_err(|e| format!("{what} {raw:?}: {e}; {USAGE}"))
    };
    match args.first().map(String::as_str) {
        Some("serve") => Ok(Command::Serve {
            port: u16::try_from(number(1, "PORT")?).map_err(|e| format!("PORT: {e}"))?,
            secs: number(2, "SECS")?,
        }),
        Some("loop") => Ok(Command::Loop { n: number(1, "N")? }),
        other => Err(format!("unknown command {other:?}; {USAGE}")),
    }
}

fn main() -> Result<(), String> {
    let command = parse_args()?;
    let telemetry = otel_core::init().map_err(|e| format!("telemetry: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        match command {
            Command::Serve { port, secs } => serve(port, secs).await,
            Command::Loop { n } => run_loop(n).await,
        }
    })?;
    drop(runtime);
    // Counted once everything queued was exported, so a figure can be checked.
    let flushed = telemetry.force_flush();
    let status = otel_core::telemetry_status();
    let _ = telemetry.shutdown();
    eprintln!(
        "[check] requests={} spans_exported={} spans_dropped={} flush={}",
        REQUESTS.load(Ordering::Relaxed),
        status.traces.exported,
        status.traces.dropped,
        if flushed.is_ok() { "ok" } else { "failed" }
    );
    Ok(())
}
