//! Runner stage: one trait over the runtimes a test can run on, and the isolation around
//! every run.
//!
//! A [`Runner`] runs one [`Invocation`] (a module, its argv, environment, preopened
//! directories and stdin) in-process and returns what it [`Observed`]. [`run_isolated`]
//! puts each run on its own thread: a panic becomes [`GuestStatus::Crashed`] with the panic
//! message, a guest that outlives its deadline becomes [`GuestStatus::TimedOut`] (the
//! runner's epoch interruption stops wasm code; a guest stuck in a host call is abandoned
//! on its thread), so the harness never dies or hangs with a guest.
//!
//! A runner that runs the module as a process also offers [`LiveRun`]s ([`Runner::spawn`]):
//! a run in progress that the execute stage drives operation by operation (stdin written
//! as the spec writes it, output read as it arrives, signals, the exit awaited), which the
//! interactive operations (`connect`, `request`, `kill`, a `wasi:http/service`) need.

pub mod external;
#[cfg(feature = "wasmgate-runner")]
pub mod wasmgate;
pub mod wasmtime;

use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::suite::spec::{OutputStream, Proposal};
use crate::suite::WasiVersion;

/// A directory preopened for the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    /// The host directory (the test's private copy).
    pub host: PathBuf,
    /// The name the guest sees, `/` for a spec's `root`.
    pub guest: String,
}

/// Everything one run of a module needs.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The module, as a binary.
    pub module: Arc<Vec<u8>>,
    /// argv[0] and the arguments after it.
    pub argv: Vec<String>,
    /// The guest's whole environment.
    pub env: Vec<(String, String)>,
    /// Preopened directories, in fd order (3, 4, ...).
    pub preopens: Vec<Preopen>,
    /// All of stdin; the guest sees end-of-file after it.
    pub stdin: Vec<u8>,
    /// How long the guest may run once it is instantiated.
    pub timeout: Duration,
    /// The test's WASI version (an external runtime may need flags for it).
    pub version: WasiVersion,
    /// The proposals the spec lists (`"proposals": ["sockets"]`): the runner grants them
    /// (network access, `wasi:http`); without them the guest gets the default (denied).
    pub proposals: Vec<Proposal>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestStatus {
    /// `_start` returned (0) or the guest called `proc_exit`.
    Exited(i32),
    /// A wasm trap, with the runtime's message (and backtrace, if any).
    Trapped(String),
    /// The deadline passed.
    TimedOut(Duration),
    /// `_start` failed with an error that is neither an exit nor a trap (a host function
    /// refused the call); a CLI reports it and exits with 1.
    Errored(String),
    /// The runtime panicked; the message.
    Crashed(String),
    /// The module could not be compiled, linked or instantiated.
    Failed(String),
    /// The harness stopped a live run (SIGKILL) after one of its operations failed.
    Stopped(String),
}

impl GuestStatus {
    /// The exit code a CLI would report, as wasmtime's does and the upstream runner would
    /// observe it: a trap is 134 (an abort), another error of the running guest is 1.
    /// A hang, a panic or a module that never started has none: it matches no expectation.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            GuestStatus::Exited(code) => Some(*code),
            GuestStatus::Trapped(_) => Some(134),
            GuestStatus::Errored(_) => Some(1),
            _ => None,
        }
    }
}

impl fmt::Display for GuestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestStatus::Exited(code) => write!(f, "exit code {code}"),
            GuestStatus::Trapped(msg) => write!(f, "trap (exit code 134): {msg}"),
            GuestStatus::TimedOut(after) => {
                write!(f, "timed out after {:.1}s", after.as_secs_f64())
            }
            GuestStatus::Errored(msg) => write!(f, "error (exit code 1): {msg}"),
            GuestStatus::Crashed(msg) => write!(f, "runtime panicked: {msg}"),
            GuestStatus::Failed(msg) => write!(f, "could not start: {msg}"),
            GuestStatus::Stopped(msg) => write!(f, "stopped by the harness: {msg}"),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// How it ended.
    pub status: GuestStatus,
    /// Everything written to fd 1.
    pub stdout: Vec<u8>,
    /// Everything written to fd 2.
    pub stderr: Vec<u8>,
}

