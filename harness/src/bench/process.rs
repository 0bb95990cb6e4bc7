//! Bench stage: timing a whole process, from spawn to exit, and the wasmtime side of it.
//!
//! wasmgate's side is the real CLI, `wasmgate run FILE`. The wasmtime reference is this very
//! harness binary in its hidden mode `harness bench --exec-wasmtime FILE`, which runs the
//! module as `wasmtime run` would (the same wasmtime 48 crates as the in-process runner,
//! stdio inherited): always available and built with the same profile. The `wasmtime` CLI,
//! when one is found, is timed too, as an extra column without a budget. After the samples,
//! one more run of each measures its peak resident set (`--exec-rss`).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{Output, Sample, Subject};

/// A command line run once per sample.
pub struct ProcessRun {
    runner: String,
    argv: Vec<OsString>,
}

impl ProcessRun {
    /// The process `argv` (the program first), reported as `runner`.
    pub fn new(runner: &str, argv: Vec<OsString>) -> ProcessRun {
        ProcessRun {
            runner: runner.to_owned(),
            argv,
        }
    }
}

impl Subject for ProcessRun {
    fn runner(&self) -> &str {
        &self.runner
    }

    fn sample(&mut self) -> Result<Sample> {
        let mut command = Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_clear();
        let begun = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot run {}", Path::new(&self.argv[0]).display()))?;
        let out = child.wait_with_output()?;
        let elapsed = begun.elapsed();
        let status = match out.status.code() {
            Some(code) => format!("exit {code}"),
            None => format!("{}", out.status),
        };
        Ok(Sample {
            elapsed,
            output: Output {
                status,
                stdout: out.stdout,
                stderr: out.stderr,
            },
        })
    }

    fn peak_memory_kib(&mut self) -> Result<Option<u64>> {
        let exe = std::env::current_exe().context("cannot find the harness executable")?;
        let out = Command::new(exe)
            .args(["bench", "--exec-rss"])
            .args(&self.argv)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .env_clear()
            .output()?;
        if !out.status.success() {
            bail!("the peak-memory run failed ({})", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let kib = text
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("maxrss_kib "))
            .and_then(|n| n.trim().parse().ok());
        Ok(kib)
    }
}

/// The hidden `--exec-rss` mode: runs `argv` (output discarded) and prints
/// `maxrss_kib N`, its peak resident set.
///
/// A child's peak resident set (`ru_maxrss`) starts from the memory of the process that
/// forked it: a child spawned by the harness mid-run would report the harness's tens of
/// MiB. This mode runs in a fresh, small harness process that forks (not vforks) the
/// program, so the floor is this process's own few hundred KiB of heap.
pub fn exec_rss(argv: &[String]) -> i32 {
    match exec_rss_inner(argv) {
        Ok(kib) => {
            println!("maxrss_kib {kib}");
            0
        }
        Err(e) => {
            eprintln!("harness bench --exec-rss: {e:#}");
            1
        }
    }
}

#[cfg(unix)]
fn exec_rss_inner(argv: &[String]) -> Result<u64> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the hook does nothing; its presence makes std fork instead of vfork, so the
    // child's memory accounting starts from a copy of this process, not a share of it.
    unsafe {
        command.pre_exec(|| Ok(()));
    }
    let child = command
        .spawn()
        .with_context(|| format!("cannot run {}", argv[0]))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: all-zero is a valid `rusage` (plain integers); `wait4` fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unwaited child; the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("wait4");
        }
    }
    // Reaped: std's `Child` must not wait again (dropping it does not).
    drop(child);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{} failed (wait status {status:#x})", argv[0]);
    }
    // Linux reports ru_maxrss in KiB.
    Ok(u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

#[cfg(not(unix))]
fn exec_rss_inner(_argv: &[String]) -> Result<u64> {
    bail!("peak memory is measured on Unix only")
}

/// `wasmgate run FILE ARGS..`.
pub fn wasmgate_command(bin: &Path, module: &Path, args: &[String]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![bin.into(), "run".into(), module.into()];
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// This harness in its hidden mode: `harness bench --exec-wasmtime FILE ARGS..`.
pub fn harness_wasmtime_command(module: &Path, args: &[String]) -> Result<Vec<OsString>> {
    let exe = std::env::current_exe().context("cannot find the harness executable")?;
    let mut argv: Vec<OsString> = vec![exe.into(), "bench".into(), "--exec-wasmtime".into()];
    argv.push(module.into());
    argv.extend(args.iter().map(OsString::from));
    Ok(argv)
}

/// `wasmtime run -C cache=n FILE ARGS..`: the CLI, with its compilation cache off, so every
/// run compiles as the in-process reference does.
pub fn wasmtime_cli_command(cli: &Path, module: &Path, args: &[String]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        cli.into(),
        "run".into(),
        "-C".into(),
        "cache=n".into(),
        module.into(),
    ];
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// The wasmgate CLI to time: `explicit`, or `wasmgate` beside this executable.
pub fn find_wasmgate(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let exe = std::env::current_exe().context("cannot find the harness executable")?;
    let name = format!("wasmgate{}", std::env::consts::EXE_SUFFIX);
    let path = exe.with_file_name(name);
    if !path.is_file() {
        bail!(
            "no wasmgate binary at {} (build it in the same profile: `cargo build --release -p wasmgate`, or pass --wasmgate-bin)",
            path.display()
        );
    }
    Ok(path)
}

/// The wasmtime CLI to time, if any: `explicit`, else `$WASMTIME_CLI` (the native binary CI
/// installs for the external runner), else a native `wasmtime` on the `PATH`. A wrapper
/// script on the `PATH` (pip's `wasmtime` starts Python first) is not a fair comparison; the
/// reason is returned instead.
pub fn find_wasmtime_cli(explicit: Option<&Path>) -> std::result::Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("WASMTIME_CLI").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("wasmtime"))
        .find(|p| p.is_file())
        .ok_or_else(|| "no `wasmtime` on the PATH".to_owned())?;
    let mut head = [0u8; 2];
    let is_script = std::fs::File::open(&found)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head == b"#!")
        .unwrap_or(false);
    if is_script {
        return Err(format!(
            "{} is a wrapper script, whose own start-up would be timed; pass --wasmtime-cli with the native binary",
            found.display()
        ));
    }
    Ok(found)
}

/// The hidden `--exec-wasmtime` mode: runs `module` with wasmtime and wasmtime-wasi's
/// preview 1, stdio inherited, as `wasmtime run` does; returns the status to exit with.
pub fn exec_wasmtime(module: &Path, args: &[String]) -> i32 {
    match exec_wasmtime_inner(module, args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("harness bench --exec-wasmtime: {e:#}");
            1
        }
    }
}

fn exec_wasmtime_inner(module: &Path, args: &[String]) -> Result<i32> {
    use wasmtime::{Config, Engine, Linker, Module, Store};
    use wasmtime_wasi::p1::WasiP1Ctx;
    use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

    let engine = Engine::new(&Config::new())?;
    let module = Module::from_file(&engine, module)?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx)?;
    let mut argv = vec!["module.wasm".to_owned()];
    argv.extend(args.iter().cloned());
    let ctx = WasiCtxBuilder::new()
        .allow_blocking_current_thread(true)
        .inherit_stdio()
        .args(&argv)
        .build_p1();
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e.into()),
        },
    }
}
