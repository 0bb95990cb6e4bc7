//! Matrix stage, evidence: the latest conformance gate results, read from the report files
//! in the reports directory. Each gate has one file; a missing file is a gate that was not
//! run (never a number made up), a malformed one is an error.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use wasmgate::wasi::registry::Preview;

use crate::expect::Outcome;

/// Where each gate's latest result is, in the reports directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gate {
    /// The WebAssembly spec testsuite: the last line of `spec-history.csv`.
    Spec,
    /// WASI P1 on wasmgate: `p1.json` (`harness run --json reports/p1.json`).
    P1,
    /// P1 modules adapted into P2 components, on wasmgate: `p2-adapted.json`.
    AdaptedP2,
    /// WASI P3 on wasmgate: `p3.json`.
    P3,
    /// wasmgate against wasmtime: `parity.json` (`harness parity --json ...`).
    Parity,
}

impl Gate {
    /// Every gate, in order.
    pub const ALL: [Gate; 5] = [
        Gate::Spec,
        Gate::P1,
        Gate::AdaptedP2,
        Gate::P3,
        Gate::Parity,
    ];

    /// Its name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Gate::Spec => "spec",
            Gate::P1 => "P1",
            Gate::AdaptedP2 => "adapted P2",
            Gate::P3 => "P3",
            Gate::Parity => "parity",
        }
    }

    /// Its file in the reports directory.
    pub fn file(self) -> &'static str {
        match self {
            Gate::Spec => "spec-history.csv",
            Gate::P1 => "p1.json",
            Gate::AdaptedP2 => "p2-adapted.json",
            Gate::P3 => "p3.json",
            Gate::Parity => "parity.json",
        }
    }

    /// The gate whose test outcomes give a preview's pass rates.
    pub fn for_preview(preview: Preview) -> Gate {
        match preview {
            Preview::P1 => Gate::P1,
            Preview::P2 => Gate::AdaptedP2,
            Preview::P3 => Gate::P3,
        }
    }
}

/// Outcome counts, as in a conformance report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Totals {
    /// Passed.
    pub pass: u64,
    /// Failed.
    pub fail: u64,
    /// Skipped.
    pub skip: u64,
    /// Failed as expected.
    pub xfail: u64,
    /// Passed though expected to fail.
    pub xpass: u64,
}

/// The last recorded spec-testsuite run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecRun {
    /// When, as recorded.
    pub date: String,
    /// The commit it ran at (`-dirty` when the tree was).
    pub commit: String,
    /// `.wast` files.
    pub files: u64,
    /// Assertions passed.
    pub passed: u64,
    /// Assertions failed.
    pub failed: u64,
    /// Assertions expected to fail (skiplist).
    pub xfail: u64,
}

/// A conformance report (`harness run --json`), the parts the matrix uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceRun {
    /// `wasmgate 0.1.0`.
    pub runner: String,
    /// Over every suite.
    pub totals: Totals,
    /// Suite ids, in report order.
    pub suites: Vec<String>,
    /// Test id to outcome.
    pub outcomes: BTreeMap<String, Outcome>,
}

/// A parity report (`harness parity --json`), the parts the matrix uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParityRun {
    /// `wasmgate 0.1.0`.
    pub a: String,
    /// `wasmtime 48.0.8`.
    pub b: String,
    /// Its totals, in the report's order.
    pub totals: ParityTotals,
}

/// A parity report's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ParityTotals {
    /// Tests compared or skipped.
    pub tests: u64,
    /// Same verdict and observations.
    pub identical: u64,
    /// Same verdict, different observations.
    pub observations_differ: u64,
    /// Different verdicts.
    pub verdict_differs: u64,
    /// Not compared.
    pub skipped: u64,
    /// Divergences the parity list explains.
    pub explained: u64,
    /// Divergences nothing explains.
    pub unexplained: u64,
}

/// The latest result of every gate; `None` where its file is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// [`Gate::Spec`].
    pub spec: Option<SpecRun>,
    /// [`Gate::P1`], [`Gate::AdaptedP2`], [`Gate::P3`].
    pub conformance: BTreeMap<Gate, ConformanceRun>,
    /// [`Gate::Parity`].
    pub parity: Option<ParityRun>,
}

impl Evidence {
    /// Reads every gate's file from `dir` (a missing directory is no evidence at all).
    pub fn load(dir: &Path) -> Result<Evidence> {
        let read = |gate: Gate| -> Result<Option<String>> {
            let path = dir.join(gate.file());
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
            }
        };
        let mut evidence = Evidence::default();
        for gate in Gate::ALL {
            let Some(text) = read(gate)? else { continue };
            let context = || format!("{}", dir.join(gate.file()).display());
            match gate {
                Gate::Spec => evidence.spec = parse_spec_history(&text).with_context(context)?,
                Gate::Parity => evidence.parity = Some(parse_parity(&text).with_context(context)?),
                _ => {
                    let run = parse_conformance(&text).with_context(context)?;
                    evidence.conformance.insert(gate, run);
                }
            }
        }
        Ok(evidence)
    }
}

