//! Bench stage: timing a module in this process, on wasmgate (`wasmgate::wasi::p1`) and on
//! wasmtime (`wasmtime-wasi`'s preview 1), each configured as its own CLI runs a module.
//!
//! wasmgate: `Config::new()` (bodies translated lazily on first call, as `wasmgate run` does).
//! wasmtime: `Config::new()` (Cranelift at `OptLevel::Speed`, parallel compilation, no
//! compilation cache) and WASI with `allow_blocking_current_thread`, as `wasmtime run` does
//! with its cache off. Neither has fuel or epoch
//! interruption: the scenarios are our own programs and always end. The guest's stdout and
//! stderr go to in-memory pipes, so host calls are measured, not the terminal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::{Output, Sample, Subject};

/// What a program scenario runs: a WASI command, its argv, its preopened directories.
#[derive(Debug, Clone)]
pub struct Program {
    /// The module's bytes.
    pub module: Arc<Vec<u8>>,
    /// argv, argv[0] first.
    pub argv: Vec<String>,
    /// `(host directory, guest name)`, in fd order from 3.
    pub preopens: Vec<(PathBuf, String)>,
}

/// What a sample of an in-process program includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From the bytes to the exit: a new engine, compilation, linking WASI, instantiation,
    /// `_start`, dropping the store.
    Cold,
    /// The engine, module and linker are made once before sampling (untimed, reported as the
    /// preparation time); a sample is a new WASI context and store, instantiation, `_start`
    /// and dropping the store.
    Execute,
}

/// How a guest's `_start` ended, as text both runtimes agree on.
fn exit_status(code: i32) -> String {
    format!("exit {code}")
}

/// The in-process subject for `runner` (`wasmgate` or `wasmtime`).
pub fn program_subject(
    runner: &str,
    program: Program,
    mode: Mode,
) -> Result<Box<dyn Subject + 'static>> {
    Ok(match runner {
        #[cfg(feature = "wasmgate-runner")]
        "wasmgate" => Box::new(gate::ProgramRun::new(program, mode)?),
        "wasmtime" => Box::new(wt::ProgramRun::new(program, mode)?),
        other => return Err(anyhow!("no in-process bench runner `{other}`")),
    })
}

/// The subject that calls the export `run: () -> i64` of a kernel on `runner`: compilation
/// and instantiation happen once, untimed; a sample is one call.
pub fn kernel_subject(runner: &str, module: Arc<Vec<u8>>) -> Result<Box<dyn Subject + 'static>> {
    Ok(match runner {
        #[cfg(feature = "wasmgate-runner")]
        "wasmgate" => Box::new(gate::KernelRun::new(&module)?),
        "wasmtime" => Box::new(wt::KernelRun::new(&module)?),
        other => return Err(anyhow!("no in-process bench runner `{other}`")),
    })
}

#[cfg(feature = "wasmgate-runner")]
mod gate {
    use super::*;
    use wasmgate::wasi::{OutputPipe, WasiCtx, WasiCtxBuilder};
    use wasmgate::{Config, Engine, Instance, Linker, Module, Store, TypedFunc};

    pub(super) struct Host {
        wasi: WasiCtx,
    }

    struct Compiled {
        engine: Engine,
        module: Module,
        linker: Linker<Host>,
    }

