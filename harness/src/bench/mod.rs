//! Bench stage: `harness bench` runs each scenario on wasmgate and on wasmtime alternately in
//! the same process and run, checks that both produced the same output, and reports median,
//! min and max per runner and the ratio wasmgate/wasmtime; `budgets/*.json` holds what each
//! ratio may be (`docs/bench.md`).
//!
//! [`scenario`] lists the scenarios and prepares them (programs in `harness/bench-programs/`,
//! the criterion kernels, the fixtures suite); [`inprocess`], [`process`] and [`suite`] are the
//! ways a scenario is timed on one runner (a [`Subject`]), and [`wasmi`] adds the peer
//! interpreter as an extra column where it can run the program; [`measure`] samples the subjects of
//! one scenario; [`budget`] loads, checks and rewrites the budgets; [`report`] renders the
//! console table and the JSON report; [`cli`] is the `harness bench` command.

pub mod budget;
pub mod cli;
pub mod inprocess;
pub mod process;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod suite;
#[cfg(feature = "wasmi-peer")]
pub mod wasmi;

use std::time::Duration;

use serde::Serialize;

use self::stats::Summary;

/// What a run printed and how it ended: compared byte for byte between runners and samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `exit 0`, `trap: ...`, `killed by signal 9`, `returned 42`.
    pub status: String,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// A clean exit with this stdout and no stderr.
    pub fn exit0(stdout: impl Into<Vec<u8>>) -> Output {
        Output {
            status: "exit 0".into(),
            stdout: stdout.into(),
            stderr: Vec::new(),
        }
    }

    /// One line: status and output sizes, with stdout's first line.
    pub fn summary(&self) -> String {
        let first = self.stdout.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let first = String::from_utf8_lossy(&first[..first.len().min(60)]);
        format!(
            "{}, {} bytes of stdout ({first:?}...), {} of stderr",
            self.status,
            self.stdout.len(),
            self.stderr.len()
        )
    }
}

/// One timed run.
#[derive(Debug, Clone)]
pub struct Sample {
    /// What was timed (see the scenario's `measures`).
    pub elapsed: Duration,
    /// What the run produced.
    pub output: Output,
}

/// One runner's side of a scenario, prepared and ready to be sampled.
pub trait Subject {
    /// `wasmgate`, `wasmtime`, or an extra such as `wasmtime-cli`.
    fn runner(&self) -> &str;
    /// Untimed preparation done before sampling (compiling the module), if any.
    fn prepare_time(&self) -> Option<Duration> {
        None
    }
    /// Runs once, timing what the scenario says it measures.
    fn sample(&mut self) -> anyhow::Result<Sample>;
    /// The peak resident set of one more, untimed run, in KiB (process scenarios).
    fn peak_memory_kib(&mut self) -> anyhow::Result<Option<u64>> {
        Ok(None)
    }
}

/// One runner's figures for a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct RunnerResult {
    /// The runner.
    pub runner: String,
    /// Median, min and max of the samples, in ns.
    #[serde(flatten)]
    pub summary: Summary,
    /// Every sample, in ns per run, in the order taken.
    pub samples_ns: Vec<u64>,
    /// Runs per sample: short runs are batched so that a sample lasts at least
    /// [`MIN_SAMPLE`]; a sample is then the batch's mean.
    pub runs_per_sample: u64,
    /// Untimed preparation (compilation before the samples), in ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepare_ns: Option<u64>,
    /// Peak resident set of the process in one untimed run, in KiB (process scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_kib: Option<u64>,
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// `compute/mix`.
    pub name: String,
    /// What each sample times, and what that includes.
    pub measures: String,
    /// Per runner; the first is wasmgate, the second the wasmtime reference, then extras.
    pub runners: Vec<RunnerResult>,
    /// Median of wasmgate / median of wasmtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// What every run produced (they were all equal), in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why there are no numbers: a setup failure, a failed run, or outputs that differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ScenarioResult {
    /// A scenario that could not be measured.
    pub fn failed(name: &str, measures: &str, error: String) -> ScenarioResult {
        ScenarioResult {
            name: name.to_owned(),
            measures: measures.to_owned(),
            runners: Vec::new(),
            ratio: None,
            output: None,
            error: Some(error),
        }
    }

    /// The figures of `runner`.
    pub fn runner(&self, runner: &str) -> Option<&RunnerResult> {
        self.runners.iter().find(|r| r.runner == runner)
    }
}

