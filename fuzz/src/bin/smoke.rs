//! Runs every fuzz target (or the ones named) over its seed corpus and deterministic
//! mutations, a bounded time each, and exits non-zero on the first broken invariant,
//! printing the input and saving it for `fuzz <target> FILE`.
//!
//! ```text
//! cargo run --release -p otel-fuzz --bin smoke -- [--seconds N] [--executions N] [--seed N] [TARGET..]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use otel_fuzz::smoke::{run, Budget};
use otel_fuzz::{Target, TARGETS};

struct Options {
    seconds: f64,
    executions: u64,
    seed: u64,
    targets: Vec<&'static Target>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        seconds: 8.0,
        executions: u64::MAX,
        seed: 0x5eed,
        targets: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => {
                options.seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?
            }
            "--executions" => {
                options.executions = value("--executions")?
                    .parse()
                    .map_err(|e| format!("--executions: {e}"))?
            }
            "--seed" => options.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "-h" | "--help" => {
                return Err(String::from(
                    "usage: smoke [--seconds N per target, default 8] [--executions N per target] \
                     [--seed N] [TARGET..]",
                ))
            }
            name => options.targets.push(otel_fuzz::target(name).ok_or_else(|| {
                let names: Vec<_> = TARGETS.iter().map(|t| t.name).collect();
                format!("unknown target {name:?}; targets: {}", names.join(", "))
            })?),
        }
    }
    if options.targets.is_empty() {
        options.targets = TARGETS.iter().collect();
    }
    if !(options.seconds.is_finite() && options.seconds >= 0.0) {
        return Err(format!(
            "--seconds must be a non-negative number, not {}",
            options.seconds
        ));
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let budget = Budget {
        time: Duration::from_secs_f64(options.seconds),
        executions: options.executions,
    };
    let mut total = 0;
    for target in &options.targets {
        let seeds = match otel_fuzz::seeds(target.name) {
            Ok(seeds) => seeds,
            Err(e) => {
                eprintln!("cannot read {}: {e}", otel_fuzz::seed_dir(target.name).display());
                return ExitCode::FAILURE;
            }
        };
        // The panic hook would print every caught panic; the failure report says it all.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let outcome = run(target, &seeds, budget, options.seed);
        std::panic::set_hook(hook);
        match outcome {
            Ok(report) => {
                total += report.executions;
                println!(
                    "{:<12} {:>10} executions in {:>6.1} s ({:>8.0}/s), {} seeds: ok",
                    report.target,
                    report.executions,
                    report.elapsed.as_secs_f64(),
                    report.executions as f64 / report.elapsed.as_secs_f64().max(1e-9),
                    seeds.len()
                );
            }
            Err(failure) => {
                eprintln!("{failure}");
                let path =
                    std::env::temp_dir().join(format!("otel-fuzz-{}-{}.bin", failure.target, options.seed));
                match std::fs::write(&path, &failure.input) {
                    Ok(()) => eprintln!(
                        "saved to {}; replay: cargo run -p otel-fuzz --bin fuzz -- {} {}",
                        path.display(),
                        failure.target,
                        path.display()
                    ),
                    Err(e) => eprintln!("could not save the input to {}: {e}", path.display()),
                }
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "fuzz smoke: {total} executions over {} targets, no failure",
        options.targets.len()
    );
    ExitCode::SUCCESS
}
