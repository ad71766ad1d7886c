//! The backend's database: users, documents with their embedding vectors and media, and
//! the query log, in SQLite (the seed's ZeroDB). Every method is a span
//! `Store::method` with `db.system.name`, `db.operation.name`, `db.collection.name` and
//! the query text, from one `#[instrument_struct]` and a line per method.

use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute::DB_RESPONSE_RETURNED_ROWS;
use otel_core::instrument_struct;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use super::apis::embed;

/// Who is searching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub id: String,
    /// Role: `member`, `instructor` or `admin`.
    pub role: String,
}

/// A document found by the vector search.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// Row id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Text given to the LLM as context.
    pub body: String,
}

/// A video or image attached to a document.
#[derive(Debug, Clone, Serialize)]
pub struct Media {
    /// The document it belongs to.
    pub document_id: i64,
    /// `video` or `image`.
    pub kind: String,
    /// Where it is.
    pub url: String,
}

/// One row of the query log.
#[derive(Debug)]
pub struct QueryLogEntry<'a> {
    /// Who asked.
    pub user_id: &'a str,
    /// The normalised query.
    pub query: &'a str,
    /// End-to-end latency of the search.
    pub latency_ms: u64,
    /// Whether the answer came from the cache.
    pub cached: bool,
}

const SCHEMA: &str = "
CREATE TABLE users (token TEXT PRIMARY KEY, id TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE vectors (document_id INTEGER PRIMARY KEY, vector TEXT NOT NULL);
CREATE TABLE media (document_id INTEGER NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL);
CREATE TABLE query_log (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, query TEXT NOT NULL,
                        latency_ms INTEGER NOT NULL, cached INTEGER NOT NULL);
INSERT INTO users VALUES ('tok-alice', 'u-1001', 'member'), ('tok-bruno', 'u-1002', 'instructor'),
                         ('tok-chen', 'u-1003', 'admin');
";

const DOCUMENTS: [(&str, &str); 8] = [
    (
        "Tying the belt",
        "How to tie a karate belt: wrap twice, cross, tuck and pull.",
    ),
    (
        "Belt ranks",
        "Belt ranks go from white to black; each rank needs a grading.",
    ),
    (
        "Grading schedule",
        "Gradings are held every quarter; register a month ahead.",
    ),
    (
        "Tournament rules",
        "Tournament bouts last two minutes; points for clean technique.",
    ),
    (
        "Tournament schedule",
        "The national tournament is in June; regional ones in spring.",
    ),
    (
        "Dojo etiquette",
        "Bow when entering the dojo and when stepping on the mat.",
    ),
    ("Stretching", "Stretch hips and hamstrings before kicking drills."),
    (
        "Instructor certification",
        "Instructors need a black belt and a first-aid course.",
    ),
];

/// The database; one connection behind a mutex (SQLite serialises writers anyway).
pub struct Store {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

#[instrument_struct(fields(db.system.name = "sqlite"))]
impl Store {
    /// An in-memory database with three users and eight indexed documents.
    #[no_instrument]
    pub fn open() -> rusqlite::Result<Store> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        for (i, (title, body)) in DOCUMENTS.iter().enumerate() {
            let id = i as i64 + 1;
            conn.execute(
                "INSERT INTO documents VALUES (?1, ?2, ?3)",
                params![id, title, body],
            )?;
            let vector: Vec<String> = embed(&format!("{title} {body}"))
                .iter()
                .map(f32::to_string)
                .collect();
            conn.execute(
                "INSERT INTO vectors VALUES (?1, ?2)",
                params![id, vector.join(",")],
            )?;
            let kind = if id % 2 == 0 { "video" } else { "image" };
            let url = format!("https://media.example/{kind}s/{id}");
            conn.execute("INSERT INTO media VALUES (?1, ?2, ?3)", params![id, kind, url])?;
        }
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    #[no_instrument]
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user a bearer token belongs to (the token itself is never recorded).
    #[instrumented(fields(
        db.operation.name = "SELECT",
        db.collection.name = "users",
        db.query.text = "SELECT id, role FROM users WHERE token = ?1"
    ))]
    pub fn user_for_token(&self, token: &str) -> rusqlite::Result<Option<User>> {
        self.conn()
            .query_row("SELECT id, role FROM users WHERE token = ?1", [token], |row| {
                Ok(User {
                    id: row.get(0)?,
                    role: row.get(1)?,
                })
            })
            .optional()
    }

    /// The `top_k` documents closest to `vector` (cosine similarity), best first.
    #[instrumented(
        skip(vector),
        fields(
            db.operation.name = "SELECT",
            db.collection.name = "vectors",
            db.query.text = "SELECT document_id, vector FROM vectors"
        )
    )]
    pub fn nearest(&self, vector: &[f32], top_k: usize) -> rusqlite::Result<Vec<(i64, f32)>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached("SELECT document_id, vector FROM vectors")?;
        let rows = statement.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))?;
        let mut scored = Vec::new();
        for row in rows {
            let (id, text) = row?;
            let score: f32 = text
                .split(',')
                .zip(vector)
                .map(|(x, y)| x.parse::<f32>().unwrap_or(0.0) * y)
                .sum();
            scored.push((id, score));
        }
        otel_core::set_attribute(KeyValue::new(DB_RESPONSE_RETURNED_ROWS, scored.len() as i64));
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(top_k);
        Ok(scored)
    }

    /// The documents with these ids, in the order given.
    #[instrumented(fields(
        db.operation.name = "SELECT",
        db.collection.name = "documents",
        db.query.text = "SELECT id, title, body FROM documents WHERE id IN (…)"
    ))]
    pub fn documents(&self, ids: &[i64]) -> rusqlite::Result<Vec<Document>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, title, body FROM documents WHERE id IN ({})",
            placeholders(ids.len())
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let mut documents = statement
            .query_map(params_from_iter(ids), |row| {
                Ok(Document {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    body: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        documents.sort_by_key(|d| ids.iter().position(|id| *id == d.id));
        otel_core::set_attribute(KeyValue::new(DB_RESPONSE_RETURNED_ROWS, documents.len() as i64));
        Ok(documents)
    }

    /// The media of these documents.
    #[instrumented(fields(
        db.operation.name = "SELECT",
        db.collection.name = "media",
        db.query.text = "SELECT document_id, kind, url FROM media WHERE document_id IN (…)"
    ))]
    pub fn media(&self, ids: &[i64]) -> rusqlite::Result<Vec<Media>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT document_id, kind, url FROM media WHERE document_id IN ({})",
            placeholders(ids.len())
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let media = statement
            .query_map(params_from_iter(ids), |row| {
                Ok(Media {
                    document_id: row.get(0)?,
                    kind: row.get(1)?,
                    url: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        otel_core::set_attribute(KeyValue::new(DB_RESPONSE_RETURNED_ROWS, media.len() as i64));
        Ok(media)
    }

    /// Appends a row to the query log.
    #[instrumented(skip(entry), fields(
        db.operation.name = "INSERT",
        db.collection.name = "query_log",
        db.query.text = "INSERT INTO query_log (user_id, query, latency_ms, cached) VALUES (?1, ?2, ?3, ?4)"
    ))]
    pub fn log_query(&self, entry: &QueryLogEntry<'_>) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO query_log (user_id, query, latency_ms, cached) VALUES (?1, ?2, ?3, ?4)",
            params![entry.user_id, entry.query, entry.latency_ms as i64, entry.cached],
        )?;
        Ok(())
    }
}

/// `?, ?, ?` for `n` values (at least one, so the SQL stays valid).
fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}
