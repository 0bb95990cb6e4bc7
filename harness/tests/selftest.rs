//! Self-test of the harness: the suite in `tests/selftest/` holds tests that must fail,
//! skip, XFAIL or XPASS, on every runner, for a stated reason. A harness that lets any of
//! them pass silently (extra output, a hang, a trap, a network test) fails here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmgate_harness::expect::{Outcome, Skiplist};
use wasmgate_harness::report::{console, failure_details, json, junit, markdown};
use wasmgate_harness::run::{run_suites, Filter, RunOptions, RunReport};
use wasmgate_harness::runner::{runner_by_name, runner_names, GuestStatus, LiveMode};
use wasmgate_harness::suite::{discover, Suite};

fn selftest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/selftest")
}

fn run_selftest(runner: &str) -> (Vec<Suite>, RunReport) {
    let suites = discover(&[selftest_dir()]).expect("the self-test suite loads");
    let text = std::fs::read_to_string(selftest_dir().join("selftest-skiplist.json")).unwrap();
    let skiplist = Skiplist::parse(&text.replace("RUNNER", runner), runner).unwrap();
    skiplist.check_against(&suites).unwrap();
    let options = RunOptions {
        jobs: 4,
        timeout: Duration::from_millis(500),
        filter: Filter::default(),
    };
    let report = run_suites(
        &suites,
        runner_by_name(runner).unwrap(),
        &skiplist,
        &options,
        &|_| {},
    );
    (suites, report)
}

fn expect(report: &RunReport, test: &str, outcome: Outcome, details_contain: &[&str]) {
    let id = format!("p1/selftest/{test}");
    let result = report
        .results()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("{id} did not run"));
    let details = format!(
        "{}\n{}",
        result.reason.clone().unwrap_or_default(),
        failure_details(result)
    );
    assert_eq!(
        result.outcome, outcome,
        "{} on {}:\n{details}",
        id, report.runner
    );
    for needle in details_contain {
        assert!(
            details.contains(needle),
            "{id} on {}: no `{needle}` in\n{details}",
            report.runner
        );
    }
}

