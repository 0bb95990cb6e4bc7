//! Bench stage: the budgets, `budgets/<group>.json`, and the gate over a run's results.
//!
//! A budget holds a scenario's ratio wasmgate/wasmtime, measured in the same run so that it
//! means the same on any machine; optionally absolute medians of wasmgate for named machines;
//! a regression threshold (default +10 %) and a note on why the budget is what it is. A
//! scenario fails `--check` when its ratio is above `ratio × (1 + threshold)`, or, for the
//! machine named with `--machine`, its median above `median_ns × (1 + threshold)`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::stats::format_ns;
use super::ScenarioResult;

/// The regression threshold when a budget names none.
pub const DEFAULT_THRESHOLD: f64 = 0.10;

fn default_threshold() -> f64 {
    DEFAULT_THRESHOLD
}

/// One file, `budgets/<group>.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetFile {
    /// Scenario name (`compute/mix`) to its budget.
    pub scenarios: BTreeMap<String, Budget>,
}

/// What one scenario may measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The most wasmgate's median may be, as a multiple of wasmtime's median in the same run.
    pub ratio: f64,
    /// How far above `ratio` (and `median_ns`) a run may go before it fails: 0.10 is +10 %.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Absolute budgets for wasmgate's median, in ns, per named machine (`--machine`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub median_ns: BTreeMap<String, u64>,
    /// Why the budget is what it is.
    pub note: String,
    /// The run the budget was last set from (`--update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
}

/// The figures a budget was set from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    /// wasmgate/wasmtime.
    pub ratio: f64,
    /// wasmgate's median, ns.
    pub wasmgate_median_ns: u64,
    /// wasmtime's median, ns.
    pub wasmtime_median_ns: u64,
    /// Samples per runner.
    pub samples: usize,
    /// `--machine`, or a description of the machine.
    pub machine: String,
    /// The commit measured, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The date of the run, `YYYY-MM-DD` (UTC).
    pub date: String,
}

/// Every budget file of a directory.
#[derive(Debug, Clone, Default)]
pub struct Budgets {
    dir: PathBuf,
    files: BTreeMap<String, BudgetFile>,
}

impl Budgets {
    /// Loads `dir/*.json` (a missing directory has no budgets). Each scenario must live in the
    /// file of its group.
    pub fn load(dir: &Path) -> Result<Budgets> {
        let mut files = BTreeMap::new();
        if dir.is_dir() {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let file: BudgetFile = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a budget file", path.display()))?;
                let group = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                for (name, budget) in &file.scenarios {
                    if group_of(name) != group {
                        bail!(
                            "{}: scenario `{name}` belongs in budgets/{}.json",
                            path.display(),
                            group_of(name)
                        );
                    }
                    let valid = budget.ratio > 0.0
                        && budget.ratio.is_finite()
                        && budget.threshold >= 0.0
                        && budget.threshold.is_finite();
                    if !valid {
                        bail!(
                            "{}: `{name}`: ratio must be positive and threshold not negative",
                            path.display()
                        );
                    }
                }
                files.insert(group, file);
            }
        }
        Ok(Budgets {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// The budget of `scenario`.
    pub fn get(&self, scenario: &str) -> Option<&Budget> {
        self.files
            .get(group_of(scenario))
            .and_then(|f| f.scenarios.get(scenario))
    }

    /// Every budgeted scenario name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files
            .values()
            .flat_map(|f| f.scenarios.keys().map(String::as_str))
    }

    /// Fails when a budget names a scenario that does not exist (a stale budget).
    pub fn check_against<'a>(&self, known: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let known: Vec<&str> = known.into_iter().collect();
        let stale: Vec<&str> = self.names().filter(|n| !known.contains(n)).collect();
        if !stale.is_empty() {
            bail!(
                "budgets for scenarios that do not exist: {} (in {})",
                stale.join(", "),
                self.dir.display()
            );
        }
        Ok(())
    }

