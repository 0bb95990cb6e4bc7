//! Report stage: JUnit XML (`--junit FILE`), one `<testsuite>` per suite, for CI test tabs.

use std::fmt::Write as _;

use super::{failure_details, Totals};
use crate::expect::Outcome;
use crate::run::RunReport;

/// Escapes text for XML attributes and content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let t = report.totals();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"wasmgate-harness ({} {}){}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
        xml_escape(&report.runner),
        xml_escape(&report.runner_version),
        report
            .shard
            .map(|s| format!(" shard {s}"))
            .unwrap_or_default(),
        t.total(),
        t.failed(),
        t.skipped(),
        report.wall.as_secs_f64()
    );
    for suite in &report.suites {
        let st = Totals::of(&suite.results);
        let time: f64 = suite.results.iter().map(|r| r.duration.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}/{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            xml_escape(&report.runner),
            xml_escape(&suite.id),
            st.total(),
            st.failed(),
            st.skipped(),
            time
        );
        for r in &suite.results {
            let name = r.id.rsplit('/').next().unwrap_or(&r.id);
            let _ = write!(
                out,
                "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(&report.runner),
                xml_escape(&suite.id.replace('/', ".")),
                xml_escape(name),
                r.duration.as_secs_f64()
            );
            match r.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Skip | Outcome::Xfail => {
                    let reason = format!("{}: {}", r.outcome, r.reason.as_deref().unwrap_or(""));
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(&reason)
                    );
                }
                // Surefire's shape for a test that passed on a rerun: the testcase passes,
                // the failed attempt is a <flakyFailure>.
                Outcome::Flaky => {
                    let message = r
                        .failures
                        .first()
                        .map(|f| f.message.clone())
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        ">\n      <flakyFailure message=\"{}\" type=\"FLAKY\">{}</flakyFailure>\n    </testcase>",
                        xml_escape(&message),
                        xml_escape(&failure_details(r))
                    );
                }
                Outcome::Fail | Outcome::Xpass => {
                    let message = r
                        .failures
                        .first()
                        .map(|f| f.message.clone())
                        .unwrap_or_else(|| "passed, but expected to fail (XPASS)".to_owned());
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        xml_escape(&message),
                        r.outcome,
                        xml_escape(&failure_details(r))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
