//! The smoke driver: each target over its seed corpus, then over deterministic mutations
//! until a time or execution budget runs out. No coverage feedback (that is AFL's job in
//! long runs); every 64th mutant joins the pool so mutations can stack.
//!
//! ```
//! use std::time::Duration;
//! use otel_fuzz::smoke::{run, Budget};
//!
//! let target = otel_fuzz::target("tracestate").unwrap();
//! let seeds = otel_fuzz::seeds("tracestate").unwrap();
//! let budget = Budget { time: Duration::from_secs(5), executions: 200 };
//! let report = run(target, &seeds, budget, 1).unwrap();
//! assert_eq!(report.executions, 200);
//! ```

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::{Mutator, Target};

/// How many mutants the pool keeps besides the seeds.
const POOL_MAX: usize = 256;

/// When a target's run stops: whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Wall-clock time for the target, seeds included.
    pub time: Duration,
    /// Executions for the target, seeds included.
    pub executions: u64,
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run, seeds included.
    pub executions: u64,
    /// Time taken.
    pub elapsed: Duration,
}

/// An input that broke an invariant or panicked.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The target's name.
    pub target: &'static str,
    /// The input, to save and replay (`fuzz <target> FILE`).
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
    /// Which execution it was (0 is the first seed).
    pub execution: u64,
}

/// Messages and inputs are cut to this many characters when printed (the saved file
/// has the whole input).
const SHOWN: usize = 600;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message: String = self.message.chars().take(SHOWN).collect();
        let cut = |shown: usize, all: usize| if shown < all { " …" } else { "" };
        let input = &self.input[..self.input.len().min(SHOWN)];
        write!(
            f,
            "target `{}` failed on execution {}: {message}{}\ninput ({} bytes): b\"{}\"{}",
            self.target,
            self.execution,
            cut(message.chars().count(), self.message.chars().count()),
            self.input.len(),
            input.escape_ascii(),
            cut(input.len(), self.input.len()),
        )
    }
}

impl std::error::Error for Failure {}

/// Runs `target` over `seeds`, then over mutations drawn from `seed`, within `budget`.
pub fn run(target: &Target, seeds: &[Vec<u8>], budget: Budget, seed: u64) -> Result<Report, Failure> {
    let started = Instant::now();
    let mut executions = 0;
    let execute = |input: &[u8], executions: &mut u64| -> Result<(), Failure> {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
        *executions += 1;
        outcome.map_err(|payload| Failure {
            target: target.name,
            input: input.to_vec(),
            message: panic_message(payload.as_ref()),
            execution: *executions - 1,
        })
    };
    for input in seeds {
        if executions >= budget.executions {
            break;
        }
        execute(input, &mut executions)?;
    }
    let mut pool: Vec<Vec<u8>> = seeds.to_vec();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let seed_count = pool.len();
    let mut mutator = Mutator::new(seed ^ fnv(target.name.as_bytes()));
    let mut input = Vec::new();
    // The clock is read every 64 executions: cheap targets run millions of times.
    while executions < budget.executions && (executions % 64 != 0 || started.elapsed() < budget.time) {
        input.clear();
        // Half the time from a seed: most mutants of mutants no longer parse at all.
        let base = if mutator.below(2) == 0 {
            mutator.below(seed_count)
        } else {
            mutator.below(pool.len())
        };
        input.extend_from_slice(&pool[base]);
        mutator.mutate(&mut input, target.dictionary, &pool);
        execute(&input, &mut executions)?;
        if executions % 64 == 0 {
            if pool.len() < seed_count + POOL_MAX {
                pool.push(input.clone());
            } else {
                let slot = seed_count + mutator.below(POOL_MAX);
                pool[slot] = input.clone();
            }
        }
    }
    Ok(Report {
        target: target.name,
        executions,
        elapsed: started.elapsed(),
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// FNV-1a, so each target draws its own mutation sequence from one seed.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
