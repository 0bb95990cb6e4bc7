//! Every operation of the operation-based spec, executed live against a fake runtime
//! (`tests/support/fake_runtime.rs`, described by `tests/operations/fake-runtime.toml`):
//! stdin written as the spec goes, exact reads, TCP and UDP connections, HTTP requests to a
//! served module, the harness's own HTTP servers (static, chunked with trailers,
//! echo-body, echo-headers, closed, 404), SIGINT. And the harness cannot be fooled: wrong
//! bytes, missing bytes, extra output, a wrong echo, a refused connection, a wrong status,
//! header or body, a hang, a runtime killed by the signal all FAIL; a test that passes only
//! on its rerun is FLAKY.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmgate_harness::expect::{Outcome, Skiplist};
use wasmgate_harness::report::{console, failure_details, json, junit, markdown};
use wasmgate_harness::run::{run_suites, run_suites_rerunning, Filter, RunOptions, RunReport};
use wasmgate_harness::runner::external::ExternalRunner;
use wasmgate_harness::runner::Runner;
use wasmgate_harness::suite::discover;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/operations")
}

fn fake_runner() -> Arc<dyn Runner> {
    let text = std::fs::read_to_string(data().join("fake-runtime.toml"))
        .unwrap()
        .replace("BINARY", env!("CARGO_BIN_EXE_fake-runtime"));
    let runner = ExternalRunner::from_text(&text, "fake-runtime.toml").unwrap();
    runner.binary().expect("the fake runtime is built");
    Arc::new(runner)
}

fn run(filter: Vec<String>, rerun: bool) -> RunReport {
    let suites = discover(&[data()]).expect("the operations suite loads");
    let options = RunOptions {
        jobs: 8,
        timeout: Duration::from_secs(3),
        filter: Filter::new(filter),
    };
    run_suites_rerunning(
        &suites,
        fake_runner(),
        &Skiplist::empty(),
        &options,
        rerun,
        &|_| {},
    )
}

fn expect(report: &RunReport, test: &str, outcome: Outcome, details_contain: &[&str]) {
    let id = format!("p1/operations/{test}");
    let result = report
        .results()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("{id} did not run"));
    let details = format!(
        "{}\n{}",
        result.reason.clone().unwrap_or_default(),
        failure_details(result)
    );
    assert_eq!(result.outcome, outcome, "{id}:\n{details}");
    for needle in details_contain {
        assert!(
            details.contains(needle),
            "{id}: no `{needle}` in\n{details}"
        );
    }
}

#[test]
fn every_operation_passes_and_every_mistake_fails() {
    let begun = Instant::now();
    // Everything but `flaky`, whose fake runtime keeps state between runs (its own test).
    let suites = discover(&[data()]).unwrap();
    let all: Vec<String> = suites[0]
        .tests
        .iter()
        .filter(|t| !t.id.ends_with("/flaky"))
        .map(|t| t.id.clone())
        .collect();
    let report = run(all, false);
    for pass in [
        "echo_stdin",
        "ready_then_stdin",
        "tcp_echo",
        "udp_echo",
        "sigint_exit0",
        "service",
        "client_static",
        "client_string",
        "client_chunked",
        "client_echo_headers",
        "client_echo_body",
        "client_404",
        "client_closed",
    ] {
        expect(&report, pass, Outcome::Pass, &[]);
    }
    let fails: &[(&str, &[&str])] = &[
        (
            "wrong_bytes",
            &["stdout differs at operations[1] (read)", "-hello", "+hellO"],
        ),
        (
            "missing_bytes",
            &["expected 5 bytes \"hello\", got 3 before the stream ended"],
        ),
        (
            "extra_output",
            &["stdout differs: expected 5 bytes, got 11"],
        ),
        ("echo_stdin_wrong", &["+PING"]),
        ("tcp_wrong", &["operations[3] (recv)", "-Hello", "+olleH"]),
        (
            "refused",
            &["operations[1] (connect)", "cannot connect (tcp)"],
        ),
        ("hang_read", &["got 0 before the deadline"]),
        (
            "hang_wait",
            &["expected exit code 0, got timed out after 3.0s"],
        ),
        ("sigint_dies", &["killed by signal 2"]),
        (
            "service_wrong_status",
            &["GET /: expected status 201, got 200"],
        ),
        (
            "service_wrong_header",
            &["expected header `content-type: text/html`, got `content-type: text/plain`"],
        ),
        (
            "service_wrong_body",
            &["body differs: expected 3 bytes, got 4", "-ho", "+hey"],
        ),
        ("service_slow", &["no response before the deadline"]),
    ];
    for (test, details) in fails {
        expect(&report, test, Outcome::Fail, details);
    }
    let totals = report.totals();
    assert_eq!((totals.pass, totals.fail), (13, fails.len()));
    // A stopped run says so, and the runs of servers and services left nothing running:
    // every hang was cut at its 3 s deadline (in parallel).
    expect(
        &report,
        "refused",
        Outcome::Fail,
        &["stopped by the harness: an operation failed"],
    );
    assert!(
        begun.elapsed() < Duration::from_secs(60),
        "took {:?}",
        begun.elapsed()
    );
}

