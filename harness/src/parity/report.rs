//! Parity stage: what a parity run reports — `parity.json` (schema
//! `wasmgate-harness/parity` version 1, `docs/report-schema.md`), `parity.md` (a CI step
//! summary), and the console summary ending with the closing line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Class, Explanation, FixtureParity, ParityReport, ParityTotals, RunnerId, SideResult};
use crate::shard::Shard;

/// The schema's name.
pub const SCHEMA: &str = "wasmgate-harness/parity";
/// The schema's version; bump it on any change that is not an added field.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    schema_version: u32,
    a: &'a RunnerId,
    b: &'a RunnerId,
    jobs: usize,
    timeout_s: f64,
    started_unix_ms: u128,
    wall_s: f64,
    shard: Option<Shard>,
    totals: ParityTotals,
    tests: Vec<TestDoc<'a>>,
}

#[derive(Serialize)]
struct TestDoc<'a> {
    id: &'a str,
    suite: &'a str,
    class: Class,
    explanation: &'a Explanation,
    reason: Option<&'a str>,
    verdicts: Option<Verdicts>,
    normalised: &'a [String],
    differences: &'a [super::Difference],
    runs: Option<Sides<'a>>,
    duration_s: f64,
}

#[derive(Serialize)]
struct Verdicts {
    a: crate::expect::Outcome,
    b: crate::expect::Outcome,
}

#[derive(Serialize)]
struct Sides<'a> {
    a: Vec<RunDoc<'a>>,
    b: Vec<RunDoc<'a>>,
}

#[derive(Serialize)]
struct RunDoc<'a> {
    command: &'a str,
    exit: &'a str,
    stdout_bytes: usize,
    stderr_bytes: usize,
    tree_entries: usize,
}

fn runs_doc(side: &SideResult) -> Vec<RunDoc<'_>> {
    side.result
        .runs
        .iter()
        .zip(&side.runs)
        .map(|(record, obs)| RunDoc {
            command: &record.command,
            exit: &obs.exit,
            stdout_bytes: record.observed.stdout.len(),
            stderr_bytes: record.observed.stderr.len(),
            tree_entries: obs.trees.iter().map(|t| t.entries.len()).sum(),
        })
        .collect()
}

