//! The P3 fixtures (`fixtures/p3`, async components in the component text format) run
//! through the `wasmgate` binary and checked against their specs (exit status, stdout);
//! a live spec (`operations`, the served `http-service`) is left to the harness.
//! The conformance gate (`harness/tests/conformance.rs`) runs them on the in-process
//! wasmgate and wasmtime 48 runners too.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    exit_code: i32,
    stdout: Option<String>,
}

#[test]
fn p3_fixtures_run_on_the_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/p3");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat" || e == "wasm"))
        .collect();
    entries.sort();
    let mut failures = Vec::new();
    for path in &entries {
        let text = std::fs::read_to_string(path.with_extension("json")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        if value.get("operations").is_some() {
            // A live spec (`http-service`: served by `wasmgate serve`, requested, SIGINT):
            // the harness runs it (`harness run --suite fixtures/p3`).
            continue;
        }
        let spec: Spec = serde_json::from_value(value).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_wasmgate"))
            .arg("run")
            .arg(path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut problems = Vec::new();
        if out.status.code() != Some(spec.exit_code) {
            problems.push(format!(
                "exit status {:?}, expected {}",
                out.status.code(),
                spec.exit_code
            ));
        }
        if spec.stdout.as_deref().is_some_and(|s| s != stdout) {
            problems.push(format!("stdout {stdout:?}, expected {:?}", spec.stdout));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\nstderr: {}",
                path.display(),
                problems.join("; "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(entries.len() >= 2, "found {} fixtures", entries.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
