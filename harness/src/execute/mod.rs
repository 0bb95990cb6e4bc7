//! Execute stage: runs one test's operations on a runner and checks every expectation.
//!
//! Each `run` … `wait` span of the spec is one run of the module. The run gets a private
//! copy of the spec's directories in a temp dir (so tests run in parallel and leave nothing
//! behind), and the HTTP servers the spec lists (`servers.rs`) are up before it, their
//! addresses in the guest's environment.
//!
//! On a runner with live runs (the external ones), a span is driven operation by operation
//! (`live.rs`): `write` feeds stdin as it comes (closed after the span's last write),
//! `read` waits (until the run's deadline) for exactly the next bytes of a stream, `connect`
//! reads the `host:port` the guest printed and connects over TCP or UDP, `send` / `recv`
//! go over that connection (`net.rs`), `request` goes to the address a `wasi:http/service`
//! printed, `kill` signals the runtime, `wait` checks the exit code. In-process runners run
//! the guest to completion with its whole stdin up front and check its output when it
//! ends; a test that needs more (a connection, a request, a signal) is skipped on them.
//! Either way a stream that the spec reads is compared as bytes, exactly and in full: the
//! `read` payloads of a stream, in order, must be all that the guest wrote to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::expect::{Expectation, Outcome, Skiplist};
use crate::parity::tree::TreeSnapshot;
use crate::runner::{run_isolated, Invocation, LiveMode, Observed, Preopen, Runner};
use crate::suite::spec::{FixtureSpec, Operation, OutputStream, Proposal, Run, World};
use crate::suite::TestCase;

mod live;
pub(crate) mod net;
pub(crate) mod servers;

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

/// The proposals a spec needs granted: those it lists, `http` for a service, servers or
/// requests, `sockets` for connections.
pub fn needed_proposals(spec: &FixtureSpec) -> Vec<Proposal> {
    let mut needed = spec.proposals.clone();
    let http = spec.world == World::HttpService
        || !spec.servers.is_empty()
        || spec
            .operations
            .iter()
            .any(|op| matches!(op, Operation::Request(_)));
    let sockets = spec.operations.iter().any(|op| {
        matches!(
            op,
            Operation::Connect(_) | Operation::Send(_) | Operation::Recv(_)
        )
    });
    for (wanted, proposal) in [(http, Proposal::Http), (sockets, Proposal::Sockets)] {
        if wanted && !needed.contains(&proposal) {
            needed.push(proposal);
        }
    }
    needed
}

/// What a spec needs of a live run that a run-to-completion cannot give, if anything.
fn live_need(spec: &FixtureSpec) -> Option<&'static str> {
    if spec.world == World::HttpService {
        return Some("a served wasi:http/service");
    }
    spec.operations.iter().find_map(|op| match op {
        Operation::Connect(_) | Operation::Send(_) | Operation::Recv(_) => {
            Some("connections to the guest")
        }
        Operation::Request(_) => Some("requests to the guest"),
        Operation::Kill(_) => Some("signals"),
        _ => None,
    })
}

/// How `runner` runs `spec`: live in `mode`, or (`None`) to completion.
fn live_mode(spec: &FixtureSpec, runner: &dyn Runner) -> Option<LiveMode> {
    let mode = if spec.world == World::HttpService {
        LiveMode::Serve
    } else {
        LiveMode::Command
    };
    if runner.live_only_when_needed() && live_need(spec).is_none() {
        return None;
    }
    runner.live(mode).then_some(mode)
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
    for proposal in needed_proposals(&test.spec) {
        if !runner.grants(proposal) {
            return Some(format!("needs: {}", proposal.name()));
        }
    }
    if let Some(need) = live_need(&test.spec) {
        if live_mode(&test.spec, runner).is_none() {
            let what = if test.spec.world == World::HttpService {
                "it has no [http] serve command"
            } else {
                "it has no live runs"
            };
            return Some(format!(
                "needs: {need} (the {} runner: {what})",
                runner.name()
            ));
        }
    }
    None
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

/// What one `run` … `wait` span expects of a run to completion.
#[derive(Default)]
pub(crate) struct Span {
    pub(crate) stdout: Option<Vec<u8>>,
    pub(crate) stderr: Option<Vec<u8>>,
    pub(crate) exit_code: i32,
}

/// What a test's runs share: the module, the private copies of its directories, its
/// servers.
pub(crate) struct TestContext<'a> {
    pub(crate) test: &'a TestCase,
    pub(crate) runner: &'a Arc<dyn Runner>,
    pub(crate) timeout: Duration,
    module: Arc<Vec<u8>>,
    scratch: tempfile::TempDir,
    // Each spec directory is copied once per test, so later runs see what earlier ones left.
    copies: Vec<(String, PathBuf)>,
    server_env: Vec<(String, String)>,
}

/// One run's invocation and what reports show of it.
pub(crate) struct Prepared {
    pub(crate) invocation: Invocation,
    /// The spec's source directories with their guest names (for the shown command).
    pub(crate) sources: Vec<(PathBuf, String)>,
}

