//! WASI P1 through the whole stack: WAT guests, the engine, the linker and
//! `wasmgate::wasi::p1`. Most tests drive a "syscall" guest that exports one wasm wrapper
//! per P1 import (so every call really crosses the wasm/host boundary with the guest's
//! memory) and check errnos and memory; a few run `_start` programs end to end.
//! The sandbox tests try to leave the preopened directory in every way we know of.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use wasmgate::wasi::{p1, InputPipe, OutputPipe, WasiCtx, WasiCtxBuilder};
use wasmgate::{Engine, Error, Instance, Linker, Memory, Module, Store, Val};

// errno values (witx numbering).
const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EEXIST: i32 = 20;
const EINVAL: i32 = 28;
const EISDIR: i32 = 31;
const ELOOP: i32 = 32;
const ENAMETOOLONG: i32 = 37;
const ENOENT: i32 = 44;
const ENOTDIR: i32 = 54;
const ENOTEMPTY: i32 = 55;
const ENOTSOCK: i32 = 57;
const ENOTSUP: i32 = 58;
const EPERM: i32 = 63;
const ESPIPE: i32 = 70;
/// What legacy runtimes returned for missing rights; wasmtime-wasi (and so wasmgate)
/// reports sandbox escapes as EPERM instead, and never returns it.
const ENOTCAPABLE: i32 = 76;

const RIGHT_FD_READ: i64 = 1 << 1;
const RIGHT_FD_WRITE: i64 = 1 << 6;
const RW: i64 = RIGHT_FD_READ | RIGHT_FD_WRITE;
const O_CREAT: i64 = 1;
const O_DIRECTORY: i64 = 2;
const O_EXCL: i64 = 4;
const O_TRUNC: i64 = 8;
const FOLLOW: i64 = 1;
const PREOPEN: i64 = 3;

/// Every P1 import with its parameter types (all return an errno, but `proc_exit`).
const SIGNATURES: &[(&str, &str)] = &[
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_advise", "iIIi"),
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_exit", "i"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

fn wasm_ty(c: char) -> &'static str {
    if c == 'I' {
        "i64"
    } else {
        "i32"
    }
}

/// A module importing every P1 function and exporting a wasm wrapper for each.
fn syscall_guest_wat() -> String {
    let mut imports = String::new();
    let mut wrappers = String::new();
    for (name, params) in SIGNATURES {
        let ps: Vec<_> = params.chars().map(wasm_ty).collect();
        let result = if *name == "proc_exit" {
            ""
        } else {
            "(result i32)"
        };
        let plist = ps.join(" ");
        imports.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {plist}) {result}))\n"
        ));
        let gets: String = (0..ps.len()).map(|i| format!("local.get {i} ")).collect();
        wrappers.push_str(&format!(
            "(func (export \"{name}\") (param {plist}) {result} {gets} call ${name})\n"
        ));
    }
    format!("(module\n{imports}(memory (export \"memory\") 2)\n{wrappers})")
}

