//! The conformance gate: one libtest-mimic trial per test × runner, named
//! `<runner>/<test id>` (`wasmgate/p1/rust/fd_readdir`).
//!
//! Suites: the harness's own `harness/tests/data/`, the project's `fixtures/` (P1 modules
//! and P2 components), and the upstream wasi-testsuite whenever `WASI_TESTSUITE_DIR` points
//! at its extracted `tests/` — its P1 tests twice: as modules, and adapted to P2 components
//! (`adapted/p1/...`, as `harness run --adapt-p1` runs them).
//! Skiplists: `skiplists/<runner>.json`. A skipped test (skiplist, or a need the runner
//! cannot meet, such as P3 or the network) is an ignored trial; an XFAIL passes; a FAIL or
//! XPASS fails with the harness's failure report. A broken spec, manifest or skiplist is a
//! failing trial of its own, so the gate cannot go green by finding less.
//!
//! `WASMGATE_HARNESS_TIMEOUT` (seconds, default 120) bounds each guest's run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};

use wasmgate_harness::execute::{execute, unmet_need};
use wasmgate_harness::expect::{Expectation, Outcome, Skiplist};
use wasmgate_harness::report::failure_details;
use wasmgate_harness::runner::{runner_by_name, runner_names};
use wasmgate_harness::suite::adapt::{self, adapt_p1};
use wasmgate_harness::suite::{discover_under, Suite};
use wasmgate_harness::{default_skiplist, workspace_root};

fn broken(name: String, error: String) -> Trial {
    Trial::test(name, move || Err(Failed::from(error)))
}

fn main() {
    let args = Arguments::from_args();
    let root = workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")));
    let timeout = std::env::var("WASMGATE_HARNESS_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(120));

    let mut trials = Vec::new();
    let mut sources: Vec<(&str, PathBuf, bool, bool)> = vec![
        ("harness-data", root.join("harness/tests/data"), true, false),
        // The project's fixtures: optional until fixtures/ holds a suite.
        ("fixtures", root.join("fixtures"), false, false),
    ];
    if let Some(dir) = std::env::var_os("WASI_TESTSUITE_DIR") {
        sources.push(("wasi-testsuite", PathBuf::from(&dir), true, false));
        sources.push(("wasi-testsuite-adapted", PathBuf::from(&dir), true, true));
    }
    let mut suites: Vec<Suite> = Vec::new();
    for (label, dir, required, adapt) in sources {
        if !dir.exists() && !required {
            continue;
        }
        match discover_under(&dir) {
            Ok(found) if found.is_empty() && required => trials.push(broken(
                format!("discover/{label}"),
                format!("no suite under {}", dir.display()),
            )),
            Ok(found) if adapt => suites.extend(
                adapt_p1(found)
                    .into_iter()
                    .filter(|s| s.id.starts_with(adapt::PREFIX)),
            ),
            Ok(found) => suites.extend(found),
            Err(e) => trials.push(broken(format!("discover/{label}"), format!("{e:#}"))),
        }
    }
    let mut ids: Vec<&str> = suites.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    if let Some(pair) = ids.windows(2).find(|p| p[0] == p[1]) {
        trials.push(broken(
            "discover/unique-ids".into(),
            format!("two suites have the id `{}`", pair[0]),
        ));
    }

    for name in runner_names() {
        let runner = match runner_by_name(name) {
            Ok(r) => r,
            Err(e) => {
                trials.push(broken(format!("{name}/runner"), format!("{e:#}")));
                continue;
            }
        };
        let path = default_skiplist(&root, name);
        let skiplist = if path.is_file() {
            match Skiplist::load(&path, name).and_then(|s| s.check_against(&suites).map(|()| s)) {
                Ok(s) => s,
                Err(e) => {
                    trials.push(broken(format!("{name}/skiplist"), format!("{e:#}")));
                    Skiplist::empty()
                }
            }
        } else {
            Skiplist::empty()
        };
        let skiplist = Arc::new(skiplist);
        for test in suites.iter().flat_map(|s| s.tests.iter()) {
            let skipped = skiplist
                .lookup(&test.id)
                .is_some_and(|e| e.expect == Expectation::Skip)
                || unmet_need(test, runner.as_ref()).is_some();
            let (test, runner, skiplist) = (test.clone(), runner.clone(), skiplist.clone());
            let trial = Trial::test(format!("{name}/{}", test.id), move || {
                let result = execute(&test, &runner, &skiplist, timeout);
                match result.outcome {
                    Outcome::Pass | Outcome::Xfail => Ok(()),
                    // `execute` runs once: FLAKY only comes from `--rerun-failures`.
                    Outcome::Fail | Outcome::Xpass | Outcome::Flaky => {
                        Err(Failed::from(failure_details(&result)))
                    }
                    Outcome::Skip => Err(Failed::from(format!(
                        "skipped at run time although it was expected to run: {}",
                        result.reason.unwrap_or_default()
                    ))),
                }
            });
            trials.push(trial.with_ignored_flag(skipped));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
