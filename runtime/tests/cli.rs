//! End-to-end tests of the `wasmgate` binary on the small modules in `tests/cli/`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("cli")
        .join(name)
}

fn wasmgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .args(args)
        .output()
        .expect("the wasmgate binary runs")
}

/// `wasmgate run FILE`.
fn run(file: &str) -> Output {
    let path = fixture(file);
    wasmgate(&["run", path.to_str().expect("utf-8 path")])
}

/// `wasmgate run --invoke FUNC FILE ARGS...`: options go before the module, as with wasmtime;
/// everything after it belongs to the guest.
fn invoke(file: &str, func: &str, args: &[&str]) -> Output {
    let path = fixture(file);
    let mut all = vec!["run", "--invoke", func, path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    wasmgate(&all)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A normal, non-signal exit status.
fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed by a signal")
}

fn assert_no_panic(o: &Output) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "wasmgate panicked:\n{err}");
}

#[test]
fn invoke_add_prints_the_result() {
    let o = invoke("add.wat", "add", &["2", "40"]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
}

#[test]
fn invoke_accepts_negative_and_hex_arguments() {
    let o = invoke("add.wat", "add", &["-5", "0x10"]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "11\n");

    let o = invoke("add.wat", "add64", &["9223372036854775807", "1"]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "-9223372036854775808\n");
}

#[test]
fn options_after_the_module_belong_to_the_guest() {
    // As with wasmtime, `--invoke` after the module is a guest argument: without `--invoke`,
    // `_start` runs and receives it.
    let path = fixture("start.wat");
    let o = wasmgate(&["run", path.to_str().unwrap(), "--invoke", "x"]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
}

#[test]
fn floats_and_multiple_results_print_one_per_line() {
    let o = invoke("add.wat", "half", &["3"]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "1.5\n");

    let o = invoke("add.wat", "swap", &["2.5", "7"]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "7\n2.5\n");

    let o = invoke("add.wat", "nothing", &[]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn run_without_invoke_calls_start() {
    let o = run("start.wat");
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "");
    // `wasmgate FILE` is shorthand for `wasmgate run FILE`.
    let path = fixture("start.wat");
    let o = wasmgate(&[path.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
}

#[test]
fn trap_exits_134_with_message_and_backtrace() {
    let o = invoke("trap.wat", "boom", &[]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 134, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("failed to run main module `"), "{err}");
    assert!(err.contains("trap.wat`"), "{err}");
    assert!(err.contains("failed to invoke `boom`"), "{err}");
    assert!(err.contains("wasm trap: unreachable"), "{err}");
    assert!(err.contains("wasm backtrace"), "{err}");
    // Frames come from the name section, innermost first.
    let inner = err.find("inner").expect("frame of $inner");
    let boom = err.rfind("boom").expect("frame of $boom");
    assert!(inner < boom, "{err}");
    assert!(err.contains("func[0]"), "{err}");
    assert!(err.contains("func[1]"), "{err}");
    assert_eq!(stdout(&o), "");
}

#[test]
fn divide_by_zero_trap() {
    let o = invoke("trap.wat", "divide", &["1", "0"]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 134, "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("integer divide by zero"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn malformed_text_names_the_file() {
    let o = invoke("malformed.wat", "f", &[]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("malformed.wat"), "{err}");
}

#[test]
fn malformed_binary_names_the_file_and_offset() {
    let o = run("truncated.wasm");
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("truncated.wasm"), "{err}");
    assert!(err.contains("offset"), "{err}");
}

#[test]
fn invalid_module_names_the_file_and_offset() {
    let o = invoke("invalid.wat", "f", &[]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("invalid.wat"), "{err}");
    assert!(err.contains("type mismatch"), "{err}");
    assert!(err.contains("offset"), "{err}");
}

#[test]
fn missing_file_is_an_error() {
    let o = run("does-not-exist.wasm");
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("does-not-exist.wasm"), "{err}");
}

#[test]
fn unknown_import_is_an_error() {
    let o = invoke("import.wat", "f", &[]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("env"), "{err}");
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn missing_export_is_an_error() {
    let o = invoke("add.wat", "nope", &[]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("no func export named `nope`"),
        "{}",
        stderr(&o)
    );
    // An export that is not a function is not callable either.
    let o = invoke("add.wat", "memory", &[]);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
}

#[test]
fn wrong_argument_count_is_an_error() {
    let o = invoke("add.wat", "add", &["1"]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("not enough arguments"),
        "{}",
        stderr(&o)
    );

    let o = invoke("add.wat", "add", &["1", "2", "3"]);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    assert!(stderr(&o).contains("too many arguments"), "{}", stderr(&o));
}

#[test]
fn unparseable_argument_is_an_error() {
    let o = invoke("add.wat", "add", &["1", "two"]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("`two`"), "{err}");
    assert!(err.contains("i32"), "{err}");
}

#[test]
fn unknown_import_error_names_module_field_and_type() {
    let o = run("reactor.wat");
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "`env::unknown` has not been defined (expected (func (param i32) (result i64)))"
        ),
        "{err}"
    );
}

#[test]
fn unknown_imports_trap_defines_failing_functions() {
    let path = fixture("reactor.wat");
    let path = path.to_str().unwrap();
    // The default export runs after `_initialize`; the unknown import is never called.
    let o = wasmgate(&["run", "-W", "unknown-imports-trap=y", path]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "initialized\n");
    // Calling it fails with exit 1, naming the import.
    let o = wasmgate(&[
        "run",
        "-W",
        "unknown-imports-trap",
        "--invoke",
        "call-unknown",
        path,
    ]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown import: `env::unknown` has not been defined"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unknown_imports_default_returns_zeros() {
    let path = fixture("reactor.wat");
    let o = wasmgate(&[
        "run",
        "-W",
        "unknown-imports-default=y",
        "--invoke",
        "call-unknown",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "0\n");
}

#[test]
fn bad_wasm_options_are_errors() {
    let path = fixture("reactor.wat");
    let path = path.to_str().unwrap();
    for (opt, expected) in [
        ("bogus", "unknown -W option `bogus`"),
        ("unknown-imports-trap=maybe", "is not a boolean"),
        (
            "unknown-imports-trap,unknown-imports-default",
            "exclude each other",
        ),
    ] {
        let o = wasmgate(&["run", "-W", opt, path]);
        assert_no_panic(&o);
        assert_eq!(code(&o), 1, "{opt}: stderr: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{opt}: {}", stderr(&o));
    }
}

#[test]
fn reactor_initializes_before_invoke() {
    let path = fixture("reactor.wat");
    let o = wasmgate(&[
        "run",
        "-W",
        "unknown-imports-trap=y",
        "--invoke",
        "get",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
}

#[test]
fn a_preopen_maps_onto_any_guest_path() {
    // The guest sees the host directory as `/dev` (a path that means something else on
    // the host), and reads a file from it.
    let dir = tempfile_dir();
    std::fs::write(dir.join("urandom"), b"not random").unwrap();
    let module = r#"(module
      (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
        (func $name (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "urandom")
      (func (export "_start")
        ;; the preopen's name (fd 3) at 200, printed
        (if (call $name (i32.const 3) (i32.const 200) (i32.const 4)) (then unreachable))
        (i32.store8 (i32.const 204) (i32.const 10))
        (i32.store (i32.const 0) (i32.const 200))
        (i32.store (i32.const 4) (i32.const 5))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        ;; open urandom below it (fd stored at 12), read 10 bytes to 300, print them
        (if (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 7)
              (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 12))
          (then unreachable))
        (i32.store (i32.const 0) (i32.const 300))
        (i32.store (i32.const 4) (i32.const 10))
        (drop (call $read (i32.load (i32.const 12)) (i32.const 0) (i32.const 1) (i32.const 8)))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let wat = dir.join("dev.wat");
    std::fs::write(&wat, module).unwrap();
    let mapping = format!("{}::/dev", dir.display());
    let o = wasmgate(&["run", "--dir", &mapping, wat.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "/dev\nnot random");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh directory under the system temp dir.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wasmgate-cli-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