    fn compile(bytes: &[u8]) -> Result<Compiled> {
        let engine = Engine::new(&Config::new());
        let module = Module::new(&engine, bytes).map_err(|e| anyhow!("{e}"))?;
        let mut linker: Linker<Host> = Linker::new(&engine);
        wasmgate::wasi::p1::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)
            .map_err(|e| anyhow!("{e}"))?;
        Ok(Compiled {
            engine,
            module,
            linker,
        })
    }

    /// Runs `_start` in a new store; returns the exit status.
    fn start(
        compiled: &Compiled,
        program: &Program,
        out: &OutputPipe,
        err: &OutputPipe,
    ) -> Result<String> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .args(&program.argv)
            .stdout(out.clone())
            .stderr(err.clone());
        for (host, guest) in &program.preopens {
            builder
                .preopened_dir(host, guest)
                .map_err(|e| anyhow!("cannot preopen {}: {e}", host.display()))?;
        }
        let mut store = Store::new(
            &compiled.engine,
            Host {
                wasi: builder.build(),
            },
        );
        let instance = compiled
            .linker
            .instantiate(&mut store, &compiled.module)
            .map_err(|e| anyhow!("instantiation: {e}"))?;
        let entry = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(|e| anyhow!("{e}"))?;
        let status = match entry.call(&mut store, ()) {
            Ok(()) => exit_status(0),
            Err(e) => match e.exit_code() {
                Some(code) => exit_status(code),
                None => format!("error: {e}"),
            },
        };
        drop(store);
        Ok(status)
    }

    pub(super) struct ProgramRun {
        program: Program,
        mode: Mode,
        compiled: Option<Compiled>,
        prepare: Option<Duration>,
    }

    impl ProgramRun {
        pub(super) fn new(program: Program, mode: Mode) -> Result<Self> {
            let (compiled, prepare) = match mode {
                Mode::Cold => (None, None),
                Mode::Execute => {
                    let begun = Instant::now();
                    let compiled = compile(&program.module)?;
                    (Some(compiled), Some(begun.elapsed()))
                }
            };
            Ok(ProgramRun {
                program,
                mode,
                compiled,
                prepare,
            })
        }
    }

    impl Subject for ProgramRun {
        fn runner(&self) -> &str {
            "wasmgate"
        }
        fn prepare_time(&self) -> Option<Duration> {
            self.prepare
        }
        fn sample(&mut self) -> Result<Sample> {
            let out = OutputPipe::new();
            let err = OutputPipe::new();
            let begun = Instant::now();
            let status = match (self.mode, &self.compiled) {
                (Mode::Execute, Some(compiled)) => start(compiled, &self.program, &out, &err)?,
                _ => {
                    let compiled = compile(&self.program.module)?;
                    let status = start(&compiled, &self.program, &out, &err)?;
                    drop(compiled);
                    status
                }
            };
            let elapsed = begun.elapsed();
            Ok(Sample {
                elapsed,
                output: Output {
                    status,
                    stdout: out.contents(),
                    stderr: err.contents(),
                },
            })
        }
    }

    pub(super) struct KernelRun {
        store: Store<()>,
        run: TypedFunc<(), i64>,
        prepare: Duration,
    }

    impl KernelRun {
        pub(super) fn new(bytes: &[u8]) -> Result<Self> {
            let begun = Instant::now();
            let engine = Engine::new(&Config::new());
            let module = Module::new(&engine, bytes).map_err(|e| anyhow!("{e}"))?;
            let mut store = Store::new(&engine, ());
            let linker: Linker<()> = Linker::new(&engine);
            let instance: Instance = linker
                .instantiate(&mut store, &module)
                .map_err(|e| anyhow!("{e}"))?;
            let run = instance
                .get_typed_func::<(), i64>(&mut store, "run")
                .map_err(|e| anyhow!("{e}"))?;
            Ok(KernelRun {
                store,
                run,
                prepare: begun.elapsed(),
            })
        }
    }

    impl Subject for KernelRun {
        fn runner(&self) -> &str {
            "wasmgate"
        }
        fn prepare_time(&self) -> Option<Duration> {
            Some(self.prepare)
        }
        fn sample(&mut self) -> Result<Sample> {
            let begun = Instant::now();
            let result = self.run.call(&mut self.store, ());
            let elapsed = begun.elapsed();
            let status = match result {
                Ok(v) => format!("returned {v}"),
                Err(e) => format!("error: {e}"),
            };
            Ok(Sample {
                elapsed,
                output: Output {
                    status,
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                },
            })
        }
    }
}

mod wt {
    use super::*;
    use wasmtime::{Config, Engine, Linker, Module, Store, TypedFunc};
    use wasmtime_wasi::p1::WasiP1Ctx;
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
    use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

    /// The most output a guest may write to one stream.
    const OUTPUT_CAPACITY: usize = 256 << 20;

    pub(super) struct Host {
        wasi: WasiP1Ctx,
    }

    struct Compiled {
        engine: Engine,
        module: Module,
        linker: Linker<Host>,
    }

