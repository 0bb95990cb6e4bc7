//! Parity stage: the `harness parity` command (`docs/parity.md`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::report;
use super::rules::ParityList;
use crate::report::console::progress_bar;
use crate::run::{selected, Filter, RunOptions};
use crate::runner::runner_by_name;
use crate::shard::Shard;
use crate::{suite, workspace_root};

/// `harness parity`: run every test on two runners and compare what each observed.
#[derive(clap::Args, Debug)]
pub struct ParityArgs {
    /// Suite directories (with manifest.json), or directories to search for suites.
    /// Default: the project's `fixtures/`.
    #[arg(long = "suite", value_name = "DIR", num_args = 1..)]
    pub suites: Vec<PathBuf>,
    /// Runner A: `wasmgate`, `wasmtime`, a runner file's name or path (docs/runners.md).
    #[arg(long, value_name = "RUNNER", default_value = "wasmgate")]
    pub a: String,
    /// Runner B, the reference.
    #[arg(long, value_name = "RUNNER", default_value = "wasmtime")]
    pub b: String,
    /// Where `parity.json` and `parity.md` go. Default: `reports/` in the workspace.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The parity list (explained divergences, normalisation rules). Default:
    /// `skiplists/parity.json` in the workspace.
    #[arg(long, value_name = "FILE")]
    pub skiplist: Option<PathBuf>,
    /// Use no parity list: every divergence is unexplained, nothing is normalised.
    #[arg(long, conflicts_with = "skiplist")]
    pub no_skiplist: bool,
    /// Compare only tests whose id contains PATTERN (`*` is a wildcard). Repeatable.
    #[arg(long = "filter", value_name = "PATTERN")]
    pub filters: Vec<String>,
    /// Tests compared in parallel (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Seconds a guest may run on each side before it is stopped.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Compare only shard K of N (1 <= K <= N): the selected tests dealt round-robin.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Compare every P1 test as a P2 component (wasmtime's wasip1 command adapter), as
    /// `harness run --adapt-p1` runs it.
    #[arg(long)]
    pub adapt_p1: bool,
}

/// Runs `harness parity`; `Ok(false)` when a divergence is unexplained.
pub fn run(args: ParityArgs) -> Result<bool> {
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
    let a = runner_by_name(&args.a)?;
    let b = runner_by_name(&args.b)?;
    if a.name() == b.name() {
        bail!("--a and --b are both `{}`: compare two runners", a.name());
    }
    let list = if args.no_skiplist {
        ParityList::default()
    } else {
        let path = args
            .skiplist
            .clone()
            .unwrap_or_else(|| root.join("skiplists/parity.json"));
        if args.skiplist.is_some() || path.is_file() {
            ParityList::load(&path)?
        } else {
            ParityList::default()
        }
    };
    list.check_against(&suites)?;

    let filter = Filter::new(args.filters.clone());
    if selected(&suites, &filter).is_empty() {
        bail!("no test matches the filters {:?}", args.filters);
    }
    let suites = match args.shard {
        Some(shard) => shard.apply(suites, &filter),
        None => suites,
    };
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
        filter: filter.clone(),
    };
    let count = selected(&suites, &filter).len();
    let bar = progress_bar(count);
    let mut report = super::run_parity(&suites, a, b, &list, &options, &|done| {
        if done.is_unexplained() {
            bar.println(format!("UNEXPLAINED {} ({})", done.id, done.class.label()));
        }
        bar.set_message(done.id.clone());
        bar.inc(1);
    });
    bar.finish_and_clear();
    report.shard = args.shard;

    print!("{}", report::console(&report));
    let out = args.out.clone().unwrap_or_else(|| root.join("reports"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, text) in [
        ("parity.json", report::json(&report)),
        ("parity.md", report::markdown(&report)),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "wrote {} and {}",
        out.join("parity.json").display(),
        out.join("parity.md").display()
    );
    Ok(report.is_clean())
}
