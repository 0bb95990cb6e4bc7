//! Suite stage: finds test suites on disk and the tests in them.
//!
//! A suite is a directory with a `manifest.json` (keys `name` and `version`, as in
//! wasi-testsuite) and test modules `foo.wasm` or `foo.wat`, each with an optional spec
//! `foo.json`. A directory given to [`discover`] that is not itself a suite is searched
//! for suites below it. Every test has a stable id `pN/<suite>/<test>`: for upstream's
//! `tests/rust/testsuite/wasm32-wasip1/fd_readdir.wasm` that is `p1/rust/fd_readdir`.

pub mod adapt;
pub mod spec;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

pub use spec::{load_spec, FixtureSpec, SpecError};

/// The WASI version a suite targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum WasiVersion {
    /// `wasm32-wasip1`: core modules importing `wasi_snapshot_preview1`.
    #[serde(rename = "wasm32-wasip1")]
    P1,
    /// `wasm32-wasip2`: components.
    #[serde(rename = "wasm32-wasip2")]
    P2,
    /// `wasm32-wasip3`: async components.
    #[serde(rename = "wasm32-wasip3")]
    P3,
}

impl WasiVersion {
    /// The target triple's spelling, `wasm32-wasip1`.
    pub fn triple(self) -> &'static str {
        match self {
            WasiVersion::P1 => "wasm32-wasip1",
            WasiVersion::P2 => "wasm32-wasip2",
            WasiVersion::P3 => "wasm32-wasip3",
        }
    }

    /// The short spelling used in test ids, `p1`.
    pub fn short(self) -> &'static str {
        match self {
            WasiVersion::P1 => "p1",
            WasiVersion::P2 => "p2",
            WasiVersion::P3 => "p3",
        }
    }

    fn from_triple(s: &str) -> Option<WasiVersion> {
        [WasiVersion::P1, WasiVersion::P2, WasiVersion::P3]
            .into_iter()
            .find(|v| v.triple() == s)
    }
}

impl fmt::Display for WasiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.triple())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: Option<String>,
    version: Option<WasiVersion>,
}

/// A suite: one directory of tests.
#[derive(Debug)]
pub struct Suite {
    /// Stable id, `p1/rust`.
    pub id: String,
    /// The manifest's `name`.
    pub name: String,
    /// The WASI version of every test in it.
    pub version: WasiVersion,
    /// Where it is.
    pub dir: PathBuf,
    /// Its tests, sorted by name.
    pub tests: Vec<TestCase>,
}

/// What a test's module file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleFormat {
    /// `foo.wasm`.
    Binary,
    /// `foo.wat`, compiled when the test runs.
    Text,
}

/// One test: a module and its spec.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// `p1/rust/fd_readdir`.
    pub id: String,
    /// `fd_readdir`.
    pub name: String,
    /// The suite's id.
    pub suite_id: String,
    /// The suite's WASI version.
    pub version: WasiVersion,
    /// The module file.
    pub module: PathBuf,
    /// Binary or text.
    pub format: ModuleFormat,
    /// The spec file, if there is one.
    pub spec_file: Option<PathBuf>,
    /// The parsed spec (the default spec when there is no file).
    pub spec: Arc<FixtureSpec>,
    /// A P1 module run as a P2 component through the preview 1 adapter (`--adapt-p1`).
    pub adapted: bool,
}

impl TestCase {
    /// The directory the spec's relative paths start from.
    pub fn dir(&self) -> &Path {
        self.module.parent().unwrap_or(Path::new("."))
    }

    /// The module as a binary (a `.wat` file is compiled here).
    pub fn module_bytes(&self) -> Result<Vec<u8>> {
        if self.adapted {
            let module = self.source_bytes()?;
            return adapt::p1_command_to_component(&module)
                .with_context(|| format!("cannot adapt {} to a component", self.module.display()));
        }
        self.source_bytes()
    }

    /// The module file as a binary, without adaptation.
    fn source_bytes(&self) -> Result<Vec<u8>> {
        match self.format {
            ModuleFormat::Binary => std::fs::read(&self.module)
                .with_context(|| format!("cannot read {}", self.module.display())),
            ModuleFormat::Text => wat::parse_file(&self.module)
                .with_context(|| format!("cannot compile {}", self.module.display())),
        }
    }

    /// The spec file's text (or `{}` description of the default), for failure reports.
    pub fn spec_text(&self) -> String {
        match &self.spec_file {
            Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
            None => "(no spec file: run, then wait for exit code 0)".to_owned(),
        }
    }
}

/// Finds every suite at or under each of `roots`. A root that holds no suite is an error,
/// and so is a malformed manifest or spec, or two suites with one id.
pub fn discover(roots: &[PathBuf]) -> Result<Vec<Suite>> {
    let mut suites = Vec::new();
    for root in roots {
        let found = discover_under(root)?;
        if found.is_empty() {
            bail!(
                "no test suite (a directory with manifest.json and *.wasm) under {}",
                root.display()
            );
        }
        suites.extend(found);
    }
    suites.sort_by(|a, b| a.id.cmp(&b.id));
    for pair in suites.windows(2) {
        if pair[0].id == pair[1].id {
            bail!(
                "two suites have the id `{}`: {} and {}",
                pair[0].id,
                pair[0].dir.display(),
                pair[1].dir.display()
            );
        }
    }
    Ok(suites)
}

