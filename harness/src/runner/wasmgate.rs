//! Runner stage: the project's own runtime, wasmgate, in-process through its embedding API
//! (`docs/API.md`): core modules with its preview 1 layer `wasmgate::wasi::p1`, components
//! (told apart by their header) with `wasmgate::wasi::p2` and their `wasi:cli/run` export.
//!
//! Live runs (stdin written while the guest runs, connections to it, requests to a served
//! component, SIGINT) need a process to talk to and signal: they run the wasmgate CLI of
//! the same build (`wasmgate` beside the harness executable, or `$WASMGATE_CLI`) through the
//! `wasmgate-cli` runner file. Without that binary such tests are skipped, saying so.

use wasmgate::component::{self, Component, ResourceTable};
use wasmgate::wasi::p2::{self, WasiCtxView, WasiView};
use wasmgate::wasi::{InputPipe, OutputPipe, WasiCtx, WasiCtxBuilder};
use wasmgate::{Config, Engine, Error, Linker, Module, Store, TrapCode};

use super::external::ExternalRunner;
use super::{deadline_timer, GuestStatus, Invocation, LiveMode, LiveRun, Observed, Runner};
use crate::suite::spec::Proposal;
use crate::suite::WasiVersion;
use std::path::PathBuf;
use std::sync::OnceLock;

/// wasmgate, with `wasmgate::wasi::p1::add_to_linker`.
#[derive(Debug, Default)]
pub struct WasmgateRunner;

impl WasmgateRunner {
    /// A new runner (each run gets its own engine, so deadlines never interfere).
    pub fn new() -> Self {
        WasmgateRunner
    }
}

/// The wasmgate CLI for live runs, if there is one (see the module docs).
fn cli() -> Option<&'static ExternalRunner> {
    static CLI: OnceLock<Option<ExternalRunner>> = OnceLock::new();
    CLI.get_or_init(|| {
        let mut runner = ExternalRunner::load("wasmgate-cli").ok()?;
        if std::env::var_os("WASMGATE_CLI").is_none() {
            // The same build first: `target/<profile>/wasmgate` beside `harness`, or above
            // a test executable in `target/<profile>/deps`; then `PATH` (the file's lookup).
            if let Some(path) = beside_harness() {
                runner.set_binary(path);
            }
        }
        runner.binary().is_ok().then_some(runner)
    })
    .as_ref()
}

fn beside_harness() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let name = format!("wasmgate{}", std::env::consts::EXE_SUFFIX);
    let found = [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join(&name))
        .find(|p| p.is_file());
    found
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

impl Runner for WasmgateRunner {
    fn name(&self) -> &'static str {
        "wasmgate"
    }

    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn supports(&self, version: WasiVersion) -> bool {
        matches!(version, WasiVersion::P1 | WasiVersion::P2 | WasiVersion::P3)
    }

    fn grants(&self, proposal: Proposal) -> bool {
        // Sockets: loopback only (`--allow-net 127.0.0.0/8 --allow-net ::1`), which is all
        // a test can reach. HTTP: outgoing requests need no grant beyond sockets'.
        matches!(proposal, Proposal::Sockets | Proposal::Http)
    }

    fn live_only_when_needed(&self) -> bool {
        true
    }

    fn live(&self, mode: LiveMode) -> bool {
        cli().is_some_and(|cli| cli.live(mode))
    }

    fn spawn(&self, invocation: &Invocation, mode: LiveMode) -> Result<Box<dyn LiveRun>, String> {
        match cli() {
            Some(cli) => cli.spawn(invocation, mode),
            None => Err("no wasmgate CLI for live runs (build it, or set WASMGATE_CLI)".into()),
        }
    }

    fn run(&self, invocation: &Invocation, started: &dyn Fn()) -> Observed {
        let stdout = OutputPipe::new();
        let stderr = OutputPipe::new();
        let status = match run_module(invocation, &stdout, &stderr, started) {
            Ok(status) => status,
            Err(e) => GuestStatus::Failed(e),
        };
        Observed {
            status,
            stdout: stdout.contents(),
            stderr: stderr.contents(),
        }
    }
}

