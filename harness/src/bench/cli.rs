//! Bench stage: the `harness bench` command (see `docs/bench.md`).

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};

use super::budget::{judge, Budgets, Provenance, Verdict};
use super::report::{self, BenchReport, CheckLine};
use super::scenario::{self, Context, Scenario};
use super::{measure, process, ScenarioResult};
use crate::run::Filter;
use crate::workspace_root;

/// Native stack of the thread a scenario runs on (wasmtime's compiled code recurses on it).
const SCENARIO_THREAD_STACK: usize = 64 << 20;

/// `harness bench`: run the benchmark scenarios on wasmgate and on wasmtime, side by side.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Run only scenarios whose name contains PATTERN (`*` is a wildcard). Repeatable.
    #[arg(long = "scenario", value_name = "PATTERN")]
    pub scenarios: Vec<String>,
    /// Recorded samples per runner per scenario.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub samples: usize,
    /// Unrecorded rounds before the samples.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub warmup: usize,
    /// Write the results as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Fail when a scenario is over its budget, has none, or produced no numbers.
    #[arg(long)]
    pub check: bool,
    /// Rewrite the budgets of the scenarios run from this run's figures, with --headroom.
    #[arg(long, conflicts_with = "check")]
    pub update: bool,
    /// With --update: how far above the measured figures the budgets are set (1.0 = twice;
    /// a 3-sample ratio on a shared 2-core machine moves by up to ~2.5x between runs).
    #[arg(long, value_name = "FRACTION", default_value_t = 1.0)]
    pub headroom: f64,
    /// The machine's name: enables (and with --update sets) its absolute median budgets.
    #[arg(long, value_name = "NAME")]
    pub machine: Option<String>,
    /// The budget directory. Default: `budgets/` in the workspace.
    #[arg(long, value_name = "DIR")]
    pub budgets: Option<PathBuf>,
    /// The wasmgate CLI for process scenarios. Default: `wasmgate` beside this executable.
    #[arg(long, value_name = "PATH")]
    pub wasmgate_bin: Option<PathBuf>,
    /// A native wasmtime CLI, timed as an extra in process scenarios. Default:
    /// `$WASMTIME_CLI`, else a native `wasmtime` on the PATH.
    #[arg(long, value_name = "PATH")]
    pub wasmtime_cli: Option<PathBuf>,
    /// List the scenarios and what each one times, then exit.
    #[arg(long)]
    pub list: bool,
    /// Run FILE [ARGS...] with wasmtime as `wasmtime run` would (the wasmtime side of the
    /// process scenarios).
    #[arg(long, hide = true, num_args = 1.., value_name = "FILE", allow_hyphen_values = true)]
    pub exec_wasmtime: Option<Vec<String>>,
    /// Run PROGRAM [ARGS...] and print its peak resident set (for process scenarios).
    #[arg(long, hide = true, num_args = 1.., value_name = "PROGRAM", allow_hyphen_values = true)]
    pub exec_rss: Option<Vec<String>>,
}

