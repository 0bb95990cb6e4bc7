//! Matrix stage: `harness matrix` generates the WASI feature matrix,
//! `docs/wasi-feature-matrix.md`, from facts only — [`upstream`] (every WASI interface and
//! member, parsed from the WIT that cargo downloaded), the runtime's registry (what is
//! registered, [`wasmgate::wasi::registry`]), [`limitations`], [`coverage`] (the fixtures'
//! imports) and [`evidence`] (the gate reports) — joined in [`model`] and drawn by
//! [`render`]. `--check` fails, with a diff, when the committed file is stale.
//!
//! The output depends only on committed files and the locked crate versions: no clock, no
//! absolute path, everything sorted, so `--check` is stable on a clean machine.

pub mod coverage;
pub mod evidence;
pub mod limitations;
pub mod model;
pub mod render;
pub mod upstream;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use similar::TextDiff;
use wasmgate::wasi::registry::Registry;

use crate::workspace_root;

/// Arguments of `harness matrix`.
#[derive(clap::Args, Debug)]
pub struct MatrixArgs {
    /// The reports directory: `spec-history.csv`, `p1.json`, `p2-adapted.json`, `p3.json`,
    /// `parity.json`; a missing file is a gate not run. Default: `reports/`.
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// The page to write (or, with --check, to compare). Default:
    /// `docs/wasi-feature-matrix.md`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write nothing: print the diff and exit 1 when FILE differs from what would be
    /// generated.
    #[arg(long)]
    pub check: bool,
    /// Search DIR for WIT (every directory named `wit`, with its `deps/`) and for
    /// `wasi_snapshot_preview1.witx`, instead of the wasmtime-wasi and wasmtime-wasi-http
    /// sources that `cargo metadata` finds. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub wit: Vec<PathBuf>,
    /// Fixture suites whose imports tell what they cover. Default: `fixtures/`.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
}

/// `path` relative to `root` when it is below it, with `/` separators; else as given.
fn shown(path: &Path, root: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match abs.strip_prefix(root) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}

/// Generates the page's text from the workspace at `root`.
pub fn generate(root: &Path, args: &MatrixArgs) -> Result<String> {
    let upstream = if args.wit.is_empty() {
        let (labels, dirs): (Vec<_>, Vec<_>) = upstream::crate_sources(root)?.into_iter().unzip();
        upstream::load(labels, &dirs)?
    } else {
        let labels = args
            .wit
            .iter()
            .map(|d| code_path(&shown(d, root)))
            .collect();
        upstream::load(labels, &args.wit)?
    };
    let reports = args.reports.clone().unwrap_or_else(|| root.join("reports"));
    let fixtures = args
        .fixtures
        .clone()
        .unwrap_or_else(|| root.join("fixtures"));
    let evidence = evidence::Evidence::load(&reports)?;
    let coverage = coverage::scan(&[fixtures])?;
    let matrix = model::build(
        &upstream,
        &Registry::current(),
        &limitations::runtime()?,
        &coverage,
        &evidence,
        &shown(&reports, root),
    )?;
    Ok(render::render(&matrix))
}

fn code_path(p: &str) -> String {
    format!("`{p}`")
}

/// Runs `harness matrix`: `Ok(false)` when `--check` finds the page stale.
pub fn run(args: MatrixArgs) -> Result<bool> {
    let cwd = std::env::current_dir().context("no current directory")?;
    let root = workspace_root(&cwd);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("docs").join("wasi-feature-matrix.md"));
    let text = generate(&root, &args)?;
    if args.check {
        let committed = match std::fs::read_to_string(&out) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", out.display())),
        };
        if committed == text {
            println!("{} is up to date", out.display());
            return Ok(true);
        }
        let diff = TextDiff::from_lines(&committed, &text);
        print!(
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&format!("{} (committed)", out.display()), "generated")
        );
        eprintln!(
            "harness: {} is stale; regenerate it with `{}` and commit it",
            out.display(),
            render::COMMAND
        );
        return Ok(false);
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&out, &text).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(true)
}
