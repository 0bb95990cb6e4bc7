//! The `harness` CLI: `harness run` runs conformance suites on a runner and reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use wasmgate_harness::expect::Skiplist;
use wasmgate_harness::report::{console, json, junit, markdown};
use wasmgate_harness::run::{run_suites_rerunning, selected, Filter, RunOptions, RunReport};
use wasmgate_harness::runner::{runner_by_name, runner_names};
use wasmgate_harness::{default_skiplist, suite, workspace_root};

#[derive(Parser)]
#[command(name = "harness", about = "Conformance harness for WASI runtimes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run test suites (wasi-testsuite layout) on a runner.
    Run(RunArgs),
    /// Run every test on two runners and compare what each observed (docs/parity.md).
    Parity(wasmgate_harness::parity::cli::ParityArgs),
    /// Render reports (JSON) as a static HTML dashboard.
    Dashboard(wasmgate_harness::dashboard::DashboardArgs),
    /// Generate the WASI feature matrix (docs/wasi-feature-matrix.md) from the runtime's
    /// registry, the upstream WIT and the reports; `--check` fails when it is stale.
    Matrix(wasmgate_harness::matrix::MatrixArgs),
    /// Time benchmark scenarios on wasmgate and wasmtime side by side; check budgets
    /// (docs/bench.md).
    Bench(wasmgate_harness::bench::cli::BenchArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Suite directories (with manifest.json), or directories to search for suites.
    /// Default: the project's `fixtures/`.
    #[arg(long = "suite", value_name = "DIR", num_args = 1..)]
    suites: Vec<PathBuf>,
    /// The runtime to run the tests on: `wasmgate` or `wasmtime` (in-process), a runner
    /// file shipped in harness/runners (`wasmtime-cli`, `wamr`, `wasmedge`, `wazero`,
    /// `iwasm`), or a path to a runner file (docs/runners.md).
    #[arg(long, default_value = runner_names()[0])]
    runner: String,
    /// Tests run in parallel (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Run only tests whose id (`p1/rust/fd_readdir`) contains PATTERN (`*` is a
    /// wildcard). Repeatable.
    #[arg(long = "filter", value_name = "PATTERN")]
    filters: Vec<String>,
    /// Skiplist to apply. Default: `skiplists/<runner>.json` if it exists.
    #[arg(long, value_name = "FILE")]
    skiplist: Option<PathBuf>,
    /// Apply no skiplist.
    #[arg(long, conflicts_with = "skiplist")]
    no_skiplist: bool,
    /// Seconds a guest may run before it is stopped and fails.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
    /// Write a JSON report (schema: docs/report-schema.md).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown report.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Run every P1 test as a P2 component instead: each module is wrapped with the
    /// `wasi_snapshot_preview1` command adapter (wit-component). Test ids get the prefix
    /// `adapted/`; a spec's non-zero exit code is expected as 1 (the adapter's `exit(err)`).
    #[arg(long)]
    adapt_p1: bool,
    /// Run only shard K of N (1 <= K <= N): the selected tests dealt round-robin.
    #[arg(long, value_name = "K/N")]
    shard: Option<wasmgate_harness::shard::Shard>,
    /// Rerun each failed test once: one that passes then is reported FLAKY (counted and
    /// shown in every report; it does not fail the run), one that fails again stays FAIL.
    #[arg(long)]
    rerun_failures: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Parity(args) => wasmgate_harness::parity::cli::run(args),
        Command::Dashboard(args) => wasmgate_harness::dashboard::run(args),
        Command::Matrix(args) => wasmgate_harness::matrix::run(args),
        Command::Bench(args) => wasmgate_harness::bench::cli::run(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("harness: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the suites; `Ok(false)` when a test failed.
fn run(args: RunArgs) -> Result<bool> {
    let cwd = std::env::current_dir().context("no current directory")?;
    let root = workspace_root(&cwd);
    let roots = if args.suites.is_empty() {
        vec![root.join("fixtures")]
    } else {
        args.suites.clone()
    };
    let suites = suite::discover(&roots)?;
    let suites = if args.adapt_p1 {
        suite::adapt::adapt_p1(suites)
    } else {
        suites
    };
    let runner = runner_by_name(&args.runner)?;

    let skiplist = if args.no_skiplist {
        Skiplist::empty()
    } else if let Some(path) = &args.skiplist {
        Skiplist::load(path, runner.name())?
    } else {
        let path = default_skiplist(&root, runner.name());
        if path.is_file() {
            Skiplist::load(&path, runner.name())?
        } else {
            Skiplist::empty()
        }
    };
    skiplist.check_against(&suites)?;

    let filter = Filter::new(args.filters.clone());
    let count = selected(&suites, &filter).len();
    if count == 0 {
        bail!("no test matches the filters {:?}", args.filters);
    }
    let suites = match args.shard {
        Some(shard) => shard.apply(suites, &filter),
        None => suites,
    };
    let count = selected(&suites, &filter).len();
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        bail!("--timeout must be a positive number of seconds");
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let options = RunOptions {
        jobs,
        timeout: Duration::from_secs_f64(args.timeout),
        filter,
    };

    let bar = console::progress_bar(count);
    let report = run_suites_rerunning(
        &suites,
        runner,
        &skiplist,
        &options,
        args.rerun_failures,
        &|result| {
            if result.outcome.is_failure()
                || result.outcome == wasmgate_harness::expect::Outcome::Flaky
            {
                bar.println(format!("{} {}", result.outcome, result.id));
            }
            bar.set_message(result.id.clone());
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    let report = RunReport {
        shard: args.shard,
        ..report
    };

    print!("{}", console::summary(&report));
    for (path, text) in [
        (
            &args.json,
            args.json.as_ref().map(|_| json::render(&report)),
        ),
        (
            &args.junit,
            args.junit.as_ref().map(|_| junit::render(&report)),
        ),
        (
            &args.markdown,
            args.markdown.as_ref().map(|_| markdown::render(&report)),
        ),
    ] {
        if let (Some(path), Some(text)) = (path, text) {
            write_report(path, &text)?;
        }
    }
    Ok(report.totals().failed() == 0)
}

fn write_report(path: &PathBuf, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
