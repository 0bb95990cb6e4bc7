//! wasmgate vs wasmi vs wasmtime on small compute kernels.
//!
//! Groups (bench ids are `<group>/<kernel>/<runtime>`):
//! - `translate`:   `Module::new` from the binary (validation + translation/compilation).
//!   wasmgate and wasmi use their eager compilation modes so the whole module is
//!   translated here, not on first call; wasmtime compiles with Cranelift on one thread.
//! - `instantiate`: a fresh `Store` plus instantiation (memory, data segments), dropped again.
//! - `execute`:     one call of the kernel's exported `run() -> i64` on a live instance.
//!
//! Every kernel is run once on every runtime before anything is timed, and the
//! checksums must equal the reference value (computed independently of all three
//! runtimes), so a bench cannot silently measure a trap or a wrong answer.
//! If wasmgate fails a kernel the bench panics with the details; set
//! `WASMGATE_BENCH_SKIP_FAILING=1` to skip wasmgate on the failing kernels instead
//! and still measure the rest.
//!
//! `WASMGATE_BENCH_CLOCK=cpu` (Linux) measures the benchmarking thread's CPU time
//! instead of wall-clock time, which stays meaningful on a machine busy with other
//! work. See docs/benchmarks.md.

use std::fmt::Display;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};

type Res<T> = Result<T, String>;

fn err(e: impl Display) -> String {
    format!("{e:#}")
}

/// A compute kernel: WAT source exporting `run: () -> i64`.
struct KernelSource {
    name: &'static str,
    wat: &'static str,
    /// Expected `run()` result, computed outside wasm (by a direct reimplementation
    /// of each kernel; for crc32 and sha256 via zlib/hashlib).
    checksum: i64,
}

const KERNELS: &[KernelSource] = &[
    KernelSource {
        name: "fib",
        wat: include_str!("kernels/fib.wat"),
        checksum: 75025,
    },
    KernelSource {
        name: "loop",
        wat: include_str!("kernels/loop.wat"),
        checksum: 68543686929645792,
    },
    KernelSource {
        name: "matmul",
        wat: include_str!("kernels/matmul.wat"),
        checksum: -1233,
    },
    KernelSource {
        name: "crc32",
        wat: include_str!("kernels/crc32.wat"),
        checksum: 1164212058,
    },
    KernelSource {
        name: "sha256",
        wat: include_str!("kernels/sha256.wat"),
        checksum: -348951186348993984,
    },
    KernelSource {
        name: "memops",
        wat: include_str!("kernels/memops.wat"),
        checksum: 638732595209466728,
    },
];

/// A kernel ready to bench.
struct Kernel {
    name: &'static str,
    wasm: Vec<u8>,
    /// False when wasmgate failed verification and the user asked to skip it.
    wasmgate_ok: bool,
}

/// The operations every runtime provides to the bench groups.
trait Runtime {
    const NAME: &'static str;
    /// Engine plus whatever is reused across instantiations (the linker).
    type Ctx;
    type Module;
    fn ctx() -> Self::Ctx;
    fn compile(ctx: &Self::Ctx, wasm: &[u8]) -> Res<Self::Module>;
    /// Create a fresh store and instantiate `module` in it; everything is dropped
    /// before returning.
    fn instantiate(ctx: &Self::Ctx, module: &Self::Module) -> Res<()>;
    /// A live instance's `run` export, callable repeatedly.
    fn runner(ctx: &Self::Ctx, module: &Self::Module) -> Res<Box<dyn FnMut() -> Res<i64>>>;
}

struct Wasmgate;

struct WasmgateCtx {
    engine: wasmgate::Engine,
    linker: wasmgate::Linker<()>,
}

impl Runtime for Wasmgate {
    const NAME: &'static str = "wasmgate";
    type Ctx = WasmgateCtx;
    type Module = wasmgate::Module;

    fn ctx() -> WasmgateCtx {
        let mut config = wasmgate::Config::new();
        config.compilation_mode(wasmgate::CompilationMode::Eager);
        let engine = wasmgate::Engine::new(&config);
        let linker = wasmgate::Linker::new(&engine);
        WasmgateCtx { engine, linker }
    }