/// Samples `subjects` (wasmgate first, the wasmtime reference second, then extras)
/// alternately: each round takes one sample of every subject, in reversed order on odd
/// rounds, so a drift in machine speed affects every runner alike. The first `warmup` rounds
/// are not recorded; the first of them calibrates: a subject whose run took less than
/// [`MIN_SAMPLE`] runs that many times more per sample (up to 1,000), and its sample is the
/// mean, so that one preemption or timer tick does not decide a short scenario. Every run's
/// output must equal `expected` when it is given, and otherwise the first run's; a
/// difference or a failed run makes the whole scenario an error.
pub fn measure(
    name: &str,
    measures: &str,
    subjects: &mut [Box<dyn Subject + '_>],
    expected: Option<&Output>,
    samples: usize,
    warmup: usize,
) -> ScenarioResult {
    match sample_all(subjects, expected, samples, warmup) {
        Ok((runners, reference)) => {
            let ratio = match (runners.first(), runners.get(1)) {
                (Some(a), Some(b)) if b.summary.median_ns > 0 => {
                    Some(a.summary.median_ns as f64 / b.summary.median_ns as f64)
                }
                _ => None,
            };
            ScenarioResult {
                name: name.to_owned(),
                measures: measures.to_owned(),
                runners,
                ratio,
                output: Some(reference.summary()),
                error: None,
            }
        }
        Err(e) => ScenarioResult::failed(name, measures, e),
    }
}

/// A sample shorter than this is a batch of runs (see [`measure`]).
pub const MIN_SAMPLE: Duration = Duration::from_millis(20);
/// The most runs in one batched sample.
const MAX_BATCH: u64 = 1_000;

fn sample_all(
    subjects: &mut [Box<dyn Subject + '_>],
    expected: Option<&Output>,
    samples: usize,
    warmup: usize,
) -> Result<(Vec<RunnerResult>, Output), String> {
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); subjects.len()];
    let mut batch: Vec<u64> = vec![1; subjects.len()];
    let mut reference: Option<(String, Output)> =
        expected.map(|e| ("the expected output".to_owned(), e.clone()));
    for round in 0..warmup + samples {
        let mut order: Vec<usize> = (0..subjects.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let subject = &mut subjects[i];
            let runner = subject.runner().to_owned();
            let mut total = Duration::ZERO;
            for _ in 0..batch[i] {
                let sample =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| subject.sample()))
                        .map_err(|p| {
                            format!("{runner} panicked: {}", crate::runner::panic_message(&*p))
                        })?
                        .map_err(|e| format!("{runner}: {e:#}"))?;
                match &reference {
                    None => reference = Some((format!("{runner}'s output"), sample.output.clone())),
                    Some((what, want)) => {
                        if *want != sample.output {
                            return Err(format!(
                                "{runner}'s output differs from {what}:\n{}",
                                difference(want, &sample.output)
                            ));
                        }
                    }
                }
                total += sample.elapsed;
            }
            if round == 0 && warmup > 0 && total < MIN_SAMPLE {
                // Calibrate: enough runs per sample to last MIN_SAMPLE.
                let each = total.as_nanos().max(1_000);
                let runs = MIN_SAMPLE.as_nanos().div_ceil(each);
                batch[i] = u64::try_from(runs).unwrap_or(MAX_BATCH).min(MAX_BATCH);
            }
            if round >= warmup {
                let per_run = total.as_nanos() / u128::from(batch[i]);
                times[i].push(u64::try_from(per_run).unwrap_or(u64::MAX));
            }
        }
    }
    let mut runners = Vec::new();
    for ((subject, samples_ns), runs) in subjects.iter_mut().zip(times).zip(batch) {
        let runner = subject.runner().to_owned();
        let peak_rss_kib = subject
            .peak_memory_kib()
            .map_err(|e| format!("{runner}: measuring peak memory: {e:#}"))?;
        runners.push(RunnerResult {
            runner,
            summary: Summary::of(&samples_ns),
            samples_ns,
            runs_per_sample: runs,
            prepare_ns: subject
                .prepare_time()
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            peak_rss_kib,
        });
    }
    let reference = reference
        .map(|(_, o)| o)
        .unwrap_or_else(|| Output::exit0(""));
    Ok((runners, reference))
}