/// A fresh host directory for one test: `root/` (preopened) and, beside it, `outside`,
/// which no guest may reach.
struct Sandbox {
    base: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir().join(format!(
            "wasmgate-wasi-p1-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/sub")).unwrap();
        std::fs::write(base.join("outside"), b"secret").unwrap();
        std::fs::create_dir(base.join("outside-dir")).unwrap();
        std::fs::write(base.join("root/file"), b"hello").unwrap();
        Sandbox { base }
    }
    fn root(&self) -> PathBuf {
        self.base.join("root")
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
    }
    fn assert_outside_untouched(&self) {
        assert_eq!(std::fs::read(self.path("outside")).unwrap(), b"secret");
        let mut names: Vec<_> = std::fs::read_dir(&self.base)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["outside", "outside-dir", "root"]);
        assert_eq!(
            std::fs::read_dir(self.path("outside-dir")).unwrap().count(),
            0
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// The syscall guest, instantiated, with a bump allocator over its memory.
struct Guest {
    store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
    next: u32,
}

impl Guest {
    fn new(ctx: WasiCtx) -> Guest {
        let engine = Engine::default();
        let module = Module::new(&engine, syscall_guest_wat()).unwrap();
        let mut linker = Linker::new(&engine);
        p1::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
        let mut store = Store::new(&engine, ctx);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Guest {
            store,
            instance,
            memory,
            next: 1024,
        }
    }

    fn with_dir(dir: &Path) -> Guest {
        Guest::new(
            WasiCtxBuilder::new()
                .preopened_dir(dir, "/sandbox")
                .unwrap()
                .build(),
        )
    }

    /// Calls the wrapper for `name`; `Err` for a trap or an exit.
    fn try_call(&mut self, name: &str, args: &[i64]) -> Result<i32, Error> {
        let params = SIGNATURES.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(params.len(), args.len(), "arity of {name}");
        let vals: Vec<Val> = params
            .chars()
            .zip(args)
            .map(|(c, &a)| {
                if c == 'I' {
                    Val::I64(a)
                } else {
                    Val::I32(a as i32)
                }
            })
            .collect();
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        let mut results = vec![Val::I32(0); usize::from(name != "proc_exit")];
        func.call(&mut self.store, &vals, &mut results)?;
        Ok(results.first().map_or(0, |v| v.unwrap_i32()))
    }

    /// Calls `name` with an argument that is not a value of its witx type: like wasmtime,
    /// that ends the run with an error (not an errno, and not a trap).
    fn assert_invalid_arg(&mut self, name: &str, args: &[i64]) {
        let err = self.try_call(name, args).unwrap_err();
        assert!(
            err.as_trap().is_none() && err.exit_code().is_none(),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("invalid value"), "{name}: {err}");
    }

    /// Calls `name` and returns its errno.
    fn call(&mut self, name: &str, args: &[i64]) -> i32 {
        self.try_call(name, args)
            .unwrap_or_else(|e| panic!("{name}{args:?} failed: {e}"))
    }

    fn alloc(&mut self, size: u32) -> i64 {
        let at = (self.next + 7) & !7;
        self.next = at + size;
        at as i64
    }

    fn bytes(&mut self, data: &[u8]) -> (i64, i64) {
        let at = self.alloc(data.len() as u32);
        self.memory
            .write(&mut self.store, at as usize, data)
            .unwrap();
        (at, data.len() as i64)
    }

    fn read(&self, at: i64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.memory
            .read(&self.store, at as usize, &mut buf)
            .unwrap();
        buf
    }

    fn u32_at(&self, at: i64) -> u32 {
        u32::from_le_bytes(self.read(at, 4).try_into().unwrap())
    }

    fn u64_at(&self, at: i64) -> u64 {
        u64::from_le_bytes(self.read(at, 8).try_into().unwrap())
    }

    /// An iovec array of one buffer.
    fn iovec(&mut self, buf: i64, len: i64) -> i64 {
        let mut iov = Vec::new();
        iov.extend_from_slice(&(buf as u32).to_le_bytes());
        iov.extend_from_slice(&(len as u32).to_le_bytes());
        self.bytes(&iov).0
    }

    /// `path_open` under `dir`; `Ok(fd)` or `Err(errno)`.
    fn open(
        &mut self,
        dir: i64,
        follow: i64,
        path: &str,
        oflags: i64,
        rights: i64,
    ) -> Result<i64, i32> {
        let (p, l) = self.bytes(path.as_bytes());
        let ret = self.alloc(4);
        match self.call("path_open", &[dir, follow, p, l, oflags, rights, 0, 0, ret]) {
            ESUCCESS => Ok(i64::from(self.u32_at(ret))),
            e => Err(e),
        }
    }

    /// Calls a path function whose arguments are `(fd, path, len)`.
    fn path_op(&mut self, name: &str, dir: i64, path: &str) -> i32 {
        let (p, l) = self.bytes(path.as_bytes());
        self.call(name, &[dir, p, l])
    }

    fn write(&mut self, fd: i64, data: &[u8]) -> Result<u32, i32> {
        let (b, l) = self.bytes(data);
        let iov = self.iovec(b, l);
        let ret = self.alloc(4);
        match self.call("fd_write", &[fd, iov, 1, ret]) {
            ESUCCESS => Ok(self.u32_at(ret)),
            e => Err(e),
        }
    }

    fn read_fd(&mut self, fd: i64, len: i64) -> Result<Vec<u8>, i32> {
        let buf = self.alloc(len as u32);
        let iov = self.iovec(buf, len);
        let ret = self.alloc(4);
        match self.call("fd_read", &[fd, iov, 1, ret]) {
            ESUCCESS => {
                let n = self.u32_at(ret) as usize;
                Ok(self.read(buf, n))
            }
            e => Err(e),
        }
    }

    fn filestat(&mut self, dir: i64, follow: i64, path: &str) -> Result<(u8, u64), i32> {
        let (p, l) = self.bytes(path.as_bytes());
        let ret = self.alloc(64);
        match self.call("path_filestat_get", &[dir, follow, p, l, ret]) {
            ESUCCESS => Ok((self.read(ret + 16, 1)[0], self.u64_at(ret + 32))),
            e => Err(e),
        }
    }
}

#[test]
fn links_all_46_functions_under_their_names() {
    assert_eq!(SIGNATURES.len(), 46);
    for (name, _) in SIGNATURES {
        assert!(p1::FUNCTIONS.contains(name), "{name}");
    }
    // Instantiating proves every import resolved with the right type.
    let _ = Guest::new(WasiCtxBuilder::new().build());
}

#[test]
fn args_and_environ() {
    let mut g = Guest::new(
        WasiCtxBuilder::new()
            .args(["prog.wasm", "a", "bé"])
            .env("K", "V")
            .env("EMPTY", "")
            .build(),
    );
    let (argc, size) = (g.alloc(4), g.alloc(4));
    assert_eq!(g.call("args_sizes_get", &[argc, size]), ESUCCESS);
    assert_eq!((g.u32_at(argc), g.u32_at(size)), (3, 10 + 2 + 4));
    let (argv, buf) = (g.alloc(12), g.alloc(16));
    assert_eq!(g.call("args_get", &[argv, buf]), ESUCCESS);
    assert_eq!(g.read(buf, 16), b"prog.wasm\0a\0b\xc3\xa9\0");
    assert_eq!(g.u32_at(argv + 4) as i64, buf + 10);
    assert_eq!(g.call("environ_sizes_get", &[argc, size]), ESUCCESS);
    assert_eq!((g.u32_at(argc), g.u32_at(size)), (2, 4 + 7));
    let (envp, ebuf) = (g.alloc(8), g.alloc(11));
    assert_eq!(g.call("environ_get", &[envp, ebuf]), ESUCCESS);
    assert_eq!(g.read(ebuf, 11), b"K=V\0EMPTY=\0");
    // Results pointing outside memory trap rather than return an errno.
    assert!(g.try_call("args_get", &[0x7fff_fff0, buf]).is_err());
}

#[test]
fn no_host_environment_unless_asked() {
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    let (count, size) = (g.alloc(4), g.alloc(4));
    assert_eq!(g.call("environ_sizes_get", &[count, size]), ESUCCESS);
    assert_eq!(g.u32_at(count), 0);
    let mut g = Guest::new(WasiCtxBuilder::new().inherit_env().build());
    assert_eq!(g.call("environ_sizes_get", &[count, size]), ESUCCESS);
    assert_eq!(g.u32_at(count) as usize, std::env::vars().count());
}

#[test]
fn clocks() {
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    let ret = g.alloc(8);
    for id in [0, 1] {
        assert_eq!(g.call("clock_res_get", &[id, ret]), ESUCCESS);
        assert!(g.u64_at(ret) > 0);
    }
    assert_eq!(g.call("clock_time_get", &[0, 1, ret]), ESUCCESS);
    let wall = g.u64_at(ret);
    let host = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(host.abs_diff(wall) < 10_000_000_000);
    assert_eq!(g.call("clock_time_get", &[1, 1, ret]), ESUCCESS);
    let a = g.u64_at(ret);
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(g.call("clock_time_get", &[1, 1, ret]), ESUCCESS);
    assert!(g.u64_at(ret) >= a + 2_000_000);
    assert_eq!(g.call("clock_time_get", &[2, 1, ret]), EBADF);
    g.assert_invalid_arg("clock_res_get", &[9, ret]);
    g.assert_invalid_arg("clock_time_get", &[4, 1, ret]);
}

#[test]
fn random_get_fills_and_bounds_are_checked() {
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    let buf = g.alloc(256);
    assert_eq!(g.call("random_get", &[buf, 256]), ESUCCESS);
    assert!(g.read(buf, 256).iter().any(|&b| b != 0));
    assert_eq!(g.call("random_get", &[buf, 0]), ESUCCESS);
    assert!(g.try_call("random_get", &[2 * 65536 - 8, 16]).is_err());
}

#[test]
fn stdio_pipes() {
    let out = OutputPipe::new();
    let err = OutputPipe::new();
    let mut g = Guest::new(
        WasiCtxBuilder::new()
            .stdin(InputPipe::new("input!"))
            .stdout(out.clone())
            .stderr(err.clone())
            .build(),
    );
    assert_eq!(g.write(1, b"hello "), Ok(6));
    assert_eq!(g.write(1, b"world"), Ok(5));
    assert_eq!(g.write(2, b"oops"), Ok(4));
    assert_eq!(out.contents(), b"hello world");
    assert_eq!(err.contents(), b"oops");
    assert_eq!(g.read_fd(0, 4), Ok(b"inpu".to_vec()));
    assert_eq!(g.read_fd(0, 4), Ok(b"t!".to_vec()));
    assert_eq!(g.read_fd(0, 4), Ok(vec![]));
    // Wrong direction, seeking and positional I/O on streams.
    assert_eq!(g.write(0, b"x"), Err(EBADF));
    assert_eq!(g.read_fd(1, 4), Err(EBADF));
    let ret = g.alloc(8);
    assert_eq!(g.call("fd_seek", &[1, 0, 0, ret]), ESPIPE);
    assert_eq!(g.call("fd_tell", &[0, ret]), ESPIPE);
    let (b, l) = g.bytes(b"x");
    let iov = g.iovec(b, l);
    assert_eq!(g.call("fd_pwrite", &[1, iov, 1, 0, ret]), ESPIPE);
    assert_eq!(g.call("fd_pread", &[0, iov, 1, 0, ret]), ESPIPE);
    // fdstat: pipes are not terminals; stdout may only be written.
    let st = g.alloc(24);
    assert_eq!(g.call("fd_fdstat_get", &[1, st]), ESUCCESS);
    assert_eq!(g.read(st, 1)[0], 0);
    assert_eq!(g.u64_at(st + 8), RIGHT_FD_WRITE as u64);
    assert_eq!(g.call("fd_fdstat_get", &[77, st]), EBADF);
    assert_eq!(g.call("fd_filestat_get", &[2, st]), ESUCCESS);
    assert_eq!(g.write(9, b"x"), Err(EBADF));
}

#[test]
fn prestat() {
    let sb = Sandbox::new("prestat");
    let mut g = Guest::with_dir(&sb.root());
    let ret = g.alloc(8);
    assert_eq!(g.call("fd_prestat_get", &[PREOPEN, ret]), ESUCCESS);
    assert_eq!((g.read(ret, 1)[0], g.u32_at(ret + 4)), (0, 8));
    let name = g.alloc(8);
    assert_eq!(g.call("fd_prestat_dir_name", &[PREOPEN, name, 8]), ESUCCESS);
    assert_eq!(g.read(name, 8), b"/sandbox");
    assert_eq!(
        g.call("fd_prestat_dir_name", &[PREOPEN, name, 7]),
        ENAMETOOLONG
    );
    assert_eq!(g.call("fd_prestat_get", &[0, ret]), EBADF);
    assert_eq!(g.call("fd_prestat_get", &[4, ret]), EBADF);
    assert_eq!(g.call("fd_prestat_dir_name", &[1, name, 8]), ENOTDIR);
    let st = g.alloc(24);
    assert_eq!(g.call("fd_fdstat_get", &[PREOPEN, st]), ESUCCESS);
    assert_eq!(g.read(st, 1)[0], 3, "a directory");
}

#[test]
fn preopen_of_a_missing_directory_names_it() {
    let err = WasiCtxBuilder::new()
        .preopened_dir("/no/such/dir/wasmgate", "/x")
        .unwrap_err();
    assert!(err.to_string().contains("/no/such/dir/wasmgate"), "{err}");
}

#[test]
fn file_io_seek_and_stat() {
    let sb = Sandbox::new("files");
    let mut g = Guest::with_dir(&sb.root());
    let fd = g.open(PREOPEN, 0, "new.txt", O_CREAT, RW).unwrap();
    assert!(fd > PREOPEN);
    assert_eq!(g.write(fd, b"0123456789"), Ok(10));
    let ret = g.alloc(8);
    assert_eq!(g.call("fd_tell", &[fd, ret]), ESUCCESS);
    assert_eq!(g.u64_at(ret), 10);
    assert_eq!(g.call("fd_seek", &[fd, -4, 1, ret]), ESUCCESS);
    assert_eq!(g.u64_at(ret), 6);
    assert_eq!(g.read_fd(fd, 100), Ok(b"6789".to_vec()));
    assert_eq!(g.call("fd_seek", &[fd, -1, 0, ret]), EINVAL);
    g.assert_invalid_arg("fd_seek", &[fd, 0, 7, ret]);
    assert_eq!(g.call("fd_seek", &[fd, -2, 2, ret]), ESUCCESS);
    assert_eq!(g.u64_at(ret), 8);
    // Positional I/O leaves the cursor alone.
    let buf = g.alloc(4);
    let iov = g.iovec(buf, 4);
    assert_eq!(g.call("fd_pread", &[fd, iov, 1, 1, ret]), ESUCCESS);
    assert_eq!((g.u32_at(ret), g.read(buf, 4)), (4, b"1234".to_vec()));
    let (b, l) = g.bytes(b"AB");
    let iov = g.iovec(b, l);
    assert_eq!(g.call("fd_pwrite", &[fd, iov, 1, 0, ret]), ESUCCESS);
    assert_eq!(g.call("fd_tell", &[fd, ret]), ESUCCESS);
    assert_eq!(g.u64_at(ret), 8);
    assert_eq!(
        std::fs::read(sb.root().join("new.txt")).unwrap(),
        b"AB23456789"
    );
    // Size, times, advice, sync.
    let st = g.alloc(64);
    assert_eq!(g.call("fd_filestat_get", &[fd, st]), ESUCCESS);
    assert_eq!((g.read(st + 16, 1)[0], g.u64_at(st + 32)), (4, 10));
    assert_eq!(g.call("fd_filestat_set_size", &[fd, 3]), ESUCCESS);
    assert_eq!(g.filestat(PREOPEN, 0, "new.txt"), Ok((4, 3)));
    assert_eq!(
        g.call("fd_filestat_set_times", &[fd, 0, 5_000_000_000, 4]),
        ESUCCESS
    );
    assert_eq!(g.call("fd_filestat_get", &[fd, st]), ESUCCESS);
    assert_eq!(g.u64_at(st + 48), 5_000_000_000);
    assert_eq!(g.call("fd_filestat_set_times", &[fd, 0, 0, 1 | 2]), EINVAL);
    g.assert_invalid_arg("fd_filestat_set_times", &[fd, 0, 0, 16]);
    assert_eq!(g.call("fd_advise", &[fd, 0, 0, 1]), ESUCCESS);
    g.assert_invalid_arg("fd_advise", &[fd, 0, 0, 6]);
    g.assert_invalid_arg("fd_fdstat_set_flags", &[fd, 32]);
    g.assert_invalid_arg("fd_fdstat_set_rights", &[fd, 1 << 40, 0]);
    assert_eq!(g.call("fd_allocate", &[fd, 0, 10]), ENOTSUP);
    assert_eq!(g.call("fd_sync", &[fd]), ESUCCESS);
    assert_eq!(g.call("fd_datasync", &[fd]), ESUCCESS);
    assert_eq!(g.call("fd_fdstat_set_rights", &[fd, 0, 0]), ENOTSUP);
    // Append mode: writes go to the end whatever the cursor says.
    assert_eq!(g.call("fd_fdstat_set_flags", &[fd, 1]), ESUCCESS);
    assert_eq!(g.call("fd_seek", &[fd, 0, 0, ret]), ESUCCESS);
    assert_eq!(g.write(fd, b"Z"), Ok(1));
    assert_eq!(std::fs::read(sb.root().join("new.txt")).unwrap(), b"AB2Z");
    let fst = g.alloc(24);
    assert_eq!(g.call("fd_fdstat_get", &[fd, fst]), ESUCCESS);
    assert_eq!(g.read(fst + 2, 2), [1, 0]);
    assert_eq!(g.call("fd_fdstat_set_flags", &[fd, 16]), EINVAL);
    // Close; then every use is EBADF.
    assert_eq!(g.call("fd_close", &[fd]), ESUCCESS);
    assert_eq!(g.call("fd_close", &[fd]), EBADF);
    assert_eq!(g.write(fd, b"x"), Err(EBADF));
    assert_eq!(g.call("fd_filestat_get", &[fd, st]), EBADF);
    // Read-only and write-only descriptors.
    let ro = g.open(PREOPEN, 0, "file", 0, RIGHT_FD_READ).unwrap();
    assert_eq!(g.write(ro, b"x"), Err(EBADF));
    assert_eq!(g.read_fd(ro, 10), Ok(b"hello".to_vec()));
    assert_eq!(g.call("fd_fdstat_get", &[ro, fst]), ESUCCESS);
    assert_eq!(g.u64_at(fst + 8) & RIGHT_FD_WRITE as u64, 0);
    let wo = g.open(PREOPEN, 0, "file", O_TRUNC, RIGHT_FD_WRITE).unwrap();
    assert_eq!(g.read_fd(wo, 10), Err(EBADF));
    assert_eq!(g.filestat(PREOPEN, 0, "file"), Ok((4, 0)));
}

#[test]
fn renumber() {
    let sb = Sandbox::new("renumber");
    let mut g = Guest::with_dir(&sb.root());
    let a = g.open(PREOPEN, 0, "file", 0, RIGHT_FD_READ).unwrap();
    let b = g
        .open(PREOPEN, 0, "sub", O_DIRECTORY, RIGHT_FD_READ)
        .unwrap();
    assert_eq!(g.call("fd_renumber", &[a, b]), ESUCCESS);
    assert_eq!(g.read_fd(b, 10), Ok(b"hello".to_vec()));
    assert_eq!(g.read_fd(a, 10), Err(EBADF));
    assert_eq!(g.call("fd_renumber", &[a, b]), EBADF);
    assert_eq!(g.call("fd_renumber", &[b, 99]), EBADF);
    assert_eq!(g.call("fd_renumber", &[b, b]), ESUCCESS);
}

#[test]
fn directories_and_error_paths() {
    let sb = Sandbox::new("dirs");
    let mut g = Guest::with_dir(&sb.root());
    assert_eq!(g.path_op("path_create_directory", PREOPEN, "d"), ESUCCESS);
    assert_eq!(g.path_op("path_create_directory", PREOPEN, "d"), EEXIST);
    assert_eq!(
        g.path_op("path_create_directory", PREOPEN, "no/such"),
        ENOENT
    );
    assert_eq!(
        g.path_op("path_create_directory", PREOPEN, "file/x"),
        ENOTDIR
    );
    assert_eq!(g.open(PREOPEN, 0, "missing", 0, RW), Err(ENOENT));
    assert_eq!(g.open(PREOPEN, 0, "file", O_DIRECTORY, 0), Err(ENOTDIR));
    assert_eq!(g.open(PREOPEN, 0, "file/", 0, RIGHT_FD_READ), Err(ENOTDIR));
    assert_eq!(
        g.open(PREOPEN, 0, "file", O_CREAT | O_EXCL, RW),
        Err(EEXIST)
    );
    assert_eq!(
        g.open(PREOPEN, 0, "sub", O_CREAT | O_DIRECTORY, 0),
        Err(EINVAL)
    );
    assert_eq!(g.open(PREOPEN, 0, "sub", 0, RIGHT_FD_WRITE), Err(EISDIR));
    let (sp, sl) = g.bytes(b"sub");
    g.assert_invalid_arg("path_open", &[PREOPEN, 0, sp, sl, 64, 0, 0, 0, 0]);
    g.assert_invalid_arg("path_open", &[PREOPEN, 0, sp, sl, 0, 0, 0, 1 << 5, 0]);
    g.assert_invalid_arg("path_open", &[PREOPEN, 0, sp, sl, 0, -1, 0, 0, 0]);
    assert_eq!(g.open(99, 0, "file", 0, 0), Err(EBADF));
    let f = g.open(PREOPEN, 0, "file", 0, RIGHT_FD_READ).unwrap();
    assert_eq!(g.open(f, 0, "x", 0, 0), Err(ENOTDIR));
    assert_eq!(g.path_op("path_create_directory", f, "x"), EBADF);
    assert_eq!(g.path_op("path_create_directory", 1, "x"), EBADF);
    std::fs::write(sb.root().join("d/inner"), b"").unwrap();
    assert_eq!(g.path_op("path_remove_directory", PREOPEN, "d"), ENOTEMPTY);
    assert_eq!(g.path_op("path_remove_directory", PREOPEN, "file"), ENOTDIR);
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "d"), EISDIR);
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "d/inner"), ESUCCESS);
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "d/inner"), ENOENT);
    assert_eq!(g.path_op("path_remove_directory", PREOPEN, "d"), ESUCCESS);
    assert_eq!(g.filestat(PREOPEN, 0, "d"), Err(ENOENT));
    assert_eq!(
        g.filestat(PREOPEN, 0, "sub"),
        Ok((3, g.filestat(PREOPEN, 0, "sub").unwrap().1))
    );
    let (p, l) = g.bytes(b"file");
    let st = g.alloc(64);
    g.assert_invalid_arg("path_filestat_get", &[PREOPEN, 2, p, l, st]);
    assert_eq!(
        g.call(
            "path_filestat_set_times",
            &[PREOPEN, 0, p, l, 7_000_000_000, 0, 1]
        ),
        ESUCCESS
    );
    assert_eq!(
        g.call("path_filestat_get", &[PREOPEN, 0, p, l, st]),
        ESUCCESS
    );
    assert_eq!(g.u64_at(st + 40), 7_000_000_000);
    assert_eq!(
        g.call("path_filestat_set_times", &[PREOPEN, 0, p, l, 0, 0, 4 | 8]),
        EINVAL
    );
    // Invalid UTF-8 in a path.
    let (bad, bl) = g.bytes(&[0xff, 0xfe]);
    assert_eq!(
        g.call("path_create_directory", &[PREOPEN, bad, bl]),
        25,
        "EILSEQ"
    );
}

