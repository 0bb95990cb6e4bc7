//! The dashboard in a real browser: `harness dashboard` renders the fixed reports of
//! `tests/reports/` and headless Chromium (Debian's `chromium`) loads the page; the DOM it
//! dumps must hold the pass rates, the parity tables, the benchmark chart, and the summary
//! line that the page's script writes (proof that the page ran, not just parsed).
//!
//! Without Chromium the trial is skipped with the reason — unless `WASMGATE_HARNESS_REQUIRE`
//! (a comma-separated list; CI sets it) names `chromium`, in which case a missing browser
//! fails. `CHROMIUM` names the binary when it is not `chromium` on the PATH.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Whether `WASMGATE_HARNESS_REQUIRE` names `tool`.
fn required(tool: &str) -> bool {
    std::env::var("WASMGATE_HARNESS_REQUIRE")
        .map(|v| v.split(',').any(|t| t.trim() == tool))
        .unwrap_or(false)
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"]
                .into_iter()
                .map(move |name| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

fn render_dashboard(out: &Path) -> Result<PathBuf, Failed> {
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reports");
    let status = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("dashboard")
        .arg("--reports")
        .arg(&reports)
        .arg("--out")
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run harness dashboard: {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "harness dashboard failed ({}):\n{}",
            status.status,
            String::from_utf8_lossy(&status.stderr)
        )
        .into());
    }
    Ok(out.join("index.html"))
}

/// Checks that `text` holds every needle, naming the first that is missing.
fn expect_all(what: &str, text: &str, needles: &[&str]) -> Result<(), Failed> {
    for needle in needles {
        if !text.contains(needle) {
            return Err(format!("{what} lacks `{needle}`:\n{text}").into());
        }
    }
    Ok(())
}

/// What the page holds before any script runs.
const STATIC_CONTENT: &[&str] = &[
    "<h2>Pass rates per suite and runner</h2>",
    // wasmgate's 12/14 in p1/c, and wasmtime-cli's two shards summed (7 + 7).
    "<tr data-suite=\"p1/c\"><th><code>p1/c</code></th><td class=\"bad\" data-pass=\"12\" data-ran=\"14\">",
    "<td class=\"good\" data-pass=\"14\" data-ran=\"14\">",
    "2 of 2 shards",
    "all 55 skipped",
    "<div class=\"pair\" data-pair=\"wasmgate-vs-wasmtime\">",
    "1 unexplained divergences",
    "<code>p1/c/pwrite-with-append</code>",
    "inode numbers come from the host (issue 7)",
    "<svg class=\"chart\"",
    "<tr data-scenario=\"compute/mix\">",
    "<td class=\"ratio\">2.200</td>",
    "ignored: <code>",
];

fn static_page() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let page = render_dashboard(dir.path())?;
    let html = std::fs::read_to_string(&page).map_err(|e| e.to_string())?;
    expect_all("the page", &html, STATIC_CONTENT)?;
    expect_all("the page", &html, &["<body data-rendered=\"no\">"])
}

fn chromium_renders(chromium: PathBuf) -> Result<Completion, Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let page = render_dashboard(dir.path())?;
    let profile = dir.path().join("profile");
    let url = format!("file://{}", page.display());
    let begun = Instant::now();
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", chromium.display()))?;
    // A browser that hangs must not hang the test.
    let limit = Duration::from_secs(120);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(_) => break,
            None if begun.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("chromium did not finish in {}s", limit.as_secs()).into());
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let dom = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || dom.trim().is_empty() {
        return Err(format!(
            "chromium failed ({}), stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    expect_all("Chromium's DOM", &dom, STATIC_CONTENT)?;
    // Written by the page's script: it ran.
    expect_all(
        "Chromium's DOM",
        &dom,
        &[
            "<body data-rendered=\"yes\">",
            "Passing: wasmgate 70/72 (97.2%), wasmtime-cli 72/72 (100.0%). Unexplained parity divergences: 1. Benchmark reports: 3.",
        ],
    )?;
    // Two scenarios over three reports: two lines.
    let lines = dom.matches("<polyline").count();
    if lines != 2 {
        return Err(format!("expected 2 chart lines, found {lines}").into());
    }
    Ok(Completion::Completed)
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![Trial::test("dashboard/static-page", static_page)];
    let browser = find_chromium();
    trials.push(Trial::ignorable_test(
        "dashboard/renders-in-chromium",
        move || match browser {
            Some(chromium) => chromium_renders(chromium),
            None if required("chromium") => Err(Failed::from(
                "chromium is required (WASMGATE_HARNESS_REQUIRE names it) but not installed: apt-get install chromium",
            )),
            None => {
                eprintln!(
                    "SKIPPED dashboard/renders-in-chromium: no chromium on PATH (apt-get install chromium; CI requires it)"
                );
                Ok(Completion::ignored_with(
                    "no chromium on PATH (apt-get install chromium; CI requires it)",
                ))
            }
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
