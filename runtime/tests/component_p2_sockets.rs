//! `wasi:sockets` through the `wasmgate` binary: the socket fixtures of `fixtures/p2` run with
//! loopback granted (`--allow-net`) and match their specs; without a grant, or with one for
//! other addresses only, sockets, binds, connects and lookups fail with the codes the
//! fixtures expect (`access-denied`, `permanent-resolver-failure`). With `WASMTIME_CLI` set,
//! the same runs on the wasmtime CLI must print the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/p2/{name}.wat"))
}

/// The stdout an operation-based spec (`run`, `read stdout`, `wait`) expects, and its
/// exit code.
fn expected(name: &str) -> (String, i32) {
    let text = std::fs::read_to_string(fixture(name).with_extension("json")).unwrap();
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    if let Some(stdout) = spec.get("stdout") {
        let code = spec.get("exit_code").and_then(|c| c.as_i64()).unwrap_or(0);
        return (stdout.as_str().unwrap().to_owned(), code as i32);
    }
    assert_eq!(spec["proposals"], serde_json::json!(["sockets"]), "{name}");
    let mut stdout = String::new();
    let mut code = 0;
    for op in spec["operations"].as_array().unwrap() {
        match op["type"].as_str().unwrap() {
            "run" => {}
            "read" => {
                assert_eq!(op["id"], "stdout", "{name}");
                stdout.push_str(op["payload"].as_str().unwrap());
            }
            "wait" => code = op.get("exit_code").and_then(|c| c.as_i64()).unwrap_or(0) as i32,
            other => panic!("{name}: operation {other} is not supported here"),
        }
    }
    (stdout, code)
}

fn wasmgate(args: &[&str], name: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .arg("run")
        .args(args)
        .arg(fixture(name))
        .output()
        .unwrap()
}

#[track_caller]
fn check(out: &Output, stdout: &str, code: i32) {
    let got = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        (got.as_ref(), out.status.code()),
        (stdout, Some(code)),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Loopback, IPv4 and IPv6.
const LOOPBACK: &[&str] = &["--allow-net", "127.0.0.1", "--allow-net", "::1"];

#[test]
fn tcp_over_loopback() {
    let (stdout, code) = expected("sockets-tcp");
    check(&wasmgate(LOOPBACK, "sockets-tcp"), &stdout, code);
}

#[test]
fn udp_over_loopback() {
    let (stdout, code) = expected("sockets-udp");
    check(&wasmgate(LOOPBACK, "sockets-udp"), &stdout, code);
}

#[test]
fn name_lookup() {
    let (stdout, code) = expected("sockets-lookup");
    check(&wasmgate(LOOPBACK, "sockets-lookup"), &stdout, code);
}

#[test]
fn a_range_allows_what_it_contains() {
    let (stdout, code) = expected("sockets-tcp");
    check(
        &wasmgate(&["--allow-net", "127.0.0.0/8"], "sockets-tcp"),
        &stdout,
        code,
    );
}

#[test]
fn nothing_is_allowed_by_default() {
    check(
        &wasmgate(&[], "sockets-tcp"),
        "FAIL create-tcp-socket: access-denied\n",
        1,
    );
    check(
        &wasmgate(&[], "sockets-udp"),
        "FAIL create-udp-socket: access-denied\n",
        1,
    );
    check(
        &wasmgate(&[], "sockets-lookup"),
        "FAIL localhost: permanent-resolver-failure\n",
        1,
    );
    let (stdout, code) = expected("sockets-denied");
    check(&wasmgate(&[], "sockets-denied"), &stdout, code);
}

#[test]
fn other_addresses_are_denied() {
    // Sockets exist, but binding to and connecting to 127.0.0.1 are refused.
    let other = ["--allow-net", "192.0.2.0/24"];
    check(
        &wasmgate(&other, "sockets-tcp"),
        "ok finish-bind before start-bind -> not-in-progress\nFAIL start-bind: access-denied\n",
        1,
    );
    check(
        &wasmgate(&other, "sockets-udp"),
        "ok stream before bind -> invalid-state\nFAIL start-bind: access-denied\n",
        1,
    );
    check(
        &wasmgate(&other, "sockets-denied"),
        "ok create-tcp-socket\n\
         ok bind 127.0.0.1:0 -> access-denied\n\
         ok connect to 127.0.0.1:9 -> access-denied\n\
         ok create-udp-socket\n\
         ok bind udp 127.0.0.1:0 -> access-denied\n\
         ok resolve localhost\n",
        0,
    );
    // IPv6 loopback only: 127.0.0.1 is not in it.
    check(
        &wasmgate(&["--allow-net", "::1/128"], "sockets-tcp"),
        "ok finish-bind before start-bind -> not-in-progress\nFAIL start-bind: access-denied\n",
        1,
    );
}

#[test]
fn a_malformed_range_is_a_usage_error() {
    let out = wasmgate(&["--allow-net", "127.0.0.1/40"], "sockets-tcp");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--allow-net 127.0.0.1/40") && stderr.contains("not an address range"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// The same fixtures on the wasmtime CLI (`WASMTIME_CLI`), with its flags for the same
/// grants: the output is the same.
#[test]
fn wasmtime_prints_the_same() {
    let Some(cli) = std::env::var_os("WASMTIME_CLI") else {
        eprintln!("skipped: set WASMTIME_CLI to a wasmtime binary to compare");
        return;
    };
    let network = ["-S", "inherit-network", "-S", "allow-ip-name-lookup"];
    let runs: [(&str, &[&str]); 4] = [
        ("sockets-tcp", &network),
        ("sockets-udp", &network),
        ("sockets-lookup", &network),
        ("sockets-denied", &[]),
    ];
    for (name, flags) in runs {
        let out = Command::new(&cli)
            .arg("run")
            .args(flags)
            .arg(fixture(name))
            .output()
            .unwrap();
        let (stdout, code) = expected(name);
        check(&out, &stdout, code);
    }
}
