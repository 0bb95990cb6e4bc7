//! Parity stage: `skiplists/parity.json`, the data that explains divergences and
//! normalises what is nondeterministic — each entry and rule with its reason.
//!
//! ```json
//! {
//!   "version": 1,
//!   "divergences": [
//!     { "test": "p1/rust/fd_readdir", "kind": "observations", "runners": ["wasmgate", "wasmtime"],
//!       "reason": "...", "tracking": "issue 12" }
//!   ],
//!   "normalise": [
//!     { "tests": ["p1/clock_*"], "target": "stdout", "pattern": "[0-9]{10,}", "replace": "<ns>",
//!       "reason": "prints the current time" }
//!   ]
//! }
//! ```
//!
//! Entries and rules may name the pair of runners they are for (`runners`, in either
//! order; absent: any pair). A divergence entry says a test is known to differ and how far: `observations` (same verdict, different
//! exit code, output or files) or `verdict` (one passes, the other fails). A normalisation
//! rule rewrites both runners' observations before they are compared: `stdout` / `stderr`
//! (a regex over the bytes), `tree-path` (a regex over entry paths, for temp names) or
//! `tree-content` (entries whose path matches keep their path and kind but not their size
//! and hash, for files whose content is random). Unknown keys, empty reasons, bad regexes,
//! duplicate entries and entries that name no test of a loaded suite are errors.

use std::path::Path;

use anyhow::{bail, Context, Result};
use regex::bytes::Regex as BytesRegex;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::tree::TreeSnapshot;
use crate::suite::Suite;

/// How far a known divergence goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DivergenceKind {
    /// Same verdict, different observations.
    Observations,
    /// Different verdicts.
    Verdict,
}

impl DivergenceKind {
    /// `observations` or `verdict`.
    pub fn label(self) -> &'static str {
        match self {
            DivergenceKind::Observations => "observations",
            DivergenceKind::Verdict => "verdict",
        }
    }
}

/// An explained divergence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DivergenceEntry {
    /// The test id.
    pub test: String,
    /// How far it diverges.
    pub kind: DivergenceKind,
    /// The pair of runners it is about (either order); absent: any pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runners: Option<[String; 2]>,
    /// Why the runners differ, in a sentence.
    pub reason: String,
    /// Where it is tracked.
    pub tracking: String,
}

/// Whether an optional pair of runner names covers runners `a` and `b` (either order).
fn pair_covers(pair: &Option<[String; 2]>, a: &str, b: &str) -> bool {
    match pair {
        None => true,
        Some([x, y]) => (x == a && y == b) || (x == b && y == a),
    }
}

/// What a normalisation rule rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The guest's stdout bytes.
    Stdout,
    /// The guest's stderr bytes.
    Stderr,
    /// The paths of entries in the preopened trees.
    TreePath,
    /// The size and hash of entries whose path matches.
    TreeContent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    tests: Vec<String>,
    #[serde(default)]
    runners: Option<[String; 2]>,
    target: Target,
    pattern: String,
    #[serde(default)]
    replace: Option<String>,
    reason: String,
}

/// A normalisation rule, compiled.
#[derive(Debug, Clone)]
pub struct NormaliseRule {
    /// Test id patterns (`*` matches any run of characters).
    pub tests: Vec<String>,
    /// The pair of runners it is for (either order); absent: any pair.
    pub runners: Option<[String; 2]>,
    /// What it rewrites.
    pub target: Target,
    /// The regex, as written.
    pub pattern: String,
    /// The replacement (`$1` refers to a group); empty for `tree-content`.
    pub replace: String,
    /// Why the observation is not deterministic.
    pub reason: String,
    bytes: BytesRegex,
    text: Regex,
}

impl NormaliseRule {
    /// Whether the rule is for test `id` compared on runners `a` and `b`.
    pub fn applies_to(&self, id: &str, a: &str, b: &str) -> bool {
        pair_covers(&self.runners, a, b)
            && self
                .tests
                .iter()
                .any(|p| glob_match(p.as_bytes(), id.as_bytes()))
    }

    /// Rewrites one stream (when the rule targets it).
    pub fn stream(&self, target: Target, bytes: &[u8]) -> Vec<u8> {
        if self.target == target {
            self.bytes
                .replace_all(bytes, self.replace.as_bytes())
                .into_owned()
        } else {
            bytes.to_vec()
        }
    }