/// `parity.json`.
pub fn json(report: &ParityReport) -> String {
    let doc = Document {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        a: &report.a,
        b: &report.b,
        jobs: report.jobs,
        timeout_s: report.timeout.as_secs_f64(),
        started_unix_ms: report.started_unix_ms,
        wall_s: report.wall.as_secs_f64(),
        shard: report.shard,
        totals: report.totals(),
        tests: report
            .fixtures
            .iter()
            .map(|f| TestDoc {
                id: &f.id,
                suite: &f.suite_id,
                class: f.class,
                explanation: &f.explanation,
                reason: f.reason.as_deref(),
                verdicts: match (&f.a, &f.b) {
                    (Some(a), Some(b)) => Some(Verdicts {
                        a: a.result.outcome,
                        b: b.result.outcome,
                    }),
                    _ => None,
                },
                normalised: &f.normalised,
                differences: &f.differences,
                runs: match (&f.a, &f.b) {
                    (Some(a), Some(b)) => Some(Sides {
                        a: runs_doc(a),
                        b: runs_doc(b),
                    }),
                    _ => None,
                },
                duration_s: f.duration.as_secs_f64(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("a parity report always serializes");
    text.push('\n');
    text
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn status(f: &FixtureParity) -> String {
    match &f.explanation {
        Explanation::None => String::new(),
        Explanation::Explained { entry, note } => {
            let mut s = format!("explained: {} ({})", entry.reason, entry.tracking);
            if let Some(note) = note {
                s.push_str(&format!("; note: {note}"));
            }
            s
        }
        Explanation::Unexplained { note } => match note {
            Some(note) => format!("**UNEXPLAINED**: {note}"),
            None => "**UNEXPLAINED**".to_owned(),
        },
        Explanation::Resolved { entry } => format!(
            "resolved: no longer diverges; remove its entry ({})",
            entry.tracking
        ),
    }
}

fn verdict(side: &Option<SideResult>) -> String {
    side.as_ref()
        .map(|s| s.result.outcome.to_string())
        .unwrap_or_else(|| "-".into())
}

/// The details of one divergent test: verdicts, failures, commands, and each difference
/// with its diff.
pub fn details(f: &FixtureParity, a: &str, b: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", f.id, f.class.label());
    for (name, side) in [(a, &f.a), (b, &f.b)] {
        let Some(side) = side else { continue };
        let _ = writeln!(out, "{name}: {}", side.result.outcome);
        for failure in &side.result.failures {
            let _ = writeln!(out, "  - {}", failure.message);
        }
        for run in &side.result.runs {
            let _ = writeln!(out, "  command: {}", run.command);
        }
    }
    if !f.normalised.is_empty() {
        let _ = writeln!(out, "normalised: {}", f.normalised.join("; "));
    }
    for d in &f.differences {
        let at = if d.run > 0 {
            format!("run {}: ", d.run)
        } else {
            String::new()
        };
        let _ = writeln!(out, "* {at}{}", d.summary);
        if let Some(diff) = &d.diff {
            for line in diff.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// Per-suite counts.
fn by_suite(report: &ParityReport) -> BTreeMap<&str, ParityTotals> {
    let mut groups: BTreeMap<&str, Vec<&FixtureParity>> = BTreeMap::new();
    for f in &report.fixtures {
        groups.entry(&f.suite_id).or_default().push(f);
    }
    groups
        .into_iter()
        .map(|(k, v)| (k, ParityTotals::of(v)))
        .collect()
}

fn title(report: &ParityReport) -> String {
    format!(
        "{} {} vs {} {}",
        report.a.name, report.a.version, report.b.name, report.b.version
    )
}

fn counts_line(t: &ParityTotals) -> String {
    format!(
        "{} identical, {} with different observations, {} with different verdicts, {} skipped; \
         divergences: {} explained, {} unexplained; {} resolved entries",
        t.identical,
        t.observations_differ,
        t.verdict_differs,
        t.skipped,
        t.explained,
        t.unexplained,
        t.resolved
    )
}

/// `parity.md`: fits a CI step summary (diffs folded in `<details>`).
pub fn markdown(report: &ParityReport) -> String {
    let t = report.totals();
    let (a, b) = (&report.a.name, &report.b.name);
    let mut out = String::new();
    let _ = writeln!(out, "# Parity: {}\n", title(report));
    let shard = report
        .shard
        .map(|s| format!(" (shard {s})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} tests{shard} in {:.2}s with {} jobs: {}.\n",
        t.tests,
        report.wall.as_secs_f64(),
        report.jobs,
        counts_line(&t)
    );
    let headline = if t.unexplained == 0 {
        "**No unexplained divergence.**".to_owned()
    } else {
        format!("**{} unexplained divergences.**", t.unexplained)
    };
    let _ = writeln!(out, "{headline}\n");
    out.push_str("| suite | tests | identical | observations differ | verdict differs | skipped | explained | unexplained |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (suite, s) in by_suite(report) {
        let _ = writeln!(
            out,
            "| `{suite}` | {} | {} | {} | {} | {} | {} | {} |",
            s.tests,
            s.identical,
            s.observations_differ,
            s.verdict_differs,
            s.skipped,
            s.explained,
            s.unexplained
        );
    }
    let _ = writeln!(
        out,
        "| **total** | {} | {} | {} | {} | {} | {} | {} |",
        t.tests,
        t.identical,
        t.observations_differ,
        t.verdict_differs,
        t.skipped,
        t.explained,
        t.unexplained
    );

    let divergent: Vec<&FixtureParity> = report
        .fixtures
        .iter()
        .filter(|f| matches!(f.class, Class::ObservationsDiffer | Class::VerdictDiffers))
        .collect();
    if !divergent.is_empty() {
        let _ = writeln!(
            out,
            "\n## Divergences\n\n| test | class | {a} | {b} | status |\n|---|---|---|---|---|"
        );
        for f in &divergent {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                cell(&f.id),
                f.class.label(),
                verdict(&f.a),
                verdict(&f.b),
                cell(&status(f))
            );
        }
        out.push_str("\n### Details\n");
        for f in &divergent {
            let _ = writeln!(
                out,
                "\n<details><summary><code>{}</code>: {}</summary>\n\n```text\n{}```\n\n</details>",
                crate::dashboard::html_escape(&f.id),
                f.class.label(),
                details(f, a, b)
            );
        }
    }
    let resolved: Vec<&FixtureParity> = report
        .fixtures
        .iter()
        .filter(|f| matches!(f.explanation, Explanation::Resolved { .. }))
        .collect();
    if !resolved.is_empty() {
        out.push_str("\n## Resolved: these entries of the parity list can go\n\n| test | entry |\n|---|---|\n");
        for f in resolved {
            if let Explanation::Resolved { entry } = &f.explanation {
                let _ = writeln!(
                    out,
                    "| `{}` | {} ({}) |",
                    cell(&f.id),
                    cell(&entry.reason),
                    cell(&entry.tracking)
                );
            }
        }
    }
    let mut skipped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in report.fixtures.iter().filter(|f| f.class == Class::Skipped) {
        skipped
            .entry(f.reason.as_deref().unwrap_or(""))
            .or_default()
            .push(&f.id);
    }
    if !skipped.is_empty() {
        out.push_str("\n## Not compared\n\n| reason | tests | examples |\n|---|---:|---|\n");
        for (reason, ids) in skipped {
            let shown: Vec<String> = ids.iter().take(3).map(|i| format!("`{i}`")).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(reason),
                ids.len(),
                shown.join(", ")
            );
        }
    }
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.fixtures {
        for reason in &f.normalised {
            *rules.entry(reason).or_default() += 1;
        }
    }
    if !rules.is_empty() {
        out.push_str("\n## Normalisation applied\n\n| rule (reason) | tests |\n|---|---:|\n");
        for (reason, count) in rules {
            let _ = writeln!(out, "| {} | {count} |", cell(reason));
        }
    }
    out
}

/// What the console shows after a run: each divergence (unexplained ones in full), the
/// per-suite table, the counts and the closing line.
pub fn console(report: &ParityReport) -> String {
    let t = report.totals();
    let (a, b) = (&report.a.name, &report.b.name);
    let mut out = String::new();
    for f in &report.fixtures {
        match &f.explanation {
            Explanation::Unexplained { note } => {
                out.push_str(&"-".repeat(72));
                out.push('\n');
                let _ = writeln!(out, "UNEXPLAINED {}", f.id);
                if let Some(note) = note {
                    let _ = writeln!(out, "note: {note}");
                }
                out.push_str(&details(f, a, b));
            }
            Explanation::Explained { entry, note } => {
                let _ = writeln!(
                    out,
                    "EXPLAINED {} ({}): {} ({})",
                    f.id,
                    f.class.label(),
                    entry.reason,
                    entry.tracking
                );
                if let Some(note) = note {
                    let _ = writeln!(out, "  note: {note}");
                }
            }
            Explanation::Resolved { entry } => {
                let _ = writeln!(
                    out,
                    "RESOLVED {}: no longer diverges; remove its parity-list entry ({})",
                    f.id, entry.tracking
                );
            }
            Explanation::None => {}
        }
    }
    if t.unexplained > 0 {
        out.push_str(&"-".repeat(72));
        out.push('\n');
    }
    for (suite, s) in by_suite(report) {
        let _ = writeln!(
            out,
            "{suite:<20} {:>4} tests: {:>4} identical, {:>3} observations differ, {:>3} verdict differs, {:>4} skipped",
            s.tests, s.identical, s.observations_differ, s.verdict_differs, s.skipped
        );
    }
    let _ = writeln!(
        out,
        "parity {} in {:.2}s with {} jobs: {}",
        title(report),
        report.wall.as_secs_f64(),
        report.jobs,
        counts_line(&t)
    );
    out.push_str(&t.closing_line());
    out.push('\n');
    out
}
