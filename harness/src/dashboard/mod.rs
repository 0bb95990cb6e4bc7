//! Report stage: the static HTML dashboard (`harness dashboard --reports DIR --out DIR`).
//!
//! It reads every JSON report under the given directories — conformance reports
//! (`harness run --json`, schema `wasmgate-harness/conformance`), parity reports
//! (`parity.json`, schema `wasmgate-harness/parity`) and benchmark reports (`harness bench
//! --json`: an object with `scenarios` whose entries carry `name` and `ratio`) — and writes
//! one self-contained `index.html` (inline CSS and SVG, no server, no network): pass rates
//! per suite and runner, the parity tables, and benchmark ratios (wasmgate / wasmtime) over
//! time. The page works without JavaScript; a small inline script only adds the overall
//! summary line and marks the page as rendered (`<body data-rendered="yes">`).
//!
//! For each runner the newest conformance report counts; when it is one shard of N, the
//! newest report of every other shard of N is added to it. For each pair of runners the
//! newest parity report counts. Every benchmark report is a point in time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// `harness dashboard`: render reports as a static HTML page.
#[derive(clap::Args, Debug)]
pub struct DashboardArgs {
    /// Directories (searched recursively) or files of JSON reports. Repeatable.
    /// Default: `reports/` in the workspace.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Where `index.html` goes. Default: `reports/dashboard/` in the workspace.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Outcome counts, as the conformance report writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// PASS.
    pub pass: usize,
    /// FAIL.
    pub fail: usize,
    /// SKIP.
    pub skip: usize,
    /// XFAIL.
    pub xfail: usize,
    /// XPASS.
    pub xpass: usize,
    /// FLAKY (absent in reports written before `--rerun-failures`).
    #[serde(default)]
    pub flaky: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.skip += other.skip;
        self.xfail += other.xfail;
        self.xpass += other.xpass;
        self.flaky += other.flaky;
    }

    /// Tests that ran (everything but SKIP).
    pub fn ran(&self) -> usize {
        self.pass + self.fail + self.xfail + self.xpass + self.flaky
    }
}

