//! Which service a process is, and the entry point of a service process.

use std::error::Error;
use std::process::ExitCode;

use otel_core::export::prometheus::PrometheusExporter;

/// The variable a child process finds its role in (`scraper`, `content-processor`,
/// `search-engine`, `llm-orchestrator`).
pub const ROLE_VAR: &str = "MICROSERVICES_ROLE";

/// The variable holding the URL of the service a child calls next.
pub const NEXT_VAR: &str = "MICROSERVICES_NEXT";

/// One of the four services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Checks robots.txt, fetches pages (with a cache) and sends them on over HTTP.
    Scraper,
    /// Extracts text and scores it, then indexes it over gRPC.
    Processor,
    /// Embeds and indexes documents, finds related ones and asks for an answer.
    Search,
    /// Picks a model and calls the LLM API.
    Orchestrator,
}

impl Role {
    /// All roles, in start order: each one's downstream is started before it.
    pub const START_ORDER: [Role; 4] = [Role::Orchestrator, Role::Search, Role::Processor, Role::Scraper];

    /// The name in [`ROLE_VAR`], which is also the default `service.name`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Scraper => "scraper",
            Role::Processor => "content-processor",
            Role::Search => "search-engine",
            Role::Orchestrator => "llm-orchestrator",
        }
    }

    /// The role this process was started for, if it is a service child.
    ///
    /// # Errors
    ///
    /// When [`ROLE_VAR`] holds a name that is not a role.
    pub fn from_env() -> Result<Option<Role>, String> {
        let Ok(name) = std::env::var(ROLE_VAR) else {
            return Ok(None);
        };
        Role::START_ORDER
            .into_iter()
            .find(|role| role.name() == name)
            .map(Some)
            .ok_or_else(|| format!("{ROLE_VAR}={name:?} is not one of scraper, content-processor, search-engine, llm-orchestrator"))
    }
}

/// Runs this process as the service `role`: sets up telemetry under the role's default
/// service name (which `OTEL_SERVICE_NAME` overrides), serves until standard input
/// closes (the scraper: until its crawl is done), then flushes.
///
/// # Errors
///
/// Invalid telemetry configuration, a port that cannot be bound, or a missing
/// [`NEXT_VAR`].
pub fn serve_role(role: Role) -> Result<(), Box<dyn Error>> {
    // The content processor also answers Prometheus scrapes on its own port.
    let prometheus = (role == Role::Processor).then(PrometheusExporter::new);
    let mut builder = otel_core::Telemetry::builder()
        .default_service_name(role.name())
        .service_version(env!("CARGO_PKG_VERSION"));
    if let Some(exporter) = &prometheus {
        builder = builder.with_metric_reader(exporter.reader());
    }
    let telemetry = builder.init()?;
    // `log` records become OpenTelemetry logs carrying the current trace and span ids.
    otel_core::logs::init_log_bridge(log::LevelFilter::Info)?;
    otel_core::metrics::register_process_metrics()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let next = || std::env::var(NEXT_VAR).map_err(|_| format!("{NEXT_VAR} is not set"));
    let served = runtime.block_on(async {
        match role {
            Role::Scraper => super::scraper::run(&next()?).await,
            Role::Processor => {
                super::processor::serve(&next()?, prometheus, telemetry.prometheus_address()).await
            }
            Role::Search => super::search::serve(&next()?, telemetry.prometheus_address()).await,
            Role::Orchestrator => super::orchestrator::serve(telemetry.prometheus_address()).await,
        }
    });
    drop(runtime);
    // Flush before reporting how serving ended, so a failure still leaves its trace.
    let flushed = telemetry.shutdown();
    served?;
    Ok(flushed?)
}

/// The `main` of a harness-less test that starts the services from its own binary: when
/// [`ROLE_VAR`] names a role, this process serves it (it is one of the test's children);
/// otherwise it runs `test`, prints its line as libtest would, and succeeds (a failed
/// assertion panics, which fails the test).
pub fn serve_role_or_test(name: &str, test: impl FnOnce()) -> ExitCode {
    match Role::from_env() {
        Ok(Some(role)) => match serve_role(role) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{}: {e}", role.name());
                ExitCode::FAILURE
            }
        },
        Ok(None) => {
            test();
            println!("test {name} ... ok");
            ExitCode::SUCCESS
        }
        Err(e) => panic!("{e}"),
    }
}