    fn compile(bytes: &[u8]) -> Result<Compiled> {
        let engine = Engine::new(&Config::new())?;
        let module = Module::new(&engine, bytes)?;
        let mut linker: Linker<Host> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)?;
        Ok(Compiled {
            engine,
            module,
            linker,
        })
    }

    fn start(
        compiled: &Compiled,
        program: &Program,
        out: &MemoryOutputPipe,
        err: &MemoryOutputPipe,
    ) -> Result<String> {
        let mut builder = WasiCtxBuilder::new();
        // As the wasmtime CLI: filesystem calls run on this thread, not on tokio's
        // blocking pool (set before the preopens, which copy it).
        builder.allow_blocking_current_thread(true);
        builder
            .args(&program.argv)
            .stdout(out.clone())
            .stderr(err.clone());
        for (host, guest) in &program.preopens {
            builder
                .preopened_dir(host, guest, FsPerms::ReadWrite)
                .map_err(|e| anyhow!("cannot preopen {}: {e:#}", host.display()))?;
        }
        let mut store = Store::new(
            &compiled.engine,
            Host {
                wasi: builder.build_p1(),
            },
        );
        let instance = compiled
            .linker
            .instantiate(&mut store, &compiled.module)
            .map_err(|e| anyhow!("instantiation: {e:#}"))?;
        let entry = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        let status = match entry.call(&mut store, ()) {
            Ok(()) => exit_status(0),
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit_status(exit.0),
                None => format!("error: {e:#}"),
            },
        };
        drop(store);
        Ok(status)
    }

    pub(super) struct ProgramRun {
        program: Program,
        mode: Mode,
        compiled: Option<Compiled>,
        prepare: Option<Duration>,
    }

    impl ProgramRun {
        pub(super) fn new(program: Program, mode: Mode) -> Result<Self> {
            let (compiled, prepare) = match mode {
                Mode::Cold => (None, None),
                Mode::Execute => {
                    let begun = Instant::now();
                    let compiled = compile(&program.module)?;
                    (Some(compiled), Some(begun.elapsed()))
                }
            };
            Ok(ProgramRun {
                program,
                mode,
                compiled,
                prepare,
            })
        }
    }

    impl Subject for ProgramRun {
        fn runner(&self) -> &str {
            "wasmtime"
        }
        fn prepare_time(&self) -> Option<Duration> {
            self.prepare
        }
        fn sample(&mut self) -> Result<Sample> {
            let out = MemoryOutputPipe::new(OUTPUT_CAPACITY);
            let err = MemoryOutputPipe::new(OUTPUT_CAPACITY);
            let begun = Instant::now();
            let status = match (self.mode, &self.compiled) {
                (Mode::Execute, Some(compiled)) => start(compiled, &self.program, &out, &err)?,
                _ => {
                    let compiled = compile(&self.program.module)?;
                    let status = start(&compiled, &self.program, &out, &err)?;
                    drop(compiled);
                    status
                }
            };
            let elapsed = begun.elapsed();
            Ok(Sample {
                elapsed,
                output: Output {
                    status,
                    stdout: out.contents().to_vec(),
                    stderr: err.contents().to_vec(),
                },
            })
        }
    }

    pub(super) struct KernelRun {
        store: Store<()>,
        run: TypedFunc<(), i64>,
        prepare: Duration,
    }

    impl KernelRun {
        pub(super) fn new(bytes: &[u8]) -> Result<Self> {
            let begun = Instant::now();
            let engine = Engine::new(&Config::new())?;
            let module = Module::new(&engine, bytes)?;
            let mut store = Store::new(&engine, ());
            let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
            let run = instance.get_typed_func::<(), i64>(&mut store, "run")?;
            Ok(KernelRun {
                store,
                run,
                prepare: begun.elapsed(),
            })
        }
    }

    impl Subject for KernelRun {
        fn runner(&self) -> &str {
            "wasmtime"
        }
        fn prepare_time(&self) -> Option<Duration> {
            Some(self.prepare)
        }
        fn sample(&mut self) -> Result<Sample> {
            let begun = Instant::now();
            let result = self.run.call(&mut self.store, ());
            let elapsed = begun.elapsed();
            let status = match result {
                Ok(v) => format!("returned {v}"),
                Err(e) => format!("error: {e:#}"),
            };
            Ok(Sample {
                elapsed,
                output: Output {
                    status,
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                },
            })
        }
    }
}
