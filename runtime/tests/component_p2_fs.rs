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

/// A hand-written component calling the descriptor methods directly, for what the adapter
/// never reaches (`is-same-object`) or reaches only on success paths. Its `check` export
/// returns 0, or the number of the first check that failed.
const DIRECT: &str = r#"
(component $root
  (type $error-inst (instance (export "error" (type (sub resource)))))
  (import "wasi:io/error@0.2.0" (instance $error (type $error-inst)))
  (alias export $error "error" (type $error-res))

  (type $streams-inst (instance
    (alias outer $root $error-res (type $err0))
    (export "error" (type $err (eq $err0)))
    (export "input-stream" (type $is (sub resource)))
    (export "output-stream" (type $os (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $se2 (eq $se)))
    (type $cw (func (param "self" (borrow $os)) (result (result u64 (error $se2)))))
    (export "[method]output-stream.check-write" (func (type $cw)))
    (type $w (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se2)))))
    (export "[method]output-stream.write" (func (type $w)))
    (type $bf (func (param "self" (borrow $os)) (result (result (error $se2)))))
    (export "[method]output-stream.blocking-flush" (func (type $bf)))))
  (import "wasi:io/streams@0.2.0" (instance $streams (type $streams-inst)))
  (alias export $streams "input-stream" (type $input-stream))
  (alias export $streams "output-stream" (type $output-stream))
  (alias export $streams "[method]output-stream.check-write" (func $check-write))
  (alias export $streams "[method]output-stream.write" (func $os-write))
  (alias export $streams "[method]output-stream.blocking-flush" (func $flush))

  (type $fs-inst (instance
    (alias outer $root $input-stream (type $is0))
    (export "input-stream" (type $is (eq $is0)))
    (alias outer $root $output-stream (type $os0))
    (export "output-stream" (type $os (eq $os0)))
    (alias outer $root $error-res (type $err0))
    (export "error" (type $err (eq $err0)))
    (type $ec (enum "access" "would-block" "already" "bad-descriptor" "busy" "deadlock"
      "quota" "exist" "file-too-large" "illegal-byte-sequence" "in-progress" "interrupted"
      "invalid" "io" "is-directory" "loop" "too-many-links" "message-size" "name-too-long"
      "no-device" "no-entry" "no-lock" "insufficient-memory" "insufficient-space"
      "not-directory" "not-empty" "not-recoverable" "unsupported" "no-tty" "no-such-device"
      "overflow" "not-permitted" "pipe" "read-only" "invalid-seek" "text-file-busy"
      "cross-device"))
    (export "error-code" (type $ec2 (eq $ec)))
    (type $pf (flags "symlink-follow"))
    (export "path-flags" (type $pf2 (eq $pf)))
    (type $of (flags "create" "directory" "exclusive" "truncate"))
    (export "open-flags" (type $of2 (eq $of)))
    (type $df (flags "read" "write" "file-integrity-sync" "data-integrity-sync"
      "requested-write-sync" "mutate-directory"))
    (export "descriptor-flags" (type $df2 (eq $df)))
    (type $dt (enum "unknown" "block-device" "character-device" "directory" "fifo"
      "symbolic-link" "regular-file" "socket"))
    (export "descriptor-type" (type $dt2 (eq $dt)))
    (type $datetime (record (field "seconds" u64) (field "nanoseconds" u32)))
    (export "datetime" (type $datetime2 (eq $datetime)))
    (type $stat (record (field "type" $dt2) (field "link-count" u64) (field "size" u64)
      (field "data-access-timestamp" (option $datetime2))
      (field "data-modification-timestamp" (option $datetime2))
      (field "status-change-timestamp" (option $datetime2))))
    (export "descriptor-stat" (type $stat2 (eq $stat)))
    (type $mh (record (field "lower" u64) (field "upper" u64)))
    (export "metadata-hash-value" (type $mh2 (eq $mh)))
    (export "descriptor" (type $d (sub resource)))
    (type $open-at (func (param "self" (borrow $d)) (param "path-flags" $pf2) (param "path" string)
      (param "open-flags" $of2) (param "flags" $df2) (result (result (own $d) (error $ec2)))))
    (export "[method]descriptor.open-at" (func (type $open-at)))
    (type $same (func (param "self" (borrow $d)) (param "other" (borrow $d)) (result bool)))
    (export "[method]descriptor.is-same-object" (func (type $same)))
    (type $mhf (func (param "self" (borrow $d)) (result (result $mh2 (error $ec2)))))
    (export "[method]descriptor.metadata-hash" (func (type $mhf)))
    (type $mhat (func (param "self" (borrow $d)) (param "path-flags" $pf2) (param "path" string)
      (result (result $mh2 (error $ec2)))))
    (export "[method]descriptor.metadata-hash-at" (func (type $mhat)))
    (type $rvs (func (param "self" (borrow $d)) (param "offset" u64) (result (result (own $is) (error $ec2)))))
    (export "[method]descriptor.read-via-stream" (func (type $rvs)))
    (type $wvs (func (param "self" (borrow $d)) (param "offset" u64) (result (result (own $os) (error $ec2)))))
    (export "[method]descriptor.write-via-stream" (func (type $wvs)))
    (type $avs (func (param "self" (borrow $d)) (result (result (own $os) (error $ec2)))))
    (export "[method]descriptor.append-via-stream" (func (type $avs)))
    (type $write (func (param "self" (borrow $d)) (param "buffer" (list u8)) (param "offset" u64)
      (result (result u64 (error $ec2)))))
    (export "[method]descriptor.write" (func (type $write)))
    (type $read (func (param "self" (borrow $d)) (param "length" u64) (param "offset" u64)
      (result (result (tuple (list u8) bool) (error $ec2)))))
    (export "[method]descriptor.read" (func (type $read)))
    (type $statf (func (param "self" (borrow $d)) (result (result $stat2 (error $ec2)))))
    (export "[method]descriptor.stat" (func (type $statf)))
    (type $fec (func (param "err" (borrow $err)) (result (option $ec2))))
    (export "filesystem-error-code" (func (type $fec)))))
  (import "wasi:filesystem/types@0.2.0" (instance $fs (type $fs-inst)))
  (alias export $fs "descriptor" (type $descriptor))
  (alias export $fs "[method]descriptor.open-at" (func $open-at))
  (alias export $fs "[method]descriptor.is-same-object" (func $same))
  (alias export $fs "[method]descriptor.metadata-hash" (func $mh))
  (alias export $fs "[method]descriptor.metadata-hash-at" (func $mh-at))
  (alias export $fs "[method]descriptor.read-via-stream" (func $rvs))
  (alias export $fs "[method]descriptor.write-via-stream" (func $wvs))
  (alias export $fs "[method]descriptor.append-via-stream" (func $avs))
  (alias export $fs "[method]descriptor.write" (func $write))
  (alias export $fs "[method]descriptor.read" (func $read))
  (alias export $fs "[method]descriptor.stat" (func $stat))
  (alias export $fs "filesystem-error-code" (func $fec))

  (type $pre-inst (instance
    (alias outer $root $descriptor (type $d0))
    (export "descriptor" (type $d (eq $d0)))
    (type $gd (func (result (list (tuple (own $d) string)))))
    (export "get-directories" (func (type $gd)))))
  (import "wasi:filesystem/preopens@0.2.0" (instance $pre (type $pre-inst)))
  (alias export $pre "get-directories" (func $get-dirs))

  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
      (global.set $bump (i32.add (local.get $ptr) (local.get $size)))
      (local.get $ptr)))
  (core instance $libc (instantiate $libc))
  (core func $get-dirs-c (canon lower (func $get-dirs) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core func $open-at-c (canon lower (func $open-at) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core func $same-c (canon lower (func $same)))
  (core func $mh-c (canon lower (func $mh) (memory $libc "memory")))
  (core func $mh-at-c (canon lower (func $mh-at) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core func $rvs-c (canon lower (func $rvs) (memory $libc "memory")))
  (core func $wvs-c (canon lower (func $wvs) (memory $libc "memory")))
  (core func $avs-c (canon lower (func $avs) (memory $libc "memory")))
  (core func $write-c (canon lower (func $write) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core func $read-c (canon lower (func $read) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core func $stat-c (canon lower (func $stat) (memory $libc "memory")))
  (core func $fec-c (canon lower (func $fec) (memory $libc "memory")))
  (core func $check-write-c (canon lower (func $check-write) (memory $libc "memory")))
  (core func $os-write-c (canon lower (func $os-write) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core func $flush-c (canon lower (func $flush) (memory $libc "memory")))

  (core module $main
    (import "libc" "memory" (memory 1))
    (import "w" "get-dirs" (func $get-dirs (param i32)))
    (import "w" "open-at" (func $open-at (param i32 i32 i32 i32 i32 i32 i32)))
    (import "w" "same" (func $same (param i32 i32) (result i32)))
    (import "w" "mh" (func $mh (param i32 i32)))
    (import "w" "mh-at" (func $mh-at (param i32 i32 i32 i32 i32)))
    (import "w" "rvs" (func $rvs (param i32 i64 i32)))
    (import "w" "wvs" (func $wvs (param i32 i64 i32)))
    (import "w" "avs" (func $avs (param i32 i32)))
    (import "w" "write" (func $write (param i32 i32 i32 i64 i32)))
    (import "w" "read" (func $read (param i32 i64 i64 i32)))
    (import "w" "stat" (func $stat (param i32 i32)))
    (import "w" "fec" (func $fec (param i32 i32)))
    (import "w" "check-write" (func $check-write (param i32 i32)))
    (import "w" "os-write" (func $os-write (param i32 i32 i32 i32)))
    (import "w" "flush" (func $flush (param i32 i32)))
    (data (i32.const 1000) "f.txt")
    (data (i32.const 1010) "hello")
    (data (i32.const 1020) "XY")
    (func (export "check") (result i32)
      (local $dir i32) (local $f i32) (local $g i32) (local $os i32) (local $h i64)
      (call $get-dirs (i32.const 2000))
      (if (i32.ne (i32.load (i32.const 2004)) (i32.const 1)) (then (return (i32.const 1))))
      (local.set $dir (i32.load (i32.load (i32.const 2000))))
      ;; f.txt, create|truncate, read|write
      (call $open-at (local.get $dir) (i32.const 0) (i32.const 1000) (i32.const 5)
        (i32.const 9) (i32.const 3) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 2))))
      (local.set $f (i32.load (i32.const 2004)))
      (if (i32.eqz (call $same (local.get $f) (local.get $f))) (then (return (i32.const 3))))
      (if (call $same (local.get $dir) (local.get $f)) (then (return (i32.const 4))))
      ;; f.txt again, read only: another descriptor for the same file
      (call $open-at (local.get $dir) (i32.const 0) (i32.const 1000) (i32.const 5)
        (i32.const 0) (i32.const 1) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 5))))
      (local.set $g (i32.load (i32.const 2004)))
      (if (i32.eqz (call $same (local.get $f) (local.get $g))) (then (return (i32.const 6))))
      ;; metadata hashes: equal for the same file, through a path too; not the directory's
      (call $mh (local.get $f) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 7))))
      (local.set $h (i64.load (i32.const 2008)))
      (call $mh (local.get $g) (i32.const 2000))
      (if (i64.ne (i64.load (i32.const 2008)) (local.get $h)) (then (return (i32.const 8))))
      (call $mh-at (local.get $dir) (i32.const 0) (i32.const 1000) (i32.const 5) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 9))))
      (if (i64.ne (i64.load (i32.const 2008)) (local.get $h)) (then (return (i32.const 10))))
      (call $mh (local.get $dir) (i32.const 2000))
      (if (i64.eq (i64.load (i32.const 2008)) (local.get $h)) (then (return (i32.const 11))))
      ;; read-via-stream of a directory: is-directory (14)
      (call $rvs (local.get $dir) (i64.const 0) (i32.const 2000))
      (if (i32.ne (i32.load8_u (i32.const 2000)) (i32.const 1)) (then (return (i32.const 12))))
      (if (i32.ne (i32.load8_u (i32.const 2004)) (i32.const 14)) (then (return (i32.const 13))))
      ;; write "hello" at 0, read 100 at 1: "ello", not at end; at 5: nothing, at end
      (call $write (local.get $f) (i32.const 1010) (i32.const 5) (i64.const 0) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 14))))
      (if (i64.ne (i64.load (i32.const 2008)) (i64.const 5)) (then (return (i32.const 15))))
      (call $read (local.get $g) (i64.const 100) (i64.const 1) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 16))))
      (if (i32.ne (i32.load (i32.const 2008)) (i32.const 4)) (then (return (i32.const 17))))
      (if (i32.ne (i32.load (i32.load (i32.const 2004))) (i32.const 0x6f6c6c65))
        (then (return (i32.const 18))))
      (if (i32.load8_u (i32.const 2012)) (then (return (i32.const 19))))
      (call $read (local.get $g) (i64.const 100) (i64.const 5) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 20))))
      (if (i32.load (i32.const 2008)) (then (return (i32.const 21))))
      (if (i32.eqz (i32.load8_u (i32.const 2012))) (then (return (i32.const 22))))
      ;; append "XY" through a stream: the size is 7
      (call $avs (local.get $f) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 23))))
      (local.set $os (i32.load (i32.const 2004)))
      (call $check-write (local.get $os) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 24))))
      (call $os-write (local.get $os) (i32.const 1020) (i32.const 2) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 25))))
      (call $flush (local.get $os) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 26))))
      (call $stat (local.get $f) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 27))))
      (if (i64.ne (i64.load (i32.const 2024)) (i64.const 7)) (then (return (i32.const 28))))
      ;; a write stream on the read-only descriptor: the write is accepted, its failure
      ;; shows at the next check-write as an error that filesystem-error-code calls
      ;; bad-descriptor (3); then the stream is closed
      (call $wvs (local.get $g) (i64.const 0) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 29))))
      (local.set $os (i32.load (i32.const 2004)))
      (call $check-write (local.get $os) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 30))))
      (call $os-write (local.get $os) (i32.const 1020) (i32.const 2) (i32.const 2000))
      (if (i32.load8_u (i32.const 2000)) (then (return (i32.const 31))))
      (call $check-write (local.get $os) (i32.const 2000))
      (if (i32.ne (i32.load8_u (i32.const 2000)) (i32.const 1)) (then (return (i32.const 32))))
      (if (i32.load8_u (i32.const 2008)) (then (return (i32.const 33))))
      (call $fec (i32.load (i32.const 2012)) (i32.const 2000))
      (if (i32.ne (i32.load8_u (i32.const 2000)) (i32.const 1)) (then (return (i32.const 34))))
      (if (i32.ne (i32.load8_u (i32.const 2001)) (i32.const 3)) (then (return (i32.const 35))))
      (call $check-write (local.get $os) (i32.const 2000))
      (if (i32.ne (i32.load8_u (i32.const 2008)) (i32.const 1)) (then (return (i32.const 36))))
      (i32.const 0)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "w" (instance
      (export "get-dirs" (func $get-dirs-c))
      (export "open-at" (func $open-at-c))
      (export "same" (func $same-c))
      (export "mh" (func $mh-c))
      (export "mh-at" (func $mh-at-c))
      (export "rvs" (func $rvs-c))
      (export "wvs" (func $wvs-c))
      (export "avs" (func $avs-c))
      (export "write" (func $write-c))
      (export "read" (func $read-c))
      (export "stat" (func $stat-c))
      (export "fec" (func $fec-c))
      (export "check-write" (func $check-write-c))
      (export "os-write" (func $os-write-c))
      (export "flush" (func $flush-c))))))
  (func (export "check") (result u32) (canon lift (core func $main "check")))
)
"#;

#[test]
fn descriptor_methods_called_directly() {
    let scratch = Scratch::new("direct");
    let mut b = WasiCtxBuilder::new();
    b.preopened_dir(&scratch.0, "/").unwrap();
    let host = Host {
        wasi: b.build(),
        table: ResourceTable::new(),
    };
    let component = Component::new(engine(), DIRECT).unwrap();
    let mut linker = Linker::<Host>::new(engine());
    p2::add_to_linker(&mut linker).unwrap();
    let mut store = Store::new(engine(), host);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let check = instance
        .get_typed_func::<(), (u32,)>(&store, "check")
        .unwrap();
    let (failed,) = check.call(&mut store, ()).unwrap();
    assert_eq!(failed, 0, "check {failed} failed");
    assert_eq!(std::fs::read(scratch.0.join("f.txt")).unwrap(), b"helloXY");
}
