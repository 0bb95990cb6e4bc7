//! Bench stage: wasmi 2.0, the peer interpreter, as an extra column (no budget) of the
//! scenarios whose programs only write to stdio (`hello`, `compute`) and of the kernels.
//!
//! wasmi has no WASI of its own in this workspace, so this module gives it the five preview 1
//! functions those programs import, stdio only: `fd_write` to in-memory stdout/stderr,
//! `fd_fdstat_get` (a character device), `fd_seek` (`ESPIPE`), `fd_close`, `proc_exit`.
//! wasmi runs with its default `Config` (bodies validated eagerly, translated lazily).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use wasmi::{Caller, Config, Engine, Extern, Linker, Module, Store, TypedFunc};

use super::inprocess::{Mode, Program};
use super::{Output, Sample, Subject};

const WASI: &str = "wasi_snapshot_preview1";
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_SPIPE: i32 = 70;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;

#[derive(Default)]
struct Host {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn read_u32(mem: &[u8], at: usize) -> Option<u32> {
    let bytes = mem.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn fd_write(mut caller: Caller<'_, Host>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> i32 {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return ERRNO_BADF;
    };
    let (mem, host) = memory.data_and_store_mut(&mut caller);
    let out = match fd {
        1 => &mut host.stdout,
        2 => &mut host.stderr,
        _ => return ERRNO_BADF,
    };
    let mut total: u32 = 0;
    for k in 0..iovs_len as u32 as usize {
        let at = iovs as u32 as usize + 8 * k;
        let (Some(ptr), Some(len)) = (read_u32(mem, at), read_u32(mem, at + 4)) else {
            return ERRNO_FAULT;
        };
        let Some(bytes) = mem.get(ptr as usize..ptr as usize + len as usize) else {
            return ERRNO_FAULT;
        };
        out.extend_from_slice(bytes);
        total = total.wrapping_add(len);
    }
    match mem.get_mut(nwritten as u32 as usize..nwritten as u32 as usize + 4) {
        Some(slot) => {
            slot.copy_from_slice(&total.to_le_bytes());
            0
        }
        None => ERRNO_FAULT,
    }
}

fn fd_fdstat_get(mut caller: Caller<'_, Host>, fd: i32, buf: i32) -> i32 {
    if !(0..=2).contains(&fd) {
        return ERRNO_BADF;
    }
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return ERRNO_BADF;
    };
    let mem = memory.data_mut(&mut caller);
    let Some(stat) = mem.get_mut(buf as u32 as usize..buf as u32 as usize + 24) else {
        return ERRNO_FAULT;
    };
    stat.fill(0);
    stat[0] = FILETYPE_CHARACTER_DEVICE;
    // Rights: fd_read and fd_write only (a terminal: no seek, no tell).
    stat[8..16].copy_from_slice(&((1u64 << 1) | (1u64 << 6)).to_le_bytes());
    0
}

fn link(linker: &mut Linker<Host>) -> Result<()> {
    linker
        .func_wrap(WASI, "fd_write", fd_write)
        .and_then(|l| l.func_wrap(WASI, "fd_fdstat_get", fd_fdstat_get))
        .and_then(|l| {
            l.func_wrap(WASI, "fd_seek", |fd: i32, _: i64, _: i32, _: i32| {
                if (0..=2).contains(&fd) {
                    ERRNO_SPIPE
                } else {
                    ERRNO_BADF
                }
            })
        })
        .and_then(|l| l.func_wrap(WASI, "fd_close", |_: i32| 0i32))
        .and_then(|l| {
            l.func_wrap(WASI, "proc_exit", |code: i32| -> Result<(), wasmi::Error> {
                Err(wasmi::Error::i32_exit(code))
            })
        })
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

struct Compiled {
    engine: Engine,
    module: Module,
    linker: Linker<Host>,
}

fn compile(bytes: &[u8]) -> Result<Compiled> {
    let engine = Engine::new(&Config::default());
    let module = Module::new(&engine, bytes).map_err(|e| anyhow!("{e}"))?;
    let mut linker = Linker::new(&engine);
    link(&mut linker)?;
    Ok(Compiled {
        engine,
        module,
        linker,
    })
}

fn start(compiled: &Compiled) -> Result<Output> {
    let mut store = Store::new(&compiled.engine, Host::default());
    let instance = compiled
        .linker
        .instantiate_and_start(&mut store, &compiled.module)
        .map_err(|e| anyhow!("instantiation: {e}"))?;
    let entry = instance
        .get_typed_func::<(), ()>(&store, "_start")
        .map_err(|e| anyhow!("{e}"))?;
    let status = match entry.call(&mut store, ()) {
        Ok(()) => "exit 0".to_owned(),
        Err(e) => match e.i32_exit_status() {
            Some(code) => format!("exit {code}"),
            None => format!("error: {e}"),
        },
    };
    let host = store.into_data();
    Ok(Output {
        status,
        stdout: host.stdout,
        stderr: host.stderr,
    })
}

/// A WASI program on wasmi (stdio only).
pub struct ProgramRun {
    module: Arc<Vec<u8>>,
    compiled: Option<Compiled>,
    prepare: Option<Duration>,
}

impl ProgramRun {
    /// Prepares `program` (it must take no arguments and no directories) in `mode`.
    pub fn new(program: &Program, mode: Mode) -> Result<ProgramRun> {
        if !program.preopens.is_empty() {
            return Err(anyhow!("the wasmi bench runner has no filesystem"));
        }
        let (compiled, prepare) = match mode {
            Mode::Cold => (None, None),
            Mode::Execute => {
                let begun = Instant::now();
                let compiled = compile(&program.module)?;
                (Some(compiled), Some(begun.elapsed()))
            }
        };
        Ok(ProgramRun {
            module: program.module.clone(),
            compiled,
            prepare,
        })
    }
}

impl Subject for ProgramRun {
    fn runner(&self) -> &str {
        "wasmi"
    }
    fn prepare_time(&self) -> Option<Duration> {
        self.prepare
    }
    fn sample(&mut self) -> Result<Sample> {
        let begun = Instant::now();
        let output = match &self.compiled {
            Some(compiled) => start(compiled)?,
            None => {
                let compiled = compile(&self.module)?;
                let output = start(&compiled)?;
                drop(compiled);
                output
            }
        };
        Ok(Sample {
            elapsed: begun.elapsed(),
            output,
        })
    }
}

/// A kernel's `run: () -> i64` on wasmi.
pub struct KernelRun {
    store: Store<()>,
    run: TypedFunc<(), i64>,
    prepare: Duration,
}

impl KernelRun {
    /// Compiles and instantiates the kernel (untimed).
    pub fn new(bytes: &[u8]) -> Result<KernelRun> {
        let begun = Instant::now();
        let engine = Engine::new(&Config::default());
        let module = Module::new(&engine, bytes).map_err(|e| anyhow!("{e}"))?;
        let mut store = Store::new(&engine, ());
        let instance = Linker::<()>::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .map_err(|e| anyhow!("{e}"))?;
        let run = instance
            .get_typed_func::<(), i64>(&store, "run")
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
        "wasmi"
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
