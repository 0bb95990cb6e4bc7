//! Run stage: selects tests, runs them on a runner in parallel, and collects the results
//! per suite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::execute::{execute, TestResult};
use crate::expect::{Outcome, Skiplist};
use crate::runner::Runner;
use crate::suite::{Suite, TestCase, WasiVersion};

/// Which tests to run: a test is selected when any pattern matches its id (`*` matches
/// any run of characters; a pattern without `*` matches as a substring). No pattern
/// selects every test.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    patterns: Vec<String>,
}

impl Filter {
    /// A filter from `--filter` values.
    pub fn new(patterns: Vec<String>) -> Self {
        Filter { patterns }
    }

    /// Whether `id` is selected.
    pub fn selects(&self, id: &str) -> bool {
        self.patterns.is_empty()
            || self.patterns.iter().any(|p| {
                if p.contains('*') {
                    glob_match(p.as_bytes(), id.as_bytes())
                } else {
                    id.contains(p.as_str())
                }
            })
    }
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob_match(rest, &text[1..]),
    }
}

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// PASS.
    pub pass: usize,
    /// FAIL.
    pub fail: usize,
    /// SKIP.
    pub skip: usize,
    /// XFAIL.
    pub xfail: usize,
    /// XPASS.
    pub xpass: usize,
    /// FLAKY (failed, then passed when rerun).
    pub flaky: usize,
}

impl Totals {
    /// Counts the outcomes of `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a TestResult>) -> Totals {
        let mut t = Totals::default();
        for r in results {
            t.add(r.outcome);
        }
        t
    }

    /// Counts one outcome.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.pass += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Skip => self.skip += 1,
            Outcome::Xfail => self.xfail += 1,
            Outcome::Xpass => self.xpass += 1,
            Outcome::Flaky => self.flaky += 1,
        }
    }

    /// Tests in all.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip + self.xfail + self.xpass + self.flaky
    }

    /// Tests that turn the run red (FAIL and XPASS).
    pub fn failed(&self) -> usize {
        self.fail + self.xpass
    }

    /// Tests that did not run to a pass as expected-to-fail or skipped (SKIP and XFAIL).
    pub fn skipped(&self) -> usize {
        self.skip + self.xfail
    }

    /// `N passed, N failed, N skipped`, then `, N flaky` when any test was.
    pub fn closing_line(&self) -> String {
        let flaky = if self.flaky > 0 {
            format!(", {} flaky", self.flaky)
        } else {
            String::new()
        };
        format!(
            "{} passed, {} failed, {} skipped{flaky}",
            self.pass,
            self.failed(),
            self.skipped()
        )
    }
}

/// The results of one suite.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// `p1/rust`.
    pub id: String,
    /// The manifest's name.
    pub name: String,
    /// Its WASI version.
    pub version: WasiVersion,
    /// Its directory.
    pub dir: String,
    /// Results of the selected tests, in test order.
    pub results: Vec<TestResult>,
}

/// The results of a whole run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The runner's name.
    pub runner: String,
    /// The runner's version.
    pub runner_version: String,
    /// Parallel jobs.
    pub jobs: usize,
    /// Per-test timeout.
    pub timeout: Duration,
    /// When the run started, milliseconds since the Unix epoch.
    pub started_unix_ms: u128,
    /// Wall time of the run.
    pub wall: Duration,
    /// Per suite (suites with no selected test are left out).
    pub suites: Vec<SuiteReport>,
    /// The shard this run was (`--shard K/N`), if it was one.
    pub shard: Option<crate::shard::Shard>,
}

impl RunReport {
    /// Outcome counts over every suite.
    pub fn totals(&self) -> Totals {
        Totals::of(self.suites.iter().flat_map(|s| s.results.iter()))
    }