#[test]
fn rename_link_symlink_readlink() {
    let sb = Sandbox::new("links");
    let mut g = Guest::with_dir(&sb.root());
    let (a, al) = g.bytes(b"file");
    let (b, bl) = g.bytes(b"sub/moved");
    assert_eq!(
        g.call("path_rename", &[PREOPEN, a, al, PREOPEN, b, bl]),
        ESUCCESS
    );
    assert_eq!(
        std::fs::read(sb.root().join("sub/moved")).unwrap(),
        b"hello"
    );
    assert_eq!(
        g.call("path_rename", &[PREOPEN, a, al, PREOPEN, b, bl]),
        ENOENT
    );
    let (h, hl) = g.bytes(b"hard");
    assert_eq!(
        g.call("path_link", &[PREOPEN, 0, b, bl, PREOPEN, h, hl]),
        ESUCCESS
    );
    assert_eq!(
        g.call("path_link", &[PREOPEN, 0, b, bl, PREOPEN, h, hl]),
        EEXIST
    );
    assert_eq!(
        g.call("path_link", &[PREOPEN, FOLLOW, b, bl, PREOPEN, a, al]),
        EINVAL
    );
    assert_eq!(g.filestat(PREOPEN, 0, "hard").map(|s| s.1), Ok(5));
    let (t, tl) = g.bytes(b"sub/moved");
    let (s, sl) = g.bytes(b"sym");
    assert_eq!(g.call("path_symlink", &[t, tl, PREOPEN, s, sl]), ESUCCESS);
    assert_eq!(g.call("path_symlink", &[t, tl, PREOPEN, s, sl]), EEXIST);
    let buf = g.alloc(64);
    let ret = g.alloc(4);
    assert_eq!(
        g.call("path_readlink", &[PREOPEN, s, sl, buf, 64, ret]),
        ESUCCESS
    );
    assert_eq!(g.read(buf, g.u32_at(ret) as usize), b"sub/moved");
    assert_eq!(
        g.call("path_readlink", &[PREOPEN, s, sl, buf, 3, ret]),
        ESUCCESS
    );
    assert_eq!(g.u32_at(ret), 3, "truncated to the buffer");
    assert_eq!(
        g.call("path_readlink", &[PREOPEN, h, hl, buf, 64, ret]),
        EINVAL
    );
    assert_eq!(g.filestat(PREOPEN, 0, "sym").map(|s| s.0), Ok(7));
    assert_eq!(g.filestat(PREOPEN, FOLLOW, "sym").map(|s| s.0), Ok(4));
    assert_eq!(g.open(PREOPEN, 0, "sym", 0, RIGHT_FD_READ), Err(ELOOP));
    let fd = g.open(PREOPEN, FOLLOW, "sym", 0, RIGHT_FD_READ).unwrap();
    assert_eq!(g.read_fd(fd, 10), Ok(b"hello".to_vec()));
    // Loops.
    let (l1, l1l) = g.bytes(b"loop");
    assert_eq!(
        g.call("path_symlink", &[l1, l1l, PREOPEN, l1, l1l]),
        ESUCCESS
    );
    assert_eq!(
        g.open(PREOPEN, FOLLOW, "loop", 0, RIGHT_FD_READ),
        Err(ELOOP)
    );
    assert_eq!(g.filestat(PREOPEN, FOLLOW, "loop"), Err(ELOOP));
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "loop"), ESUCCESS);
    // Renaming a directory onto a non-empty one, and a file onto a directory.
    std::fs::create_dir(sb.root().join("d1")).unwrap();
    let (d1, d1l) = g.bytes(b"d1");
    let (sub, subl) = g.bytes(b"sub");
    assert_eq!(
        g.call("path_rename", &[PREOPEN, d1, d1l, PREOPEN, sub, subl]),
        ENOTEMPTY
    );
    assert_eq!(
        g.call("path_rename", &[PREOPEN, h, hl, PREOPEN, d1, d1l]),
        EISDIR
    );
}

