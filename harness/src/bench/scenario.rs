//! Bench stage: the scenarios, what each one times, and how each is prepared on every runner.
//!
//! Programs are `harness/bench-programs/<name>.wasm` (C sources in `src/`, rebuilt by its
//! `build.sh`); the kernels are the criterion kernels `runtime/benches/kernels/*.wat`; the
//! suite is the project's `fixtures/`. Every scenario knows its expected output where it can
//! be computed (files it creates are generated here, from fixed seeds), so both runtimes are
//! held to the right answer, not only to each other's.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};

use super::inprocess::{kernel_subject, program_subject, Mode, Program};
use super::process::{
    harness_wasmtime_command, wasmgate_command, wasmtime_cli_command, ProcessRun,
};
use super::suite::SuiteRun;
#[cfg(feature = "wasmi-peer")]
use super::wasmi;
use super::{Output, Subject};

/// What `harness bench` needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Context {
    /// The workspace root.
    pub root: PathBuf,
    /// The wasmgate CLI for process scenarios, or why there is none.
    pub wasmgate_bin: std::result::Result<PathBuf, String>,
    /// The wasmtime CLI for the extra column of process scenarios, or why there is none.
    pub wasmtime_cli: std::result::Result<PathBuf, String>,
}

impl Context {
    /// `harness/bench-programs/`.
    pub fn programs(&self) -> PathBuf {
        self.root.join("harness").join("bench-programs")
    }
}

/// How a scenario is timed.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A program in this process, from its bytes to its exit ([`Mode::Cold`]).
    Cold {
        /// `harness/bench-programs/<program>.wasm`.
        program: &'static str,
    },
    /// A program as a whole process, spawn to exit.
    Process {
        /// `harness/bench-programs/<program>.wasm`.
        program: &'static str,
    },
    /// A program in this process on a module compiled beforehand ([`Mode::Execute`]).
    Execute {
        /// `harness/bench-programs/<program>.wasm`.
        program: &'static str,
        /// Its argv after argv[0], preopens and expected output, made in a temp dir.
        workload: Workload,
    },
    /// One call of a criterion kernel's `run` export.
    Kernel {
        /// The `.wat` file.
        path: PathBuf,
    },
    /// `harness run` over the project's `fixtures/`.
    Suite,
}

/// The workloads of the [`Kind::Execute`] scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `compute.wasm`: no input; the expected output is `compute.stdout`.
    Compute,
    /// `fd_write.wasm`: 200,000 lines of 16 bytes.
    FdWrite,
    /// `read_file.wasm data/big.bin`: a 64 MiB file made for the run.
    ReadFile,
    /// `open_close.wasm` with a directory holding `file.txt`.
    OpenClose,
    /// `poll_clock.wasm`: no input.
    PollClock,
}

/// One benchmark scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `group/name`; the group names its budget file, `budgets/<group>.json`.
    pub name: String,
    /// What a sample times, and what that includes, for the report.
    pub measures: String,
    /// How it is timed.
    pub kind: Kind,
}

impl Scenario {
    /// The group: the part of the name before `/`.
    pub fn group(&self) -> &str {
        self.name.split('/').next().unwrap_or(&self.name)
    }
}

const EXECUTE: &str = "in-process, module compiled beforehand (untimed, shown as `prepare`): \
     a new WASI context and store, instantiation, _start, teardown";

