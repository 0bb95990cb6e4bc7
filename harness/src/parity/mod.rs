//! Parity stage: runs every test on two runners and compares what each observed.
//!
//! Each test runs on runner A and then on runner B through the same executor as
//! `harness run` (private copies of its directories, the spec's expectations judged, no
//! conformance skiplist), so each side has a verdict (PASS or FAIL) and, per run of the
//! module, observations: the exit code, the stdout and stderr bytes, and the tree each
//! preopened directory was left as ([`tree`]). The normalisation rules of the parity list
//! ([`rules`]) rewrite both sides alike, then the observations are compared as bytes:
//!
//! - **identical**: same verdict, same observations;
//! - **observations differ**: same verdict, different exit code, output or files;
//! - **verdict differs**: one side passes, the other fails.
//!
//! A divergence is *explained* when the parity list has an entry for the test and pair of
//! runners that covers it (an `observations` entry does not cover a verdict difference).
//! An unexplained divergence fails the command; an entry whose test no longer diverges is
//! reported as *resolved*, so that it can go. A test that either runner cannot run
//! (a version it does not claim, a network test) is skipped with the reason.

pub mod cli;
pub mod report;
pub mod rules;
pub mod tree;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use similar::TextDiff;

use crate::execute::{execute, unmet_need, TestResult};
use crate::expect::{Outcome, Skiplist};
use crate::run::{parallel_map, selected, RunOptions};
use crate::runner::{GuestStatus, Runner};
use crate::shard::Shard;
use crate::suite::{Suite, TestCase};
use rules::{DivergenceEntry, DivergenceKind, ParityList, Target};
use tree::TreeSnapshot;

/// How a test compares across the two runners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Same verdict and observations.
    Identical,
    /// Same verdict, different observations.
    ObservationsDiffer,
    /// Different verdicts.
    VerdictDiffers,
    /// Not compared: a runner cannot run it.
    Skipped,
}

impl Class {
    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Class::Identical => "identical",
            Class::ObservationsDiffer => "observations differ",
            Class::VerdictDiffers => "verdict differs",
            Class::Skipped => "skipped",
        }
    }

    /// The divergence kind an entry must have to explain this class.
    pub fn divergence(self) -> Option<DivergenceKind> {
        match self {
            Class::ObservationsDiffer => Some(DivergenceKind::Observations),
            Class::VerdictDiffers => Some(DivergenceKind::Verdict),
            Class::Identical | Class::Skipped => None,
        }
    }
}

/// Whether a divergence is accounted for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Explanation {
    /// Nothing to explain (identical or skipped, and no entry).
    None,
    /// Diverges and the parity list explains it.
    Explained {
        /// The entry.
        entry: DivergenceEntry,
        /// Set when the entry claims more than what diverges now (verdict vs observations).
        note: Option<String>,
    },
    /// Diverges, and nothing explains it: fails the command.
    Unexplained {
        /// Set when an entry exists but covers less than what diverges.
        note: Option<String>,
    },
    /// An entry exists, but the test no longer diverges: the entry can go.
    Resolved {
        /// The entry.
        entry: DivergenceEntry,
    },
}

/// What one side observed in one run, after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunObservation {
    /// `exit 0`, `exit 134 (trap)`, `timed out`, `crashed`, `could not start`.
    pub exit: String,
    /// stdout bytes.
    pub stdout: Vec<u8>,
    /// stderr bytes.
    pub stderr: Vec<u8>,
    /// Trees after the run.
    pub trees: Vec<TreeSnapshot>,
}

/// What distinguishes an exit for comparison: the code when there is one (a CLI's trap is
/// an exit with 134 too), else how it ended.
pub fn exit_key(status: &GuestStatus) -> String {
    match (status.exit_code(), status) {
        (Some(code), GuestStatus::Trapped(_)) => format!("exit {code} (trap)"),
        (Some(code), GuestStatus::Errored(_)) => format!("exit {code} (error)"),
        (Some(code), _) => format!("exit {code}"),
        (None, GuestStatus::TimedOut(_)) => "timed out".into(),
        (None, GuestStatus::Crashed(_)) => "crashed".into(),
        (None, _) => "could not start".into(),
    }
}

/// The exit code a comparison uses: the number for `exit N (...)`, the text otherwise.
fn exit_compared(key: &str) -> &str {
    key.split(" (").next().unwrap_or(key)
}

/// One side of a compared test.
#[derive(Debug, Clone)]
pub struct SideResult {
    /// The runner's judged result (PASS or FAIL), with its runs as observed.
    pub result: TestResult,
    /// The normalised observations, one per run.
    pub runs: Vec<RunObservation>,
}

