//! The seed microservices rebuilt: a scraper, a content processor, a search engine and
//! an LLM orchestrator, each a process of its own with its own `service.name`, with
//! one trace per scraped page across all four. Run it with
//! `cargo run --example microservices`; see `examples/microservices/mod.rs`.

use std::process::ExitCode;

use otel_examples::microservices::{self, Launch, Role};

fn main() -> ExitCode {
    let outcome = match Role::from_env() {
        // A child: this process is one of the services.
        Ok(Some(role)) => microservices::serve_role(role),
        Ok(None) => Launch::current_exe()
            .map_err(Into::into)
            .and_then(|launch| microservices::run(&launch))
            .map(|report| print!("{report}")),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("microservices: {e}");
            ExitCode::FAILURE
        }
    }
}