impl TestContext<'_> {
    /// The invocation of `run` (stdin empty).
    fn prepare(&mut self, run: &Run) -> Result<Prepared, String> {
        let mut preopens = Vec::new();
        let mut sources = Vec::new();
        let dirs = run.root.iter().map(|d| (d, "/".to_owned()));
        for (dir, guest) in dirs.chain(run.dirs.iter().map(|d| (d, d.clone()))) {
            let source = self.test.dir().join(dir);
            let copy = match self.copies.iter().find(|(name, _)| name == dir) {
                Some((_, copy)) => copy.clone(),
                None => {
                    let copy = self.scratch.path().join(format!(
                        "{}-{}",
                        self.copies.len(),
                        sanitize(dir)
                    ));
                    copy_tree(&source, &copy)
                        .map_err(|e| format!("cannot copy {}: {e}", source.display()))?;
                    self.copies.push((dir.clone(), copy.clone()));
                    copy
                }
            };
            sources.push((source, guest.clone()));
            preopens.push(Preopen { host: copy, guest });
        }
        let file_name = self
            .test
            .module
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("test.wasm");
        let mut argv = vec![file_name.to_owned()];
        argv.extend(run.args.iter().cloned());
        let mut env = run.env.0.clone();
        env.extend(self.server_env.iter().cloned());
        Ok(Prepared {
            invocation: Invocation {
                module: self.module.clone(),
                argv,
                env,
                preopens,
                stdin: Vec::new(),
                timeout: self.timeout,
                version: self.test.version,
                proposals: needed_proposals(&self.test.spec),
            },
            sources,
        })
    }

    /// The command reports show for a run.
    pub(crate) fn shown_command(&self, prepared: &Prepared) -> String {
        command_line(
            self.runner.as_ref(),
            &self.test.module,
            &prepared.invocation,
            &prepared.sources,
        )
    }
}

/// What the run left in each preopened directory.
fn trees_of(invocation: &Invocation) -> Vec<TreeSnapshot> {
    invocation
        .preopens
        .iter()
        .map(|p| TreeSnapshot::take(&p.guest, &p.host))
        .collect()
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
    let servers = servers::start(&test.spec.servers)?;
    let mut cx = TestContext {
        test,
        runner,
        timeout,
        module,
        scratch,
        copies: Vec::new(),
        server_env: servers.env.clone(),
    };
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    let operations = &test.spec.operations;
    let mut i = 0;
    while i < operations.len() {
        let Operation::Run(run) = &operations[i] else {
            unreachable!("validated: a span starts with `run`")
        };
        let end = operations[i..]
            .iter()
            .position(|op| matches!(op, Operation::Wait(_)))
            .map(|at| i + at)
            .expect("validated: every run has a wait");
        let span = &operations[i + 1..=end];
        let prepared = cx.prepare(run)?;
        let (record, stopped) = match live_mode(&test.spec, runner.as_ref()) {
            Some(mode) => {
                live::run_span(&cx, prepared, mode, span, i + 1, runs.len(), &mut failures)
            }
            None => (
                run_to_completion(&cx, prepared, span, runs.len(), &mut failures)?,
                false,
            ),
        };
        runs.push(record);
        i = end + 1;
        // A failed live operation stopped the run: later runs would only build on it.
        if stopped {
            break;
        }
    }
    drop(servers);
    Ok((failures, runs))
}

/// Runs one span on a runner without live runs: the whole stdin up front, the output
/// checked when the guest ends.
fn run_to_completion(
    cx: &TestContext<'_>,
    mut prepared: Prepared,
    span: &[Operation],
    index: usize,
    failures: &mut Vec<Failure>,
) -> Result<RunRecord, String> {
    let mut expected = Span::default();
    for op in span {
        match op {
            Operation::Write(w) => prepared
                .invocation
                .stdin
                .extend_from_slice(w.payload.as_bytes()),
            Operation::Read(r) => {
                let stream = match r.id {
                    OutputStream::Stdout => expected.stdout.get_or_insert_with(Vec::new),
                    OutputStream::Stderr => expected.stderr.get_or_insert_with(Vec::new),
                };
                stream.extend_from_slice(r.payload.as_bytes());
            }
            Operation::Wait(w) => {
                expected.exit_code =
                    crate::suite::adapt::expected_exit_code(cx.test.adapted, w.exit_code);
            }
            // `unmet_need` skips tests that need these on such a runner.
            other => {
                return Err(format!(
                    "operation `{}` needs a live run, which the {} runner does not offer",
                    other.kind(),
                    cx.runner.name()
                ))
            }
        }
    }
    let command = cx.shown_command(&prepared);
    let observed = run_isolated(cx.runner.clone(), prepared.invocation.clone());
    check_span(&expected, &observed, index, failures);
    Ok(RunRecord {
        command,
        observed,
        trees: trees_of(&prepared.invocation),
    })
}

pub(crate) fn check_span(
    span: &Span,
    observed: &Observed,
    index: usize,
    failures: &mut Vec<Failure>,
) {
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