/// One difference between the sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Which run (from 1); 0 for the number of runs.
    pub run: usize,
    /// `exit`, `stdout`, `stderr`, `tree /`, `runs`.
    pub aspect: String,
    /// One line on what differs.
    pub summary: String,
    /// A unified diff (`--- a`, `+++ b`), for streams and trees.
    pub diff: Option<String>,
}

/// A test compared on the two runners.
#[derive(Debug, Clone)]
pub struct FixtureParity {
    /// The test id.
    pub id: String,
    /// The suite's id.
    pub suite_id: String,
    /// How it compares.
    pub class: Class,
    /// Whether the divergence is accounted for.
    pub explanation: Explanation,
    /// Why it was not compared (skipped).
    pub reason: Option<String>,
    /// Runner A's side (none when skipped).
    pub a: Option<SideResult>,
    /// Runner B's side.
    pub b: Option<SideResult>,
    /// What differs (empty when identical or skipped).
    pub differences: Vec<Difference>,
    /// Reasons of the normalisation rules that applied.
    pub normalised: Vec<String>,
    /// Wall time of both sides.
    pub duration: Duration,
}

impl FixtureParity {
    /// Whether this fails the command.
    pub fn is_unexplained(&self) -> bool {
        matches!(self.explanation, Explanation::Unexplained { .. })
    }
}

/// Counts over a parity run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ParityTotals {
    /// Tests compared or skipped.
    pub tests: usize,
    /// Identical.
    pub identical: usize,
    /// Same verdict, different observations.
    pub observations_differ: usize,
    /// Different verdicts.
    pub verdict_differs: usize,
    /// Not compared.
    pub skipped: usize,
    /// Divergences the parity list explains.
    pub explained: usize,
    /// Divergences nothing explains (they fail the run).
    pub unexplained: usize,
    /// Parity-list entries whose test no longer diverges.
    pub resolved: usize,
}

impl ParityTotals {
    /// Counts `fixtures`.
    pub fn of<'a>(fixtures: impl IntoIterator<Item = &'a FixtureParity>) -> ParityTotals {
        let mut t = ParityTotals::default();
        for f in fixtures {
            t.tests += 1;
            match f.class {
                Class::Identical => t.identical += 1,
                Class::ObservationsDiffer => t.observations_differ += 1,
                Class::VerdictDiffers => t.verdict_differs += 1,
                Class::Skipped => t.skipped += 1,
            }
            match f.explanation {
                Explanation::Explained { .. } => t.explained += 1,
                Explanation::Unexplained { .. } => t.unexplained += 1,
                Explanation::Resolved { .. } => t.resolved += 1,
                Explanation::None => {}
            }
        }
        t
    }

    /// `N passed, N failed, N skipped`: identical or explained tests pass, unexplained
    /// divergences fail.
    pub fn closing_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.tests - self.skipped - self.unexplained,
            self.unexplained,
            self.skipped
        )
    }
}

/// A runner's name and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerId {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
}

/// The results of a parity run.
#[derive(Debug, Clone)]
pub struct ParityReport {
    /// Runner A.
    pub a: RunnerId,
    /// Runner B.
    pub b: RunnerId,
    /// Parallel jobs.
    pub jobs: usize,
    /// Per-run timeout.
    pub timeout: Duration,
    /// Start, ms since the Unix epoch.
    pub started_unix_ms: u128,
    /// Wall time.
    pub wall: Duration,
    /// The shard, if this run was one.
    pub shard: Option<Shard>,
    /// Per test, in suite order.
    pub fixtures: Vec<FixtureParity>,
}

impl ParityReport {
    /// Counts.
    pub fn totals(&self) -> ParityTotals {
        ParityTotals::of(&self.fixtures)
    }

    /// Whether no divergence is unexplained.
    pub fn is_clean(&self) -> bool {
        self.totals().unexplained == 0
    }
}

fn observe(
    result: &TestResult,
    list: &ParityList,
    pair: (&str, &str),
    normalised: &mut Vec<String>,
) -> Vec<RunObservation> {
    let rules: Vec<_> = list.rules_for(&result.id, pair.0, pair.1).collect();
    for rule in &rules {
        if !normalised.contains(&rule.reason) {
            normalised.push(rule.reason.clone());
        }
    }
    result
        .runs
        .iter()
        .map(|run| {
            let mut stdout = run.observed.stdout.clone();
            let mut stderr = run.observed.stderr.clone();
            let mut trees = run.trees.clone();
            for rule in &rules {
                stdout = rule.stream(Target::Stdout, &stdout);
                stderr = rule.stream(Target::Stderr, &stderr);
                for tree in &mut trees {
                    rule.tree(tree);
                }
            }
            RunObservation {
                exit: exit_key(&run.observed.status),
                stdout,
                stderr,
                trees,
            }
        })
        .collect()
}