/// Every scenario, in the order they run.
pub fn all(root: &Path) -> Vec<Scenario> {
    let mut list = vec![
        Scenario {
            name: "cold-start/hello".into(),
            measures: "in-process, the module's bytes to its exit: a new engine, compilation \
                 (wasmgate: decode + validate, bodies translated on first call; wasmtime: \
                 Cranelift compiles every function), WASI linking, instantiation, _start, teardown"
                .into(),
            kind: Kind::Cold { program: "hello" },
        },
        Scenario {
            name: "cold-start/hello-process".into(),
            measures: "a whole process, spawn to exit: `wasmgate run hello.wasm` vs this harness \
                 running wasmtime 48 (`harness bench --exec-wasmtime`); includes process start-up, \
                 compilation (Cranelift for wasmtime) and exit"
                .into(),
            kind: Kind::Process { program: "hello" },
        },
        Scenario {
            name: "compute/mix".into(),
            measures: format!(
                "{EXECUTE}; matmul, CRC-32, linked-list sort, lexer, SHA-256 in one C program"
            ),
            kind: Kind::Execute {
                program: "compute",
                workload: Workload::Compute,
            },
        },
        Scenario {
            name: "wasi/fd-write-200k".into(),
            measures: format!(
                "{EXECUTE}; 200,000 fd_write calls of 16 bytes to an in-memory stdout"
            ),
            kind: Kind::Execute {
                program: "fd_write",
                workload: Workload::FdWrite,
            },
        },
        Scenario {
            name: "wasi/read-64mib".into(),
            measures: format!(
                "{EXECUTE}; open + 1,024 fd_read calls of 64 KiB (a 64 MiB file in the page cache)"
            ),
            kind: Kind::Execute {
                program: "read_file",
                workload: Workload::ReadFile,
            },
        },
        Scenario {
            name: "wasi/open-close-10k".into(),
            measures: format!("{EXECUTE}; 10,000 × (path_open + fd_close) of one file"),
            kind: Kind::Execute {
                program: "open_close",
                workload: Workload::OpenClose,
            },
        },
        Scenario {
            name: "wasi/poll-clock-10k".into(),
            measures: format!(
                "{EXECUTE}; 10,000 poll_oneoff calls on a monotonic-clock timeout of 0 ns"
            ),
            kind: Kind::Execute {
                program: "poll_clock",
                workload: Workload::PollClock,
            },
        },
    ];
    let kernels = root.join("runtime").join("benches").join("kernels");
    let mut wats: Vec<PathBuf> = std::fs::read_dir(&kernels)
        .map(|dir| {
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "wat"))
                .collect()
        })
        .unwrap_or_default();
    wats.sort();
    for path in wats {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        list.push(Scenario {
            name: format!("kernel/{stem}"),
            measures: "one call of the kernel's `run` export on an instance made beforehand \
                 (criterion's `execute` group, runtime/benches/kernels)"
                .into(),
            kind: Kind::Kernel { path },
        });
    }
    list.push(Scenario {
        name: "suite/fixtures".into(),
        measures: "wall time of `harness run --runner R` over fixtures/ in this process: \
             discovery, skiplist, every test (one job per core; each test compiles its module, \
             wasmtime's conformance runner at OptLevel::None)"
            .into(),
        kind: Kind::Suite,
    });
    list
}

/// A scenario ready to sample: its subjects (wasmgate, wasmtime, extras: wasmi where its
/// stdio-only WASI suffices, the wasmtime CLI for processes), its expected output if known,
/// and what must live as long as they do.
pub struct Prepared {
    /// wasmgate first, the wasmtime reference second, then extras.
    pub subjects: Vec<Box<dyn Subject>>,
    /// What every run must print.
    pub expected: Option<Output>,
    /// Extras that could not be prepared, with the reason (reported, not an error).
    pub notes: Vec<String>,
    /// The temp dir of generated inputs.
    pub _scratch: Option<tempfile::TempDir>,
}