#[test]
fn readdir_with_cookies() {
    let sb = Sandbox::new("readdir");
    for name in ["a", "bb", "ccc"] {
        std::fs::write(sb.root().join("sub").join(name), name).unwrap();
    }
    let mut g = Guest::with_dir(&sb.root());
    let dir = g
        .open(PREOPEN, 0, "sub", O_DIRECTORY, RIGHT_FD_READ)
        .unwrap();
    let list = |g: &mut Guest, cookie: i64, size: i64| -> (Vec<(u64, String)>, u32) {
        let buf = g.alloc(size as u32);
        let ret = g.alloc(4);
        assert_eq!(
            g.call("fd_readdir", &[dir, buf, size, cookie, ret]),
            ESUCCESS
        );
        let used = g.u32_at(ret);
        let data = g.read(buf, used as usize);
        let mut out = Vec::new();
        let mut at = 0usize;
        while at + 24 <= data.len() {
            let next = u64::from_le_bytes(data[at..at + 8].try_into().unwrap());
            let namlen = u32::from_le_bytes(data[at + 16..at + 20].try_into().unwrap()) as usize;
            if at + 24 + namlen > data.len() {
                break;
            }
            out.push((
                next,
                String::from_utf8(data[at + 24..at + 24 + namlen].to_vec()).unwrap(),
            ));
            at += 24 + namlen;
        }
        (out, used)
    };
    let (all, used) = list(&mut g, 0, 4096);
    assert!(used < 4096);
    let mut names: Vec<_> = all.iter().map(|(_, n)| n.clone()).collect();
    names.sort();
    assert_eq!(names, [".", "..", "a", "bb", "ccc"]);
    // Resuming at each entry's cookie gives the rest, in the same order.
    for (i, (next, _)) in all.iter().enumerate() {
        let (rest, _) = list(&mut g, *next as i64, 4096);
        assert_eq!(rest, all[i + 1..].to_vec());
    }
    // A small buffer is filled completely (the guest then retries with a bigger one).
    let (_, used) = list(&mut g, 0, 30);
    assert_eq!(used, 30);
    let ret = g.alloc(4);
    assert_eq!(g.call("fd_readdir", &[0, 0, 10, 0, ret]), EBADF);
    let f = g.open(PREOPEN, 0, "file", 0, RIGHT_FD_READ).unwrap();
    assert_eq!(g.call("fd_readdir", &[f, 0, 10, 0, ret]), EBADF);
}

