//! The database manager: SQLite through `rusqlite`, with a small connection pool.
//!
//! `#[instrument_struct(kind = client, ..)]` makes every query a CLIENT span with the
//! database semantic conventions (`db.system.name`, `db.namespace`, and per query
//! `db.operation.name`, `db.collection.name`, `db.query.text`), named
//! `{operation} {collection}` as the conventions ask, plus the `function.duration`
//! histogram per query; errors set the span status and `error.type`. The pool is
//! observed by two gauges (`db.client.connection.count`, idle and used).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::KeyValue;
use otel_core::instrument_struct;
use otel_core::metrics::GaugeValue;
use rusqlite::{params, Connection, OptionalExtension};

/// A flashcard: a word and its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The word.
    pub word: String,
    /// What the model wrote about it.
    pub explanation: String,
}

/// A pool of connections to one shared in-memory database.
#[derive(Debug)]
pub struct Database {
    idle: Mutex<Vec<Connection>>,
    size: usize,
    used: AtomicUsize,
}

/// The database could not answer.
pub type DbError = rusqlite::Error;

const URI: &str = "file:flashcards?mode=memory&cache=shared";
const CREATE: &str =
    "CREATE TABLE IF NOT EXISTS flashcards (word TEXT PRIMARY KEY, explanation TEXT NOT NULL)";
const SELECT_CARD: &str = "SELECT word, explanation FROM flashcards WHERE word = ?1";
const INSERT_CARD: &str = "INSERT OR REPLACE INTO flashcards (word, explanation) VALUES (?1, ?2)";
const COUNT_CARDS: &str = "SELECT COUNT(*) FROM flashcards";

#[instrument_struct(
    kind = client,
    skip_all,
    fields(db.system.name = "sqlite", db.namespace = "flashcards")
)]
impl Database {
    /// Opens `size` connections and creates the table.
    #[instrumented(
        name = "CREATE flashcards",
        fields(db.operation.name = "CREATE", db.collection.name = "flashcards", db.query.text = CREATE)
    )]
    pub fn open(size: usize) -> Result<Arc<Database>, DbError> {
        let flags = rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let idle = (0..size.max(1))
            .map(|_| Connection::open_with_flags(URI, flags))
            .collect::<Result<Vec<_>, _>>()?;
        idle[0].execute(CREATE, [])?;
        let db = Arc::new(Database {
            size: idle.len(),
            idle: Mutex::new(idle),
            used: AtomicUsize::new(0),
        });
        db.observe_pool();
        Ok(db)
    }

    /// The card for `word`, if stored.
    #[instrumented(
        name = "SELECT flashcards",
        fields(db.operation.name = "SELECT", db.collection.name = "flashcards", db.query.text = SELECT_CARD)
    )]
    pub fn find_card(&self, word: &str) -> Result<Option<Card>, DbError> {
        let card = self.with_connection(|c| {
            c.query_row(SELECT_CARD, params![word], |row| {
                Ok(Card {
                    word: row.get(0)?,
                    explanation: row.get(1)?,
                })
            })
            .optional()
        })?;
        otel_core::set_attribute(KeyValue::new(
            "db.response.returned_rows",
            i64::from(card.is_some()),
        ));
        Ok(card)
    }

    /// Stores the cards in one transaction.
    #[instrumented(
        name = "INSERT flashcards",
        fields(db.operation.name = "INSERT", db.collection.name = "flashcards", db.query.text = INSERT_CARD,
               db.operation.batch.size = cards.len() as i64)
    )]
    pub fn insert_cards(&self, cards: &[Card]) -> Result<(), DbError> {
        self.with_connection(|c| {
            let tx = c.transaction()?;
            for card in cards {
                tx.execute(INSERT_CARD, params![card.word, card.explanation])?;
            }
            tx.commit()
        })
    }

    /// How many cards are stored.
    #[instrumented(
        name = "SELECT flashcards",
        fields(db.operation.name = "SELECT", db.collection.name = "flashcards", db.query.text = COUNT_CARDS)
    )]
    pub fn count_cards(&self) -> Result<i64, DbError> {
        self.with_connection(|c| c.query_row(COUNT_CARDS, [], |row| row.get(0)))
    }

    /// Runs `f` on an idle connection; waits for none (the pool is sized for the
    /// callers), opening a spare connection if all are in use.
    #[no_instrument]
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let pooled = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut connection = match pooled {
            Some(c) => c,
            None => Connection::open_with_flags(
                URI,
                rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )?,
        };
        self.used.fetch_add(1, Ordering::Relaxed);
        let result = f(&mut connection);
        self.used.fetch_sub(1, Ordering::Relaxed);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.size {
            idle.push(connection);
        }
        result
    }

    /// The pool gauges, read at each metric collection; nothing once the pool is gone.
    #[no_instrument]
    fn observe_pool(self: &Arc<Self>) {
        let pool = Arc::downgrade(self);
        pool_gauge("idle", move || {
            pool.upgrade()
                .map(|db| db.idle.lock().map(|i| i.len()).unwrap_or(0))
        });
        let pool = Arc::downgrade(self);
        pool_gauge("used", move || {
            pool.upgrade().map(|db| db.used.load(Ordering::Relaxed))
        });
    }
}

/// One `db.client.connection.count` series (`db.client.connection.state` = `state`).
fn pool_gauge<T, F>(state: &'static str, read: F)
where
    T: GaugeValue,
    F: Fn() -> T + Send + Sync + 'static,
{
    let registered = otel_core::metrics::observable_gauge("db.client.connection.count", read)
        .with_unit("{connection}")
        .with_description("Connections of the pool, by state")
        .with_attributes([
            KeyValue::new("db.client.connection.pool.name", "flashcards"),
            KeyValue::new("db.client.connection.state", state),
        ])
        .build();
    if let Err(e) = registered {
        tracing::warn!(error = %e, "pool gauge not registered");
    }
}