    /// Sets the budgets of `results` from their figures with `headroom` (0.5 = 50 % above
    /// the measured ratio) and writes the files that changed. Budgets keep their threshold and
    /// note; a new budget gets the default threshold and a note saying it has no reason yet.
    /// With `machine`, wasmgate's median (with the same headroom) becomes that machine's
    /// absolute budget. Returns the files written.
    pub fn update(
        &mut self,
        results: &[ScenarioResult],
        headroom: f64,
        machine: Option<&str>,
        provenance: &Provenance,
    ) -> Result<Vec<PathBuf>> {
        let mut changed = Vec::new();
        for result in results {
            let (Some(ratio), None) = (result.ratio, &result.error) else {
                continue;
            };
            let (Some(gate), Some(reference)) = (result.runners.first(), result.runners.get(1))
            else {
                continue;
            };
            let group = group_of(&result.name).to_owned();
            let file = self.files.entry(group.clone()).or_default();
            let budget = file
                .scenarios
                .entry(result.name.clone())
                .or_insert_with(|| Budget {
                    ratio: 0.0,
                    threshold: DEFAULT_THRESHOLD,
                    median_ns: BTreeMap::new(),
                    note: "set by `harness bench --update` from one run; no reason recorded yet"
                        .into(),
                    measured: None,
                });
            budget.ratio = round_up(ratio * (1.0 + headroom));
            if let Some(machine) = machine {
                let ns = gate.summary.median_ns as f64 * (1.0 + headroom);
                budget
                    .median_ns
                    .insert(machine.to_owned(), round_up(ns) as u64);
            }
            budget.measured = Some(Measured {
                ratio: round_sig(ratio, 3),
                wasmgate_median_ns: gate.summary.median_ns,
                wasmtime_median_ns: reference.summary.median_ns,
                samples: gate.samples_ns.len(),
                machine: provenance.machine.clone(),
                commit: provenance.commit.clone(),
                date: provenance.date.clone(),
            });
            if !changed.contains(&group) {
                changed.push(group);
            }
        }
        let mut written = Vec::new();
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        for group in changed {
            let path = self.dir.join(format!("{group}.json"));
            let mut text = serde_json::to_string_pretty(&self.files[&group])?;
            text.push('\n');
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Where a run's figures come from, recorded with `--update`.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// `--machine`, or a description of the machine.
    pub machine: String,
    /// `git rev-parse --short HEAD`, if it worked.
    pub commit: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// The group of a scenario name: `compute` for `compute/mix`.
pub fn group_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

/// `x` rounded up to two significant digits (12.3 → 13, 0.0312 → 0.032).
pub fn round_up(x: f64) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return x;
    }
    let scale = 10f64.powi(1 - x.log10().floor() as i32);
    // Guard against 0.5 becoming 0.51 through representation error.
    ((x * scale - 1e-9).ceil() / scale * 1e12).round() / 1e12
}

fn round_sig(x: f64, digits: i32) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.log10().floor() as i32);
    ((x * scale).round() / scale * 1e12).round() / 1e12
}

/// The gate's verdict on one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Within its budget.
    Ok {
        /// The ratio limit, `ratio × (1 + threshold)`.
        limit: f64,
    },
    /// Over its budget.
    Over {
        /// What was over, with the figures.
        message: String,
    },
    /// No budget for a measured scenario.
    NoBudget,
    /// The scenario produced no numbers.
    Error {
        /// Why.
        message: String,
    },
}

impl Verdict {
    /// Whether it turns the gate red.
    pub fn fails(&self) -> bool {
        !matches!(self, Verdict::Ok { .. })
    }
}