/// At least the attacks of the issue's escape suite, each a separate assertion; the
/// outside file and directory must be untouched afterwards.
#[test]
fn sandbox_escapes_fail() {
    let sb = Sandbox::new("escape");
    std::os::unix::fs::symlink(sb.path("outside"), sb.root().join("host-abs")).unwrap();
    std::os::unix::fs::symlink("../outside", sb.root().join("host-rel")).unwrap();
    std::os::unix::fs::symlink("../outside-dir", sb.root().join("host-dir")).unwrap();
    let mut g = Guest::with_dir(&sb.root());
    let escapes = [
        "../outside",
        "../root/../outside",
        "sub/../../outside",
        "sub/../../../../../../etc/passwd",
        "/etc/passwd",
        "/",
        "..",
        "host-abs",
        "host-rel",
        "host-dir/x",
        "./../outside",
    ];
    for path in escapes {
        let e = g.open(PREOPEN, FOLLOW, path, 0, RIGHT_FD_READ).unwrap_err();
        assert!(e == EPERM || e == ENOTCAPABLE, "open {path}: {e}");
        let e = g.filestat(PREOPEN, FOLLOW, path).unwrap_err();
        assert_eq!(e, EPERM, "stat {path}");
    }
    // Creating through the escapes.
    for path in ["../new", "host-dir/new", "/tmp/new"] {
        assert_eq!(
            g.open(PREOPEN, FOLLOW, path, O_CREAT, RW),
            Err(EPERM),
            "create {path}"
        );
        assert_eq!(
            g.path_op("path_create_directory", PREOPEN, path),
            EPERM,
            "mkdir {path}"
        );
    }
    assert_eq!(g.path_op("path_unlink_file", PREOPEN, "../outside"), EPERM);
    assert_eq!(
        g.path_op("path_remove_directory", PREOPEN, "../outside-dir"),
        EPERM
    );
    assert_eq!(
        g.path_op("path_remove_directory", PREOPEN, "host-dir/"),
        EPERM
    );
    // Symlinks the guest makes: absolute targets are refused; relative ones that climb
    // out can be created but never followed.
    let (abs, absl) = g.bytes(b"/etc/passwd");
    let (l, ll) = g.bytes(b"mine");
    assert_eq!(g.call("path_symlink", &[abs, absl, PREOPEN, l, ll]), EPERM);
    let (up, upl) = g.bytes(b"../outside");
    assert_eq!(g.call("path_symlink", &[up, upl, PREOPEN, l, ll]), ESUCCESS);
    assert_eq!(
        g.open(PREOPEN, FOLLOW, "mine", 0, RIGHT_FD_READ),
        Err(EPERM)
    );
    assert_eq!(g.open(PREOPEN, FOLLOW, "mine", O_TRUNC, RW), Err(EPERM));
    assert_eq!(g.filestat(PREOPEN, FOLLOW, "mine"), Err(EPERM));
    let (up2, up2l) = g.bytes(b"../..");
    let (l2, l2l) = g.bytes(b"sub/parent");
    assert_eq!(
        g.call("path_symlink", &[up2, up2l, PREOPEN, l2, l2l]),
        ESUCCESS
    );
    assert_eq!(
        g.open(PREOPEN, FOLLOW, "sub/parent/outside", 0, RIGHT_FD_READ),
        Err(EPERM)
    );
    let (l3, l3l) = g.bytes(b"../escape-link");
    assert_eq!(g.call("path_symlink", &[up, upl, PREOPEN, l3, l3l]), EPERM);
    // Reading an absolute host symlink back is refused too.
    let (ha, hal) = g.bytes(b"host-abs");
    let buf = g.alloc(64);
    let ret = g.alloc(4);
    assert_eq!(
        g.call("path_readlink", &[PREOPEN, ha, hal, buf, 64, ret]),
        EPERM
    );
    // Hard links and renames, in both directions and through symlinks.
    let (f, fl) = g.bytes(b"file");
    let (out, outl) = g.bytes(b"../stolen");
    let (o, ol) = g.bytes(b"../outside");
    let (hd, hdl) = g.bytes(b"host-dir/stolen");
    assert_eq!(
        g.call("path_link", &[PREOPEN, 0, f, fl, PREOPEN, out, outl]),
        EPERM
    );
    assert_eq!(
        g.call("path_link", &[PREOPEN, 0, o, ol, PREOPEN, f, fl]),
        EPERM
    );
    assert_eq!(
        g.call("path_link", &[PREOPEN, 0, f, fl, PREOPEN, hd, hdl]),
        EPERM
    );
    assert_eq!(
        g.call("path_rename", &[PREOPEN, f, fl, PREOPEN, out, outl]),
        EPERM
    );
    assert_eq!(
        g.call("path_rename", &[PREOPEN, o, ol, PREOPEN, f, fl]),
        EPERM
    );
    assert_eq!(
        g.call("path_rename", &[PREOPEN, f, fl, PREOPEN, hd, hdl]),
        EPERM
    );
    // Opening `..` of a subdirectory stays inside, and from there `..` is refused.
    let sub = g
        .open(PREOPEN, 0, "sub", O_DIRECTORY, RIGHT_FD_READ)
        .unwrap();
    let up = g
        .open(sub, 0, "..", O_DIRECTORY, RIGHT_FD_READ)
        .unwrap_err();
    assert_eq!(up, EPERM, "a subdirectory is its own sandbox root");
    // Times and stat through the escapes.
    let (p, pl) = g.bytes(b"../outside");
    assert_eq!(
        g.call(
            "path_filestat_set_times",
            &[PREOPEN, FOLLOW, p, pl, 0, 0, 2]
        ),
        EPERM
    );
    let (hr, hrl) = g.bytes(b"host-rel");
    assert_eq!(
        g.call(
            "path_filestat_set_times",
            &[PREOPEN, FOLLOW, hr, hrl, 0, 0, 2]
        ),
        EPERM
    );
    sb.assert_outside_untouched();
}

