//! A short smoke run of every target in `cargo test`: the seeds plus a few hundred
//! mutations each (the minute-long run is `smoke` in CI, long runs are AFL's).

use std::time::Duration;

use otel_fuzz::smoke::{run, Budget};

#[test]
fn every_target_survives_its_seeds_and_some_mutations() {
    let budget = Budget {
        time: Duration::from_secs(2),
        executions: 400,
    };
    for target in otel_fuzz::TARGETS {
        let seeds = otel_fuzz::seeds(target.name).expect("the seed corpus is in the repository");
        assert!(!seeds.is_empty(), "{} has seeds", target.name);
        if let Err(failure) = run(target, &seeds, budget, 1) {
            panic!("{failure}");
        }
    }
}

#[test]
fn the_mutator_is_deterministic() {
    let mutate = |seed| {
        let mut mutator = otel_fuzz::Mutator::new(seed);
        let mut data = b"token=abc&page=2".to_vec();
        for _ in 0..100 {
            mutator.mutate(&mut data, &[b"%74"], &[b"x=1".to_vec()]);
        }
        data
    };
    assert_eq!(mutate(3), mutate(3));
    assert_ne!(mutate(3), mutate(4));
}
