//! Every report renderer over a fixed set of results, pinned with insta snapshots
//! (`tests/snapshots/`): the conformance JSON, Markdown, JUnit and console summary, the
//! parity JSON, Markdown and console, and the dashboard. The JUnit file is also read back
//! with a JUnit parser (`junit-parser`, as CI test reporters read it).
//!
//! A renderer change shows up as a snapshot diff; review it and accept it with
//! `INSTA_UPDATE=always cargo test -p wasmgate-harness --test reports` (or `cargo insta`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmgate_harness::dashboard;
use wasmgate_harness::execute::{Failure, RunRecord, TestResult};
use wasmgate_harness::expect::Outcome;
use wasmgate_harness::parity::report as parity_report;
use wasmgate_harness::parity::rules::{DivergenceEntry, DivergenceKind};
use wasmgate_harness::parity::tree::{EntryKind, TreeEntry, TreeSnapshot};
use wasmgate_harness::parity::{
    compare_runs, Class, Explanation, FixtureParity, ParityReport, RunObservation, RunnerId,
    SideResult,
};
use wasmgate_harness::report::{console, json, junit, markdown};
use wasmgate_harness::run::{RunReport, SuiteReport};
use wasmgate_harness::runner::{GuestStatus, Observed};
use wasmgate_harness::shard::Shard;
use wasmgate_harness::suite::WasiVersion;

fn run(command: &str, status: GuestStatus, stdout: &str, stderr: &str) -> RunRecord {
    RunRecord {
        command: command.to_owned(),
        observed: Observed {
            status,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        },
        trees: vec![TreeSnapshot {
            guest: "/".into(),
            entries: vec![TreeEntry {
                path: "data.txt".into(),
                kind: EntryKind::File,
                size: Some(5),
                sha256: Some(
                    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
                ),
                target: None,
            }],
            error: None,
        }],
    }
}

fn result(id: &str, outcome: Outcome, reason: Option<&str>) -> TestResult {
    let suite_id = id.rsplit_once('/').map(|(s, _)| s).unwrap_or(id);
    let ran = outcome != Outcome::Skip;
    TestResult {
        id: id.to_owned(),
        suite_id: suite_id.to_owned(),
        runner: "wasmgate".into(),
        outcome,
        reason: reason.map(str::to_owned),
        failures: Vec::new(),
        runs: if ran {
            vec![run(
                &format!("wasmgate run {id}.wasm"),
                GuestStatus::Exited(0),
                "",
                "",
            )]
        } else {
            Vec::new()
        },
        duration: Duration::from_millis(if ran { 125 } else { 0 }),
        spec_text: if ran {
            "{\"stdout\": \"hello\\n\"}".into()
        } else {
            String::new()
        },
    }
}

/// A run with every outcome, a stdout diff, a trap, a timeout, XML- and Markdown-hostile
/// names, on shard 1 of 2.
fn fixed_run_report() -> RunReport {
    let mut wrong = result("p1/demo/wrong_stdout", Outcome::Fail, None);
    wrong.runs[0].observed.stdout = b"hellO\n".to_vec();
    wrong.failures.push(Failure {
        check: "stdout".into(),
        message: "stdout differs: expected 6 bytes, got 6".into(),
        expected: Some(b"hello\n".to_vec()),
        actual: Some(b"hellO\n".to_vec()),
    });
    let mut trap = result(
        "p1/demo/trap",
        Outcome::Xfail,
        Some("skiplist: traps on purpose (issue 9)"),
    );
    trap.runs[0].observed.status = GuestStatus::Trapped("wasm trap: unreachable".into());
    trap.failures.push(Failure {
        check: "exit".into(),
        message: "expected exit code 0, got trap (exit code 134): wasm trap: unreachable".into(),
        expected: None,
        actual: None,
    });
    let mut hang = result("p1/other/a&b<c>|d", Outcome::Fail, None);
    hang.runs[0].observed.status = GuestStatus::TimedOut(Duration::from_secs(30));
    hang.failures.push(Failure {
        check: "exit".into(),
        message: "expected exit code 0, got timed out after 30.0s".into(),
        expected: None,
        actual: None,
    });
    let xpass = result(
        "p1/demo/fixed_now",
        Outcome::Xpass,
        Some("skiplist: was broken (issue 3)"),
    );
    RunReport {
        runner: "wasmgate".into(),
        runner_version: "0.1.0".into(),
        jobs: 2,
        timeout: Duration::from_secs(30),
        started_unix_ms: 1_795_000_000_000,
        wall: Duration::from_millis(1500),
        suites: vec![
            SuiteReport {
                id: "p1/demo".into(),
                name: "Demo [wasm32-wasip1]".into(),
                version: WasiVersion::P1,
                dir: "tests/demo".into(),
                results: vec![
                    result("p1/demo/hello", Outcome::Pass, None),
                    wrong,
                    result("p1/demo/needs_http", Outcome::Skip, Some("needs: http")),
                    trap,
                    xpass,
                ],
            },
            SuiteReport {
                id: "p1/other".into(),
                name: "Other | suite".into(),
                version: WasiVersion::P1,
                dir: "tests/other".into(),
                results: vec![hang, result("p1/other/fine", Outcome::Pass, None)],
            },
        ],
        shard: Some(Shard { index: 1, count: 2 }),
    }
}

