//! Report stage: the JSON report (`--json FILE`), schema `wasmgate-harness/conformance`
//! version 1, documented in `docs/report-schema.md`.

use serde::Serialize;

use super::{diff_bytes, Totals};
use crate::execute::TestResult;
use crate::run::RunReport;
use crate::runner::GuestStatus;

/// The schema's name.
pub const SCHEMA: &str = "wasmgate-harness/conformance";
/// The schema's version; bump it on any change that is not an added field.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    schema_version: u32,
    runner: RunnerInfo<'a>,
    jobs: usize,
    timeout_s: f64,
    started_unix_ms: u128,
    wall_s: f64,
    shard: Option<crate::shard::Shard>,
    totals: Totals,
    suites: Vec<SuiteDoc<'a>>,
}

#[derive(Serialize)]
struct RunnerInfo<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct SuiteDoc<'a> {
    id: &'a str,
    name: &'a str,
    wasi_version: &'static str,
    dir: &'a str,
    totals: Totals,
    tests: Vec<TestDoc<'a>>,
}

#[derive(Serialize)]
struct TestDoc<'a> {
    id: &'a str,
    outcome: crate::expect::Outcome,
    duration_s: f64,
    reason: Option<&'a str>,
    failures: Vec<FailureDoc<'a>>,
    runs: Vec<RunDoc<'a>>,
}

#[derive(Serialize)]
struct FailureDoc<'a> {
    check: &'a str,
    message: &'a str,
    diff: Option<String>,
}

#[derive(Serialize)]
struct RunDoc<'a> {
    command: &'a str,
    status: StatusDoc,
    stdout_bytes: usize,
    stderr_bytes: usize,
}

#[derive(Serialize)]
struct StatusDoc {
    kind: &'static str,
    exit_code: Option<i32>,
    message: Option<String>,
}

fn status_doc(status: &GuestStatus) -> StatusDoc {
    let (kind, message) = match status {
        GuestStatus::Exited(_) => ("exited", None),
        GuestStatus::Trapped(m) => ("trapped", Some(m.clone())),
        GuestStatus::TimedOut(_) => ("timed_out", Some(status.to_string())),
        GuestStatus::Errored(m) => ("errored", Some(m.clone())),
        GuestStatus::Crashed(m) => ("crashed", Some(m.clone())),
        GuestStatus::Failed(m) => ("failed", Some(m.clone())),
        GuestStatus::Stopped(m) => ("stopped", Some(m.clone())),
    };
    StatusDoc {
        kind,
        exit_code: status.exit_code(),
        message,
    }
}

fn test_doc(r: &TestResult) -> TestDoc<'_> {
    TestDoc {
        id: &r.id,
        outcome: r.outcome,
        duration_s: r.duration.as_secs_f64(),
        reason: r.reason.as_deref(),
        failures: r
            .failures
            .iter()
            .map(|f| FailureDoc {
                check: &f.check,
                message: &f.message,
                diff: match (&f.expected, &f.actual) {
                    (Some(e), Some(a)) => Some(diff_bytes(e, a)),
                    _ => None,
                },
            })
            .collect(),
        runs: r
            .runs
            .iter()
            .map(|run| RunDoc {
                command: &run.command,
                status: status_doc(&run.observed.status),
                stdout_bytes: run.observed.stdout.len(),
                stderr_bytes: run.observed.stderr.len(),
            })
            .collect(),
    }
}

/// The report as pretty-printed JSON.
pub fn render(report: &RunReport) -> String {
    let doc = Document {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        runner: RunnerInfo {
            name: &report.runner,
            version: &report.runner_version,
        },
        jobs: report.jobs,
        timeout_s: report.timeout.as_secs_f64(),
        started_unix_ms: report.started_unix_ms,
        wall_s: report.wall.as_secs_f64(),
        shard: report.shard,
        totals: report.totals(),
        suites: report
            .suites
            .iter()
            .map(|s| SuiteDoc {
                id: &s.id,
                name: &s.name,
                wasi_version: s.version.triple(),
                dir: &s.dir,
                totals: Totals::of(&s.results),
                tests: s.results.iter().map(test_doc).collect(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("a report always serializes");
    text.push('\n');
    text
}
