//! Expect stage: outcomes (PASS, FAIL, SKIP, XFAIL, XPASS, FLAKY) and skiplists.
//!
//! A skiplist is data, `skiplists/<runner>.json`: entries naming a test id, whether the
//! test is skipped or expected to fail, why, and where that is tracked. An entry that no
//! longer matches a test of a suite that was loaded is an error, so the list cannot rot;
//! an expected failure that passes is an XPASS, which fails the run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::suite::Suite;

/// How a test ended, judged against its expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Expected to pass, passed.
    Pass,
    /// Expected to pass, failed.
    Fail,
    /// Not run (skiplist, or a need the harness or runner cannot meet); carries a reason.
    Skip,
    /// Expected to fail (skiplist), failed.
    Xfail,
    /// Expected to fail, passed: the skiplist entry is stale. Fails the run.
    Xpass,
    /// Failed, then passed when rerun (`harness run --rerun-failures`). Never a pass, and
    /// it does not fail the run; reports count and show it with its first failure.
    Flaky,
}

impl Outcome {
    /// Whether this outcome turns the run red.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Xpass)
    }

    /// Upper-case label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
            Outcome::Xfail => "XFAIL",
            Outcome::Xpass => "XPASS",
            Outcome::Flaky => "FLAKY",
        }
    }

    /// The outcome of a test that ran: `failed` is whether any expectation was not met.
    pub fn judge(expected_to_fail: bool, failed: bool) -> Outcome {
        match (expected_to_fail, failed) {
            (false, false) => Outcome::Pass,
            (false, true) => Outcome::Fail,
            (true, true) => Outcome::Xfail,
            (true, false) => Outcome::Xpass,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a skiplist entry says about its test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    /// Do not run it.
    Skip,
    /// Run it; it is expected to fail.
    Fail,
}

/// One entry of a skiplist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipEntry {
    /// The test id, `p1/rust/fd_readdir`.
    pub test: String,
    /// `skip` or `fail`.
    pub expect: Expectation,
    /// Why.
    pub reason: String,
    /// Where it is tracked (an issue).
    pub tracking: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkiplistFile {
    version: u32,
    runner: String,
    entries: Vec<SkipEntry>,
}

/// A runner's skiplist.
#[derive(Debug, Clone, Default)]
pub struct Skiplist {
    entries: BTreeMap<String, SkipEntry>,
}

impl Skiplist {
    /// An empty skiplist.
    pub fn empty() -> Self {
        Skiplist::default()
    }

    /// Reads `path`, a skiplist for `runner`.
    pub fn load(path: &Path, runner: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read skiplist {}", path.display()))?;
        Self::parse(&text, runner).with_context(|| format!("skiplist {}", path.display()))
    }

    /// Parses skiplist text for `runner`.
    pub fn parse(text: &str, runner: &str) -> Result<Self> {
        let file: SkiplistFile = serde_json::from_str(text)?;
        if file.version != 1 {
            bail!(
                "unsupported version {} (this harness reads version 1)",
                file.version
            );
        }
        if file.runner != runner {
            bail!("is for runner `{}`, not `{runner}`", file.runner);
        }
        let mut entries = BTreeMap::new();
        for entry in file.entries {
            if entry.reason.trim().is_empty() || entry.tracking.trim().is_empty() {
                bail!(
                    "entry `{}` needs a `reason` and a `tracking` reference",
                    entry.test
                );
            }
            if let Some(old) = entries.insert(entry.test.clone(), entry) {
                bail!("entry `{}` appears twice", old.test);
            }
        }
        Ok(Skiplist { entries })
    }

    /// The entry for a test id.
    pub fn lookup(&self, test_id: &str) -> Option<&SkipEntry> {
        self.entries.get(test_id)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Errors for each entry that matches no test although its suite was loaded.
    /// Entries of suites that were not loaded (the upstream suite on a machine without it)
    /// are not checked.
    pub fn check_against(&self, suites: &[Suite]) -> Result<()> {
        let mut stale = Vec::new();
        for id in self.entries.keys() {
            let Some((suite_id, _)) = id.rsplit_once('/') else {
                stale.push(format!("`{id}` is not a test id (suite/test)"));
                continue;
            };
            let Some(suite) = suites.iter().find(|s| s.id == suite_id) else {
                continue;
            };
            if !suite.tests.iter().any(|t| t.id == *id) {
                stale.push(format!("`{id}` matches no test of suite `{suite_id}`"));
            }
        }
        if !stale.is_empty() {
            bail!("stale skiplist entries:\n  {}", stale.join("\n  "));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge() {
        assert_eq!(Outcome::judge(false, false), Outcome::Pass);
        assert_eq!(Outcome::judge(true, false), Outcome::Xpass);
        assert!(Outcome::Xpass.is_failure());
        assert!(!Outcome::Xfail.is_failure());
        assert!(!Outcome::Flaky.is_failure());
        assert_eq!(Outcome::Flaky.label(), "FLAKY");
    }

    #[test]
    fn entries_need_reason_and_tracking() {
        let text = r#"{"version": 1, "runner": "w", "entries": [
            {"test": "p1/a/b", "expect": "skip", "reason": "", "tracking": "issue 1"}]}"#;
        assert!(Skiplist::parse(text, "w").is_err());
        let text = r#"{"version": 1, "runner": "w", "entries": [
            {"test": "p1/a/b", "expect": "fail", "reason": "r", "tracking": "issue 1", "x": 1}]}"#;
        assert!(
            format!("{:#}", Skiplist::parse(text, "w").unwrap_err()).contains("unknown field `x`")
        );
    }
}
