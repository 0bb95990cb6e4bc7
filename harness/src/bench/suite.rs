//! Bench stage: the wall time of a whole `harness run` over a suite tree, on one runner.
//!
//! A sample is what `harness run --runner R --suite DIR` does, in this process: discovering
//! the suites, loading the runner's skiplist, and running every test with one job per core.
//! Each runner runs the suite as the conformance gate configures it (wasmtime's runner
//! compiles with Cranelift at `OptLevel::None`, and both runners arm an epoch deadline per
//! test). Its output is the count of tests and failures: a run with a failure is an error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::{Output, Sample, Subject};
use crate::expect::Skiplist;
use crate::run::{run_suites, Filter, RunOptions};
use crate::runner::{runner_by_name, Runner};
use crate::{default_skiplist, suite};

/// `harness run` over `roots` on one runner.
pub struct SuiteRun {
    runner: Arc<dyn Runner>,
    root: PathBuf,
    roots: Vec<PathBuf>,
    jobs: usize,
}

impl SuiteRun {
    /// The runner called `runner`, over the suites under `roots`; skiplists are looked up
    /// under the workspace `root`.
    pub fn new(runner: &str, root: PathBuf, roots: Vec<PathBuf>) -> Result<SuiteRun> {
        Ok(SuiteRun {
            runner: runner_by_name(runner)?,
            root,
            roots,
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        })
    }
}

impl Subject for SuiteRun {
    fn runner(&self) -> &str {
        self.runner.name()
    }

    fn sample(&mut self) -> Result<Sample> {
        let begun = Instant::now();
        let suites = suite::discover(&self.roots)?;
        let path = default_skiplist(&self.root, self.runner.name());
        let skiplist = if path.is_file() {
            Skiplist::load(&path, self.runner.name())?
        } else {
            Skiplist::empty()
        };
        let options = RunOptions {
            jobs: self.jobs,
            timeout: Duration::from_secs(60),
            filter: Filter::default(),
        };
        let report = run_suites(&suites, self.runner.clone(), &skiplist, &options, &|_| {});
        let elapsed = begun.elapsed();
        let totals = report.totals();
        if totals.failed() > 0 {
            let failing: Vec<&str> = report
                .results()
                .filter(|r| r.outcome.is_failure())
                .map(|r| r.id.as_str())
                .take(10)
                .collect();
            bail!(
                "the suite is not green: {} ({})",
                totals.closing_line(),
                failing.join(", ")
            );
        }
        Ok(Sample {
            elapsed,
            output: Output::exit0(format!("{} tests, 0 failed\n", totals.total())),
        })
    }
}