    /// Every result, in order.
    pub fn results(&self) -> impl Iterator<Item = &TestResult> {
        self.suites.iter().flat_map(|s| s.results.iter())
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads.
    pub jobs: usize,
    /// Per-test timeout (guest execution, not compilation).
    pub timeout: Duration,
    /// Which tests.
    pub filter: Filter,
}

/// The tests `filter` selects, in suite order.
pub fn selected<'a>(suites: &'a [Suite], filter: &Filter) -> Vec<&'a TestCase> {
    suites
        .iter()
        .flat_map(|s| s.tests.iter())
        .filter(|t| filter.selects(&t.id))
        .collect()
}

/// Applies `f` to every item on up to `jobs` worker threads (at least one, at most one per
/// item), keeping the items' order in the results. Returns the number of workers used.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> (usize, Vec<R>) {
    let jobs = jobs.max(1).min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    let results = slots
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect();
    (jobs, results)
}

/// Runs the selected tests of `suites` on `runner`; `on_result` sees each result as it
/// arrives (from worker threads).
pub fn run_suites(
    suites: &[Suite],
    runner: Arc<dyn Runner>,
    skiplist: &Skiplist,
    options: &RunOptions,
    on_result: &(dyn Fn(&TestResult) + Sync),
) -> RunReport {
    run_suites_rerunning(suites, runner, skiplist, options, false, on_result)
}

/// Runs `test`; with `rerun_failures`, a FAIL is run once more, and one that passes then is
/// FLAKY (with the first attempt's failures and runs, and a reason saying so).
pub fn execute_rerunning(
    test: &TestCase,
    runner: &Arc<dyn Runner>,
    skiplist: &Skiplist,
    timeout: Duration,
    rerun_failures: bool,
) -> TestResult {
    let first = execute(test, runner, skiplist, timeout);
    if !rerun_failures || first.outcome != Outcome::Fail {
        return first;
    }
    let second = execute(test, runner, skiplist, timeout);
    let duration = first.duration + second.duration;
    if second.outcome == Outcome::Pass {
        let what = first
            .failures
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        TestResult {
            outcome: Outcome::Flaky,
            reason: Some(format!("flaky: failed ({what}), then passed when rerun")),
            duration,
            ..first
        }
    } else {
        TestResult {
            reason: Some("failed again when rerun".to_owned()),
            duration,
            ..second
        }
    }
}

/// [`run_suites`], rerunning each failed test once when `rerun_failures` is set (a test
/// that passes then is FLAKY).
pub fn run_suites_rerunning(
    suites: &[Suite],
    runner: Arc<dyn Runner>,
    skiplist: &Skiplist,
    options: &RunOptions,
    rerun_failures: bool,
    on_result: &(dyn Fn(&TestResult) + Sync),
) -> RunReport {
    let tests = selected(suites, &options.filter);
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let begun = Instant::now();
    let (jobs, results) = parallel_map(&tests, options.jobs, |test| {
        let result = execute_rerunning(test, &runner, skiplist, options.timeout, rerun_failures);
        on_result(&result);
        result
    });
    let mut results = results.into_iter();
    let mut reports = Vec::new();
    for suite in suites {
        let count = suite
            .tests
            .iter()
            .filter(|t| options.filter.selects(&t.id))
            .count();
        if count == 0 {
            continue;
        }
        reports.push(SuiteReport {
            id: suite.id.clone(),
            name: suite.name.clone(),
            version: suite.version,
            dir: suite.dir.display().to_string(),
            results: results.by_ref().take(count).collect(),
        });
    }
    RunReport {
        runner: runner.name().to_owned(),
        runner_version: runner.version(),
        jobs,
        timeout: options.timeout,
        started_unix_ms,
        wall: begun.elapsed(),
        suites: reports,
        shard: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f = Filter::new(vec!["p1/rust/fd_*".into()]);
        assert!(f.selects("p1/rust/fd_readdir"));
        assert!(!f.selects("p1/c/fd_readdir"));
        let f = Filter::new(vec!["readdir".into()]);
        assert!(f.selects("p1/c/fd_readdir"));
        assert!(Filter::default().selects("anything"));
    }
}