#[test]
fn every_runner_reports_every_failure_mode() {
    for runner in runner_names() {
        let (_, report) = run_selftest(runner);
        expect(
            &report,
            "wrong_stdout",
            Outcome::Fail,
            &["stdout differs", "-hellO", "+hello"],
        );
        expect(
            &report,
            "extra_stdout",
            Outcome::Fail,
            &["stdout differs", "expected 4 bytes, got 6"],
        );
        expect(
            &report,
            "infinite_loop",
            Outcome::Fail,
            &["timed out after 0.5s"],
        );
        expect(
            &report,
            "trap",
            Outcome::Fail,
            &["expected exit code 0, got trap"],
        );
        expect(&report, "trap_is_134", Outcome::Pass, &[]);
        expect(
            &report,
            "missing_import",
            Outcome::Fail,
            &["could not start"],
        );
        // Both in-process runners grant sockets, but neither can be connected to in-process:
        // wasmgate runs such a test live on its CLI when it has one (then this guest, which
        // listens nowhere, fails), wasmtime skips it.
        let live = runner_by_name(runner).unwrap().live(LiveMode::Command);
        if live {
            expect(
                &report,
                "needs_sockets",
                Outcome::Fail,
                &["the guest printed no address line"],
            );
            // A core module is no wasi:http/service: `wasmgate serve` refuses it.
            expect(
                &report,
                "needs_http",
                Outcome::Fail,
                &["the service did not say where it listens"],
            );
        } else {
            expect(
                &report,
                "needs_sockets",
                Outcome::Skip,
                &["needs: connections to the guest", "it has no live runs"],
            );
            // wasmtime does not grant http; wasmgate without its CLI serves nothing.
            expect(&report, "needs_http", Outcome::Skip, &["needs: "]);
        }
        expect(
            &report,
            "expected_fail_passes",
            Outcome::Xpass,
            &["remove its skiplist entry"],
        );
        expect(
            &report,
            "expected_fail_fails",
            Outcome::Xfail,
            &["must be reported XFAIL"],
        );
        expect(
            &report,
            "skipped_by_list",
            Outcome::Skip,
            &["must be reported SKIP"],
        );
        let totals = report.totals();
        assert_eq!(
            (
                totals.pass,
                totals.fail,
                totals.skip,
                totals.xfail,
                totals.xpass
            ),
            if live {
                (1, 7, 1, 1, 1)
            } else {
                (1, 5, 3, 1, 1)
            }
        );

        // The console ends with the closing line, alone on its line.
        let summary = console::summary(&report);
        let closing = if live {
            "\n1 passed, 8 failed, 2 skipped\n"
        } else {
            "\n1 passed, 6 failed, 4 skipped\n"
        };
        assert!(summary.ends_with(closing), "{summary}");
        // Every report format carries the failures.
        let doc: serde_json::Value = serde_json::from_str(&json::render(&report)).unwrap();
        assert_eq!(doc["schema"], json::SCHEMA);
        assert_eq!(doc["schema_version"], json::SCHEMA_VERSION);
        assert_eq!(doc["totals"]["xpass"], 1);
        let tests = doc["suites"][0]["tests"].as_array().unwrap();
        let wrong = tests
            .iter()
            .find(|t| t["id"] == "p1/selftest/wrong_stdout")
            .unwrap();
        assert_eq!(wrong["outcome"], "fail");
        assert!(wrong["failures"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("+hello"));
        let xml = junit::render(&report);
        let junit_ok = if live {
            xml.contains("failures=\"8\"")
                && xml.contains("the service did not say where it listens")
        } else {
            xml.contains("failures=\"6\"")
                && xml.contains("<skipped message=\"SKIP: needs: ")
                && xml.contains("http")
        };
        assert!(junit_ok, "{xml}");
        let md = markdown::render(&report);
        assert!(md.contains("### `p1/selftest/infinite_loop`"), "{md}");
    }
}

#[test]
fn a_run_never_touches_the_suite_directory() {
    // `create_file_once` creates a file with O_EXCL in its root: it passes again and again
    // only on private copies, and the source directory stays as it was.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let suites = discover(std::slice::from_ref(&data)).unwrap();
    let options = RunOptions {
        jobs: 2,
        timeout: Duration::from_secs(30),
        filter: Filter::new(vec!["create_file_once".into(), "read_file".into()]),
    };
    for runner in runner_names() {
        for _ in 0..2 {
            let report = run_suites(
                &suites,
                runner_by_name(runner).unwrap(),
                &Skiplist::empty(),
                &options,
                &|_| {},
            );
            assert_eq!(report.totals().pass, 2, "{}", console::summary(&report));
        }
    }
    assert!(!data.join("harness/tree.dir/created.txt").exists());
}

#[test]
fn a_malformed_spec_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("broken");
    std::fs::create_dir(&suite).unwrap();
    std::fs::write(suite.join("manifest.json"), r#"{"name": "broken"}"#).unwrap();
    std::fs::write(suite.join("t.wat"), "(module)").unwrap();
    std::fs::write(suite.join("t.json"), r#"{"args": [], "exitcode": 3}"#).unwrap();
    let err = format!("{:#}", discover(&[dir.path().to_path_buf()]).unwrap_err());
    assert!(
        err.contains("t.json") && err.contains("unknown field `exitcode`"),
        "{err}"
    );

    std::fs::write(
        suite.join("t.json"),
        r#"{"operations": [{"type": "run"}, {"type": "read"}]}"#,
    )
    .unwrap();
    let err = format!("{:#}", discover(&[dir.path().to_path_buf()]).unwrap_err());
    assert!(
        err.contains("t.json") && err.contains("the last `run` has no `wait`"),
        "{err}"
    );

    std::fs::write(
        suite.join("manifest.json"),
        r#"{"name": "broken", "owner": "x"}"#,
    )
    .unwrap();
    let err = format!("{:#}", discover(&[dir.path().to_path_buf()]).unwrap_err());
    assert!(
        err.contains("manifest.json") && err.contains("unknown field `owner`"),
        "{err}"
    );
}

#[test]
fn a_stale_skiplist_entry_is_an_error() {
    let suites = discover(&[selftest_dir()]).unwrap();
    let text = r#"{"version": 1, "runner": "wasmtime", "entries": [
        {"test": "p1/selftest/no_such_test", "expect": "skip", "reason": "r", "tracking": "t"},
        {"test": "p9/elsewhere/not_loaded", "expect": "skip", "reason": "r", "tracking": "t"}]}"#;
    let skiplist = Skiplist::parse(text, "wasmtime").unwrap();
    let err = format!("{:#}", skiplist.check_against(&suites).unwrap_err());
    assert!(
        err.contains("p1/selftest/no_such_test") && !err.contains("not_loaded"),
        "{err}"
    );
}

#[test]
fn statuses_map_to_cli_exit_codes() {
    assert_eq!(GuestStatus::Exited(3).exit_code(), Some(3));
    assert_eq!(GuestStatus::Trapped("x".into()).exit_code(), Some(134));
    assert_eq!(GuestStatus::Errored("x".into()).exit_code(), Some(1));
    assert_eq!(GuestStatus::Failed("x".into()).exit_code(), None);
    assert_eq!(
        GuestStatus::TimedOut(Duration::from_secs(1)).exit_code(),
        None
    );
}