/// The last line of `spec-history.csv` (header `date,commit,files,passed,failed,xfail`);
/// `None` when it has no run yet.
pub fn parse_spec_history(text: &str) -> Result<Option<SpecRun>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().context("empty file")?.split(',').collect();
    let Some(last) = lines.next_back() else {
        return Ok(None);
    };
    let fields: Vec<&str> = last.split(',').collect();
    if fields.len() != header.len() {
        bail!(
            "the last line has {} fields, the header {}",
            fields.len(),
            header.len()
        );
    }
    let get = |name: &str| -> Result<&str> {
        header
            .iter()
            .position(|h| h.trim() == name)
            .map(|i| fields[i].trim())
            .with_context(|| format!("no column `{name}`"))
    };
    let number = |name: &str| -> Result<u64> {
        get(name)?
            .parse()
            .with_context(|| format!("column `{name}` is not a count"))
    };
    Ok(Some(SpecRun {
        date: get("date")?.to_owned(),
        commit: get("commit")?.to_owned(),
        files: number("files")?,
        passed: number("passed")?,
        failed: number("failed")?,
        xfail: number("xfail")?,
    }))
}

#[derive(Deserialize)]
struct RunnerDoc {
    name: String,
    version: String,
}

#[derive(Deserialize)]
struct ConformanceDoc {
    schema: String,
    schema_version: u32,
    runner: RunnerDoc,
    totals: Totals,
    suites: Vec<SuiteDoc>,
}

#[derive(Deserialize)]
struct SuiteDoc {
    id: String,
    tests: Vec<TestDoc>,
}

#[derive(Deserialize)]
struct TestDoc {
    id: String,
    outcome: Outcome,
}

/// A `wasmgate-harness/conformance` version 1 report (docs/report-schema.md).
pub fn parse_conformance(text: &str) -> Result<ConformanceRun> {
    let doc: ConformanceDoc = serde_json::from_str(text).context("malformed report")?;
    if doc.schema != crate::report::json::SCHEMA || doc.schema_version != 1 {
        bail!(
            "schema {} version {} (expected {} version 1)",
            doc.schema,
            doc.schema_version,
            crate::report::json::SCHEMA
        );
    }
    let mut outcomes = BTreeMap::new();
    for test in doc.suites.iter().flat_map(|s| &s.tests) {
        if outcomes.insert(test.id.clone(), test.outcome).is_some() {
            bail!("test {} is reported twice", test.id);
        }
    }
    Ok(ConformanceRun {
        runner: format!("{} {}", doc.runner.name, doc.runner.version),
        totals: doc.totals,
        suites: doc.suites.into_iter().map(|s| s.id).collect(),
        outcomes,
    })
}

#[derive(Deserialize)]
struct ParityDoc {
    schema: String,
    schema_version: u32,
    a: RunnerDoc,
    b: RunnerDoc,
    totals: ParityTotals,
}

/// A `wasmgate-harness/parity` version 1 report.
pub fn parse_parity(text: &str) -> Result<ParityRun> {
    let doc: ParityDoc = serde_json::from_str(text).context("malformed report")?;
    if doc.schema != crate::parity::report::SCHEMA || doc.schema_version != 1 {
        bail!(
            "schema {} version {} (expected {} version 1)",
            doc.schema,
            doc.schema_version,
            crate::parity::report::SCHEMA
        );
    }
    Ok(ParityRun {
        a: format!("{} {}", doc.a.name, doc.a.version),
        b: format!("{} {}", doc.b.name, doc.b.version),
        totals: doc.totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_history_last_line() {
        let text = "date,commit,files,passed,failed,xfail\n\
                    2026-01-01T00:00:00Z,aaa,1,2,3,4\n\
                    2026-01-02T00:00:00Z,bbb,611,113102,0,226\n";
        let run = parse_spec_history(text).unwrap().unwrap();
        assert_eq!(run.commit, "bbb");
        assert_eq!(
            (run.files, run.passed, run.failed, run.xfail),
            (611, 113102, 0, 226)
        );
        assert_eq!(
            parse_spec_history("date,commit,files,passed,failed,xfail\n").unwrap(),
            None
        );
        assert!(parse_spec_history("date,commit\nx\n").is_err());
    }

    #[test]
    fn conformance_schema_is_checked() {
        let bad = r#"{"schema": "other", "schema_version": 1, "runner": {"name": "a", "version": "1"},
                      "totals": {"pass": 0, "fail": 0, "skip": 0, "xfail": 0, "xpass": 0}, "suites": []}"#;
        assert!(parse_conformance(bad).is_err());
    }

    #[test]
    fn a_missing_file_is_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let evidence = Evidence::load(dir.path()).unwrap();
        assert_eq!(evidence, Evidence::default());
    }
}
