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
