//! Execute stage: runs one test's operations on a runner and checks every expectation.
//!
//! Each `run` … `wait` span of the spec is one run of the module. The run gets a private
//! copy of the spec's directories in a temp dir (so tests run in parallel and leave nothing
//! behind), all `write`s to stdin as its input, and its output is checked when it ends:
//! the exit code, and each stream that the spec reads, compared as bytes, exactly and in
//! full (the `read` payloads of a stream, in order, must be all that the guest wrote to it).
//! The guest runs to completion with its whole stdin up front: in-process runners are not
//! interactive, which the run/read/write/wait operations of CLI tests do not need.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::expect::{Expectation, Outcome, Skiplist};
use crate::parity::tree::TreeSnapshot;
use crate::runner::{run_isolated, Invocation, Observed, Preopen, Runner};
use crate::suite::spec::{Operation, OutputStream, Run};
use crate::suite::TestCase;

/// An expectation that was not met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// What was checked: `exit`, `stdout`, `stderr`, `setup`.
    pub check: String,
    /// One line saying what went wrong.
    pub message: String,
    /// The expected bytes, for output checks.
    #[serde(skip)]
    pub expected: Option<Vec<u8>>,
    /// The actual bytes, for output checks.
    #[serde(skip)]
    pub actual: Option<Vec<u8>>,
}

/// One run of the module within a test.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The equivalent command line.
    pub command: String,
    /// How it ended.
    pub observed: Observed,
    /// What the run left in each preopened directory, in preopen order.
    pub trees: Vec<TreeSnapshot>,
}

/// Everything known about one test after it ran (or was skipped).
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's id, `p1/rust/fd_readdir`.
    pub id: String,
    /// The suite's id.
    pub suite_id: String,
    /// The runner's name.
    pub runner: String,
    /// The judged outcome.
    pub outcome: Outcome,
    /// Why it was skipped or expected to fail.
    pub reason: Option<String>,
    /// Unmet expectations (empty for PASS and SKIP, and for XPASS).
    pub failures: Vec<Failure>,
    /// The runs of the module.
    pub runs: Vec<RunRecord>,
    /// Wall time of the test.
    pub duration: Duration,
    /// The spec's text, for failure reports.
    pub spec_text: String,
}

impl TestResult {
    fn skipped(test: &TestCase, runner: &str, reason: String) -> TestResult {
        TestResult {
            id: test.id.clone(),
            suite_id: test.suite_id.clone(),
            runner: runner.to_owned(),
            outcome: Outcome::Skip,
            reason: Some(reason),
            failures: Vec::new(),
            runs: Vec::new(),
            duration: Duration::ZERO,
            spec_text: String::new(),
        }
    }
}

/// Why a runner cannot run `test` at all, if it cannot.
pub fn unmet_need(test: &TestCase, runner: &dyn Runner) -> Option<String> {
    if !runner.supports(test.version) {
        return Some(format!(
            "unsupported: {} (not claimed by the {} runner)",
            test.version,
            runner.name()
        ));
    }
    test.spec
        .network_need()
        .map(|need| format!("needs: {need}"))
}

/// Runs `test` on `runner`, judging it against `skiplist`.
pub fn execute(
    test: &TestCase,
    runner: &Arc<dyn Runner>,
    skiplist: &Skiplist,
    timeout: Duration,
) -> TestResult {
    let entry = skiplist.lookup(&test.id);
    if let Some(entry) = entry.filter(|e| e.expect == Expectation::Skip) {
        return TestResult::skipped(
            test,
            runner.name(),
            format!("skiplist: {} ({})", entry.reason, entry.tracking),
        );
    }
    if let Some(need) = unmet_need(test, runner.as_ref()) {
        return TestResult::skipped(test, runner.name(), need);
    }
    let begun = Instant::now();
    let (failures, runs) = match run_operations(test, runner, timeout) {
        Ok(done) => done,
        Err(setup) => (
            vec![Failure {
                check: "setup".into(),
                message: setup,
                expected: None,
                actual: None,
            }],
            Vec::new(),
        ),
    };
    let expected_to_fail = entry.is_some();
    let outcome = Outcome::judge(expected_to_fail, !failures.is_empty());
    TestResult {
        id: test.id.clone(),
        suite_id: test.suite_id.clone(),
        runner: runner.name().to_owned(),
        outcome,
        reason: entry.map(|e| format!("skiplist: {} ({})", e.reason, e.tracking)),
        failures,
        runs,
        duration: begun.elapsed(),
        spec_text: test.spec_text(),
    }
}

/// What one `run` … `wait` span asks for.
#[derive(Default)]
struct Span<'a> {
    run: Option<&'a Run>,
    stdin: Vec<u8>,
    stdout: Option<Vec<u8>>,
    stderr: Option<Vec<u8>>,
    exit_code: i32,
}

