//! Report stage: a Markdown report (`--markdown FILE`), for notes, pull requests and CI
//! step summaries (failure details are folded in `<details>`).

use std::fmt::Write as _;

use super::{failure_details, failures, Totals};
use crate::run::RunReport;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown.
pub fn render(report: &RunReport) -> String {
    let t = report.totals();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Conformance: {} {}\n",
        report.runner, report.runner_version
    );
    let shard = report
        .shard
        .map(|s| format!(" (shard {s})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} tests{shard} in {:.2}s with {} jobs: **{}**.\n",
        t.total(),
        report.wall.as_secs_f64(),
        report.jobs,
        t.closing_line()
    );
    out.push_str("| suite | name | pass | fail | skip | xfail | xpass | flaky |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    for s in &report.suites {
        let st = Totals::of(&s.results);
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            s.id,
            cell(&s.name),
            st.pass,
            st.fail,
            st.skip,
            st.xfail,
            st.xpass,
            st.flaky
        );
    }
    let _ = writeln!(
        out,
        "| **total** | | {} | {} | {} | {} | {} | {} |",
        t.pass, t.fail, t.skip, t.xfail, t.xpass, t.flaky
    );
    let not_run: Vec<_> = report.results().filter(|r| r.reason.is_some()).collect();
    if !not_run.is_empty() {
        let flaky = if t.flaky > 0 { ", flaky tests" } else { "" };
        let _ = write!(
            out,
            "\n## Skipped{flaky} and expected failures\n\n| test | outcome | reason |\n|---|---|---|\n",
        );
        for r in not_run {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                cell(&r.id),
                r.outcome,
                cell(r.reason.as_deref().unwrap_or(""))
            );
        }
    }
    let failed: Vec<_> = failures(report)
        .chain(
            report
                .results()
                .filter(|r| r.outcome == crate::expect::Outcome::Flaky),
        )
        .collect();
    if !failed.is_empty() {
        // Folded, so that a long report still fits a CI step summary.
        if t.flaky > 0 {
            out.push_str("\n## Failures (and the failed attempt of flaky tests)\n");
        } else {
            out.push_str("\n## Failures\n");
        }
        for r in failed {
            let first = r
                .failures
                .first()
                .map(|f| cell(&f.message))
                .unwrap_or_else(|| "passed, but expected to fail (XPASS)".to_owned());
            let _ = writeln!(
                out,
                "\n### `{}`\n\n{} {first}\n\n<details><summary>details</summary>\n\n```text\n{}```\n\n</details>",
                r.id,
                r.outcome,
                failure_details(r)
            );
        }
    }
    out
}
