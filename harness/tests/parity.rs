//! `harness parity`: that it sees every kind of divergence, explains what the parity list
//! explains and nothing more, normalises by rule, reports stale entries, and exits non-zero
//! on an unexplained divergence.
//!
//! The divergences come from a runner that wraps wasmgate and tampers with what one
//! test at a time observed (a stray file, extra stderr, another exit code, extra stdout),
//! and from a "runtime" described by a runner file that is only `sh`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use wasmgate_harness::parity::report as parity_report;
use wasmgate_harness::parity::rules::ParityList;
use wasmgate_harness::parity::{run_parity, Class, Explanation, FixtureParity, ParityReport};
use wasmgate_harness::run::{Filter, RunOptions};
use wasmgate_harness::runner::{runner_by_name, GuestStatus, Invocation, Observed, Runner};
use wasmgate_harness::suite::{discover, WasiVersion};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// wasmgate, with one change per test (chosen by the module's file name).
struct Tampered {
    inner: Arc<dyn Runner>,
}

impl Runner for Tampered {
    fn name(&self) -> &'static str {
        "tampered"
    }
    fn version(&self) -> String {
        "1".into()
    }
    fn supports(&self, version: WasiVersion) -> bool {
        self.inner.supports(version)
    }
    fn run(&self, invocation: &Invocation, started: &dyn Fn()) -> Observed {
        let mut observed = self.inner.run(invocation, started);
        match invocation.argv[0].as_str() {
            // A file the reference does not leave behind: same verdict.
            "create_file_once.wat" => {
                std::fs::write(invocation.preopens[0].host.join("stray.txt"), "x").unwrap();
            }
            // stderr that no expectation reads: same verdict.
            "args_count.wat" => observed.stderr.extend_from_slice(b"debug: 2 args\n"),
            // Another exit code: the verdict changes.
            "exit_code.wat" => observed.status = GuestStatus::Exited(43),
            // More stdout than expected: the verdict changes.
            "stdout_hello.wat" => observed.stdout.extend_from_slice(b"!"),
            // A timestamp the normalisation rule below removes.
            "stdin_echo.wat" => observed.stderr.extend_from_slice(b"t=1795000000\n"),
            _ => {}
        }
        observed
    }
}

const LIST: &str = r#"{
  "version": 1,
  "divergences": [
    { "test": "p1/harness/create_file_once", "kind": "observations", "reason": "leaves a stray file", "tracking": "test" },
    { "test": "p1/harness/args_count", "kind": "verdict", "reason": "prints debug output", "tracking": "test" },
    { "test": "p1/harness/exit_code", "kind": "observations", "reason": "says observations only", "tracking": "test" },
    { "test": "p1/harness/env_echo", "kind": "observations", "reason": "fixed long ago", "tracking": "test" },
    { "test": "p1/harness/read_file", "runners": ["wasmgate", "someone-else"], "kind": "verdict", "reason": "another pair", "tracking": "test" }
  ],
  "normalise": [
    { "tests": ["p1/harness/stdin_*"], "target": "stderr", "pattern": "t=[0-9]+\\n", "replace": "", "reason": "prints the time" }
  ]
}"#;

fn parity(list: &ParityList) -> ParityReport {
    let suites = discover(&[data_dir()]).unwrap();
    list.check_against(&suites).unwrap();
    let wasmgate = runner_by_name("wasmgate").unwrap();
    let tampered: Arc<dyn Runner> = Arc::new(Tampered {
        inner: wasmgate.clone(),
    });
    let options = RunOptions {
        jobs: 2,
        timeout: Duration::from_secs(30),
        filter: Filter::default(),
    };
    run_parity(&suites, tampered, wasmgate, list, &options, &|_| {})
}

fn find<'a>(report: &'a ParityReport, test: &str) -> &'a FixtureParity {
    let id = format!("p1/harness/{test}");
    report
        .fixtures
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("{id} was not compared"))
}

#[test]
fn every_divergence_is_seen_and_judged() {
    let report = parity(&ParityList::parse(LIST).unwrap());
    let console = parity_report::console(&report);

    let stray = find(&report, "create_file_once");
    assert_eq!(stray.class, Class::ObservationsDiffer, "{console}");
    assert!(matches!(
        stray.explanation,
        Explanation::Explained { note: None, .. }
    ));
    let diff = stray.differences[0].diff.as_deref().unwrap();
    assert!(
        stray.differences[0].aspect == "tree /"
            && diff.contains("-file stray.txt 1 bytes sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"),
        "{diff}"
    );

    let debug = find(&report, "args_count");
    assert_eq!(debug.class, Class::ObservationsDiffer);
    assert!(
        matches!(&debug.explanation, Explanation::Explained { note: Some(n), .. } if n.contains("narrow")),
        "{:?}",
        debug.explanation
    );
    assert!(debug.differences[0]
        .diff
        .as_deref()
        .unwrap()
        .contains("-debug: 2 args"));

    let exit = find(&report, "exit_code");
    assert_eq!(exit.class, Class::VerdictDiffers);
    assert!(
        matches!(&exit.explanation, Explanation::Unexplained { note: Some(n) } if n.contains("`observations` only")),
        "{:?}",
        exit.explanation
    );
    assert_eq!(
        exit.differences[0].summary,
        "tampered: exit 43, wasmgate: exit 42"
    );

    let hello = find(&report, "stdout_hello");
    assert_eq!(hello.class, Class::VerdictDiffers);
    assert_eq!(hello.explanation, Explanation::Unexplained { note: None });
    assert!(hello.differences.iter().any(|d| d.aspect == "stdout"));

    let resolved = find(&report, "env_echo");
    assert_eq!(resolved.class, Class::Identical);
    assert!(matches!(resolved.explanation, Explanation::Resolved { .. }));

    // An entry for another pair of runners explains nothing here.
    assert_eq!(find(&report, "read_file").explanation, Explanation::None);

    let normalised = find(&report, "stdin_echo");
    assert_eq!(normalised.class, Class::Identical, "{console}");
    assert_eq!(normalised.normalised, ["prints the time"]);

    let t = report.totals();
    assert_eq!(
        (
            t.identical,
            t.observations_differ,
            t.verdict_differs,
            t.explained,
            t.unexplained,
            t.resolved
        ),
        (4, 2, 2, 2, 2, 1),
        "{console}"
    );
    assert!(!report.is_clean());
    assert!(
        console.ends_with("\n6 passed, 2 failed, 0 skipped\n"),
        "{console}"
    );
    assert!(
        console.contains("UNEXPLAINED p1/harness/stdout_hello"),
        "{console}"
    );
    assert!(
        console.contains("RESOLVED p1/harness/env_echo"),
        "{console}"
    );
    let markdown = parity_report::markdown(&report);
    assert!(
        markdown.contains("| `p1/harness/env_echo` | fixed long ago (test) |"),
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&parity_report::json(&report)).unwrap();
    assert_eq!(json["schema"], parity_report::SCHEMA);
    assert_eq!(json["totals"]["unexplained"], 2);
}