    fn compile(ctx: &WasmgateCtx, wasm: &[u8]) -> Res<wasmgate::Module> {
        wasmgate::Module::from_binary(&ctx.engine, wasm).map_err(err)
    }

    fn instantiate(ctx: &WasmgateCtx, module: &wasmgate::Module) -> Res<()> {
        let mut store = wasmgate::Store::new(&ctx.engine, ());
        let instance = ctx.linker.instantiate(&mut store, module).map_err(err)?;
        black_box(instance);
        Ok(())
    }

    fn runner(ctx: &WasmgateCtx, module: &wasmgate::Module) -> Res<Box<dyn FnMut() -> Res<i64>>> {
        let mut store = wasmgate::Store::new(&ctx.engine, ());
        let instance = ctx.linker.instantiate(&mut store, module).map_err(err)?;
        let run = instance
            .get_typed_func::<(), i64>(&mut store, "run")
            .map_err(err)?;
        Ok(Box::new(move || run.call(&mut store, ()).map_err(err)))
    }
}

struct Wasmi;

struct WasmiCtx {
    engine: wasmi::Engine,
    linker: wasmi::Linker<()>,
}

impl Runtime for Wasmi {
    const NAME: &'static str = "wasmi";
    type Ctx = WasmiCtx;
    type Module = wasmi::Module;

    fn ctx() -> WasmiCtx {
        let mut config = wasmi::Config::default();
        config.compilation_mode(wasmi::CompilationMode::Eager);
        let engine = wasmi::Engine::new(&config);
        let linker = wasmi::Linker::new(&engine);
        WasmiCtx { engine, linker }
    }

    fn compile(ctx: &WasmiCtx, wasm: &[u8]) -> Res<wasmi::Module> {
        wasmi::Module::new(&ctx.engine, wasm).map_err(err)
    }

    fn instantiate(ctx: &WasmiCtx, module: &wasmi::Module) -> Res<()> {
        let mut store = wasmi::Store::new(&ctx.engine, ());
        let instance = ctx
            .linker
            .instantiate_and_start(&mut store, module)
            .map_err(err)?;
        black_box(instance);
        Ok(())
    }

    fn runner(ctx: &WasmiCtx, module: &wasmi::Module) -> Res<Box<dyn FnMut() -> Res<i64>>> {
        let mut store = wasmi::Store::new(&ctx.engine, ());
        let instance = ctx
            .linker
            .instantiate_and_start(&mut store, module)
            .map_err(err)?;
        let run = instance
            .get_typed_func::<(), i64>(&store, "run")
            .map_err(err)?;
        Ok(Box::new(move || run.call(&mut store, ()).map_err(err)))
    }
}

struct Wasmtime;

struct WasmtimeCtx {
    engine: wasmtime::Engine,
    linker: wasmtime::Linker<()>,
}

impl Runtime for Wasmtime {
    const NAME: &'static str = "wasmtime";
    type Ctx = WasmtimeCtx;
    type Module = wasmtime::Module;

    fn ctx() -> WasmtimeCtx {
        let mut config = wasmtime::Config::new();
        // The interpreters translate on one thread; make compile times comparable.
        config.parallel_compilation(false);
        let engine = wasmtime::Engine::new(&config).expect("wasmtime engine");
        let linker = wasmtime::Linker::new(&engine);
        WasmtimeCtx { engine, linker }
    }

    fn compile(ctx: &WasmtimeCtx, wasm: &[u8]) -> Res<wasmtime::Module> {
        wasmtime::Module::new(&ctx.engine, wasm).map_err(err)
    }

    fn instantiate(ctx: &WasmtimeCtx, module: &wasmtime::Module) -> Res<()> {
        let mut store = wasmtime::Store::new(&ctx.engine, ());
        let instance = ctx.linker.instantiate(&mut store, module).map_err(err)?;
        black_box(instance);
        Ok(())
    }

    fn runner(ctx: &WasmtimeCtx, module: &wasmtime::Module) -> Res<Box<dyn FnMut() -> Res<i64>>> {
        let mut store = wasmtime::Store::new(&ctx.engine, ());
        let instance = ctx.linker.instantiate(&mut store, module).map_err(err)?;
        let run = instance
            .get_typed_func::<(), i64>(&mut store, "run")
            .map_err(err)?;
        Ok(Box::new(move || run.call(&mut store, ()).map_err(err)))
    }
}