#[test]
fn conformance_json() {
    insta::assert_snapshot!(json::render(&fixed_run_report()));
}

#[test]
fn conformance_markdown() {
    insta::assert_snapshot!(markdown::render(&fixed_run_report()));
}

#[test]
fn conformance_junit() {
    insta::assert_snapshot!(junit::render(&fixed_run_report()));
}

#[test]
fn conformance_console() {
    let summary = console::summary(&fixed_run_report());
    assert!(
        summary.ends_with("\n2 passed, 3 failed, 2 skipped\n"),
        "{summary}"
    );
    insta::assert_snapshot!(summary);
}

#[test]
fn junit_loads_in_a_junit_parser() {
    let xml = junit::render(&fixed_run_report());
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes()))
        .unwrap_or_else(|e| panic!("junit-parser rejects the report: {e}\n{xml}"));
    assert_eq!(suites.suites.len(), 2);
    assert_eq!(suites.tests, 7);
    assert_eq!(suites.failures, 3);
    assert_eq!(suites.skipped, 2);
    let demo = &suites.suites[0];
    assert_eq!(demo.name, "wasmgate/p1/demo");
    assert_eq!(demo.cases.len(), 5);
    let wrong = demo
        .cases
        .iter()
        .find(|c| c.original_name == "wrong_stdout")
        .expect("wrong_stdout is a test case");
    assert_eq!(wrong.classname.as_deref(), Some("wasmgate.p1.demo"));
    match &wrong.status {
        junit_parser::TestStatus::Failure(f) => {
            assert_eq!(f.message, "stdout differs: expected 6 bytes, got 6");
            assert!(f.text.contains("+hellO"), "{}", f.text);
        }
        other => panic!("wrong_stdout is not a failure: {other:?}"),
    }
    let skipped = demo
        .cases
        .iter()
        .find(|c| c.original_name == "needs_http")
        .unwrap();
    match &skipped.status {
        junit_parser::TestStatus::Skipped(s) => assert_eq!(s.message, "SKIP: needs: http"),
        other => panic!("needs_http is not skipped: {other:?}"),
    }
    let hostile = suites.suites[1]
        .cases
        .iter()
        .find(|c| c.original_name == "a&b<c>|d")
        .expect("names come back unescaped");
    assert!(hostile.status.is_failure());
    assert!((hostile.time - 0.125).abs() < 1e-9);
}

fn obs(exit: &str, stdout: &str, tree: &[&str]) -> RunObservation {
    RunObservation {
        exit: exit.into(),
        stdout: stdout.as_bytes().to_vec(),
        stderr: Vec::new(),
        trees: vec![TreeSnapshot {
            guest: "/".into(),
            entries: tree
                .iter()
                .map(|p| TreeEntry {
                    path: (*p).into(),
                    kind: EntryKind::File,
                    size: Some(1),
                    sha256: Some(
                        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb".into(),
                    ),
                    target: None,
                })
                .collect(),
            error: None,
        }],
    }
}

fn fixture(
    id: &str,
    class: Class,
    explanation: Explanation,
    sides: Option<(RunObservation, Outcome, RunObservation, Outcome)>,
) -> FixtureParity {
    let suite_id = id.rsplit_once('/').map(|(s, _)| s).unwrap_or(id);
    let (a, b, differences) = match sides {
        Some((oa, va, ob, vb)) => {
            let differences = compare_runs(
                std::slice::from_ref(&oa),
                std::slice::from_ref(&ob),
                "wasmgate",
                "wasmtime",
            );
            let side = |o: RunObservation, v: Outcome, runner: &str| {
                let mut r = result(id, v, None);
                r.runner = runner.into();
                r.runs[0].command = format!("{runner} run {id}.wasm");
                if v == Outcome::Fail {
                    r.failures.push(Failure {
                        check: "exit".into(),
                        message: format!("expected exit code 0, got {}", o.exit),
                        expected: None,
                        actual: None,
                    });
                }
                SideResult {
                    result: r,
                    runs: vec![o],
                }
            };
            (
                Some(side(oa, va, "wasmgate")),
                Some(side(ob, vb, "wasmtime")),
                differences,
            )
        }
        None => (None, None, Vec::new()),
    };
    FixtureParity {
        id: id.into(),
        suite_id: suite_id.into(),
        class,
        explanation,
        reason: (class == Class::Skipped)
            .then(|| "unsupported: wasm32-wasip3 (not claimed by the wasmgate runner)".into()),
        a,
        b,
        differences,
        normalised: Vec::new(),
        duration: Duration::from_millis(250),
    }
}

