//! The AFL++ entry point, one binary for every target (named by the first argument).
//!
//! Built with `cargo afl build -p otel-fuzz --bin fuzz` (which sets `--cfg fuzzing`) it
//! runs under `afl-fuzz` in persistent mode; see the README's "Fuzzing" section. Built
//! normally it replays inputs: `cargo run -p otel-fuzz --bin fuzz -- TARGET FILE..`
//! (standard input when no file is given), panicking as the fuzzer saw it.

#[cfg(not(fuzzing))]
use std::io::Read;
use std::process::ExitCode;

fn target() -> Result<&'static otel_fuzz::Target, String> {
    let names: Vec<_> = otel_fuzz::TARGETS.iter().map(|t| t.name).collect();
    let name = std::env::args()
        .nth(1)
        .ok_or_else(|| format!("usage: fuzz TARGET [FILE..]; targets: {}", names.join(", ")))?;
    otel_fuzz::target(&name).ok_or_else(|| format!("unknown target {name:?}; targets: {}", names.join(", ")))
}

#[cfg(fuzzing)]
fn main() -> ExitCode {
    let target = match target() {
        Ok(target) => target,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    afl::fuzz!(|data: &[u8]| {
        (target.run)(data);
    });
    ExitCode::SUCCESS
}

#[cfg(not(fuzzing))]
fn main() -> ExitCode {
    let target = match target() {
        Ok(target) => target,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let files: Vec<String> = std::env::args().skip(2).collect();
    if files.is_empty() {
        let mut input = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut input) {
            eprintln!("cannot read standard input: {e}");
            return ExitCode::FAILURE;
        }
        (target.run)(&input);
        println!("{}: ok (standard input, {} bytes)", target.name, input.len());
    }
    for file in &files {
        match std::fs::read(file) {
            Ok(input) => {
                (target.run)(&input);
                println!("{}: ok ({file})", target.name);
            }
            Err(e) => {
                eprintln!("cannot read {file}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
