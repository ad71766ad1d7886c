//! `#[instrument_struct]` on inherent, generic and trait impl blocks.
#![cfg(not(otel_noop))]

use std::fmt::Debug;

use otel_core::opentelemetry::trace::{SpanKind, Status};
use otel_core::opentelemetry::Value;
use otel_core::testing::{self, metric_points, PointValue, SpanDataExt};
use otel_macros::instrument_struct;

#[derive(Debug)]
struct DbError(&'static str);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DbError {}

struct UserRepo {
    rows: Vec<(u64, String)>,
}

#[instrument_struct(kind = client, fields(db.system.name = "sqlite", db.namespace = "main"))]
impl UserRepo {
    /// Associated consts and types are untouched.
    const TABLE: &'static str = "users";

    fn new() -> Self {
        UserRepo {
            rows: vec![(1, "ada".into())],
        }
    }

    pub fn find(&self, id: u64) -> Result<&str, DbError> {
        self.rows
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, name)| name.as_str())
            .ok_or(DbError("no such row"))
    }

    #[instrumented(
        name = "users.insert",
        skip(name),
        fields(db.namespace = "replica", db.operation.name = "INSERT")
    )]
    pub fn insert(&mut self, id: u64, name: String) -> usize {
        self.rows.push((id, name));
        self.count()
    }

    #[no_instrument]
    fn count(&self) -> usize {
        self.rows.len()
    }

    const fn table() -> &'static str {
        Self::TABLE
    }

    pub async fn find_async(&self, id: u64) -> Result<String, DbError> {
        tokio::task::yield_now().await;
        self.find(id).map(str::to_owned)
    }
}

#[test]
fn every_method_gets_the_block_options_and_type_name() {
    let cap = testing::capture();
    let mut repo = UserRepo::new();
    assert_eq!(repo.find(1).ok(), Some("ada"));
    assert!(repo.find(9).is_err());
    assert_eq!(repo.insert(2, "bob".into()), 2);
    assert_eq!(UserRepo::table(), "users");
    assert_eq!(
        cap.tree(),
        "UserRepo::new [Client]\nUserRepo::find [Client]\nUserRepo::find [Client]\nusers.insert [Client]\n"
    );
    let finds = cap.spans_named("UserRepo::find");
    for find in &finds {
        assert_eq!(find.span_kind, SpanKind::Client);
        assert_eq!(find.attr_str("db.system.name").as_deref(), Some("sqlite"));
        assert_eq!(find.attr_str("db.namespace").as_deref(), Some("main"));
    }
    assert_eq!(finds[0].attr("id"), Some(&Value::I64(1)));
    assert_eq!(finds[0].status, Status::Unset);
    assert_eq!(finds[1].status, Status::error("no such row"));
    assert_eq!(finds[1].attr_str("error.type").as_deref(), Some("DbError"));

    // The method's own options win; fields are merged.
    let insert = cap.span("users.insert");
    assert_eq!(insert.span_kind, SpanKind::Client);
    assert_eq!(insert.attr("name"), None);
    assert_eq!(insert.attr("id"), Some(&Value::I64(2)));
    assert_eq!(insert.attr_str("db.system.name").as_deref(), Some("sqlite"));
    assert_eq!(insert.attr_str("db.namespace").as_deref(), Some("replica"));
    assert_eq!(insert.attr_str("db.operation.name").as_deref(), Some("INSERT"));

    let calls = metric_points("function.calls");
    let find_errors = calls.iter().find(|p| {
        p.attr("code.function.name") == Some(&Value::from("instrument_struct::UserRepo::find"))
            && p.attr("result") == Some(&Value::from("error"))
    });
    assert_eq!(find_errors.map(|p| &p.value), Some(&PointValue::Sum(1.0)));
}

#[tokio::test]
async fn async_methods_in_an_instrumented_block() {
    let cap = testing::capture();
    let repo = UserRepo::new();
    assert_eq!(repo.find_async(1).await.ok().as_deref(), Some("ada"));
    assert_eq!(
        cap.tree(),
        "UserRepo::new [Client]\nUserRepo::find_async [Client]\n  UserRepo::find [Client]\n"
    );
}

