//! Report stage: the console: a progress bar on a terminal, a per-suite table, the failure
//! report, and the closing line `N passed, N failed, N skipped` alone on its line.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::{failure_details, failures, Totals};
use crate::run::RunReport;

/// A progress bar on stderr when it is a terminal, hidden otherwise.
pub fn progress_bar(len: usize) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[derive(Tabled)]
struct SuiteRow {
    suite: String,
    name: String,
    pass: usize,
    fail: usize,
    skip: usize,
    xfail: usize,
    xpass: usize,
    flaky: usize,
    #[tabled(rename = "time (s)")]
    time: String,
}

/// The per-suite table.
pub fn suite_table(report: &RunReport) -> String {
    let mut rows: Vec<SuiteRow> = report
        .suites
        .iter()
        .map(|s| {
            let t = Totals::of(&s.results);
            let busy: f64 = s.results.iter().map(|r| r.duration.as_secs_f64()).sum();
            SuiteRow {
                suite: s.id.clone(),
                name: s.name.clone(),
                pass: t.pass,
                fail: t.fail,
                skip: t.skip,
                xfail: t.xfail,
                xpass: t.xpass,
                flaky: t.flaky,
                time: format!("{busy:.2}"),
            }
        })
        .collect();
    let t = report.totals();
    rows.push(SuiteRow {
        suite: "total".into(),
        name: format!("{} runner, {} jobs", report.runner, report.jobs),
        pass: t.pass,
        fail: t.fail,
        skip: t.skip,
        xfail: t.xfail,
        xpass: t.xpass,
        flaky: t.flaky,
        time: format!("{:.2} wall", report.wall.as_secs_f64()),
    });
    Table::new(rows).with(Style::sharp()).to_string()
}

/// Skipped tests grouped by reason.
pub fn skip_summary(report: &RunReport) -> String {
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in report
        .results()
        .filter(|r| r.outcome == crate::expect::Outcome::Skip)
    {
        by_reason
            .entry(r.reason.as_deref().unwrap_or(""))
            .or_default()
            .push(&r.id);
    }
    let mut out = String::new();
    for (reason, ids) in by_reason {
        let shown: Vec<&str> = ids.iter().take(3).copied().collect();
        let more = if ids.len() > 3 {
            format!(", ... ({} more)", ids.len() - 3)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "SKIP {:>3} x {reason}: {}{more}\n",
            ids.len(),
            shown.join(", ")
        ));
    }
    out
}

/// Everything printed after the run: failures, skips, table, totals, closing line.
pub fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    for result in failures(report) {
        out.push_str(&"-".repeat(72));
        out.push('\n');
        out.push_str(&failure_details(result));
    }
    if failures(report).next().is_some() {
        out.push_str(&"-".repeat(72));
        out.push('\n');
    }
    out.push_str(&skip_summary(report));
    for r in report
        .results()
        .filter(|r| r.outcome == crate::expect::Outcome::Xfail)
    {
        out.push_str(&format!(
            "XFAIL {}: {}\n",
            r.id,
            r.reason.as_deref().unwrap_or("")
        ));
    }
    for r in report
        .results()
        .filter(|r| r.outcome == crate::expect::Outcome::Flaky)
    {
        out.push_str(&format!(
            "FLAKY {}: {}\n",
            r.id,
            r.reason.as_deref().unwrap_or("")
        ));
    }
    out.push_str(&suite_table(report));
    out.push('\n');
    let t = report.totals();
    let flaky = if t.flaky > 0 {
        format!(", FLAKY {}", t.flaky)
    } else {
        String::new()
    };
    out.push_str(&format!(
        "{} tests on {} {} in {:.2}s with {} jobs: PASS {}, FAIL {}, SKIP {}, XFAIL {}, XPASS {}{flaky}\n",
        t.total(),
        report.runner,
        report.runner_version,
        report.wall.as_secs_f64(),
        report.jobs,
        t.pass,
        t.fail,
        t.skip,
        t.xfail,
        t.xpass
    ));
    out.push_str(&t.closing_line());
    out.push('\n');
    out
}