impl Observed {
    /// A run that produced no output.
    pub fn status_only(status: GuestStatus) -> Observed {
        Observed {
            status,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }
}

/// A runtime that runs WASI modules in-process.
pub trait Runner: Send + Sync {
    /// `wasmgate`, `wasmtime`: the name used in test ids and skiplist file names.
    fn name(&self) -> &'static str;
    /// The runtime's version, for reports.
    fn version(&self) -> String;
    /// Whether it runs tests of this WASI version.
    fn supports(&self, version: WasiVersion) -> bool;
    /// Runs the module. `started` is called once compilation is done and the deadline
    /// starts (so that slow compilation is not counted as a guest hang).
    fn run(&self, invocation: &Invocation, started: &dyn Fn()) -> Observed;
    /// The command line that runs `module` as `invocation` says, for runners that are a
    /// command (reports show it so a failure can be reproduced); `None` for in-process ones.
    fn command(&self, module: &std::path::Path, invocation: &Invocation) -> Option<Vec<String>> {
        let _ = (module, invocation);
        None
    }
    /// Whether it grants `proposal` when an invocation lists it (network access for
    /// `sockets`, outgoing requests for `http`). A test that lists a proposal the runner
    /// does not grant is skipped.
    fn grants(&self, proposal: Proposal) -> bool {
        let _ = proposal;
        false
    }
    /// Whether a test runs live only when it needs to (a connection, a request, a signal,
    /// a served component) and to completion otherwise; `false`: live whenever it can.
    fn live_only_when_needed(&self) -> bool {
        false
    }
    /// Whether it offers live runs ([`Runner::spawn`]) of `mode`.
    fn live(&self, mode: LiveMode) -> bool {
        let _ = mode;
        false
    }
    /// Starts a live run. Only called when [`Runner::live`] says so.
    fn spawn(&self, invocation: &Invocation, mode: LiveMode) -> Result<Box<dyn LiveRun>, String> {
        let _ = (invocation, mode);
        Err(format!("the {} runner has no live runs", self.name()))
    }
}

/// What a live run starts the module as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveMode {
    /// A command (`wasi:cli/command`): `run`.
    Command,
    /// An HTTP service (`wasi:http/service`): the runner's serve command.
    Serve,
}

/// The bytes of one output stream so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamSnapshot {
    /// Everything the guest wrote to it so far (at most the runner's capacity).
    pub bytes: Vec<u8>,
    /// Whether the stream ended (the process closed it or exited).
    pub closed: bool,
}

/// Where a live HTTP service listens, and where on its stream it said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAddress {
    /// `host:port`.
    pub address: String,
    /// The stream that carried the address line.
    pub stream: OutputStream,
    /// The offset just past the address line in that stream.
    pub end: usize,
}

/// A run in progress: the execute stage writes its stdin, reads its output as it arrives,
/// signals it and waits for it. Dropping it kills the process.
pub trait LiveRun: Send {
    /// Writes to the guest's stdin.
    fn write_stdin(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Closes the guest's stdin (it sees end-of-file).
    fn close_stdin(&mut self);
    /// Waits until `until` holds for the stream's bytes, the stream ends, or `deadline`
    /// passes; returns the stream as it is then.
    fn watch(
        &mut self,
        stream: OutputStream,
        deadline: Instant,
        until: &mut dyn FnMut(&[u8]) -> bool,
    ) -> StreamSnapshot;
    /// Sends a signal (`libc::SIGINT`, ...) to the runtime process.
    fn signal(&mut self, signal: i32) -> std::io::Result<()>;
    /// Waits for the process to end until `deadline`; past it the process is killed
    /// (SIGKILL) and the status is [`GuestStatus::TimedOut`]. Output is everything the
    /// streams carried.
    fn wait(&mut self, deadline: Instant) -> Observed;
    /// Kills the process (SIGKILL) unless it already ended; the status is
    /// [`GuestStatus::Stopped`] with `why`.
    fn stop(&mut self, why: &str) -> Observed;
    /// A service's address, once it printed it (waits until `deadline`).
    fn address(&mut self, deadline: Instant) -> Result<ServiceAddress, String>;
    /// The deadline the runner gives the whole run (from its start).
    fn deadline(&self) -> Instant;
    /// The command line it runs.
    fn command(&self) -> Vec<String>;
}

/// The names [`runner_by_name`] knows, in order of preference.
pub fn runner_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    if cfg!(feature = "wasmgate-runner") {
        names.push("wasmgate");
    }
    names.push("wasmtime");
    names
}

/// The runner called `name`.
pub fn runner_by_name(name: &str) -> anyhow::Result<Arc<dyn Runner>> {
    match name {
        "wasmtime" => Ok(Arc::new(wasmtime::WasmtimeRunner::new())),
        #[cfg(feature = "wasmgate-runner")]
        "wasmgate" => Ok(Arc::new(wasmgate::WasmgateRunner::new())),
        #[cfg(not(feature = "wasmgate-runner"))]
        "wasmgate" => anyhow::bail!(
            "this harness was built without the wasmgate runner (cargo feature `wasmgate-runner`)"
        ),
        // A runtime CLI described by a runner file: built in by name, or a path.
        other => {
            let runner = external::ExternalRunner::load(other)?;
            if let Err(why) = runner.binary() {
                anyhow::bail!("runner `{}`: {why}", runner.name());
            }
            Ok(Arc::new(runner))
        }
    }
}