struct Cache<T> {
    items: Vec<T>,
}

#[instrument_struct(skip_all, metrics = false)]
impl<T: Debug + Clone> Cache<T>
where
    T: PartialEq,
{
    fn get(&self, index: usize) -> Option<T> {
        self.items.get(index).cloned()
    }

    #[instrumented(skip(value), ret)]
    fn contains(&self, value: &T, hint: usize) -> bool {
        let _ = hint;
        self.items.contains(value)
    }
}

#[test]
fn generic_impl_blocks_and_block_level_skip() {
    let cap = testing::capture();
    let cache = Cache { items: vec![3, 4] };
    assert_eq!(cache.get(1), Some(4));
    assert!(cache.contains(&3, 7));
    let get = cap.span("Cache::get");
    assert_eq!(get.attr("index"), None, "skip_all from the block");
    let contains = cap.span("Cache::contains");
    // The method's `skip(value)` replaces the block's `skip_all`.
    assert_eq!(contains.attr("hint"), Some(&Value::I64(7)));
    assert_eq!(contains.attr("value"), None);
    assert_eq!(contains.attr("return.value"), Some(&Value::Bool(true)));
    let calls = metric_points("function.calls");
    assert!(!calls.iter().any(|p| p
        .attr("code.function.name")
        .is_some_and(|v| v.as_str().starts_with("instrument_struct::Cache"))));
}

trait Codec {
    type Output;
    fn encode(&self, input: &str) -> Self::Output;
    fn name(&self) -> &'static str;
}

struct Upper;

#[instrument_struct(ret)]
impl Codec for Upper {
    type Output = String;

    fn encode(&self, input: &str) -> Self::Output {
        input.to_uppercase()
    }

    fn name(&self) -> &'static str {
        "upper"
    }
}

#[test]
fn trait_impl_blocks() {
    let cap = testing::capture();
    assert_eq!(Upper.encode("abc"), "ABC");
    assert_eq!(Upper.name(), "upper");
    assert_eq!(
        cap.span("Upper::encode").attr_str("return.value").as_deref(),
        Some("ABC")
    );
    assert_eq!(
        cap.span("Upper::name").attr_str("return.value").as_deref(),
        Some("upper")
    );
}

#[async_trait::async_trait]
trait Client {
    async fn call(&self, path: &str) -> Result<u16, DbError>;
}

struct HttpClient;
struct GrpcClient;

// Inside the block `#[instrumented(..)]` is read by `#[instrument_struct]`, so it needs no
// import.

// `#[async_trait]` first: `#[instrument_struct]` sees the boxed futures.
#[async_trait::async_trait]
#[instrument_struct(kind = client)]
impl Client for HttpClient {
    async fn call(&self, path: &str) -> Result<u16, DbError> {
        tokio::task::yield_now().await;
        if path.is_empty() {
            return Err(DbError("empty path"));
        }
        Ok(200)
    }
}

// `#[instrument_struct]` first: it sees `async fn`s.
#[instrument_struct(kind = client)]
#[async_trait::async_trait]
impl Client for GrpcClient {
    async fn call(&self, path: &str) -> Result<u16, DbError> {
        tokio::task::yield_now().await;
        if path.is_empty() {
            return Err(DbError("empty path"));
        }
        Ok(0)
    }
}

#[tokio::test]
async fn async_trait_in_either_order() {
    let cap = testing::capture();
    assert_eq!(HttpClient.call("/a").await.ok(), Some(200));
    assert!(HttpClient.call("").await.is_err());
    assert_eq!(GrpcClient.call("/b").await.ok(), Some(0));
    assert!(GrpcClient.call("").await.is_err());
    for name in ["HttpClient::call", "GrpcClient::call"] {
        let spans = cap.spans_named(name);
        assert_eq!(spans.len(), 2, "{}", cap.tree());
        assert_eq!(spans[0].span_kind, SpanKind::Client);
        assert_eq!(spans[0].status, Status::Unset);
        assert_eq!(spans[1].status, Status::error("empty path"));
        assert_eq!(spans[1].attr_str("path").as_deref(), Some(""));
    }
}