/// Every suite at or under `root` (none is not an error here).
pub fn discover_under(root: &Path) -> Result<Vec<Suite>> {
    if !root.is_dir() {
        bail!("suite directory {} does not exist", root.display());
    }
    let mut suites = Vec::new();
    find_suites(root, &mut suites)?;
    Ok(suites)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

fn find_suites(dir: &Path, out: &mut Vec<Suite>) -> Result<()> {
    if dir.join("manifest.json").is_file() {
        let suite = load_suite(dir)?;
        // A manifest beside sources only (upstream's `src/bin`) is not a suite of modules.
        if !suite.tests.is_empty() {
            out.push(suite);
        }
        return Ok(());
    }
    for entry in sorted_entries(dir)? {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if entry.is_dir() && !entry.is_symlink() && !name.starts_with('.') && name != "target" {
            find_suites(&entry, out)?;
        }
    }
    Ok(())
}

/// Loads one suite directory.
pub fn load_suite(dir: &Path) -> Result<Suite> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: malformed manifest", manifest_path.display()))?;
    let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("suite");
    let version = manifest
        .version
        .or_else(|| WasiVersion::from_triple(dir_name))
        .unwrap_or(WasiVersion::P1);
    let id = suite_id(dir, version);
    let name = manifest.name.unwrap_or_else(|| id.clone());

    let mut tests = Vec::new();
    let mut specs = Vec::new();
    for entry in sorted_entries(dir)? {
        if !entry.is_file() {
            continue;
        }
        let stem = entry
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        let format = match entry.extension().and_then(|e| e.to_str()) {
            Some("wasm") => ModuleFormat::Binary,
            Some("wat") => ModuleFormat::Text,
            Some("json") if stem != "manifest" => {
                specs.push(entry);
                continue;
            }
            _ => continue,
        };
        if tests.iter().any(|t: &TestCase| t.name == stem) {
            bail!("{}: both {stem}.wasm and {stem}.wat exist", dir.display());
        }
        let spec_path = entry.with_extension("json");
        let (spec_file, spec) = if spec_path.is_file() {
            (Some(spec_path.clone()), load_spec(&spec_path)?)
        } else {
            (None, FixtureSpec::default())
        };
        tests.push(TestCase {
            id: format!("{id}/{stem}"),
            name: stem,
            suite_id: id.clone(),
            version,
            module: entry,
            format,
            spec_file,
            spec: Arc::new(spec),
            adapted: false,
        });
    }
    // Specs beside sources only (upstream's `src/bin`) are not checked: not a suite of modules.
    for spec in specs.iter().filter(|_| !tests.is_empty()) {
        let stem = spec.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if !tests.iter().any(|t| t.name == stem) {
            bail!(
                "{}: a spec without a module ({stem}.wasm or {stem}.wat)",
                spec.display()
            );
        }
    }
    Ok(Suite {
        id,
        name,
        version,
        dir: dir.to_path_buf(),
        tests,
    })
}

/// `p1/rust` for `.../rust/testsuite/wasm32-wasip1`, `p1/sandbox` for `.../sandbox`,
/// `p1` for `.../p1`.
fn suite_id(dir: &Path, version: WasiVersion) -> String {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let names: Vec<&str> = abs
        .components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str())
        .take(3)
        .collect();
    let mut label = names.first().copied().unwrap_or("suite");
    if WasiVersion::from_triple(label).is_some() {
        label = names.get(1).copied().unwrap_or(label);
        if label == "testsuite" {
            label = names.get(2).copied().unwrap_or(label);
        }
    }
    // `fixtures/p1-sandbox` is `p1/sandbox`.
    let label = label
        .strip_prefix(version.short())
        .and_then(|l| l.strip_prefix('-'))
        .unwrap_or(label);
    if label == version.short() {
        version.short().to_owned()
    } else {
        format!("{}/{label}", version.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_ids() {
        let p = |s: &str| Path::new(s).to_path_buf();
        assert_eq!(
            suite_id(&p("/t/tests/rust/testsuite/wasm32-wasip1"), WasiVersion::P1),
            "p1/rust"
        );
        assert_eq!(
            suite_id(&p("/t/tests/c/testsuite/wasm32-wasip3"), WasiVersion::P3),
            "p3/c"
        );
        assert_eq!(
            suite_id(&p("/w/fixtures/p1/sandbox"), WasiVersion::P1),
            "p1/sandbox"
        );
        assert_eq!(suite_id(&p("/w/fixtures/p1"), WasiVersion::P1), "p1");
        assert_eq!(
            suite_id(&p("/w/fixtures/p1-sandbox"), WasiVersion::P1),
            "p1/sandbox"
        );
    }
}
