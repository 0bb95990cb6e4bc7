//! Runner stage: the reference runner, wasmtime 48 + wasmtime-wasi, in-process: core
//! modules with its preview 1, components (told apart by their header) with its preview 2
//! and their `wasi:cli/run` export. A component exporting `wasi:cli/run@0.3.x` (an async
//! export) is called concurrently (`run_concurrent`) with preview 2 imports (the project's
//! P3 fixtures exercise the async ABI and print through WASI 0.2).
//!
//! It runs the same invocations as the wasmgate runner, so the harness itself is checked
//! against a known-good runtime: a test that fails here points at the harness or the test.

use wasmtime::{Config, Engine, Linker, Module, OptLevel, Store, Trap};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{
    FsPerms, I32Exit, ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::{deadline_timer, error_chain, GuestStatus, Invocation, Observed, Runner};
use crate::suite::spec::Proposal;
use crate::suite::WasiVersion;

/// The most output a guest may write to one stream.
const OUTPUT_CAPACITY: usize = 64 << 20;

/// wasmtime, with `wasmtime_wasi::p1::add_to_linker_sync`.
#[derive(Debug, Default)]
pub struct WasmtimeRunner;

impl WasmtimeRunner {
    /// A new runner (each run gets its own engine, so deadlines never interfere).
    pub fn new() -> Self {
        WasmtimeRunner
    }
}

struct Host {
    wasi: WasiP1Ctx,
}

impl Runner for WasmtimeRunner {
    fn name(&self) -> &'static str {
        "wasmtime"
    }

    fn version(&self) -> String {
        "48.0.8".to_owned()
    }

    fn supports(&self, version: WasiVersion) -> bool {
        matches!(version, WasiVersion::P1 | WasiVersion::P2 | WasiVersion::P3)
    }

    fn grants(&self, proposal: Proposal) -> bool {
        proposal == Proposal::Sockets
    }

    fn run(&self, invocation: &Invocation, started: &dyn Fn()) -> Observed {
        let stdout = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let stderr = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let status = match run_module(invocation, &stdout, &stderr, started) {
            Ok(status) => status,
            Err(e) => GuestStatus::Failed(format!("{e:#}")),
        };
        Observed {
            status,
            stdout: stdout.contents().to_vec(),
            stderr: stderr.contents().to_vec(),
        }
    }
}

fn run_module(
    invocation: &Invocation,
    stdout: &MemoryOutputPipe,
    stderr: &MemoryOutputPipe,
    started: &dyn Fn(),
) -> anyhow::Result<GuestStatus> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Behaviour does not depend on optimisation; compile time does, a lot in debug builds.
    config.cranelift_opt_level(OptLevel::None);
    // The component-model async ABI, as far as wasmtime 48 has it (P3 fixtures).
    config
        .wasm_component_model_async(true)
        .wasm_component_model_more_async_builtins(true)
        .wasm_component_model_async_stackful(true)
        .wasm_component_model_error_context(true);
    let engine = Engine::new(&config)?;

    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&invocation.argv)
        .envs(&invocation.env)
        .stdin(MemoryInputPipe::new(invocation.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for preopen in &invocation.preopens {
        builder.preopened_dir(&preopen.host, &preopen.guest, FsPerms::ReadWrite)?;
    }
    if invocation.proposals.contains(&Proposal::Sockets) {
        builder
            .inherit_network()
            .allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(true);
    }
    if wasmparser::Parser::is_component(&invocation.module) {
        return run_component(&engine, invocation, builder.build(), started);
    }
    let module = Module::new(&engine, invocation.module.as_slice())?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)?;
    let mut store = Store::new(
        &engine,
        Host {
            wasi: builder.build_p1(),
        },
    );
    store.set_epoch_deadline(1);

    started();
    let timer_engine = engine.clone();
    let cancel = deadline_timer(invocation.timeout, move || timer_engine.increment_epoch());
    let outcome = run_start(&linker, &mut store, &module);
    drop(cancel);
    Ok(status(outcome.map(|()| 0), invocation))
}