#[test]
fn poll_oneoff_clocks_and_fds() {
    let out = OutputPipe::new();
    let mut g = Guest::new(
        WasiCtxBuilder::new()
            .stdin(InputPipe::new("x"))
            .stdout(out)
            .build(),
    );
    // One relative monotonic clock of 20ms.
    let sub = |userdata: u64, tag: u8, a: u32, timeout: u64| {
        let mut s = vec![0u8; 48];
        s[0..8].copy_from_slice(&userdata.to_le_bytes());
        s[8] = tag;
        s[16..20].copy_from_slice(&a.to_le_bytes());
        s[24..32].copy_from_slice(&timeout.to_le_bytes());
        s
    };
    let (subs, _) = g.bytes(&sub(7, 0, 1, 20_000_000));
    let events = g.alloc(64);
    let n = g.alloc(4);
    let t = Instant::now();
    assert_eq!(g.call("poll_oneoff", &[subs, events, 1, n]), ESUCCESS);
    assert!(t.elapsed() >= Duration::from_millis(20));
    assert_eq!(g.u32_at(n), 1);
    assert_eq!(
        (g.u64_at(events), g.read(events + 8, 3)),
        (7, vec![0, 0, 0])
    );
    // A long clock with a ready stdin and stdout: the fds win at once.
    let mut both = sub(1, 0, 1, 60_000_000_000);
    both.extend(sub(2, 1, 0, 0));
    both.extend(sub(3, 2, 1, 0));
    let (subs, _) = g.bytes(&both);
    let events = g.alloc(3 * 32);
    let t = Instant::now();
    assert_eq!(g.call("poll_oneoff", &[subs, events, 3, n]), ESUCCESS);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(g.u32_at(n), 2);
    assert_eq!((g.u64_at(events), g.read(events + 10, 1)[0]), (2, 1));
    assert_eq!((g.u64_at(events + 32), g.read(events + 42, 1)[0]), (3, 2));
    // Errors.
    assert_eq!(g.call("poll_oneoff", &[subs, events, 0, n]), EINVAL);
    let (bad, _) = g.bytes(&sub(1, 1, 42, 0));
    assert_eq!(g.call("poll_oneoff", &[bad, events, 1, n]), EBADF);
    let (badclock, _) = g.bytes(&sub(1, 0, 9, 0));
    assert_eq!(g.call("poll_oneoff", &[badclock, events, 1, n]), EINVAL);
}

