//! Report stage: turns a [`RunReport`] into what people and CI read: the console summary
//! (progress, per-suite table, failure report, closing line), JSON, JUnit XML, Markdown.

pub mod console;
pub mod json;
pub mod junit;
pub mod markdown;

use std::fmt::Write as _;

use similar::TextDiff;

use crate::execute::{Failure, TestResult};
use crate::run::RunReport;

pub use crate::run::Totals;

/// A unified diff of expected vs actual bytes, shown as text (lossy UTF-8), or as hex
/// dumps when the difference is only in bytes that are not UTF-8.
pub fn diff_bytes(expected: &[u8], actual: &[u8]) -> String {
    let e = String::from_utf8_lossy(expected);
    let a = String::from_utf8_lossy(actual);
    if e == a {
        return format!(
            "(differ in non-UTF-8 bytes)\nexpected: {}\nactual:   {}\n",
            hex(expected),
            hex(actual)
        );
    }
    TextDiff::from_lines(e.as_ref(), a.as_ref())
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(256).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 256 { " ..." } else { "" };
    format!("{}{more}", shown.join(" "))
}

/// Text shown for a failed output stream that no spec read (context for exit mismatches).
fn excerpt(bytes: &[u8]) -> String {
    const LIMIT: usize = 4000;
    let text = String::from_utf8_lossy(bytes);
    if text.len() > LIMIT {
        let mut cut = LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}\n... ({} more bytes)", &text[..cut], bytes.len() - cut)
    } else {
        text.into_owned()
    }
}

/// The full failure report of one test: command, spec, exit status, diffs.
pub fn failure_details(result: &TestResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({} runner)",
        result.outcome, result.id, result.runner
    );
    if let Some(reason) = &result.reason {
        match result.outcome {
            crate::expect::Outcome::Flaky => {
                let _ = writeln!(out, "{reason}; the failed attempt:");
            }
            crate::expect::Outcome::Fail => {
                let _ = writeln!(out, "{reason}");
            }
            _ => {
                let _ = writeln!(out, "expected to fail: {reason}");
            }
        }
    }
    if result.outcome == crate::expect::Outcome::Xpass {
        let _ = writeln!(out, "it passed: remove its skiplist entry");
    }
    for (i, run) in result.runs.iter().enumerate() {
        let label = if result.runs.len() > 1 {
            format!(" {}", i + 1)
        } else {
            String::new()
        };
        let _ = writeln!(out, "command{label}: {}", run.command);
        let _ = writeln!(out, "status{label}:  {}", run.observed.status);
    }
    let _ = writeln!(out, "spec:\n{}", indent(result.spec_text.trim_end()));
    for Failure {
        message,
        expected,
        actual,
        ..
    } in &result.failures
    {
        let _ = writeln!(out, "- {message}");
        if let (Some(expected), Some(actual)) = (expected, actual) {
            let _ = write!(out, "{}", indent(&diff_bytes(expected, actual)));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    // Output that no expectation covered still explains a failure (a panic message, say).
    let checked = |name: &str| result.failures.iter().any(|f| f.check == name);
    if let Some(last) = result.runs.last() {
        for (name, bytes) in [
            ("stdout", &last.observed.stdout),
            ("stderr", &last.observed.stderr),
        ] {
            if !bytes.is_empty() && !checked(name) {
                let _ = writeln!(out, "{name}:\n{}", indent(&excerpt(bytes)));
            }
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Results that turn the run red.
pub fn failures(report: &RunReport) -> impl Iterator<Item = &TestResult> {
    report.results().filter(|r| r.outcome.is_failure())
}