/// Prepares `scenario`: compiles what is compiled before timing, makes its input files.
pub fn prepare(scenario: &Scenario, cx: &Context) -> Result<Prepared> {
    let runners = ["wasmgate", "wasmtime"];
    let read_program = |name: &str| -> Result<(PathBuf, Arc<Vec<u8>>)> {
        let path = cx.programs().join(format!("{name}.wasm"));
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok((path, Arc::new(bytes)))
    };
    let mut notes = Vec::new();
    let mut scratch = None;
    let mut expected = None;
    let subjects: Vec<Box<dyn Subject>> = match &scenario.kind {
        Kind::Cold { program } => {
            let (path, module) = read_program(program)?;
            expected = expected_for_program(program, cx)?;
            let program = Program {
                module,
                argv: vec![file_name(&path)],
                preopens: Vec::new(),
            };
            #[cfg_attr(not(feature = "wasmi-peer"), allow(unused_mut))]
            let mut subjects: Vec<Box<dyn Subject>> = runners
                .iter()
                .map(|r| program_subject(r, program.clone(), Mode::Cold))
                .collect::<Result<_>>()?;
            #[cfg(feature = "wasmi-peer")]
            subjects.push(Box::new(wasmi::ProgramRun::new(&program, Mode::Cold)?));
            subjects
        }
        Kind::Process { program } => {
            let (path, _) = read_program(program)?;
            expected = expected_for_program(program, cx)?;
            let bin = cx.wasmgate_bin.clone().map_err(anyhow::Error::msg)?;
            let mut subjects: Vec<Box<dyn Subject>> = vec![
                Box::new(ProcessRun::new(
                    "wasmgate",
                    wasmgate_command(&bin, &path, &[]),
                )),
                Box::new(ProcessRun::new(
                    "wasmtime",
                    harness_wasmtime_command(&path, &[])?,
                )),
            ];
            match &cx.wasmtime_cli {
                Ok(cli) => subjects.push(Box::new(ProcessRun::new(
                    "wasmtime-cli",
                    wasmtime_cli_command(cli, &path, &[]),
                ))),
                Err(why) => notes.push(format!("wasmtime-cli not timed: {why}")),
            }
            subjects
        }
        Kind::Execute { program, workload } => {
            let (path, module) = read_program(program)?;
            let dir = tempfile::Builder::new()
                .prefix("wasmgate-bench-")
                .tempdir()
                .context("cannot make a temp dir")?;
            let (args, preopens, want) = make_workload(*workload, dir.path(), cx)?;
            scratch = Some(dir);
            expected = Some(want);
            let mut argv = vec![file_name(&path)];
            argv.extend(args);
            let program = Program {
                module,
                argv,
                preopens,
            };
            #[cfg_attr(not(feature = "wasmi-peer"), allow(unused_mut))]
            let mut subjects: Vec<Box<dyn Subject>> = runners
                .iter()
                .map(|r| program_subject(r, program.clone(), Mode::Execute))
                .collect::<Result<_>>()?;
            // wasmi's stdio-only WASI runs the programs without files.
            #[cfg(feature = "wasmi-peer")]
            if *workload == Workload::Compute {
                subjects.push(Box::new(wasmi::ProgramRun::new(&program, Mode::Execute)?));
            }
            subjects
        }
        Kind::Kernel { path } => {
            let bytes =
                wat::parse_file(path).with_context(|| format!("cannot read {}", path.display()))?;
            let module = Arc::new(bytes);
            #[cfg_attr(not(feature = "wasmi-peer"), allow(unused_mut))]
            let mut subjects: Vec<Box<dyn Subject>> = runners
                .iter()
                .map(|r| kernel_subject(r, module.clone()))
                .collect::<Result<_>>()?;
            #[cfg(feature = "wasmi-peer")]
            subjects.push(Box::new(wasmi::KernelRun::new(&module)?));
            subjects
        }
        Kind::Suite => {
            let fixtures = cx.root.join("fixtures");
            runners
                .iter()
                .map(|r| {
                    SuiteRun::new(r, cx.root.clone(), vec![fixtures.clone()])
                        .map(|s| Box::new(s) as Box<dyn Subject>)
                })
                .collect::<Result<_>>()?
        }
    };
    Ok(Prepared {
        subjects,
        expected,
        notes,
        _scratch: scratch,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module.wasm".into())
}

/// The expected output of a program that takes no input: `<program>.stdout` if present.
fn expected_for_program(program: &str, cx: &Context) -> Result<Option<Output>> {
    if program == "hello" {
        return Ok(Some(Output::exit0("Hello, world!\n")));
    }
    let path = cx.programs().join(format!("{program}.stdout"));
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(Output::exit0(bytes)))
}

/// The size of the file `read_file.wasm` reads.
pub const READ_FILE_BYTES: usize = 64 << 20;
/// The guest's read size.
const READ_CHUNK: usize = 64 << 10;
/// How many `fd_write` calls `fd_write.wasm` makes.
const FD_WRITES: u32 = 200_000;

type WorkloadParts = (Vec<String>, Vec<(PathBuf, String)>, Output);

/// Makes a workload's inputs under `dir`; returns the program's arguments, its preopens and
/// its expected output.
fn make_workload(workload: Workload, dir: &Path, cx: &Context) -> Result<WorkloadParts> {
    Ok(match workload {
        Workload::Compute => {
            let want = expected_for_program("compute", cx)?
                .context("harness/bench-programs/compute.stdout is missing")?;
            (Vec::new(), Vec::new(), want)
        }
        Workload::FdWrite => (Vec::new(), Vec::new(), Output::exit0(fd_write_output())),
        Workload::ReadFile => {
            let data = dir.join("data");
            std::fs::create_dir(&data)?;
            let checksum = write_read_file_input(&data.join("big.bin"))?;
            let want = format!(
                "read {READ_FILE_BYTES} bytes in {} reads, checksum {checksum:016x}\n",
                READ_FILE_BYTES / READ_CHUNK
            );
            (
                vec!["data/big.bin".into()],
                vec![(data, "data".into())],
                Output::exit0(want),
            )
        }
        Workload::OpenClose => {
            let data = dir.join("dir");
            std::fs::create_dir(&data)?;
            std::fs::write(data.join("file.txt"), "a file opened 10,000 times\n")?;
            (
                Vec::new(),
                vec![(data, "dir".into())],
                Output::exit0("10000 opens and closes\n"),
            )
        }
        Workload::PollClock => (
            Vec::new(),
            Vec::new(),
            Output::exit0("10000 polls, 10000 clock events\n"),
        ),
    })
}

/// What `fd_write.wasm` prints: `fd_write 000000\n`, counting up in hex.
pub fn fd_write_output() -> Vec<u8> {
    let mut out = Vec::with_capacity(FD_WRITES as usize * 16);
    for i in 0..FD_WRITES {
        out.extend_from_slice(format!("fd_write {i:06x}\n").as_bytes());
    }
    out
}

/// Writes the 64 MiB input of `read_file.wasm` (an xorshift64 stream) and returns the
/// checksum the guest computes over it (one word every 512 bytes of each 64 KiB read).
pub fn write_read_file_input(path: &Path) -> Result<u64> {
    let mut file = BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut sum: u64 = 0;
    let mut chunk = vec![0u8; READ_CHUNK];
    for _ in 0..READ_FILE_BYTES / READ_CHUNK {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        sum = read_file_checksum(sum, &chunk);
        file.write_all(&chunk)?;
    }
    file.flush()?;
    Ok(sum)
}

/// The guest's checksum step over one chunk it read.
fn read_file_checksum(mut sum: u64, chunk: &[u8]) -> u64 {
    let mut i = 0;
    while i + 8 <= chunk.len() {
        let w = u64::from_le_bytes(chunk[i..i + 8].try_into().expect("8 bytes"));
        sum = (sum ^ w).wrapping_mul(0x0100_0000_01b3);
        i += 512;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_unique_and_grouped() {
        let root = crate::workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")));
        let list = all(&root);
        let mut names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), list.len());
        assert!(list.iter().all(|s| s.name.matches('/').count() == 1));
        assert!(names.contains(&"compute/mix"));
    }

    #[test]
    fn fd_write_output_is_sixteen_byte_lines() {
        let out = fd_write_output();
        assert_eq!(out.len(), 200_000 * 16);
        assert_eq!(&out[..16], b"fd_write 000000\n");
        assert_eq!(&out[out.len() - 16..], b"fd_write 030d3f\n");
    }
}