/// A unified diff between the two sides' texts.
pub fn diff_text(a: &str, b: &str, a_name: &str, b_name: &str) -> String {
    TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(3)
        .header(a_name, b_name)
        .to_string()
}

/// A diff of bytes: text when it reads as text, hex dumps otherwise.
fn diff_streams(a: &[u8], b: &[u8], a_name: &str, b_name: &str) -> String {
    let at = String::from_utf8_lossy(a);
    let bt = String::from_utf8_lossy(b);
    if at == bt {
        let hex = |bytes: &[u8]| -> String {
            bytes
                .iter()
                .take(256)
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        return format!(
            "(differ in non-UTF-8 bytes)\n{a_name}: {}\n{b_name}: {}\n",
            hex(a),
            hex(b)
        );
    }
    let mut diff = diff_text(&at, &bt, a_name, b_name);
    let unterminated = |t: &str| !t.is_empty() && !t.ends_with('\n');
    if unterminated(&at) || unterminated(&bt) {
        diff.push_str("\\ (a stream did not end with a newline)\n");
    }
    diff
}

/// The differences between two sides' observations.
pub fn compare_runs(
    a: &[RunObservation],
    b: &[RunObservation],
    a_name: &str,
    b_name: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    if a.len() != b.len() {
        out.push(Difference {
            run: 0,
            aspect: "runs".into(),
            summary: format!(
                "{a_name} ran the module {} times, {b_name} {}",
                a.len(),
                b.len()
            ),
            diff: None,
        });
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let run = i + 1;
        if exit_compared(&x.exit) != exit_compared(&y.exit) {
            out.push(Difference {
                run,
                aspect: "exit".into(),
                summary: format!("{a_name}: {}, {b_name}: {}", x.exit, y.exit),
                diff: None,
            });
        }
        for (aspect, p, q) in [
            ("stdout", &x.stdout, &y.stdout),
            ("stderr", &x.stderr, &y.stderr),
        ] {
            if p != q {
                out.push(Difference {
                    run,
                    aspect: aspect.into(),
                    summary: format!(
                        "{aspect} differs: {a_name} wrote {} bytes, {b_name} {}",
                        p.len(),
                        q.len()
                    ),
                    diff: Some(diff_streams(p, q, a_name, b_name)),
                });
            }
        }
        let guests: Vec<&str> = x.trees.iter().map(|t| t.guest.as_str()).collect();
        for guest in guests {
            let p = x.trees.iter().find(|t| t.guest == guest);
            let q = y.trees.iter().find(|t| t.guest == guest);
            let (pt, qt) = (
                p.map(|t| t.text()).unwrap_or_default(),
                q.map(|t| t.text()).unwrap_or_default(),
            );
            if pt != qt {
                out.push(Difference {
                    run,
                    aspect: format!("tree {guest}"),
                    summary: format!("the files left in {guest} differ"),
                    diff: Some(diff_text(&pt, &qt, a_name, b_name)),
                });
            }
        }
    }
    out
}

/// Judges a compared test against the parity list.
fn explain(class: Class, entry: Option<&DivergenceEntry>) -> Explanation {
    match (class.divergence(), entry) {
        (None, None) => Explanation::None,
        (None, Some(entry)) if class == Class::Skipped => {
            // Not compared this time: neither confirmed nor resolved.
            let _ = entry;
            Explanation::None
        }
        (None, Some(entry)) => Explanation::Resolved {
            entry: entry.clone(),
        },
        (Some(_), None) => Explanation::Unexplained { note: None },
        (Some(kind), Some(entry)) if kind <= entry.kind => Explanation::Explained {
            entry: entry.clone(),
            note: (kind < entry.kind).then(|| {
                format!(
                    "the entry says `{}`, but only the observations differ now: narrow it",
                    entry.kind.label()
                )
            }),
        },
        (Some(kind), Some(entry)) => Explanation::Unexplained {
            note: Some(format!(
                "the entry explains `{}` only, but the {} differs",
                entry.kind.label(),
                kind.label()
            )),
        },
    }
}

/// Runs `test` on both runners and compares.
pub fn compare_test(
    test: &TestCase,
    a: &Arc<dyn Runner>,
    b: &Arc<dyn Runner>,
    list: &ParityList,
    timeout: Duration,
) -> FixtureParity {
    let begun = Instant::now();
    let entry = list.divergence(&test.id, a.name(), b.name());
    let unmet = unmet_need(test, a.as_ref()).or_else(|| unmet_need(test, b.as_ref()));
    if let Some(reason) = unmet {
        return FixtureParity {
            id: test.id.clone(),
            suite_id: test.suite_id.clone(),
            class: Class::Skipped,
            explanation: explain(Class::Skipped, entry),
            reason: Some(reason),
            a: None,
            b: None,
            differences: Vec::new(),
            normalised: Vec::new(),
            duration: Duration::ZERO,
        };
    }
    let none = Skiplist::empty();
    let result_a = execute(test, a, &none, timeout);
    let result_b = execute(test, b, &none, timeout);
    let mut normalised = Vec::new();
    let pair = (a.name(), b.name());
    let runs_a = observe(&result_a, list, pair, &mut normalised);
    let runs_b = observe(&result_b, list, pair, &mut normalised);
    let differences = compare_runs(&runs_a, &runs_b, a.name(), b.name());
    let passed = |r: &TestResult| r.outcome == Outcome::Pass;
    let class = if passed(&result_a) != passed(&result_b) {
        Class::VerdictDiffers
    } else if differences.is_empty() {
        Class::Identical
    } else {
        Class::ObservationsDiffer
    };
    FixtureParity {
        id: test.id.clone(),
        suite_id: test.suite_id.clone(),
        class,
        explanation: explain(class, entry),
        reason: None,
        a: Some(SideResult {
            result: result_a,
            runs: runs_a,
        }),
        b: Some(SideResult {
            result: result_b,
            runs: runs_b,
        }),
        differences,
        normalised,
        duration: begun.elapsed(),
    }
}

/// Compares the selected tests of `suites` on runners `a` and `b`, `options.jobs` tests at
/// a time; `on_done` sees each test as it is compared (from worker threads).
pub fn run_parity(
    suites: &[Suite],
    a: Arc<dyn Runner>,
    b: Arc<dyn Runner>,
    list: &ParityList,
    options: &RunOptions,
    on_done: &(dyn Fn(&FixtureParity) + Sync),
) -> ParityReport {
    let tests = selected(suites, &options.filter);
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let begun = Instant::now();
    let (jobs, fixtures) = parallel_map(&tests, options.jobs, |test| {
        let done = compare_test(test, &a, &b, list, options.timeout);
        on_done(&done);
        done
    });
    ParityReport {
        a: RunnerId {
            name: a.name().to_owned(),
            version: a.version(),
        },
        b: RunnerId {
            name: b.name().to_owned(),
            version: b.version(),
        },
        jobs,
        timeout: options.timeout,
        started_unix_ms,
        wall: begun.elapsed(),
        shard: None,
        fixtures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(exit: &str, stdout: &str) -> RunObservation {
        RunObservation {
            exit: exit.into(),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
            trees: Vec::new(),
        }
    }

    #[test]
    fn a_trap_and_a_cli_exit_134_are_the_same_exit() {
        let d = compare_runs(
            &[obs("exit 134 (trap)", "")],
            &[obs("exit 134", "")],
            "a",
            "b",
        );
        assert!(d.is_empty(), "{d:?}");
        let d = compare_runs(&[obs("exit 1", "")], &[obs("exit 0", "")], "a", "b");
        assert_eq!(d[0].summary, "a: exit 1, b: exit 0");
    }

    #[test]
    fn streams_are_diffed() {
        let d = compare_runs(
            &[obs("exit 0", "one\ntwo\n")],
            &[obs("exit 0", "one\n2\n")],
            "wasmgate",
            "wasmtime",
        );
        assert_eq!(d.len(), 1);
        let diff = d[0].diff.as_deref().unwrap();
        assert!(
            diff.contains("--- wasmgate") && diff.contains("-two") && diff.contains("+2"),
            "{diff}"
        );
    }

    fn entry(kind: DivergenceKind) -> DivergenceEntry {
        DivergenceEntry {
            test: "p1/x/y".into(),
            kind,
            runners: None,
            reason: "r".into(),
            tracking: "t".into(),
        }
    }

    #[test]
    fn explanations() {
        use DivergenceKind::*;
        assert_eq!(explain(Class::Identical, None), Explanation::None);
        assert!(matches!(
            explain(Class::Identical, Some(&entry(Verdict))),
            Explanation::Resolved { .. }
        ));
        assert!(matches!(
            explain(Class::Skipped, Some(&entry(Verdict))),
            Explanation::None
        ));
        assert!(matches!(
            explain(Class::VerdictDiffers, None),
            Explanation::Unexplained { note: None }
        ));
        assert!(matches!(
            explain(Class::ObservationsDiffer, Some(&entry(Observations))),
            Explanation::Explained { note: None, .. }
        ));
        assert!(matches!(
            explain(Class::ObservationsDiffer, Some(&entry(Verdict))),
            Explanation::Explained { note: Some(_), .. }
        ));
        assert!(matches!(
            explain(Class::VerdictDiffers, Some(&entry(Observations))),
            Explanation::Unexplained { note: Some(_) }
        ));
    }
}