#[derive(Debug, Clone, Deserialize)]
struct NameVersion {
    name: String,
    version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
struct ShardDoc {
    index: usize,
    count: usize,
}

#[derive(Debug, Clone, Deserialize)]
struct SuiteDoc {
    id: String,
    totals: Counts,
}

/// A conformance report, as far as the dashboard reads it.
#[derive(Debug, Clone, Deserialize)]
struct ConformanceDoc {
    runner: NameVersion,
    started_unix_ms: u128,
    #[serde(default)]
    shard: Option<ShardDoc>,
    suites: Vec<SuiteDoc>,
}

#[derive(Debug, Clone, Deserialize)]
struct EntryDoc {
    reason: String,
    tracking: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ExplanationDoc {
    status: String,
    #[serde(default)]
    entry: Option<EntryDoc>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ParityTestDoc {
    id: String,
    suite: String,
    class: String,
    explanation: ExplanationDoc,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ParityTotalsDoc {
    tests: usize,
    identical: usize,
    observations_differ: usize,
    verdict_differs: usize,
    skipped: usize,
    explained: usize,
    unexplained: usize,
    resolved: usize,
}

/// A parity report, as far as the dashboard reads it.
#[derive(Debug, Clone, Deserialize)]
struct ParityDoc {
    a: NameVersion,
    b: NameVersion,
    started_unix_ms: u128,
    totals: ParityTotalsDoc,
    tests: Vec<ParityTestDoc>,
}

#[derive(Debug, Clone, Deserialize)]
struct BenchScenarioDoc {
    name: String,
    #[serde(default)]
    ratio: Option<f64>,
}

/// A benchmark report, as far as the dashboard reads it.
#[derive(Debug, Clone, Deserialize)]
struct BenchDoc {
    started_unix_ms: u128,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    machine: Option<String>,
    scenarios: Vec<BenchScenarioDoc>,
}

/// Everything found under the report directories.
#[derive(Debug, Default)]
pub struct Reports {
    conformance: Vec<(PathBuf, ConformanceDoc)>,
    parity: Vec<(PathBuf, ParityDoc)>,
    bench: Vec<(PathBuf, BenchDoc)>,
    /// Files that were not read, with why.
    pub ignored: Vec<(PathBuf, String)>,
}

impl Reports {
    /// How many reports were read.
    pub fn len(&self) -> usize {
        self.conformance.len() + self.parity.len() + self.bench.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn json_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            json_files(&entry, out)?;
        } else if entry.extension().is_some_and(|e| e == "json") {
            out.push(entry);
        }
    }
    Ok(())
}

/// Reads every JSON report at or under `paths`.
pub fn load_reports(paths: &[PathBuf]) -> Result<Reports> {
    let mut files = Vec::new();
    for path in paths {
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        json_files(path, &mut files)?;
    }
    let mut reports = Reports::default();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                reports.ignored.push((file, format!("unreadable: {e}")));
                continue;
            }
        };
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                reports.ignored.push((file, format!("not JSON: {e}")));
                continue;
            }
        };
        let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
        let version = value.get("schema_version").and_then(|v| v.as_u64());
        let parsed: std::result::Result<(), String> = match (schema, version) {
            ("wasmgate-harness/conformance", Some(1)) => serde_json::from_value(value)
                .map(|doc| reports.conformance.push((file.clone(), doc)))
                .map_err(|e| e.to_string()),
            ("wasmgate-harness/parity", Some(1)) => serde_json::from_value(value)
                .map(|doc| reports.parity.push((file.clone(), doc)))
                .map_err(|e| e.to_string()),
            (s, v) if s.starts_with("wasmgate-harness/") && s != "wasmgate-harness/bench" => Err(
                format!("schema {s} version {v:?} is not one this dashboard reads"),
            ),
            _ if value.get("scenarios").is_some_and(|s| s.is_array())
                && value.get("started_unix_ms").is_some() =>
            {
                serde_json::from_value(value)
                    .map(|doc| reports.bench.push((file.clone(), doc)))
                    .map_err(|e| e.to_string())
            }
            _ => Err("not a harness report".to_owned()),
        };
        if let Err(why) = parsed {
            reports.ignored.push((file, why));
        }
    }
    reports
        .conformance
        .sort_by_key(|(p, d)| (d.started_unix_ms, p.clone()));
    reports
        .parity
        .sort_by_key(|(p, d)| (d.started_unix_ms, p.clone()));
    reports
        .bench
        .sort_by_key(|(p, d)| (d.started_unix_ms, p.clone()));
    Ok(reports)
}

/// Escapes text for HTML content and attributes.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2026-11-24 21:30 UTC` for milliseconds since the Unix epoch.
pub fn utc_time(unix_ms: u128) -> String {
    let secs = (unix_ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The conformance figures of one runner: its newest report, plus the newest report of
/// each other shard when that one is a shard.
struct RunnerRates<'a> {
    name: &'a str,
    version: &'a str,
    started_unix_ms: u128,
    shards: Option<(usize, usize)>,
    suites: BTreeMap<&'a str, Counts>,
}

fn runner_rates(reports: &Reports) -> Vec<RunnerRates<'_>> {
    let mut by_runner: BTreeMap<&str, Vec<&ConformanceDoc>> = BTreeMap::new();
    for (_, doc) in &reports.conformance {
        by_runner.entry(&doc.runner.name).or_default().push(doc);
    }
    let mut out = Vec::new();
    for (name, docs) in by_runner {
        let newest = docs.last().expect("grouped reports are never empty");
        let mut picked: Vec<&ConformanceDoc> = vec![newest];
        if let Some(shard) = newest.shard {
            for index in (1..=shard.count).filter(|&i| i != shard.index) {
                if let Some(other) = docs.iter().rev().find(|d| {
                    d.shard
                        == Some(ShardDoc {
                            index,
                            count: shard.count,
                        })
                }) {
                    picked.push(other);
                }
            }
        }
        let mut suites: BTreeMap<&str, Counts> = BTreeMap::new();
        for doc in &picked {
            for suite in &doc.suites {
                suites.entry(&suite.id).or_default().add(suite.totals);
            }
        }
        out.push(RunnerRates {
            name,
            version: &newest.runner.version,
            started_unix_ms: newest.started_unix_ms,
            shards: newest.shard.map(|s| (picked.len(), s.count)),
            suites,
        });
    }
    out
}

