//! Runner stage: the project's own runtime, wasmgate, in-process through its embedding API
//! (`docs/API.md`) and its preview 1 layer `wasmgate::wasi::p1`.

use wasmgate::wasi::{InputPipe, OutputPipe, WasiCtx, WasiCtxBuilder};
use wasmgate::{Config, Engine, Linker, Module, Store, TrapCode};

use super::{deadline_timer, GuestStatus, Invocation, Observed, Runner};
use crate::suite::WasiVersion;

/// wasmgate, with `wasmgate::wasi::p1::add_to_linker`.
#[derive(Debug, Default)]
pub struct WasmgateRunner;

impl WasmgateRunner {
    /// A new runner (each run gets its own engine, so deadlines never interfere).
    pub fn new() -> Self {
        WasmgateRunner
    }
}

struct Host {
    wasi: WasiCtx,
}

impl Runner for WasmgateRunner {
    fn name(&self) -> &'static str {
        "wasmgate"
    }

    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn supports(&self, version: WasiVersion) -> bool {
        version == WasiVersion::P1
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
    let module = Module::new(&engine, invocation.module.as_slice()).map_err(|e| format!("{e}"))?;

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
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmgate::wasi::p1::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)
        .map_err(|e| format!("{e}"))?;
    let mut store = Store::new(
        &engine,
        Host {
            wasi: builder.build(),
        },
    );
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

    Ok(match result {
        Ok(()) => GuestStatus::Exited(0),
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
    })
}