/// Judges `result` against `budget`; `machine` enables that machine's absolute budget.
pub fn judge(result: &ScenarioResult, budget: Option<&Budget>, machine: Option<&str>) -> Verdict {
    if let Some(error) = &result.error {
        return Verdict::Error {
            message: error.clone(),
        };
    }
    let Some(budget) = budget else {
        return Verdict::NoBudget;
    };
    let (Some(ratio), Some(gate), Some(reference)) =
        (result.ratio, result.runners.first(), result.runners.get(1))
    else {
        return Verdict::Error {
            message: "no ratio was measured".into(),
        };
    };
    let limit = budget.ratio * (1.0 + budget.threshold);
    let mut over = Vec::new();
    if ratio > limit {
        over.push(format!(
            "wasmgate/wasmtime is {ratio:.3}, budget {} (+{:.0}% threshold: {limit:.3}); medians: wasmgate {}, wasmtime {}",
            budget.ratio,
            budget.threshold * 100.0,
            format_ns(gate.summary.median_ns),
            format_ns(reference.summary.median_ns),
        ));
    }
    if let Some(machine) = machine {
        if let Some(&ns) = budget.median_ns.get(machine) {
            let limit_ns = ns as f64 * (1.0 + budget.threshold);
            if gate.summary.median_ns as f64 > limit_ns {
                over.push(format!(
                    "wasmgate's median is {}, budget {} on `{machine}` (+{:.0}% threshold: {})",
                    format_ns(gate.summary.median_ns),
                    format_ns(ns),
                    budget.threshold * 100.0,
                    format_ns(limit_ns as u64),
                ));
            }
        }
    }
    if over.is_empty() {
        Verdict::Ok { limit }
    } else {
        Verdict::Over {
            message: over.join("; "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::Summary;
    use crate::bench::RunnerResult;

    fn result(gate_ns: u64, reference_ns: u64) -> ScenarioResult {
        let runner = |name: &str, ns: u64| RunnerResult {
            runner: name.into(),
            summary: Summary::of(&[ns]),
            samples_ns: vec![ns],
            runs_per_sample: 1,
            prepare_ns: None,
            peak_rss_kib: None,
        };
        ScenarioResult {
            name: "compute/mix".into(),
            measures: String::new(),
            runners: vec![
                runner("wasmgate", gate_ns),
                runner("wasmtime", reference_ns),
            ],
            ratio: Some(gate_ns as f64 / reference_ns as f64),
            output: None,
            error: None,
        }
    }

    fn budget(ratio: f64) -> Budget {
        Budget {
            ratio,
            threshold: DEFAULT_THRESHOLD,
            median_ns: BTreeMap::from([("ci".to_owned(), 1_000)]),
            note: "n".into(),
            measured: None,
        }
    }

    #[test]
    fn ratios_within_the_threshold_pass_and_above_fail_naming_the_figures() {
        assert!(!judge(&result(1_050, 100), Some(&budget(10.0)), None).fails());
        let verdict = judge(&result(1_200, 100), Some(&budget(10.0)), None);
        let Verdict::Over { message } = verdict else {
            panic!("{verdict:?}")
        };
        assert!(
            message.contains("wasmgate/wasmtime is 12.000, budget 10"),
            "{message}"
        );
        assert!(
            message.contains("wasmgate 1.20 us, wasmtime 100 ns"),
            "{message}"
        );
    }

    #[test]
    fn absolute_budgets_apply_only_on_their_machine() {
        let r = result(2_000, 1_000);
        assert!(!judge(&r, Some(&budget(3.0)), None).fails());
        assert!(!judge(&r, Some(&budget(3.0)), Some("other")).fails());
        assert!(judge(&r, Some(&budget(3.0)), Some("ci")).fails());
    }

    #[test]
    fn errors_and_missing_budgets_fail() {
        let mut r = result(1, 1);
        assert_eq!(judge(&r, None, None), Verdict::NoBudget);
        r.error = Some("outputs differ".into());
        assert!(judge(&r, Some(&budget(1.0)), None).fails());
    }

    #[test]
    fn rounding_up_keeps_two_digits() {
        assert_eq!(round_up(12.3), 13.0);
        assert_eq!(round_up(0.0312), 0.032);
        assert_eq!(round_up(0.5), 0.5);
        assert_eq!(round_up(7.0), 7.0);
        assert_eq!(round_up(101.0), 110.0);
    }

    #[test]
    fn update_writes_the_group_file_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let mut budgets = Budgets::load(dir.path()).unwrap();
        let provenance = Provenance {
            machine: "m".into(),
            commit: None,
            date: "2025-01-01".into(),
        };
        let written = budgets
            .update(&[result(500, 100)], 0.5, Some("m"), &provenance)
            .unwrap();
        assert_eq!(written, vec![dir.path().join("compute.json")]);
        let again = Budgets::load(dir.path()).unwrap();
        let b = again.get("compute/mix").unwrap();
        assert_eq!(b.ratio, 7.5);
        assert_eq!(b.median_ns["m"], 750);
        assert!(again.check_against(["compute/mix"]).is_ok());
        assert!(again.check_against(["other/x"]).is_err());
    }
}