#[test]
fn a_test_that_passes_on_its_rerun_is_flaky_in_every_report() {
    let report = run(vec!["flaky".into(), "wrong_bytes".into()], true);
    expect(
        &report,
        "flaky",
        Outcome::Flaky,
        &["then passed when rerun", "the failed attempt", "+first"],
    );
    expect(
        &report,
        "wrong_bytes",
        Outcome::Fail,
        &["failed again when rerun"],
    );
    let totals = report.totals();
    assert_eq!((totals.pass, totals.fail, totals.flaky), (0, 1, 1));
    let summary = console::summary(&report);
    assert!(summary.contains("FLAKY p1/operations/flaky"), "{summary}");
    assert!(
        summary.ends_with("\n0 passed, 1 failed, 0 skipped, 1 flaky\n"),
        "{summary}"
    );
    let doc: serde_json::Value = serde_json::from_str(&json::render(&report)).unwrap();
    assert_eq!(doc["totals"]["flaky"], 1);
    let tests = doc["suites"][0]["tests"].as_array().unwrap();
    assert!(tests
        .iter()
        .any(|t| t["id"] == "p1/operations/flaky" && t["outcome"] == "flaky"));
    let xml = junit::render(&report);
    assert!(xml.contains("<flakyFailure message="), "{xml}");
    let md = markdown::render(&report);
    assert!(md.contains("| `p1/operations/flaky` | FLAKY |"), "{md}");
    // Without --rerun-failures it is a plain failure (and the fake runtime's marker is
    // cleaned up by the second attempt above).
    let once = run(vec!["flaky".into()], false);
    assert_eq!(once.totals().fail, 1);
    let again = run(vec!["flaky".into()], false);
    assert_eq!(again.totals().pass, 1, "{}", console::summary(&again));
}

#[test]
fn live_tests_are_skipped_with_the_reason_on_runners_without_live_runs() {
    let suites = discover(&[data()]).unwrap();
    let options = RunOptions {
        jobs: 2,
        timeout: Duration::from_secs(3),
        filter: Filter::new(vec!["service".into(), "tcp_echo".into(), "sigint".into()]),
    };
    let runner = wasmgate_harness::runner::runner_by_name("wasmtime").unwrap();
    let report = run_suites(&suites, runner, &Skiplist::empty(), &options, &|_| {});
    expect(&report, "service", Outcome::Skip, &["needs: http"]);
    // The wasmtime runner grants sockets, but cannot be connected to.
    expect(
        &report,
        "tcp_echo",
        Outcome::Skip,
        &["needs: connections to the guest (the wasmtime runner: it has no live runs)"],
    );
    expect(
        &report,
        "sigint_exit0",
        Outcome::Skip,
        &["needs: signals (the wasmtime runner: it has no live runs)"],
    );
}