    /// Rewrites a tree (when the rule targets trees).
    pub fn tree(&self, tree: &mut TreeSnapshot) {
        match self.target {
            Target::TreePath => {
                for entry in &mut tree.entries {
                    entry.path = self
                        .text
                        .replace_all(&entry.path, self.replace.as_str())
                        .into_owned();
                }
                tree.entries.sort();
            }
            Target::TreeContent => {
                for entry in &mut tree.entries {
                    if self.text.is_match(&entry.path) {
                        entry.size = None;
                        entry.sha256 = entry.sha256.as_ref().map(|_| "(normalised)".to_owned());
                    }
                }
            }
            Target::Stdout | Target::Stderr => {}
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob_match(rest, &text[1..]),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParityListText {
    version: u32,
    #[serde(default)]
    divergences: Vec<DivergenceEntry>,
    #[serde(default)]
    normalise: Vec<RuleText>,
}

/// The parity list: explained divergences and normalisation rules.
#[derive(Debug, Clone, Default)]
pub struct ParityList {
    /// Explained divergences, in file order.
    pub divergences: Vec<DivergenceEntry>,
    /// Normalisation rules, applied in file order.
    pub rules: Vec<NormaliseRule>,
}

impl ParityList {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<ParityList> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read parity list {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parity list {}", path.display()))
    }

    /// Parses parity-list text.
    pub fn parse(text: &str) -> Result<ParityList> {
        let file: ParityListText = serde_json::from_str(text)?;
        if file.version != 1 {
            bail!(
                "unsupported version {} (this harness reads version 1)",
                file.version
            );
        }
        let mut seen: Vec<(&str, Option<[String; 2]>)> = Vec::new();
        for entry in &file.divergences {
            if entry.reason.trim().is_empty() || entry.tracking.trim().is_empty() {
                bail!(
                    "divergence `{}` needs a `reason` and a `tracking` reference",
                    entry.test
                );
            }
            let mut pair = entry.runners.clone();
            if let Some(p) = &mut pair {
                p.sort();
            }
            if seen.iter().any(|(t, r)| *t == entry.test && *r == pair) {
                bail!("divergence `{}` appears twice", entry.test);
            }
            seen.push((&entry.test, pair));
        }
        let mut rules = Vec::new();
        for (i, rule) in file.normalise.into_iter().enumerate() {
            let at = format!("normalise[{i}]");
            if rule.reason.trim().is_empty() {
                bail!("{at} needs a `reason`");
            }
            if rule.tests.is_empty() {
                bail!("{at} names no test (`tests`)");
            }
            let replace = match (rule.target, rule.replace) {
                (Target::TreeContent, Some(_)) => {
                    bail!("{at}: `tree-content` masks sizes and hashes and takes no `replace`")
                }
                (Target::TreeContent, None) => String::new(),
                (_, Some(r)) => r,
                (_, None) => bail!("{at} needs a `replace`"),
            };
            let bytes = BytesRegex::new(&rule.pattern)
                .with_context(|| format!("{at}: bad pattern `{}`", rule.pattern))?;
            let text = Regex::new(&rule.pattern)
                .with_context(|| format!("{at}: bad pattern `{}`", rule.pattern))?;
            rules.push(NormaliseRule {
                tests: rule.tests,
                runners: rule.runners,
                target: rule.target,
                pattern: rule.pattern,
                replace,
                reason: rule.reason,
                bytes,
                text,
            });
        }
        Ok(ParityList {
            divergences: file.divergences,
            rules,
        })
    }

    /// The entry explaining `test` for runners `a` and `b`.
    pub fn divergence(&self, test: &str, a: &str, b: &str) -> Option<&DivergenceEntry> {
        self.divergences
            .iter()
            .find(|e| e.test == test && pair_covers(&e.runners, a, b))
    }

    /// The rules for `test` compared on runners `a` and `b`, in file order.
    pub fn rules_for<'a>(
        &'a self,
        test: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> impl Iterator<Item = &'a NormaliseRule> {
        self.rules.iter().filter(move |r| r.applies_to(test, a, b))
    }

    /// Errors for entries and rule patterns that name no test although their suite was
    /// loaded (so the list cannot rot); suites that were not loaded are not checked.
    pub fn check_against(&self, suites: &[Suite]) -> Result<()> {
        let mut stale = Vec::new();
        let mut check = |pattern: &str, what: &str| {
            let literal = pattern.split('*').next().unwrap_or("");
            let suite_loaded = if pattern.contains('*') {
                suites.iter().any(|s| {
                    let prefix = format!("{}/", s.id);
                    literal.starts_with(&prefix) || prefix.starts_with(literal)
                })
            } else {
                // An exact test id names its suite: everything before its last `/`
                // (`p1/rust/x` is suite `p1/rust`, not `p1`).
                let suite = pattern.rsplit_once('/').map_or("", |(suite, _)| suite);
                suites.iter().any(|s| s.id == suite)
            };
            if !suite_loaded {
                return;
            }
            let matches = suites
                .iter()
                .flat_map(|s| s.tests.iter())
                .any(|t| glob_match(pattern.as_bytes(), t.id.as_bytes()));
            if !matches {
                stale.push(format!("{what} `{pattern}` matches no test"));
            }
        };
        for entry in &self.divergences {
            check(&entry.test, "divergence");
        }
        for rule in &self.rules {
            for pattern in &rule.tests {
                check(pattern, "normalise pattern");
            }
        }
        if !stale.is_empty() {
            bail!("stale parity list entries:\n  {}", stale.join("\n  "));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parity::tree::{EntryKind, TreeEntry};

    #[test]
    fn parses_and_rejects() {
        let ok = r#"{"version": 1,
            "divergences": [{"test": "p1/a/b", "kind": "verdict", "reason": "r", "tracking": "t"}],
            "normalise": [{"tests": ["p1/a/*"], "target": "stdout", "pattern": "[0-9]+",
                           "replace": "<n>", "reason": "time"}]}"#;
        let list = ParityList::parse(ok).unwrap();
        assert!(list.divergence("p1/a/b", "x", "y").is_some());
        assert_eq!(list.rules_for("p1/a/zz", "x", "y").count(), 1);
        assert_eq!(list.rules_for("p1/b/zz", "x", "y").count(), 0);
        let bad = |text: &str| format!("{:#}", ParityList::parse(text).unwrap_err());
        assert!(bad(r#"{"version": 1, "extra": 1}"#).contains("unknown field `extra`"));
        assert!(bad(r#"{"version": 1, "divergences": [{"test": "a/b", "kind": "verdict", "reason": " ", "tracking": "t"}]}"#)
            .contains("needs a `reason`"));
        assert!(bad(r#"{"version": 1, "normalise": [{"tests": ["a/*"], "target": "stdout", "pattern": "(", "replace": "", "reason": "r"}]}"#)
            .contains("bad pattern"));
        assert!(bad(r#"{"version": 1, "normalise": [{"tests": ["a/*"], "target": "tree-content", "pattern": "x", "replace": "", "reason": "r"}]}"#)
            .contains("takes no `replace`"));
        assert!(bad(r#"{"version": 1, "divergences": [
            {"test": "a/b", "kind": "verdict", "reason": "r", "tracking": "t"},
            {"test": "a/b", "kind": "observations", "reason": "r", "tracking": "t"}]}"#)
        .contains("appears twice"));
    }

    #[test]
    fn pairs_are_unordered() {
        let list = ParityList::parse(
            r#"{"version": 1, "divergences": [{"test": "p1/a/b", "kind": "verdict",
                "runners": ["wasmtime", "wasmgate"], "reason": "r", "tracking": "t"}]}"#,
        )
        .unwrap();
        assert!(list.divergence("p1/a/b", "wasmgate", "wasmtime").is_some());
        assert!(list
            .divergence("p1/a/b", "wasmgate", "wasmtime-cli")
            .is_none());
    }

    #[test]
    fn rules_rewrite_streams_and_trees() {
        let list = ParityList::parse(
            r#"{"version": 1, "normalise": [
                {"tests": ["*"], "target": "stdout", "pattern": "t=[0-9]+", "replace": "t=<n>", "reason": "time"},
                {"tests": ["*"], "target": "tree-path", "pattern": "tmp-[a-z0-9]+", "replace": "tmp-*", "reason": "temp"},
                {"tests": ["*"], "target": "tree-content", "pattern": "^random\\.bin$", "reason": "random"}]}"#,
        )
        .unwrap();
        let out = list.rules[0].stream(Target::Stdout, b"t=123 \xff");
        assert_eq!(out, b"t=<n> \xff");
        assert_eq!(list.rules[0].stream(Target::Stderr, b"t=1"), b"t=1");
        let entry = |path: &str| TreeEntry {
            path: path.into(),
            kind: EntryKind::File,
            size: Some(3),
            sha256: Some("abc".into()),
            target: None,
        };
        let mut tree = TreeSnapshot {
            guest: "/".into(),
            entries: vec![entry("tmp-x1y2"), entry("random.bin")],
            error: None,
        };
        for rule in &list.rules {
            rule.tree(&mut tree);
        }
        assert_eq!(
            tree.text(),
            "file random.bin sha256:(normalised)\nfile tmp-* 3 bytes sha256:abc\n"
        );
    }
}