/// The store data of a component run.
struct P2Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for P2Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Runs a component's `wasi:cli/run`; its result is the exit status (0 or 1).
fn run_component(
    engine: &Engine,
    invocation: &Invocation,
    wasi: WasiCtx,
    started: &dyn Fn(),
) -> anyhow::Result<GuestStatus> {
    use wasmtime::component::{Component, Linker};
    use wasmtime_wasi::p2::bindings::sync::Command;
    let component = Component::new(engine, invocation.module.as_slice())?;
    let p3_run = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .find(|name| name.starts_with("wasi:cli/run@0.3."));
    if let Some(iface) = p3_run {
        return run_p3_component(engine, invocation, wasi, started, &component, &iface);
    }
    let mut linker: Linker<P2Host> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut store = Store::new(
        engine,
        P2Host {
            wasi,
            table: ResourceTable::new(),
        },
    );
    store.set_epoch_deadline(1);

    started();
    let timer_engine = engine.clone();
    let cancel = deadline_timer(invocation.timeout, move || timer_engine.increment_epoch());
    let outcome = match Command::instantiate(&mut store, &component, &linker) {
        Ok(command) => match command.wasi_cli_run().call_run(&mut store) {
            Ok(result) => Ok(if result.is_ok() { 0 } else { 1 }),
            Err(e) => Err((e, false)),
        },
        Err(e) => Err((e, true)),
    };
    drop(cancel);
    Ok(status(outcome, invocation))
}

/// Runs an async `wasi:cli/run@0.3.x#run` export inside `run_concurrent`, with the
/// preview 2 imports (async bindings).
fn run_p3_component(
    engine: &Engine,
    invocation: &Invocation,
    wasi: WasiCtx,
    started: &dyn Fn(),
    component: &wasmtime::component::Component,
    iface: &str,
) -> anyhow::Result<GuestStatus> {
    use wasmtime::component::{Linker, Val};
    let mut linker: Linker<P2Host> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    let mut store = Store::new(
        engine,
        P2Host {
            wasi,
            table: ResourceTable::new(),
        },
    );
    store.set_epoch_deadline(1);

    started();
    let timer_engine = engine.clone();
    let cancel = deadline_timer(invocation.timeout, move || timer_engine.increment_epoch());
    let outcome = wasmtime_wasi::runtime::in_tokio(async {
        let instance = linker
            .instantiate_async(&mut store, component)
            .await
            .map_err(|e| (e, true))?;
        let func = instance
            .get_export_index(&mut store, None, iface)
            .and_then(|i| instance.get_export_index(&mut store, Some(&i), "run"))
            .and_then(|i| instance.get_func(&mut store, i))
            .ok_or_else(|| (wasmtime::Error::msg(format!("no `run` in `{iface}`")), true))?;
        let mut results = [Val::Bool(false)];
        store
            .run_concurrent(async |a| func.call_concurrent(a, &[], &mut results).await)
            .await
            .and_then(|r| r)
            .map_err(|e| (e, false))?;
        Ok(match &results[0] {
            Val::Result(Ok(_)) => 0,
            _ => 1,
        })
    });
    drop(cancel);
    Ok(status(outcome, invocation))
}

/// The status of a finished run: `Err((e, before_start))` for an error, with whether it
/// came before the guest's code ran.
fn status(outcome: Result<i32, (wasmtime::Error, bool)>, invocation: &Invocation) -> GuestStatus {
    match outcome {
        Ok(code) => GuestStatus::Exited(code),
        Err((e, before_start)) => {
            if let Some(exit) = e.downcast_ref::<I32Exit>() {
                GuestStatus::Exited(exit.0)
            } else if let Some(trap) = e.downcast_ref::<Trap>() {
                if *trap == Trap::Interrupt {
                    GuestStatus::TimedOut(invocation.timeout)
                } else {
                    GuestStatus::Trapped(describe(&e))
                }
            } else if before_start {
                GuestStatus::Failed(describe(&e))
            } else {
                GuestStatus::Errored(describe(&e))
            }
        }
    }
}

/// Instantiates and calls `_start`; an error says whether it came before `_start` ran.
fn run_start(
    linker: &Linker<Host>,
    store: &mut Store<Host>,
    module: &Module,
) -> Result<(), (wasmtime::Error, bool)> {
    let instance = linker
        .instantiate(&mut *store, module)
        .map_err(|e| (e, true))?;
    let start = instance
        .get_typed_func::<(), ()>(&mut *store, "_start")
        .map_err(|e| (e, true))?;
    start.call(&mut *store, ()).map_err(|e| (e, false))
}

fn describe(e: &wasmtime::Error) -> String {
    error_chain(e.to_string(), e.chain().skip(1).map(|c| c.to_string()))
}