fn entry(test: &str, kind: DivergenceKind) -> DivergenceEntry {
    DivergenceEntry {
        test: test.into(),
        kind,
        runners: Some(["wasmgate".into(), "wasmtime".into()]),
        reason: "a known difference".into(),
        tracking: "issue 4".into(),
    }
}

fn fixed_parity_report() -> ParityReport {
    let mut normalised = fixture(
        "p1/demo/clock",
        Class::Identical,
        Explanation::None,
        Some((
            obs("exit 0", "t=<n>\n", &[]),
            Outcome::Pass,
            obs("exit 0", "t=<n>\n", &[]),
            Outcome::Pass,
        )),
    );
    normalised.normalised = vec!["prints the current time".into()];
    ParityReport {
        a: RunnerId {
            name: "wasmgate".into(),
            version: "0.1.0".into(),
        },
        b: RunnerId {
            name: "wasmtime".into(),
            version: "48.0.8".into(),
        },
        jobs: 2,
        timeout: Duration::from_secs(30),
        started_unix_ms: 1_795_000_000_000,
        wall: Duration::from_secs(2),
        shard: None,
        fixtures: vec![
            fixture(
                "p1/demo/same",
                Class::Identical,
                Explanation::None,
                Some((
                    obs("exit 0", "hi\n", &["a"]),
                    Outcome::Pass,
                    obs("exit 0", "hi\n", &["a"]),
                    Outcome::Pass,
                )),
            ),
            normalised,
            fixture(
                "p1/demo/files",
                Class::ObservationsDiffer,
                Explanation::Explained {
                    entry: entry("p1/demo/files", DivergenceKind::Observations),
                    note: None,
                },
                Some((
                    obs("exit 0", "", &["a", "stray"]),
                    Outcome::Pass,
                    obs("exit 0", "", &["a"]),
                    Outcome::Pass,
                )),
            ),
            fixture(
                "p1/demo/exit",
                Class::VerdictDiffers,
                Explanation::Unexplained {
                    note: Some(
                        "the entry explains `observations` only, but the verdict differs".into(),
                    ),
                },
                Some((
                    obs("exit 1", "one\ntwo\n", &[]),
                    Outcome::Fail,
                    obs("exit 0", "one\n2\n", &[]),
                    Outcome::Pass,
                )),
            ),
            fixture(
                "p1/demo/fixed",
                Class::Identical,
                Explanation::Resolved {
                    entry: entry("p1/demo/fixed", DivergenceKind::Verdict),
                },
                Some((
                    obs("exit 0", "", &[]),
                    Outcome::Pass,
                    obs("exit 0", "", &[]),
                    Outcome::Pass,
                )),
            ),
            fixture("p3/demo/async", Class::Skipped, Explanation::None, None),
        ],
    }
}

#[test]
fn parity_json() {
    insta::assert_snapshot!(parity_report::json(&fixed_parity_report()));
}

#[test]
fn parity_markdown() {
    insta::assert_snapshot!(parity_report::markdown(&fixed_parity_report()));
}

#[test]
fn parity_console() {
    let text = parity_report::console(&fixed_parity_report());
    assert!(
        text.ends_with("\n4 passed, 1 failed, 1 skipped\n"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn dashboard_html() {
    // Relative paths (cargo runs tests in the package directory) keep the page stable.
    let reports = dashboard::load_reports(&[PathBuf::from("tests/reports")]).unwrap();
    assert_eq!(reports.len(), 7, "{:?}", reports.ignored);
    assert_eq!(reports.ignored.len(), 1);
    insta::assert_snapshot!(dashboard::render(&reports));
}

#[test]
fn the_same_results_render_the_same() {
    let once = Arc::new(fixed_run_report());
    assert_eq!(json::render(&once), json::render(&fixed_run_report()));
    assert_eq!(
        parity_report::markdown(&fixed_parity_report()),
        parity_report::markdown(&fixed_parity_report())
    );
}