/// Compile, instantiate and run `wasm` twice on `R` (the second call must give
/// the same answer, as the timed loop calls `run` over and over).
fn checksum_of<R: Runtime>(wasm: &[u8]) -> Res<i64> {
    let ctx = R::ctx();
    let module = R::compile(&ctx, wasm).map_err(|e| format!("compile failed: {e}"))?;
    R::instantiate(&ctx, &module).map_err(|e| format!("instantiate failed: {e}"))?;
    let mut run = R::runner(&ctx, &module).map_err(|e| format!("instantiate failed: {e}"))?;
    let first = run().map_err(|e| format!("run() failed: {e}"))?;
    let second = run().map_err(|e| format!("second run() failed: {e}"))?;
    if first != second {
        return Err(format!(
            "run() is not repeatable: first call returned {first}, second {second}"
        ));
    }
    Ok(first)
}

/// Run every kernel once on every runtime and check the checksums. wasmi or
/// wasmtime disagreeing with the reference means the kernel (or its reference
/// value) is wrong: always fatal. wasmgate disagreeing is an engine bug: fatal
/// unless WASMGATE_BENCH_SKIP_FAILING is set, in which case wasmgate is left out
/// of that kernel's benches.
fn verify_kernels() -> Vec<Kernel> {
    let skip_failing = std::env::var_os("WASMGATE_BENCH_SKIP_FAILING").is_some_and(|v| v != "0");
    let mut failures = Vec::new();
    let mut kernels = Vec::new();
    for src in KERNELS {
        let wasm = wat::parse_str(src.wat)
            .unwrap_or_else(|e| panic!("kernels/{}.wat does not parse: {e}", src.name));
        for (runtime, got) in [
            (Wasmi::NAME, checksum_of::<Wasmi>(&wasm)),
            (Wasmtime::NAME, checksum_of::<Wasmtime>(&wasm)),
        ] {
            match got {
                Ok(v) if v == src.checksum => {}
                Ok(v) => panic!(
                    "kernel {}: {runtime} returned {v}, reference checksum is {}: \
                     the kernel or its reference value is wrong",
                    src.name, src.checksum
                ),
                Err(e) => panic!("kernel {}: {runtime}: {e}", src.name),
            }
        }
        let wasmgate_ok = match checksum_of::<Wasmgate>(&wasm) {
            Ok(v) if v == src.checksum => true,
            Ok(v) => {
                failures.push(format!(
                    "kernel {}: wasmgate returned {v} (0x{v:016x}), expected {} (0x{:016x}; \
                     wasmi and wasmtime agree)",
                    src.name, src.checksum, src.checksum
                ));
                false
            }
            Err(e) => {
                failures.push(format!(
                    "kernel {}: wasmgate: {e} (expected checksum {})",
                    src.name, src.checksum
                ));
                false
            }
        };
        kernels.push(Kernel {
            name: src.name,
            wasm,
            wasmgate_ok,
        });
    }
    if failures.is_empty() {
        eprintln!(
            "checksums verified on wasmgate, wasmi and wasmtime: {}",
            KERNELS
                .iter()
                .map(|k| k.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else {
        for f in &failures {
            eprintln!("wasmgate bench verification FAILED: {f}");
        }
        if skip_failing {
            eprintln!("WASMGATE_BENCH_SKIP_FAILING is set: wasmgate is skipped on those kernels");
        } else {
            panic!(
                "wasmgate failed {} kernel(s) (listed above); \
                 set WASMGATE_BENCH_SKIP_FAILING=1 to bench the rest",
                failures.len()
            );
        }
    }
    kernels
}

fn runs_on<R: Runtime>(kernel: &Kernel) -> bool {
    R::NAME != Wasmgate::NAME || kernel.wasmgate_ok
}

fn bench_translate<R: Runtime, M: Measurement>(group: &mut BenchmarkGroup<'_, M>, kernel: &Kernel) {
    if !runs_on::<R>(kernel) {
        return;
    }
    let ctx = R::ctx();
    group.bench_with_input(
        BenchmarkId::new(kernel.name, R::NAME),
        &kernel.wasm[..],
        |b, wasm| b.iter(|| R::compile(&ctx, black_box(wasm)).expect("compile")),
    );
}

fn bench_instantiate<R: Runtime, M: Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    kernel: &Kernel,
) {
    if !runs_on::<R>(kernel) {
        return;
    }
    let ctx = R::ctx();
    let module = R::compile(&ctx, &kernel.wasm).expect("compile");
    group.bench_function(BenchmarkId::new(kernel.name, R::NAME), |b| {
        b.iter(|| R::instantiate(&ctx, &module).expect("instantiate"))
    });
}

fn bench_execute<R: Runtime, M: Measurement>(group: &mut BenchmarkGroup<'_, M>, kernel: &Kernel) {
    if !runs_on::<R>(kernel) {
        return;
    }
    let ctx = R::ctx();
    let module = R::compile(&ctx, &kernel.wasm).expect("compile");
    let mut run = R::runner(&ctx, &module).expect("instantiate");
    group.bench_function(BenchmarkId::new(kernel.name, R::NAME), |b| {
        b.iter(|| run().expect("run"))
    });
}

/// Thread CPU time (user + system) of the benchmarking thread, from
/// `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`: unlike wall-clock time it does not
/// count time spent waiting for a core while other processes run. Everything
/// timed here runs on the calling thread (wasmtime compiles on one thread).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod thread_cpu_time {
    use std::time::Duration;

    use criterion::measurement::{Measurement, ValueFormatter, WallTime};

    pub struct ThreadCpuTime;

    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }

    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

    fn now() -> Duration {
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec (64-bit Linux layout).
        let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    static WALL: WallTime = WallTime;

    impl Measurement for ThreadCpuTime {
        type Intermediate = Duration;
        type Value = Duration;

        fn start(&self) -> Duration {
            now()
        }
        fn end(&self, start: Duration) -> Duration {
            now().saturating_sub(start)
        }
        fn add(&self, a: &Duration, b: &Duration) -> Duration {
            *a + *b
        }
        fn zero(&self) -> Duration {
            Duration::ZERO
        }
        fn to_f64(&self, value: &Duration) -> f64 {
            value.as_nanos() as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            // Same units and formatting as wall-clock time.
            WALL.formatter()
        }
    }
}

fn main() {
    let kernels = verify_kernels();
    let clock = std::env::var("WASMGATE_BENCH_CLOCK").unwrap_or_default();
    match clock.as_str() {
        "" | "wall" => run_benches(Criterion::default().configure_from_args(), &kernels),
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        "cpu" => run_benches(
            Criterion::default()
                .with_measurement(thread_cpu_time::ThreadCpuTime)
                .configure_from_args(),
            &kernels,
        ),
        other => {
            panic!("WASMGATE_BENCH_CLOCK={other:?}: expected `wall` or (on 64-bit Linux) `cpu`")
        }
    }
}

fn run_benches<M: Measurement + 'static>(mut c: Criterion<M>, kernels: &[Kernel]) {
    {
        let mut group = c.benchmark_group("translate");
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for kernel in kernels {
            bench_translate::<Wasmgate, _>(&mut group, kernel);
            bench_translate::<Wasmi, _>(&mut group, kernel);
            bench_translate::<Wasmtime, _>(&mut group, kernel);
        }
        group.finish();
    }

    {
        let mut group = c.benchmark_group("instantiate");
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for kernel in kernels {
            bench_instantiate::<Wasmgate, _>(&mut group, kernel);
            bench_instantiate::<Wasmi, _>(&mut group, kernel);
            bench_instantiate::<Wasmtime, _>(&mut group, kernel);
        }
        group.finish();
    }

    {
        let mut group = c.benchmark_group("execute");
        // Calls take milliseconds: equal-sized samples instead of criterion's
        // linearly growing ones keep the run within the measurement time.
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for kernel in kernels {
            bench_execute::<Wasmgate, _>(&mut group, kernel);
            bench_execute::<Wasmi, _>(&mut group, kernel);
            bench_execute::<Wasmtime, _>(&mut group, kernel);
        }
        group.finish();
    }

    c.final_summary();
}
