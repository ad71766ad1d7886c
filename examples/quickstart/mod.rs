//! The quick start: a small bookshop API, instrumented with one `init()`, one layer on
//! each side of HTTP and two attributes.
//!
//! - the axum server gets [`HttpServerLayer`]: a SERVER span and the
//!   `http.server.request.duration` histogram per request, named by route;
//! - the reqwest client gets [`HttpClientMiddleware`]: a CLIENT span per call and the
//!   trace context in the outgoing headers, so both sides share one trace;
//! - `#[instrumented]` gives [`place_order`] and [`charge`] a span and call/duration
//!   metrics each; `#[instrument_struct]` does it for every method of [`BookRepo`].
//!
//! [`run`] starts the server on a free port of 127.0.0.1, sends a handful of requests
//! (one of them fails: the book is out of stock) and returns their statuses. With no
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, each trace is drawn on stderr as it ends and the
//! metrics are printed when the telemetry guard drops.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otel_core::{instrument_struct, instrumented};
use otel_tower::client::UrlTemplate;
use otel_tower::{HttpClientMiddleware, HttpServerLayer};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// A book on the shelf.
#[derive(Debug, Serialize)]
pub struct Book {
    /// Row id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Price in cents.
    pub price: i64,
    /// Copies left.
    pub stock: i64,
}

/// Why an order failed.
#[derive(Debug)]
pub enum ShopError {
    /// No book with that id.
    NotFound,
    /// The book exists but no copy is left.
    OutOfStock,
    /// The database failed.
    Db(rusqlite::Error),
}

impl std::fmt::Display for ShopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShopError::NotFound => f.write_str("no such book"),
            ShopError::OutOfStock => f.write_str("out of stock"),
            ShopError::Db(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for ShopError {}

impl From<rusqlite::Error> for ShopError {
    fn from(e: rusqlite::Error) -> Self {
        ShopError::Db(e)
    }
}

impl IntoResponse for ShopError {
    fn into_response(self) -> Response {
        let status = match self {
            ShopError::NotFound => StatusCode::NOT_FOUND,
            ShopError::OutOfStock => StatusCode::CONFLICT,
            ShopError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}

/// The books table in an in-memory SQLite database.
pub struct BookRepo {
    conn: Mutex<Connection>,
}

// Every method below is a span `BookRepo::method` with these fields, plus call and
// duration metrics; a method's own #[instrumented] adds to them.
#[instrument_struct(fields(db.system.name = "sqlite"))]
impl BookRepo {
    /// Opens the database with two books, one of them sold out.
    #[no_instrument]
    pub fn open() -> rusqlite::Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, price INTEGER, stock INTEGER);
             INSERT INTO books VALUES (1, 'The Rust Programming Language', 3999, 3),
                                      (2, 'Zero To Production', 4500, 0);",
        )?;
        Ok(BookRepo {
            conn: Mutex::new(conn),
        })
    }

    /// The book with this id, if any.
    #[instrumented(fields(db.query.text = "SELECT * FROM books WHERE id = ?1"))]
    pub fn find(&self, id: i64) -> rusqlite::Result<Option<Book>> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        conn.query_row(
            "SELECT id, title, price, stock FROM books WHERE id = ?1",
            [id],
            |row| {
                Ok(Book {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    price: row.get(2)?,
                    stock: row.get(3)?,
                })
            },
        )
        .optional()
    }

    /// Takes one copy off the shelf; false when none was left.
    #[instrumented(fields(db.query.text = "UPDATE books SET stock = stock - 1 WHERE id = ?1"))]
    pub fn take_one(&self, id: i64) -> rusqlite::Result<bool> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = conn.execute(
            "UPDATE books SET stock = stock - 1 WHERE id = ?1 AND stock > 0",
            params![id],
        )?;
        Ok(changed == 1)
    }
}

/// Places an order: a span `place_order` whose children are the repository calls and
/// the payment; an `Err` marks it as an error with `error.type`.
#[instrumented(skip(repo))]
pub async fn place_order(repo: &BookRepo, book_id: i64) -> Result<Book, ShopError> {
    let book = repo.find(book_id)?.ok_or(ShopError::NotFound)?;
    if !repo.take_one(book_id)? {
        return Err(ShopError::OutOfStock);
    }
    charge(book.price).await;
    Ok(book)
}

/// Charges the card (a stand-in that takes a few milliseconds).
#[instrumented]
pub async fn charge(cents: i64) {
    tokio::time::sleep(std::time::Duration::from_millis(3 + cents as u64 % 5)).await;
}

async fn get_book(State(repo): State<Arc<BookRepo>>, Path(id): Path<i64>) -> Result<Json<Book>, ShopError> {
    Ok(Json(repo.find(id)?.ok_or(ShopError::NotFound)?))
}

async fn order(
    State(repo): State<Arc<BookRepo>>,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<Book>), ShopError> {
    Ok((StatusCode::CREATED, Json(place_order(&repo, id).await?)))
}

/// The shop's routes, with the server layer.
pub fn router(repo: Arc<BookRepo>) -> Router {
    Router::new()
        .route("/books/{id}", get(get_book))
        .route("/orders/{id}", post(order))
        .with_state(repo)
        .layer(HttpServerLayer::new())
}

/// Serves the shop on 127.0.0.1 and sends it three requests: look a book up, order it,
/// order a sold-out one (409, the failing one). Returns each request and its status.
pub async fn run() -> Result<Vec<(String, u16)>, Box<dyn std::error::Error + Send + Sync>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(axum::serve(listener, router(Arc::new(BookRepo::open()?))).into_future());

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new())
        .build();
    let requests = [
        ("GET", "/books/{id}", 1),
        ("POST", "/orders/{id}", 1),
        ("POST", "/orders/{id}", 2),
    ];
    let mut statuses = Vec::new();
    for (method, template, id) in requests {
        let url = format!("{base}{}", template.replace("{id}", &id.to_string()));
        let request = match method {
            "GET" => client.get(&url),
            _ => client.post(&url),
        };
        // The template names the CLIENT span `GET /books/{id}` like the server's.
        let response = request.with_extension(UrlTemplate::new(template)).send().await?;
        statuses.push((format!("{method} {url}"), response.status().as_u16()));
    }
    server.abort();
    Ok(statuses)
}