fn run_operations(
    test: &TestCase,
    runner: &Arc<dyn Runner>,
    timeout: Duration,
) -> Result<(Vec<Failure>, Vec<RunRecord>), String> {
    let module = Arc::new(test.module_bytes().map_err(|e| format!("{e:#}"))?);
    let scratch = tempfile::Builder::new()
        .prefix("wasmgate-harness-")
        .tempdir()
        .map_err(|e| format!("cannot make a temp dir: {e}"))?;
    // Each spec directory is copied once per test, so later runs see what earlier ones left.
    let mut copies: Vec<(String, PathBuf)> = Vec::new();
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    let mut span = Span::default();
    for op in &test.spec.operations {
        match op {
            Operation::Run(run) => {
                span = Span {
                    run: Some(run),
                    ..Span::default()
                }
            }
            Operation::Write(w) => span.stdin.extend_from_slice(w.payload.as_bytes()),
            Operation::Read(r) => {
                let expected = match r.id {
                    OutputStream::Stdout => span.stdout.get_or_insert_with(Vec::new),
                    OutputStream::Stderr => span.stderr.get_or_insert_with(Vec::new),
                };
                expected.extend_from_slice(r.payload.as_bytes());
            }
            Operation::Wait(w) => {
                span.exit_code = crate::suite::adapt::expected_exit_code(test.adapted, w.exit_code);
                let run = span.run.expect("validated: wait follows run");
                let mut preopens = Vec::new();
                let mut sources = Vec::new();
                let dirs = run.root.iter().map(|d| (d, "/".to_owned()));
                for (dir, guest) in dirs.chain(run.dirs.iter().map(|d| (d, d.clone()))) {
                    let source = test.dir().join(dir);
                    let copy = match copies.iter().find(|(name, _)| name == dir) {
                        Some((_, copy)) => copy.clone(),
                        None => {
                            let copy =
                                scratch
                                    .path()
                                    .join(format!("{}-{}", copies.len(), sanitize(dir)));
                            copy_tree(&source, &copy)
                                .map_err(|e| format!("cannot copy {}: {e}", source.display()))?;
                            copies.push((dir.clone(), copy.clone()));
                            copy
                        }
                    };
                    sources.push((source, guest.clone()));
                    preopens.push(Preopen { host: copy, guest });
                }
                let file_name = test
                    .module
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("test.wasm");
                let mut argv = vec![file_name.to_owned()];
                argv.extend(run.args.iter().cloned());
                let invocation = Invocation {
                    module: module.clone(),
                    argv,
                    env: run.env.0.clone(),
                    preopens,
                    stdin: std::mem::take(&mut span.stdin),
                    timeout,
                    version: test.version,
                };
                let command = command_line(runner.as_ref(), &test.module, &invocation, &sources);
                let trees: Vec<(String, PathBuf)> = invocation
                    .preopens
                    .iter()
                    .map(|p| (p.guest.clone(), p.host.clone()))
                    .collect();
                let observed = run_isolated(runner.clone(), invocation);
                check_span(&span, &observed, runs.len(), &mut failures);
                let trees = trees
                    .iter()
                    .map(|(guest, host)| TreeSnapshot::take(guest, host))
                    .collect();
                runs.push(RunRecord {
                    command,
                    observed,
                    trees,
                });
                span = Span::default();
            }
            // Tests that need these are skipped before they get here.
            Operation::Connect(_)
            | Operation::Send(_)
            | Operation::Recv(_)
            | Operation::Request(_)
            | Operation::Kill(_) => {
                return Err(format!(
                    "operation `{}` is not executed by this harness",
                    op.kind()
                ))
            }
        }
    }
    Ok((failures, runs))
}

fn check_span(span: &Span<'_>, observed: &Observed, index: usize, failures: &mut Vec<Failure>) {
    let which = if index == 0 {
        String::new()
    } else {
        format!(" (run {})", index + 1)
    };
    match observed.status.exit_code() {
        Some(code) if code == span.exit_code => {}
        Some(_) | None => failures.push(Failure {
            check: "exit".into(),
            message: format!(
                "expected exit code {}, got {}{which}",
                span.exit_code, observed.status
            ),
            expected: None,
            actual: None,
        }),
    }
    for (name, expected, actual) in [
        ("stdout", &span.stdout, &observed.stdout),
        ("stderr", &span.stderr, &observed.stderr),
    ] {
        if let Some(expected) = expected {
            if expected != actual {
                failures.push(Failure {
                    check: name.into(),
                    message: format!(
                        "{name} differs{which}: expected {} bytes, got {}",
                        expected.len(),
                        actual.len()
                    ),
                    expected: Some(expected.clone()),
                    actual: Some(actual.clone()),
                });
            }
        }
    }
}

fn sanitize(dir: &str) -> String {
    dir.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Copies a directory tree, keeping symlinks as symlinks.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_symlink() {
            let link = std::fs::read_link(entry.path())?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&link, &target)?;
            #[cfg(not(unix))]
            return Err(std::io::Error::other(format!(
                "cannot copy symlink {}",
                link.display()
            )));
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The CLI command equivalent to a run (`wasmtime run --dir SRC::/ ...`), naming the
/// spec's source directories rather than the private copies: the runner's own command when
/// it is a CLI, otherwise the `wasmtime run` shape.
fn command_line(
    runner: &dyn Runner,
    module: &Path,
    invocation: &Invocation,
    sources: &[(PathBuf, String)],
) -> String {
    let shown = Invocation {
        preopens: sources
            .iter()
            .map(|(host, guest)| Preopen {
                host: host.clone(),
                guest: guest.clone(),
            })
            .collect(),
        ..invocation.clone()
    };
    let stdin_note = if invocation.stdin.is_empty() {
        String::new()
    } else {
        format!(" < (stdin: {} bytes)", invocation.stdin.len())
    };
    if let Some(argv) = runner.command(module, &shown) {
        let words: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
        return words.join(" ") + &stdin_note;
    }
    let mut words = vec![runner.name().to_owned(), "run".to_owned()];
    for (source, guest) in sources {
        words.push("--dir".into());
        words.push(shell_quote(&format!("{}::{guest}", source.display())));
    }
    for (k, v) in &invocation.env {
        words.push("--env".into());
        words.push(shell_quote(&format!("{k}={v}")));
    }
    words.push(shell_quote(&module.display().to_string()));
    words.extend(invocation.argv.iter().skip(1).map(|a| shell_quote(a)));
    words.join(" ") + &stdin_note
}