/// How `actual` differs from `want`, in a few lines.
pub fn difference(want: &Output, actual: &Output) -> String {
    let mut lines = Vec::new();
    if want.status != actual.status {
        lines.push(format!(
            "  status: expected `{}`, got `{}`",
            want.status, actual.status
        ));
    }
    for (name, a, b) in [
        ("stdout", &want.stdout, &actual.stdout),
        ("stderr", &want.stderr, &actual.stderr),
    ] {
        if a == b {
            continue;
        }
        lines.push(format!(
            "  {name}: expected {} bytes, got {}",
            a.len(),
            b.len()
        ));
        const SHOWN: usize = 12;
        if a.len() <= 64 << 10 && b.len() <= 64 << 10 {
            let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
            let diff = similar::TextDiff::from_lines(a.as_ref(), b.as_ref());
            let changed = diff
                .iter_all_changes()
                .filter(|c| c.tag() != similar::ChangeTag::Equal);
            for change in changed.take(SHOWN) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    _ => '+',
                };
                lines.push(format!("    {sign}{:?}", change.value()));
            }
        } else {
            let at = a.iter().zip(b.iter()).position(|(x, y)| x != y);
            let at = at.unwrap_or(a.len().min(b.len()));
            let show = |s: &[u8]| {
                String::from_utf8_lossy(&s[at.min(s.len())..(at + 40).min(s.len())]).into_owned()
            };
            lines.push(format!(
                "    first difference at byte {at}: expected {:?}, got {:?}",
                show(a),
                show(b)
            ));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed {
        name: &'static str,
        stdout: Vec<&'static str>,
        elapsed: Duration,
        calls: usize,
    }

    impl Subject for Fixed {
        fn runner(&self) -> &str {
            self.name
        }
        fn sample(&mut self) -> anyhow::Result<Sample> {
            let out = self.stdout[self.calls.min(self.stdout.len() - 1)];
            self.calls += 1;
            Ok(Sample {
                elapsed: self.elapsed,
                output: Output::exit0(out),
            })
        }
    }

    fn fixed(name: &'static str, stdout: Vec<&'static str>) -> Box<dyn Subject> {
        timed(name, stdout, 30)
    }

    fn timed(name: &'static str, stdout: Vec<&'static str>, ms: u64) -> Box<dyn Subject> {
        Box::new(Fixed {
            name,
            stdout,
            elapsed: Duration::from_millis(ms),
            calls: 0,
        })
    }

    #[test]
    fn equal_outputs_give_figures_and_warmups_are_not_recorded() {
        let mut subjects = vec![timed("a", vec!["x\n"], 30), timed("b", vec!["x\n"], 60)];
        let result = measure("s", "m", &mut subjects, None, 3, 2);
        assert_eq!(result.error, None);
        assert_eq!(result.runners[0].samples_ns, vec![30_000_000; 3]);
        assert_eq!(result.runners[0].runs_per_sample, 1);
        assert_eq!(result.runners[1].summary.median_ns, 60_000_000);
        assert_eq!(result.ratio, Some(0.5));
    }

    #[test]
    fn short_runs_are_batched_after_the_first_warmup() {
        let mut subjects = vec![timed("a", vec!["x\n"], 1), timed("b", vec!["x\n"], 60)];
        let result = measure("s", "m", &mut subjects, None, 3, 2);
        assert_eq!(result.error, None);
        assert_eq!(result.runners[0].runs_per_sample, 20);
        assert_eq!(result.runners[0].samples_ns, vec![1_000_000; 3]);
        assert_eq!(result.runners[1].runs_per_sample, 1);
    }

    #[test]
    fn a_differing_output_is_an_error_not_a_number() {
        let mut subjects = vec![fixed("a", vec!["x\n"]), fixed("b", vec!["x\n", "y\n"])];
        let result = measure("s", "m", &mut subjects, None, 3, 0);
        let error = result.error.expect("an error");
        assert!(
            error.starts_with("b's output differs from a's output"),
            "{error}"
        );
        assert!(error.contains("+\"y\\n\""), "{error}");
        assert!(result.runners.is_empty() && result.ratio.is_none());
    }

    #[test]
    fn outputs_are_checked_against_the_expected_one() {
        let mut subjects = vec![fixed("a", vec!["x\n"]), fixed("b", vec!["x\n"])];
        let expected = Output::exit0("z\n");
        let result = measure("s", "m", &mut subjects, Some(&expected), 1, 0);
        let error = result.error.expect("an error");
        assert!(error.starts_with("a's output differs from the expected output"));
    }
}