/// Runs `harness bench`; `Ok(false)` when a scenario failed or, with `--check`, a budget
/// was exceeded.
pub fn run(args: BenchArgs) -> Result<bool> {
    if let Some(argv) = &args.exec_wasmtime {
        let code = process::exec_wasmtime(Path::new(&argv[0]), &argv[1..]);
        std::process::exit(code);
    }
    if let Some(argv) = &args.exec_rss {
        std::process::exit(process::exec_rss(argv));
    }
    let cwd = std::env::current_dir().context("no current directory")?;
    let root = workspace_root(&cwd);
    let all = scenario::all(&root);
    let filter = Filter::new(args.scenarios.clone());
    let chosen: Vec<Scenario> = all
        .iter()
        .filter(|s| filter.selects(&s.name))
        .cloned()
        .collect();
    if args.list {
        for s in &all {
            println!("{}\n    {}", s.name, s.measures);
        }
        return Ok(true);
    }
    if chosen.is_empty() {
        bail!("no scenario matches {:?} (see --list)", args.scenarios);
    }
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    if !(args.headroom >= 0.0 && args.headroom.is_finite()) {
        bail!("--headroom must be a fraction, 0 or more");
    }
    let optimized = !cfg!(debug_assertions);
    if !optimized {
        let why = "this harness is a debug build: wasmtime, Cranelift and wasmtime-wasi run \
                   unoptimised (opt-level 0) while wasmgate is at opt-level 2, so the ratios \
                   mean nothing; use `cargo run --release -p wasmgate-harness --bin harness -- bench`";
        if args.check || args.update {
            bail!("--check and --update need an optimized build: {why}");
        }
        eprintln!("warning: {why}");
    }
    let budget_dir = args.budgets.clone().unwrap_or_else(|| root.join("budgets"));
    let mut budgets = Budgets::load(&budget_dir)?;
    if args.check || args.update {
        budgets.check_against(all.iter().map(|s| s.name.as_str()))?;
    }

    let cx = Context {
        root: root.clone(),
        wasmgate_bin: process::find_wasmgate(args.wasmgate_bin.as_deref())
            .map_err(|e| format!("{e:#}")),
        wasmtime_cli: process::find_wasmtime_cli(args.wasmtime_cli.as_deref()),
    };
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let begun = Instant::now();
    let mut results = Vec::new();
    for (i, s) in chosen.iter().enumerate() {
        eprintln!("[{}/{}] {}", i + 1, chosen.len(), s.name);
        let result = run_scenario(s, &cx, args.samples, args.warmup);
        if let Some(error) = &result.error {
            eprintln!("    error: {}", error.replace('\n', "\n    "));
        }
        results.push(result);
    }
    let wall = begun.elapsed();

    let verdicts: Option<Vec<Verdict>> = args.check.then(|| {
        results
            .iter()
            .map(|r| judge(r, budgets.get(&r.name), args.machine.as_deref()))
            .collect()
    });
    print!("{}", report::console(&results, verdicts.as_deref()));
    println!(
        "\n{} scenarios, {} samples + {} warmup each, {:.1} s ({} build)",
        results.len(),
        args.samples,
        args.warmup,
        wall.as_secs_f64(),
        if optimized { "optimized" } else { "DEBUG" }
    );

    let commit = git_commit(&root);
    if let Some(path) = &args.json {
        let report = BenchReport {
            harness_version: env!("CARGO_PKG_VERSION").to_owned(),
            build: if optimized { "release" } else { "debug" }.to_owned(),
            machine: args.machine.clone(),
            host: host_description(),
            commit: commit.clone(),
            samples: args.samples,
            warmup: args.warmup,
            started_unix_ms,
            wall_ms: wall.as_millis(),
            scenarios: results.clone(),
            check: verdicts.as_ref().map(|v| {
                results
                    .iter()
                    .zip(v)
                    .map(|(r, v)| CheckLine {
                        scenario: r.name.clone(),
                        verdict: v.clone(),
                    })
                    .collect()
            }),
        };
        write_file(path, &report::json(&report))?;
    }

    let errors = results.iter().filter(|r| r.error.is_some()).count();
    if args.update {
        let provenance = Provenance {
            machine: args.machine.clone().unwrap_or_else(host_description),
            commit,
            date: today(),
        };
        for path in budgets.update(
            &results,
            args.headroom,
            args.machine.as_deref(),
            &provenance,
        )? {
            println!("wrote {}", path.display());
        }
    }
    if let Some(verdicts) = &verdicts {
        let failing: Vec<(&ScenarioResult, &Verdict)> = results
            .iter()
            .zip(verdicts)
            .filter(|(_, v)| v.fails())
            .collect();
        for (r, v) in &failing {
            match v {
                Verdict::Over { message } => {
                    println!("FAIL {}: over budget: {message}", r.name)
                }
                Verdict::NoBudget => println!(
                    "FAIL {}: no budget in {}/{}.json (add one with --update)",
                    r.name,
                    budget_dir.display(),
                    super::budget::group_of(&r.name)
                ),
                Verdict::Error { message } => {
                    println!("FAIL {}: {}", r.name, message.lines().next().unwrap_or(""))
                }
                Verdict::Ok { .. } => {}
            }
        }
        println!(
            "budget check: {} within budget, {} failed",
            verdicts.len() - failing.len(),
            failing.len()
        );
        return Ok(failing.is_empty());
    }
    Ok(errors == 0)
}

/// Prepares and samples one scenario on a thread of its own, so a deep guest stack or a
/// panic in preparation cannot take the harness down.
fn run_scenario(s: &Scenario, cx: &Context, samples: usize, warmup: usize) -> ScenarioResult {
    let spawned = std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name(format!("bench-{}", s.name))
            .stack_size(SCENARIO_THREAD_STACK)
            .spawn_scoped(scope, || {
                let mut prepared = match scenario::prepare(s, cx) {
                    Ok(p) => p,
                    Err(e) => {
                        return ScenarioResult::failed(&s.name, &s.measures, format!("{e:#}"))
                    }
                };
                for note in &prepared.notes {
                    eprintln!("    note: {note}");
                }
                measure(
                    &s.name,
                    &s.measures,
                    &mut prepared.subjects,
                    prepared.expected.as_ref(),
                    samples,
                    warmup,
                )
            });
        handle.map(|h| h.join())
    });
    match spawned {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => ScenarioResult::failed(
            &s.name,
            &s.measures,
            format!("panicked: {}", crate::runner::panic_message(&*panic)),
        ),
        Err(e) => ScenarioResult::failed(&s.name, &s.measures, format!("cannot spawn: {e}")),
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// `git rev-parse --short HEAD`, with `-dirty` when tracked files changed.
fn git_commit(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// The CPU model and the cores this process may use.
fn host_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores")
}

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
