//! `wasi:filesystem` for components, through the project's P1 fixtures: each
//! `fixtures/p1*/<test>.wasm` is wrapped as a component with wasmtime's
//! `wasi_snapshot_preview1` command adapter (wit-component), so every P1 filesystem call
//! reaches `wasmgate::wasi::p2` as WASI 0.2 `descriptor` calls, and run in-process on a
//! private copy of its preopened directories. Exit code and stdout are compared with the
//! fixture's spec (the adapter turns any non-zero `proc_exit` into exit code 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasmgate::component::{Component, Linker, ResourceTable};
use wasmgate::wasi::p2::{self, WasiCtxView, WasiView};
use wasmgate::wasi::{InputPipe, OutputPipe, WasiCtx, WasiCtxBuilder};
use wasmgate::{Engine, Store};

/// Fixtures whose adapted run differs from the P1 spec because of the adapter, with the
/// reason. Each gives the same exit code and stdout on wasmtime (the CLI, 49.0.3) with the
/// same component: the adapter answers these P1 calls itself, before any WASI 0.2 call.
const ADAPTER_DIVERGENCES: &[(&str, &str)] = &[
    (
        "fd_prestat_dir_name",
        "the adapter says EBADF for a non-preopen fd (native wasmtime P1: ENOTDIR)",
    ),
    (
        "fd_readdir",
        "the adapter says ENOTDIR for fd_readdir on a file (native: EBADF)",
    ),
    (
        "fd_seek",
        "the adapter says ESPIPE for fd_seek on a closed fd (native: EBADF)",
    ),
    (
        "path_create_directory",
        "the adapter says ENOTDIR for a file fd as the base (native: EBADF)",
    ),
    (
        "path_filestat_get",
        "the adapter says ENOTDIR for a file fd as the base (native: EBADF)",
    ),
    (
        "invalid_enum_clockid",
        "the adapter returns EBADF for clock id 4 instead of failing the call",
    ),
    (
        "invalid_enum_whence",
        "the adapter returns EINVAL for whence 3 instead of failing the call",
    ),
    (
        "proc_raise",
        "the adapter traps (unreachable) in proc_raise",
    ),
    (
        "sock_accept",
        "the adapter traps (unreachable) in sock_accept",
    ),
    ("sock_recv", "the adapter traps (unreachable) in sock_recv"),
    ("sock_send", "the adapter traps (unreachable) in sock_send"),
    (
        "malformed_paths",
        "the adapter passes a path of invalid UTF-8 as a `string`: lifting it traps",
    ),
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// A P1 command module as a component.
fn adapt(module: &[u8]) -> Vec<u8> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .unwrap()
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// Copies a directory tree, symlinks as symlinks (some point outside, or loop).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ty = std::fs::symlink_metadata(&src).unwrap().file_type();
        if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ty.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A fresh scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("wasmgate-p2fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run showed.
struct Outcome {
    exit_code: i32,
    stdout: String,
    stderr: String,
    error: Option<String>,
}

/// Runs the P1 fixture `suite/name` as a component; the suite's data is copied first.
fn run_fixture(suite: &str, name: &str) -> (Spec, Outcome) {
    let suite_dir = fixtures().join(suite);
    let spec: Spec = match std::fs::read_to_string(suite_dir.join(format!("{name}.json"))) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => serde_json::from_str("{}").unwrap(),
    };
    let module = std::fs::read(suite_dir.join(format!("{name}.wasm"))).unwrap();
    let bytes = adapt(&module);
    if let Ok(dir) = std::env::var("P2FS_DUMP") {
        // For comparing with another runtime by hand.
        std::fs::write(Path::new(&dir).join(format!("{name}.wasm")), &bytes).unwrap();
    }
    let component = Component::new(engine(), bytes).unwrap();

    // The whole suite is copied (as the harness does) so that siblings of a preopen
    // (`p1-sandbox/outside.txt`) exist beside it too.
    let scratch = Scratch::new(&format!("{suite}-{name}"));
    copy_tree(&suite_dir, &scratch.0);

    let stdout = OutputPipe::new();
    let stderr = OutputPipe::new();
    let mut b = WasiCtxBuilder::new();
    b.arg(format!("{name}.wasm"))
        .args(&spec.args)
        .stdin(InputPipe::new(Vec::new()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for (k, v) in &spec.env {
        b.env(k, v);
    }
    for d in &spec.dirs {
        b.preopened_dir(scratch.0.join(d), d).unwrap();
    }
    let host = Host {
        wasi: b.build(),
        table: ResourceTable::new(),
    };
    let mut linker = Linker::<Host>::new(engine());
    p2::add_to_linker(&mut linker).unwrap();
    let mut store = Store::new(engine(), host);
    let result = linker
        .instantiate(&mut store, &component)
        .and_then(|instance| p2::run(&mut store, &component, &instance));
    let (exit_code, error) = match result {
        Ok(code) => (code, None),
        Err(e) => match e.exit_code() {
            Some(code) => (code, None),
            None => (1, Some(format!("{e}"))),
        },
    };
    if let Ok(dir) = std::env::var("P2FS_DUMP") {
        let out = format!(
            "exit={exit_code}\n{}",
            String::from_utf8_lossy(&stdout.contents())
        );
        std::fs::write(Path::new(&dir).join(format!("{name}.stdout")), out).unwrap();
    }
    let outcome = Outcome {
        exit_code,
        stdout: String::from_utf8_lossy(&stdout.contents()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
        error,
    };
    (spec, outcome)
}

/// The tests of a suite: every `<name>.wasm`.
fn tests_of(suite: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join(suite))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "wasm").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

/// Why an outcome does not match its spec, if it does not.
fn mismatch(spec: &Spec, out: &Outcome) -> Option<String> {
    let mut problems = Vec::new();
    let expected_exit = if spec.exit_code != 0 { 1 } else { 0 };
    if out.exit_code != expected_exit {
        problems.push(format!(
            "exit code {}, expected {expected_exit}",
            out.exit_code
        ));
    }
    if let Some(s) = &spec.stdout {
        if *s != out.stdout {
            problems.push(format!(
                "stdout differs:\n--- expected\n{s}--- got\n{}",
                out.stdout
            ));
        }
    }
    if let Some(s) = &spec.stderr {
        if *s != out.stderr && spec.exit_code == 0 {
            problems.push(format!("stderr {:?}, expected {s:?}", out.stderr));
        }
    }
    if problems.is_empty() {
        return None;
    }
    if let Some(e) = &out.error {
        problems.push(format!("error: {e}"));
    }
    problems.push(format!("stderr: {}", out.stderr));
    Some(problems.join("\n"))
}

fn run_suite(suite: &str) {
    let filter = std::env::var("P2FS_FILTER").ok();
    let mut failures = Vec::new();
    let mut passed = 0;
    let mut diverged = Vec::new();
    for name in tests_of(suite) {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let (spec, out) = run_fixture(suite, &name);
        let known = ADAPTER_DIVERGENCES.iter().find(|(n, _)| *n == name);
        match (mismatch(&spec, &out), known) {
            (None, None) => passed += 1,
            (None, Some(_)) => failures.push(format!(
                "{suite}/{name}: passes now; remove it from ADAPTER_DIVERGENCES"
            )),
            (Some(_), Some(_)) => diverged.push(name),
            (Some(why), None) => failures.push(format!("{suite}/{name}: {why}")),
        }
    }
    eprintln!(
        "{suite}: {passed} adapted fixtures pass, {} known adapter divergences {diverged:?}",
        diverged.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn p1_fixtures_adapted_to_p2() {
    run_suite("p1");
}

#[test]
fn p1_sandbox_fixtures_adapted_to_p2() {
    run_suite("p1-sandbox");
}
