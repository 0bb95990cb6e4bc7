//! Bench stage: the console table and the JSON report of a `harness bench` run.

use serde::Serialize;

use super::budget::Verdict;
use super::stats::format_ns;
use super::{RunnerResult, ScenarioResult};

/// Everything a run measured, as written by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `wasmgate-harness` version.
    pub harness_version: String,
    /// `release` (an optimized build) or `debug`.
    pub build: String,
    /// `--machine`, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// The CPU model and the number of cores this process may use.
    pub host: String,
    /// The commit measured, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Recorded samples per runner per scenario.
    pub samples: usize,
    /// Unrecorded rounds before them.
    pub warmup: usize,
    /// When the run started, ms since the Unix epoch.
    pub started_unix_ms: u128,
    /// Wall time of the whole run, ms.
    pub wall_ms: u128,
    /// Per scenario, in run order.
    pub scenarios: Vec<ScenarioResult>,
    /// The gate's verdicts, with `--check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Vec<CheckLine>>,
}

/// The gate's verdict on one scenario, for the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckLine {
    /// The scenario.
    pub scenario: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

fn cell(r: Option<&RunnerResult>) -> String {
    match r {
        Some(r) => format!(
            "{} ({}..{})",
            format_ns(r.summary.median_ns),
            format_ns(r.summary.min_ns),
            format_ns(r.summary.max_ns)
        ),
        None => "-".into(),
    }
}

/// The table: per scenario the median (min..max) per runner, the ratio, and with `budgets`
/// the limit and the verdict. Below it, extras (the wasmtime CLI), preparation times, peak
/// memory, notes and errors, then what each scenario measures.
pub fn console(results: &[ScenarioResult], verdicts: Option<&[Verdict]>) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "scenario".into(),
        "wasmgate median (min..max)".into(),
        "wasmtime median (min..max)".into(),
        "ratio".into(),
        if verdicts.is_some() {
            "budget".into()
        } else {
            String::new()
        },
    ]];
    for (i, r) in results.iter().enumerate() {
        let verdict = verdicts.and_then(|v| v.get(i));
        let budget = match verdict {
            Some(Verdict::Ok { limit }) => format!("<= {limit:.3} ok"),
            Some(Verdict::Over { .. }) => "OVER BUDGET".into(),
            Some(Verdict::NoBudget) => "NO BUDGET".into(),
            Some(Verdict::Error { .. }) => "ERROR".into(),
            None if r.error.is_some() => "ERROR".into(),
            None => String::new(),
        };
        rows.push([
            r.name.clone(),
            cell(r.runners.first()),
            cell(r.runners.get(1)),
            r.ratio
                .map(|x| format!("{x:.3}"))
                .unwrap_or_else(|| "-".into()),
            budget,
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, text) in row.iter().enumerate() {
            let pad = widths[c] - text.chars().count();
            if c == 3 {
                line.push_str(&" ".repeat(pad));
                line.push_str(text);
            } else {
                line.push_str(text);
                line.push_str(&" ".repeat(pad));
            }
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }

    let mut details = Vec::new();
    for (i, r) in results.iter().enumerate() {
        for extra in r.runners.iter().skip(2) {
            details.push(format!(
                "{}: {} {} (ratio wasmgate/{} {:.3})",
                r.name,
                extra.runner,
                cell(Some(extra)),
                extra.runner,
                r.runners[0].summary.median_ns as f64 / extra.summary.median_ns.max(1) as f64
            ));
        }
        let prepared: Vec<String> = r
            .runners
            .iter()
            .filter_map(|x| {
                x.prepare_ns
                    .map(|ns| format!("{} {}", x.runner, format_ns(ns)))
            })
            .collect();
        if !prepared.is_empty() {
            details.push(format!(
                "{}: prepare (untimed compile): {}",
                r.name,
                prepared.join(", ")
            ));
        }
        let rss: Vec<String> = r
            .runners
            .iter()
            .filter_map(|x| {
                x.peak_rss_kib
                    .map(|k| format!("{} {:.1} MiB", x.runner, k as f64 / 1024.0))
            })
            .collect();
        if !rss.is_empty() {
            details.push(format!("{}: peak RSS: {}", r.name, rss.join(", ")));
        }
        if let Some(error) = &r.error {
            details.push(format!("{}: ERROR: {error}", r.name));
        }
        if let Some(Verdict::Over { message }) = verdicts.and_then(|v| v.get(i)) {
            details.push(format!("{}: OVER BUDGET: {message}", r.name));
        }
    }
    if !details.is_empty() {
        out.push('\n');
        for d in details {
            out.push_str(&d);
            out.push('\n');
        }
    }
    out.push_str(
        "\nWhat each sample times (per run; short runs are batched, see docs/bench.md):\n",
    );
    let mut seen: Vec<&str> = Vec::new();
    for r in results {
        if seen.contains(&r.measures.as_str()) {
            continue;
        }
        seen.push(&r.measures);
        let names: Vec<&str> = results
            .iter()
            .filter(|x| x.measures == r.measures)
            .map(|x| x.name.as_str())
            .collect();
        out.push_str(&format!("  {}: {}\n", names.join(", "), r.measures));
    }
    out
}

/// The JSON report.
pub fn json(report: &BenchReport) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{e}"));
    text.push('\n');
    text
}