#[test]
fn process_and_sockets() {
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    assert_eq!(g.call("sched_yield", &[]), ESUCCESS);
    assert_eq!(g.call("proc_raise", &[6]), ENOTSUP);
    g.assert_invalid_arg("proc_raise", &[31]);
    g.assert_invalid_arg("sock_shutdown", &[1, 4]);
    g.assert_invalid_arg("sock_send", &[1, 0, 0, 1, 0]);
    let ret = g.alloc(8);
    assert_eq!(g.call("sock_accept", &[1, 0, ret]), ENOTSOCK);
    assert_eq!(g.call("sock_accept", &[42, 0, ret]), EBADF);
    assert_eq!(g.call("sock_recv", &[0, 0, 0, 0, ret, ret + 4]), ENOTSOCK);
    assert_eq!(g.call("sock_send", &[1, 0, 0, 0, ret]), ENOTSOCK);
    assert_eq!(g.call("sock_shutdown", &[1, 3]), ENOTSOCK);
    assert_eq!(g.call("sock_shutdown", &[42, 3]), EBADF);
    let err = g.try_call("proc_exit", &[3]).unwrap_err();
    assert_eq!(err.exit_code(), Some(3));
    let err = g.try_call("proc_exit", &[200]).unwrap_err();
    assert_eq!(
        err.exit_code(),
        None,
        "statuses above 125 are an error, as in wasmtime"
    );
}

