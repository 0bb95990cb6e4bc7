//! The P2 fixtures (`fixtures/p2`, components in the component text format) run through the
//! `wasmgate` binary, checked against their specs: exit status, stdout, stderr. The same
//! fixtures pass on wasmtime (`harness run --suite fixtures/p2 --runner wasmtime-cli`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/p2")
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

#[test]
fn p2_fixtures_run_on_the_cli() {
    let mut ran = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat" || e == "wasm"))
        .collect();
    entries.sort();
    let mut failures = Vec::new();
    for path in entries {
        let spec: Spec = match std::fs::read_to_string(path.with_extension("json")) {
            // Operation-based specs (`"proposals": ["sockets"]`) need grants: their own
            // test files run them (component_p2_sockets.rs).
            Ok(text) if text.contains("\"operations\"") => continue,
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => Spec {
                args: vec![],
                env: Default::default(),
                exit_code: 0,
                stdout: None,
                stderr: None,
            },
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmgate"));
        cmd.arg("run");
        for (k, v) in &spec.env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        cmd.arg(&path).args(&spec.args);
        let out = cmd.output().unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
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
        if spec.stderr.as_deref().is_some_and(|s| s != stderr) {
            problems.push(format!("stderr {stderr:?}, expected {:?}", spec.stderr));
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}\nstderr: {stderr}", problems.join("; ")));
        }
        ran += 1;
    }
    assert!(ran >= 4, "found {ran} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