/// How long compilation may take before the run is declared hung.
const COMPILE_LIMIT: Duration = Duration::from_secs(300);
/// Extra time after the deadline for the runner to notice it and return.
const DEADLINE_GRACE: Duration = Duration::from_secs(5);
/// Native stack of a guest thread (interpreters and compilers recurse).
const GUEST_THREAD_STACK: usize = 64 << 20;

enum Progress {
    Started,
    Done(Observed),
}

/// Runs `invocation` on its own thread, turning panics and hangs into statuses.
pub fn run_isolated(runner: Arc<dyn Runner>, invocation: Invocation) -> Observed {
    let (tx, rx) = mpsc::channel::<Progress>();
    let timeout = invocation.timeout;
    let spawned = std::thread::Builder::new()
        .name(format!("guest-{}", runner.name()))
        .stack_size(GUEST_THREAD_STACK)
        .spawn(move || {
            let started_tx = tx.clone();
            let started = move || {
                let _ = started_tx.send(Progress::Started);
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runner.run(&invocation, &started)
            }));
            let observed = match result {
                Ok(observed) => observed,
                Err(payload) => {
                    Observed::status_only(GuestStatus::Crashed(panic_message(&*payload)))
                }
            };
            let _ = tx.send(Progress::Done(observed));
        });
    if let Err(e) = spawned {
        return Observed::status_only(GuestStatus::Failed(format!("cannot spawn a thread: {e}")));
    }
    match rx.recv_timeout(COMPILE_LIMIT) {
        Ok(Progress::Done(observed)) => return observed,
        Ok(Progress::Started) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Observed::status_only(GuestStatus::Failed(format!(
                "compilation did not finish in {}s",
                COMPILE_LIMIT.as_secs()
            )))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Observed::status_only(GuestStatus::Crashed("the guest thread vanished".into()))
        }
    }
    match rx.recv_timeout(timeout + DEADLINE_GRACE) {
        Ok(Progress::Done(observed)) => observed,
        Ok(Progress::Started) => Observed::status_only(GuestStatus::Crashed(
            "the runner reported its start twice".into(),
        )),
        // Stuck outside wasm code (a blocking host call): abandon the thread.
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Observed::status_only(GuestStatus::TimedOut(timeout))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Observed::status_only(GuestStatus::Crashed("the guest thread vanished".into()))
        }
    }
}

/// An error and its causes, one per line, without a Rust backtrace.
pub fn error_chain<'a>(top: String, causes: impl Iterator<Item = String> + 'a) -> String {
    let mut text = top;
    for cause in causes {
        if !text.contains(&cause) {
            text.push_str("\ncaused by: ");
            text.push_str(&cause);
        }
    }
    text
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic with a non-string payload)".to_owned()
    }
}

/// Starts a thread that calls `fire` once `timeout` has passed, unless the returned
/// sender is dropped first.
pub(crate) fn deadline_timer(
    timeout: Duration,
    fire: impl FnOnce() + Send + 'static,
) -> mpsc::Sender<()> {
    let (cancel_tx, cancel_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = cancel_rx.recv_timeout(timeout) {
            fire();
        }
    });
    cancel_tx
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panicky;
    impl Runner for Panicky {
        fn name(&self) -> &'static str {
            "panicky"
        }
        fn version(&self) -> String {
            "0".into()
        }
        fn supports(&self, _: WasiVersion) -> bool {
            true
        }
        fn run(&self, _: &Invocation, started: &dyn Fn()) -> Observed {
            started();
            panic!("boom at {}", 42)
        }
    }

    struct Stuck;
    impl Runner for Stuck {
        fn name(&self) -> &'static str {
            "stuck"
        }
        fn version(&self) -> String {
            "0".into()
        }
        fn supports(&self, _: WasiVersion) -> bool {
            true
        }
        fn run(&self, _: &Invocation, started: &dyn Fn()) -> Observed {
            started();
            std::thread::sleep(Duration::from_secs(3600));
            Observed::status_only(GuestStatus::Exited(0))
        }
    }

    fn invocation(timeout: Duration) -> Invocation {
        Invocation {
            module: Arc::new(Vec::new()),
            argv: vec!["x.wasm".into()],
            env: Vec::new(),
            preopens: Vec::new(),
            stdin: Vec::new(),
            timeout,
            version: WasiVersion::P1,
            proposals: Vec::new(),
        }
    }

    #[test]
    fn a_panic_is_a_crash_with_its_message() {
        let observed = run_isolated(Arc::new(Panicky), invocation(Duration::from_secs(5)));
        assert_eq!(observed.status, GuestStatus::Crashed("boom at 42".into()));
    }

    #[test]
    fn a_stuck_host_call_is_a_timeout() {
        let observed = run_isolated(Arc::new(Stuck), invocation(Duration::from_millis(10)));
        assert_eq!(
            observed.status,
            GuestStatus::TimedOut(Duration::from_millis(10))
        );
    }
}