/// Runs a `_start` program; returns (exit code, stdout).
fn run_command(wat: &str, ctx: &mut WasiCtxBuilder, out: &OutputPipe) -> (Option<i32>, Vec<u8>) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut linker = Linker::new(&engine);
    p1::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, ctx.build());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let code = match start.call(&mut store, ()) {
        Ok(()) => Some(0),
        Err(e) => e.exit_code(),
    };
    (code, out.contents())
}

#[test]
fn hello_world_command_and_exit_code() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hello, world\n")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 13))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (call $exit (i32.load (i32.const 8)))
            unreachable))"#;
    let out = OutputPipe::new();
    let (code, stdout) = run_command(wat, WasiCtxBuilder::new().stdout(out.clone()), &out);
    assert_eq!(stdout, b"hello, world\n");
    assert_eq!(code, Some(13), "exits with the byte count fd_write stored");
}

#[test]
fn a_module_without_memory_traps_on_pointers() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "args_sizes_get" (func $a (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
        (func (export "_start") (drop (call $y)) (drop (call $a (i32.const 0) (i32.const 4)))))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut linker = Linker::new(&engine);
    p1::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let err = start.call(&mut store, ()).unwrap_err();
    assert!(err.as_trap().is_some(), "{err}");
}

/// `wasmgate run` with WASI: argv, `--env`, `--inherit-env`, `--dir HOST::GUEST`, the
/// guest's exit status, and exit 134 for a trap.
#[test]
fn cli_runs_wasi_commands() {
    let sb = Sandbox::new("cli");
    // Prints argv[0..] and the environment, opens `/data/file` from the preopen, and exits
    // with the number of environment variables.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "args_sizes_get" (func $as (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "args_get" (func $ag (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "environ_sizes_get" (func $es (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "environ_get" (func $eg (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 200) "file")
        (func $print (param $ptr i32) (param $len i32)
            (i32.store (i32.const 0) (local.get $ptr))
            (i32.store (i32.const 4) (local.get $len))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
        (func (export "_start")
            ;; argv: sizes at 16/20, pointers at 1024, strings at 2048; print the buffer.
            (drop (call $as (i32.const 16) (i32.const 20)))
            (drop (call $ag (i32.const 1024) (i32.const 2048)))
            (call $print (i32.const 2048) (i32.load (i32.const 20)))
            ;; environ: the same at 24/28, 3072, 4096.
            (drop (call $es (i32.const 24) (i32.const 28)))
            (drop (call $eg (i32.const 3072) (i32.const 4096)))
            (call $print (i32.const 4096) (i32.load (i32.const 28)))
            ;; fd 3 is the preopen: read `file` into 5000 and print it.
            (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 4)
                    (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 32)))
                (then
                    (i32.store (i32.const 40) (i32.const 5000))
                    (i32.store (i32.const 44) (i32.const 100))
                    (drop (call $read (i32.load (i32.const 32)) (i32.const 40) (i32.const 1) (i32.const 48)))
                    (call $print (i32.const 5000) (i32.load (i32.const 48)))))
            (call $exit (i32.load (i32.const 24)))))"#;
    let file = sb.path("prog.wat");
    std::fs::write(&file, wat).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmgate"))
            .args(args)
            .env("WASMGATE_CLI_TEST", "1")
            .output()
            .unwrap();
        (out.status.code(), out.stdout, out.stderr)
    };
    let file = file.to_str().unwrap();
    let dir = format!("{}::/data", sb.root().display());
    let (code, out, _) = run(&["run", "--dir", &dir, "--env", "A=1", file, "x", "y z"]);
    let mut want = format!("{file}\0x\0y z\0A=1\0").into_bytes();
    want.extend_from_slice(b"hello");
    assert_eq!(
        (code, String::from_utf8_lossy(&out)),
        (Some(1), String::from_utf8_lossy(&want))
    );
    // No environment unless asked; `--env NAME` passes the host's value.
    let (code, _, _) = run(&["run", file]);
    assert_eq!(code, Some(0));
    let (code, out, _) = run(&["run", "--env", "WASMGATE_CLI_TEST", file]);
    assert_eq!(code, Some(1));
    assert!(out.ends_with(b"WASMGATE_CLI_TEST=1\0"));
    let (code, _, _) = run(&["run", "--inherit-env", file]);
    assert_eq!(code, Some(std::env::vars().count() as i32 + 1));
    // A missing directory is an error naming it.
    let (code, _, err) = run(&["run", "--dir", "/no/such/dir/wasmgate", file]);
    assert_eq!(code, Some(1));
    assert!(String::from_utf8_lossy(&err).contains("/no/such/dir/wasmgate"));
    // A trap exits 134 with the trap and a wasm backtrace naming the functions.
    let trap = sb.path("trap.wat");
    std::fs::write(
        &trap,
        r#"(module
            (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
            (func $inner unreachable)
            (func $_start (export "_start") (drop (call $y)) (call $inner)))"#,
    )
    .unwrap();
    let (code, _, err) = run(&["run", trap.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, Some(134), "{err}");
    assert!(
        err.contains("wasm trap: unreachable") && err.contains("inner"),
        "{err}"
    );
}