fn run_module(
    invocation: &Invocation,
    stdout: &OutputPipe,
    stderr: &OutputPipe,
    started: &dyn Fn(),
) -> Result<GuestStatus, String> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config);
    let wasi = wasi_ctx(invocation, stdout, stderr)?;
    let host = Host {
        wasi,
        table: ResourceTable::new(),
    };
    if wasmparser::Parser::is_component(&invocation.module) {
        return run_component(&engine, invocation, host, started);
    }
    let module = Module::new(&engine, invocation.module.as_slice()).map_err(|e| format!("{e}"))?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmgate::wasi::p1::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)
        .map_err(|e| format!("{e}"))?;
    let mut store = Store::new(&engine, host);
    store.set_epoch_deadline(1);

    started();
    let timer_engine = engine.clone();
    let cancel = deadline_timer(invocation.timeout, move || timer_engine.increment_epoch());
    let instance = linker.instantiate(&mut store, &module);
    let result = match instance {
        Ok(instance) => match instance.get_typed_func::<(), ()>(&mut store, "_start") {
            Ok(start) => start.call(&mut store, ()).map_err(|e| (e, false)),
            Err(e) => Err((e, true)),
        },
        Err(e) => Err((e, true)),
    };
    drop(cancel);
    Ok(status(result.map(|()| 0), invocation))
}

/// Runs a component's `wasi:cli/run`; its result is the exit status (0 or 1).
fn run_component(
    engine: &Engine,
    invocation: &Invocation,
    host: Host,
    started: &dyn Fn(),
) -> Result<GuestStatus, String> {
    let component =
        Component::new(engine, invocation.module.as_slice()).map_err(|e| format!("{e}"))?;
    let mut linker = component::Linker::<Host>::new(engine);
    p2::add_to_linker(&mut linker).map_err(|e| format!("{e}"))?;
    wasmgate::wasi::p3::add_to_linker(&mut linker).map_err(|e| format!("{e}"))?;
    let mut store = Store::new(engine, host);
    store.set_epoch_deadline(1);

    started();
    let timer_engine = engine.clone();
    let cancel = deadline_timer(invocation.timeout, move || timer_engine.increment_epoch());
    let result = match linker.instantiate(&mut store, &component) {
        Ok(instance) => if wasmgate::wasi::p3::run_export(&component).is_some() {
            wasmgate::wasi::p3::run(&mut store, &component, &instance)
        } else {
            p2::run(&mut store, &component, &instance)
        }
        .map_err(|e| (e, false)),
        Err(e) => Err((e, true)),
    };
    drop(cancel);
    Ok(status(result, invocation))
}

/// The status of a finished run: `Err((e, before_start))` for an error, with whether it
/// came before the guest's code ran.
fn status(result: Result<i32, (Error, bool)>, invocation: &Invocation) -> GuestStatus {
    match result {
        Ok(code) => GuestStatus::Exited(code),
        Err((e, before_start)) => {
            if let Some(code) = e.exit_code() {
                GuestStatus::Exited(code)
            } else if let Some(trap) = e.as_trap() {
                if trap.code() == TrapCode::Interrupt {
                    GuestStatus::TimedOut(invocation.timeout)
                } else {
                    GuestStatus::Trapped(format!("{e}"))
                }
            } else if before_start {
                GuestStatus::Failed(format!("{e}"))
            } else {
                GuestStatus::Errored(format!("{e}"))
            }
        }
    }
}

/// The guest's WASI context: argv, environment, stdio pipes and preopens.
fn wasi_ctx(
    invocation: &Invocation,
    stdout: &OutputPipe,
    stderr: &OutputPipe,
) -> Result<WasiCtx, String> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&invocation.argv)
        .envs(&invocation.env)
        .stdin(InputPipe::new(invocation.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for preopen in &invocation.preopens {
        builder
            .preopened_dir(&preopen.host, &preopen.guest)
            .map_err(|e| format!("{e}"))?;
    }
    if invocation
        .proposals
        .iter()
        .any(|p| matches!(p, Proposal::Sockets | Proposal::Http))
    {
        for cidr in ["127.0.0.0/8", "::1/128"] {
            builder.allow_net(cidr).map_err(|e| format!("{e}"))?;
        }
    }
    Ok(builder.build())
}