fn rate_cell(counts: Option<&Counts>) -> String {
    let Some(c) = counts else {
        return "<td class=\"none\">—</td>".to_owned();
    };
    let ran = c.ran();
    if ran == 0 {
        return format!(
            "<td class=\"none\" data-pass=\"0\" data-ran=\"0\">all {} skipped</td>",
            c.skip
        );
    }
    let pct = 100.0 * c.pass as f64 / ran as f64;
    let class = if c.pass == ran {
        "good"
    } else if pct >= 90.0 {
        "fair"
    } else {
        "bad"
    };
    let mut skipped = if c.skip > 0 {
        format!(" <small>({} skipped)</small>", c.skip)
    } else {
        String::new()
    };
    if c.flaky > 0 {
        let _ = write!(
            skipped,
            " <small class=\"flaky\" data-flaky=\"{0}\">({0} flaky)</small>",
            c.flaky
        );
    }
    format!(
        "<td class=\"{class}\" data-pass=\"{}\" data-ran=\"{ran}\"><span class=\"bar\" style=\"width:{pct:.0}%\"></span><span class=\"num\">{}/{ran} ({pct:.1}%){skipped}</span></td>",
        c.pass, c.pass
    )
}

fn pass_rates(reports: &Reports, out: &mut String) {
    out.push_str("<section id=\"pass-rates\">\n<h2>Pass rates per suite and runner</h2>\n");
    let runners = runner_rates(reports);
    if runners.is_empty() {
        out.push_str("<p class=\"empty\">No conformance report (<code>harness run --json</code>) was given.</p>\n</section>\n");
        return;
    }
    let mut suites: Vec<&str> = runners
        .iter()
        .flat_map(|r| r.suites.keys().copied())
        .collect();
    suites.sort();
    suites.dedup();
    out.push_str("<table class=\"rates\">\n<thead><tr><th>suite</th>");
    for r in &runners {
        let shards = match r.shards {
            Some((have, of)) => format!("<br><small>{have} of {of} shards</small>"),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<th data-runner=\"{0}\">{0}<br><small>{1} · {2}</small>{shards}</th>",
            html_escape(r.name),
            html_escape(r.version),
            utc_time(r.started_unix_ms)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for suite in &suites {
        let _ = write!(
            out,
            "<tr data-suite=\"{0}\"><th><code>{0}</code></th>",
            html_escape(suite)
        );
        for r in &runners {
            out.push_str(&rate_cell(r.suites.get(suite)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("<tr class=\"total\"><th>total</th>");
    for r in &runners {
        let mut total = Counts::default();
        for c in r.suites.values() {
            total.add(*c);
        }
        out.push_str(&rate_cell(Some(&total)));
    }
    out.push_str("</tr>\n</tbody>\n</table>\n");
    out.push_str("<p class=\"note\">Pass rate: PASS over the tests that ran (SKIP left out; XFAIL, XPASS and FLAKY count as not passing; FLAKY: failed, then passed when rerun).</p>\n</section>\n");
}

fn parity_section(reports: &Reports, out: &mut String) {
    out.push_str("<section id=\"parity\">\n<h2>Parity</h2>\n");
    let mut newest: BTreeMap<(String, String), &ParityDoc> = BTreeMap::new();
    for (_, doc) in &reports.parity {
        newest.insert((doc.a.name.clone(), doc.b.name.clone()), doc);
    }
    if newest.is_empty() {
        out.push_str("<p class=\"empty\">No parity report (<code>harness parity</code>'s <code>parity.json</code>) was given.</p>\n</section>\n");
        return;
    }
    for doc in newest.values() {
        let t = &doc.totals;
        let verdict = if t.unexplained == 0 {
            "<span class=\"good\">no unexplained divergence</span>".to_owned()
        } else {
            format!(
                "<span class=\"bad\">{} unexplained divergences</span>",
                t.unexplained
            )
        };
        let _ = write!(
            out,
            "<div class=\"pair\" data-pair=\"{a}-vs-{b}\">\n<h3>{a} {av} vs {b} {bv}</h3>\n<p><small>{when}</small> — {verdict}</p>\n\
             <table class=\"parity-totals\"><thead><tr><th>tests</th><th>identical</th><th>observations differ</th><th>verdict differs</th><th>skipped</th><th>explained</th><th>unexplained</th><th>resolved</th></tr></thead>\n\
             <tbody><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></tbody></table>\n",
            t.tests,
            t.identical,
            t.observations_differ,
            t.verdict_differs,
            t.skipped,
            t.explained,
            t.unexplained,
            t.resolved,
            a = html_escape(&doc.a.name),
            av = html_escape(&doc.a.version),
            b = html_escape(&doc.b.name),
            bv = html_escape(&doc.b.version),
            when = utc_time(doc.started_unix_ms),
        );
        let mut by_suite: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for test in &doc.tests {
            *by_suite
                .entry(&test.suite)
                .or_default()
                .entry(&test.class)
                .or_default() += 1;
        }
        out.push_str("<table class=\"parity-suites\"><thead><tr><th>suite</th><th>identical</th><th>observations differ</th><th>verdict differs</th><th>skipped</th></tr></thead>\n<tbody>\n");
        for (suite, classes) in &by_suite {
            let n = |c: &str| classes.get(c).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "<tr data-suite=\"{0}\"><th><code>{0}</code></th><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
                html_escape(suite),
                n("identical"),
                n("observations-differ"),
                n("verdict-differs"),
                n("skipped")
            );
        }
        out.push_str("</tbody></table>\n");
        let listed: Vec<&ParityTestDoc> = doc
            .tests
            .iter()
            .filter(|t| t.explanation.status != "none")
            .collect();
        if listed.is_empty() {
            out.push_str("</div>\n");
            continue;
        }
        out.push_str("<table class=\"parity\"><thead><tr><th>test</th><th>suite</th><th>class</th><th>status</th><th>reason</th></tr></thead>\n<tbody>\n");
        for test in listed {
            let e = &test.explanation;
            let mut reason = e
                .entry
                .as_ref()
                .map(|x| format!("{} ({})", x.reason, x.tracking))
                .unwrap_or_default();
            if let Some(note) = &e.note {
                reason.push_str(&format!(" — {note}"));
            }
            let _ = writeln!(
                out,
                "<tr class=\"{status}\"><td><code>{id}</code></td><td>{suite}</td><td>{class}</td><td>{status}</td><td>{reason}</td></tr>",
                status = html_escape(&e.status),
                id = html_escape(&test.id),
                suite = html_escape(&test.suite),
                class = html_escape(&test.class),
                reason = html_escape(&reason)
            );
        }
        out.push_str("</tbody></table>\n</div>\n");
    }
    out.push_str("</section>\n");
}

const PALETTE: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

/// An SVG line chart of ratios per scenario over the reports, in time order.
fn ratio_chart(names: &[&str], docs: &[&BenchDoc]) -> String {
    let (width, height, left, right, top, bottom) = (760.0, 300.0, 56.0, 48.0, 16.0, 40.0);
    let ratios = docs
        .iter()
        .flat_map(|d| d.scenarios.iter().filter_map(|s| s.ratio));
    let max = ratios.fold(1.0_f64, f64::max) * 1.1;
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let x = |i: usize| {
        if docs.len() <= 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (docs.len() - 1) as f64
        }
    };
    let y = |v: f64| top + plot_h * (1.0 - v / max);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"benchmark ratios over time\">\n"
    );
    let ticks = 4;
    for k in 0..=ticks {
        let v = max * k as f64 / ticks as f64;
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{v:.2}</text>",
            width - right,
            left - 6.0,
            y(v) + 4.0,
            y = y(v)
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{y1:.1}\" y2=\"{y1:.1}\" class=\"parity-line\"/>",
        width - right,
        y1 = y(1.0)
    );
    for (i, doc) in docs.iter().enumerate() {
        let label = utc_time(doc.started_unix_ms);
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            x(i),
            height - 12.0,
            html_escape(&label[..10])
        );
    }
    for (n, name) in names.iter().enumerate() {
        let color = PALETTE[n % PALETTE.len()];
        let points: Vec<(f64, f64)> = docs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                d.scenarios
                    .iter()
                    .find(|s| s.name == *name)
                    .and_then(|s| s.ratio)
                    .map(|r| (x(i), y(r)))
            })
            .collect();
        if points.len() > 1 {
            let path: Vec<String> = points
                .iter()
                .map(|(px, py)| format!("{px:.1},{py:.1}"))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
                path.join(" "),
                html_escape(name)
            );
        }
        for (px, py) in &points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3\" fill=\"{color}\"><title>{}</title></circle>",
                html_escape(name)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn bench_section(reports: &Reports, out: &mut String) {
    out.push_str("<section id=\"benchmarks\">\n<h2>Benchmark ratios (wasmgate / wasmtime median time)</h2>\n");
    if reports.bench.is_empty() {
        out.push_str("<p class=\"empty\">No benchmark report (<code>harness bench --json</code>) was given.</p>\n</section>\n");
        return;
    }
    let docs: Vec<&BenchDoc> = reports.bench.iter().map(|(_, d)| d).collect();
    let mut names: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.scenarios.iter().map(|s| s.name.as_str()))
        .collect();
    names.sort();
    names.dedup();
    let _ = writeln!(
        out,
        "<p>{} report{} from {} to {}. Below 1.0 wasmgate is faster.</p>",
        docs.len(),
        if docs.len() == 1 { "" } else { "s" },
        utc_time(docs[0].started_unix_ms),
        utc_time(docs[docs.len() - 1].started_unix_ms)
    );
    out.push_str(&ratio_chart(&names, &docs));
    out.push_str("<table class=\"bench\"><thead><tr><th></th><th>scenario</th>");
    for doc in &docs {
        let mut head = utc_time(doc.started_unix_ms);
        if let Some(commit) = &doc.commit {
            head.push_str(&format!(" · {}", &commit[..commit.len().min(10)]));
        }
        if let Some(machine) = &doc.machine {
            head.push_str(&format!(" · {machine}"));
        }
        let _ = write!(out, "<th>{}</th>", html_escape(&head));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (n, name) in names.iter().enumerate() {
        let _ = write!(
            out,
            "<tr data-scenario=\"{0}\"><td><span class=\"swatch\" style=\"background:{1}\"></span></td><td><code>{0}</code></td>",
            html_escape(name),
            PALETTE[n % PALETTE.len()]
        );
        for doc in &docs {
            let ratio = doc
                .scenarios
                .iter()
                .find(|s| s.name == *name)
                .and_then(|s| s.ratio);
            match ratio {
                Some(r) => {
                    let _ = write!(out, "<td class=\"ratio\">{r:.3}</td>");
                }
                None => out.push_str("<td class=\"none\">—</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// Data the inline script reads (and that a reader of the page can too).
#[derive(Serialize)]
struct PageData {
    conformance: Vec<PageRunner>,
    parity_unexplained: usize,
    bench_reports: usize,
}

#[derive(Serialize)]
struct PageRunner {
    runner: String,
    pass: usize,
    ran: usize,
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .6em 0; } th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
thead th { background: #f4f4f4; } small { color: #666; }
td.good, span.good { color: #176b1d; } td.fair { color: #8a6100; } td.bad, span.bad, tr.unexplained { color: #a11; }
tr.unexplained td { background: #fdecec; } tr.resolved td { background: #eef6ff; }
td[data-ran] { position: relative; min-width: 11em; } td .bar { position: absolute; left: 0; top: 0; bottom: 0; background: rgba(40, 160, 60, .15); }
td .num { position: relative; } td.none { color: #999; } td.ratio { text-align: right; font-variant-numeric: tabular-nums; }
tr.total th, tr.total td { font-weight: bold; } .note, .empty { color: #666; }
.swatch { display: inline-block; width: 1em; height: 1em; border-radius: 2px; }
svg.chart .grid { stroke: #eee; } svg.chart .parity-line { stroke: #999; stroke-dasharray: 4 3; } svg.chart .tick { font-size: 11px; fill: #666; }
#summary { font-size: 1.1em; }
"#;

const SCRIPT: &str = r#"
(function () {
  var data = JSON.parse(document.getElementById('dashboard-data').textContent);
  var parts = data.conformance.map(function (r) {
    var pct = r.ran ? (100 * r.pass / r.ran).toFixed(1) : '0.0';
    return r.runner + ' ' + r.pass + '/' + r.ran + ' (' + pct + '%)';
  });
  var text = parts.length ? 'Passing: ' + parts.join(', ') + '.' : 'No conformance report.';
  text += ' Unexplained parity divergences: ' + data.parity_unexplained + '.';
  text += ' Benchmark reports: ' + data.bench_reports + '.';
  document.getElementById('summary').textContent = text;
  document.body.setAttribute('data-rendered', 'yes');
})();
"#;

/// The dashboard page.
pub fn render(reports: &Reports) -> String {
    let mut body = String::new();
    pass_rates(reports, &mut body);
    parity_section(reports, &mut body);
    bench_section(reports, &mut body);
    let data = PageData {
        conformance: runner_rates(reports)
            .iter()
            .map(|r| {
                let mut total = Counts::default();
                for c in r.suites.values() {
                    total.add(*c);
                }
                PageRunner {
                    runner: r.name.to_owned(),
                    pass: total.pass,
                    ran: total.ran(),
                }
            })
            .collect(),
        parity_unexplained: {
            let mut newest: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for (_, d) in &reports.parity {
                newest.insert((&d.a.name, &d.b.name), d.totals.unexplained);
            }
            newest.values().sum()
        },
        bench_reports: reports.bench.len(),
    };
    let data_json = serde_json::to_string(&data)
        .expect("page data serializes")
        .replace("</", "<\\/");
    let mut sources = String::new();
    for (path, _) in &reports.conformance {
        let _ = writeln!(
            sources,
            "<li>conformance: <code>{}</code></li>",
            html_escape(&path.display().to_string())
        );
    }
    for (path, _) in &reports.parity {
        let _ = writeln!(
            sources,
            "<li>parity: <code>{}</code></li>",
            html_escape(&path.display().to_string())
        );
    }
    for (path, _) in &reports.bench {
        let _ = writeln!(
            sources,
            "<li>benchmark: <code>{}</code></li>",
            html_escape(&path.display().to_string())
        );
    }
    for (path, why) in &reports.ignored {
        let _ = writeln!(
            sources,
            "<li class=\"note\">ignored: <code>{}</code> ({})</li>",
            html_escape(&path.display().to_string()),
            html_escape(why)
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>wasmgate harness dashboard</title>\n<style>{STYLE}</style>\n</head>\n<body data-rendered=\"no\">\n<h1>wasmgate harness dashboard</h1>\n<p id=\"summary\">{} reports.</p>\n{body}<section id=\"sources\">\n<h2>Reports read</h2>\n<ul>\n{sources}</ul>\n</section>\n<script id=\"dashboard-data\" type=\"application/json\">{data_json}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        reports.len()
    )
}

/// Runs `harness dashboard`.
pub fn run(args: DashboardArgs) -> Result<bool> {
    let cwd = std::env::current_dir().context("no current directory")?;
    let root = crate::workspace_root(&cwd);
    let dirs = if args.reports.is_empty() {
        vec![root.join("reports")]
    } else {
        args.reports.clone()
    };
    let reports = load_reports(&dirs)?;
    for (path, why) in &reports.ignored {
        eprintln!("dashboard: ignored {}: {why}", path.display());
    }
    if reports.is_empty() {
        bail!(
            "no report under {}: write some with `harness run --json`, `harness parity` or `harness bench --json`",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("reports/dashboard"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let page = out.join("index.html");
    std::fs::write(&page, render(&reports))
        .with_context(|| format!("cannot write {}", page.display()))?;
    println!(
        "wrote {} from {} reports ({} conformance, {} parity, {} benchmark)",
        page.display(),
        reports.len(),
        reports.conformance.len(),
        reports.parity.len(),
        reports.bench.len()
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc_time(1_795_556_497_161), "2026-11-24 21:41 UTC");
    }

    #[test]
    fn escapes() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