#[test]
fn without_a_list_every_divergence_is_unexplained() {
    let report = parity(&ParityList::default());
    let t = report.totals();
    assert_eq!((t.explained, t.unexplained, t.resolved), (0, 5, 0));
}

#[test]
fn the_parity_list_must_match_loaded_tests() {
    let suites = discover(&[data_dir()]).unwrap();
    let list = ParityList::parse(
        r#"{"version": 1, "divergences": [
            {"test": "p1/harness/renamed", "kind": "verdict", "reason": "r", "tracking": "t"},
            {"test": "p9/elsewhere/x", "kind": "verdict", "reason": "r", "tracking": "t"}],
           "normalise": [{"tests": ["p1/harness/nothing_*"], "target": "stdout", "pattern": "x", "replace": "", "reason": "r"}]}"#,
    )
    .unwrap();
    let err = format!("{:#}", list.check_against(&suites).unwrap_err());
    assert!(
        err.contains("p1/harness/renamed") && err.contains("nothing_*") && !err.contains("p9/"),
        "{err}"
    );
}

fn harness(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[cfg(unix)]
#[test]
fn the_command_exits_non_zero_on_an_unexplained_divergence() {
    let dir = tempfile::tempdir().unwrap();
    // A "runtime" that prints `different` whatever the module: wrong for stdout_hello.
    let runner_file = dir.path().join("liar.toml");
    std::fs::write(
        &runner_file,
        r#"name = "liar"
about = "prints `different`, whatever the module"
version = ["{binary}", "-c", "echo liar 1"]
timeout_s = 30
[binary]
names = ["sh"]
install = "a POSIX shell"
[command]
argv = ["{binary}", "-c", "echo different", "sh", "{flags}", "{dirs}", "{envs}", "{module}", "{args}"]
dir = ["{host}:{guest}"]
env = ["{name}={value}"]
[claims]
p1 = []
"#,
    )
    .unwrap();
    let data = data_dir();
    let out = dir.path().join("out");
    let (code, text) = harness(&[
        "parity",
        "--suite",
        data.to_str().unwrap(),
        "--b",
        runner_file.to_str().unwrap(),
        "--filter",
        "stdout_hello",
        "--no-skiplist",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("UNEXPLAINED p1/harness/stdout_hello"),
        "{text}"
    );
    assert!(text.contains("+different"), "{text}");
    assert!(text.contains("\n0 passed, 1 failed, 0 skipped\n"), "{text}");
    let md = std::fs::read_to_string(out.join("parity.md")).unwrap();
    assert!(md.contains("**1 unexplained divergences.**"), "{md}");
    let json = std::fs::read_to_string(out.join("parity.json")).unwrap();
    assert!(json.contains("\"name\": \"liar\""), "{json}");

    // Explained in a list: exit 0.
    let list = dir.path().join("parity.json");
    std::fs::write(
        &list,
        r#"{"version": 1, "divergences": [{"test": "p1/harness/stdout_hello", "kind": "verdict",
            "runners": ["wasmgate", "liar"], "reason": "the liar lies", "tracking": "this test"}]}"#,
    )
    .unwrap();
    let (code, text) = harness(&[
        "parity",
        "--suite",
        data.to_str().unwrap(),
        "--b",
        runner_file.to_str().unwrap(),
        "--filter",
        "stdout_hello",
        "--skiplist",
        list.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("EXPLAINED p1/harness/stdout_hello (verdict differs): the liar lies"),
        "{text}"
    );
}

#[test]
fn wasmgate_and_wasmtime_agree_on_the_harness_data() {
    let suites = discover(&[data_dir()]).unwrap();
    let options = RunOptions {
        jobs: 2,
        timeout: Duration::from_secs(60),
        filter: Filter::default(),
    };
    let report = run_parity(
        &suites,
        runner_by_name("wasmgate").unwrap(),
        runner_by_name("wasmtime").unwrap(),
        &ParityList::default(),
        &options,
        &|_| {},
    );
    assert!(report.is_clean(), "{}", parity_report::console(&report));
    assert_eq!(report.totals().identical, report.fixtures.len());
}
