//! WASI Preview 1 (`wasi_snapshot_preview1`): a thin ABI layer over the shared WASI state.
//!
//! [`add_to_linker`] defines all 46 P1 functions in a [`Linker`]. Each one decodes its
//! integer arguments, calls the matching function in `host` over the [`WasiCtx`] and the
//! caller's exported `memory`, and returns the `errno` (0 on success). A bad guest pointer
//! traps; `proc_exit` ends the call with [`Error::exit`], so running `_start` returns an
//! error whose [`exit_code`](Error::exit_code) is the status.
//!
//! ```no_run
//! use wasmgate::{Engine, Linker, Module, Store};
//! use wasmgate::wasi::{p1, WasiCtx, WasiCtxBuilder};
//! # fn main() -> Result<(), wasmgate::Error> {
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "app.wasm")?;
//! let mut linker = Linker::<WasiCtx>::new(&engine);
//! p1::add_to_linker(&mut linker, |cx| cx)?;
//! let mut store = Store::new(&engine, WasiCtxBuilder::new().inherit_stdio().build());
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! match start.call(&mut store, ()) {
//!     Ok(()) => {}
//!     Err(e) if e.exit_code().is_some() => println!("exit {}", e.exit_code().unwrap()),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! Set `WASMGATE_TRACE_WASI=1` to log every call and its errno on stderr.

mod host;
mod poll;
mod table;
pub mod types;

use crate::error::Error;
use crate::wasi::filesystem::Dir;
use crate::wasi::WasiCtx;
use crate::{Caller, Linker};
use types::{GuestMemory, P1Error, P1Result};

/// The import module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The P1-specific part of a [`WasiCtx`]: its descriptor table.
#[derive(Debug)]
pub(crate) struct P1State {
    pub(crate) table: table::Descriptors,
}

impl P1State {
    pub(crate) fn new(preopens: &[(Dir, String)]) -> Self {
        P1State {
            table: table::Descriptors::new(preopens),
        }
    }
}

fn trace_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("WASMGATE_TRACE_WASI").is_some_and(|v| v != "0"))
}

/// Runs one host call with the caller's memory (an empty one if it exports none, so any
/// pointer traps) and turns its result into the errno the guest sees.
fn call<T>(
    caller: &mut Caller<'_, T>,
    get_cx: impl Fn(&mut T) -> &mut WasiCtx,
    name: &str,
    args: &[i64],
    f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> P1Result<()>,
) -> Result<i32, Error> {
    let memory = caller.get_export("memory").and_then(|e| e.into_memory());
    let result = match memory {
        Some(memory) => {
            let (bytes, data) = memory.data_and_store_mut(&mut *caller);
            f(get_cx(data), &mut GuestMemory::new(bytes))
        }
        None => f(get_cx(caller.data_mut()), &mut GuestMemory::new(&mut [])),
    };
    let result = match result {
        Ok(()) => Ok(0),
        Err(P1Error::Errno(e)) => Ok(e as i32),
        Err(P1Error::Fatal(e)) => Err(e),
    };
    if trace_enabled() {
        eprintln!("wasi: {name}{args:?} -> {result:?}");
    }
    result
}

macro_rules! define {
    ($linker:ident, $get_cx:ident; $( $name:ident ( $($arg:ident : $ty:ty),* ); )*) => {$(
        $linker.func_wrap(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> Result<i32, Error> {
                call(&mut caller, $get_cx, stringify!($name), &[$($arg as i64),*], |cx, mem| {
                    host::$name(cx, mem, $($arg as _),*)
                })
            },
        )?;
    )*};
}

/// Defines every `wasi_snapshot_preview1` function in `linker`. `get_cx` finds the
/// [`WasiCtx`] in the store's data.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get_cx: impl Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
) -> Result<(), Error> {
    define! { linker, get_cx;
        args_get(argv: i32, argv_buf: i32);
        args_sizes_get(argc: i32, argv_buf_size: i32);
        environ_get(environ: i32, environ_buf: i32);
        environ_sizes_get(count: i32, buf_size: i32);
        clock_res_get(id: i32, ret: i32);
        clock_time_get(id: i32, precision: i64, ret: i32);
        fd_advise(fd: i32, offset: i64, len: i64, advice: i32);
        fd_allocate(fd: i32, offset: i64, len: i64);
        fd_close(fd: i32);
        fd_datasync(fd: i32);
        fd_fdstat_get(fd: i32, ret: i32);
        fd_fdstat_set_flags(fd: i32, flags: i32);
        fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64);
        fd_filestat_get(fd: i32, ret: i32);
        fd_filestat_set_size(fd: i32, size: i64);
        fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, fst_flags: i32);
        fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, ret: i32);
        fd_prestat_get(fd: i32, ret: i32);
        fd_prestat_dir_name(fd: i32, path: i32, path_len: i32);
        fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, ret: i32);
        fd_read(fd: i32, iovs: i32, iovs_len: i32, ret: i32);
        fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, ret: i32);
        fd_renumber(from: i32, to: i32);
        fd_seek(fd: i32, offset: i64, whence: i32, ret: i32);
        fd_sync(fd: i32);
        fd_tell(fd: i32, ret: i32);
        fd_write(fd: i32, iovs: i32, iovs_len: i32, ret: i32);
        path_create_directory(fd: i32, path: i32, path_len: i32);
        path_filestat_get(fd: i32, flags: i32, path: i32, path_len: i32, ret: i32);
        path_filestat_set_times(fd: i32, flags: i32, path: i32, path_len: i32, atim: i64, mtim: i64, fst_flags: i32);
        path_link(old_fd: i32, old_flags: i32, old_path: i32, old_len: i32, new_fd: i32, new_path: i32, new_len: i32);
        path_open(fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32, rights_base: i64, rights_inheriting: i64, fdflags: i32, ret: i32);
        path_readlink(fd: i32, path: i32, path_len: i32, buf: i32, buf_len: i32, ret: i32);
        path_remove_directory(fd: i32, path: i32, path_len: i32);
        path_rename(fd: i32, old_path: i32, old_len: i32, new_fd: i32, new_path: i32, new_len: i32);
        path_symlink(old_path: i32, old_len: i32, fd: i32, new_path: i32, new_len: i32);
        path_unlink_file(fd: i32, path: i32, path_len: i32);
        proc_raise(sig: i32);
        sched_yield();
        random_get(buf: i32, buf_len: i32);
        sock_accept(fd: i32, flags: i32, ret: i32);
        sock_recv(fd: i32, ri_data: i32, ri_data_len: i32, ri_flags: i32, ro_datalen: i32, ro_flags: i32);
        sock_send(fd: i32, si_data: i32, si_data_len: i32, si_flags: i32, ret: i32);
        sock_shutdown(fd: i32, how: i32);
    }
    linker.func_wrap(
        MODULE,
        "poll_oneoff",
        move |mut caller: Caller<'_, T>,
              subs: i32,
              events: i32,
              n: i32,
              ret: i32|
              -> Result<i32, Error> {
            let args = [subs, events, n, ret].map(i64::from);
            call(&mut caller, get_cx, "poll_oneoff", &args, |cx, mem| {
                poll::poll_oneoff(cx, mem, subs as u32, events as u32, n as u32, ret as u32)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        move |mut caller: Caller<'_, T>, code: i32| -> Result<(), Error> {
            if trace_enabled() {
                eprintln!("wasi: proc_exit[{code}]");
            }
            Err(host::proc_exit(get_cx(caller.data_mut()), code as u32))
        },
    )?;
    Ok(())
}

/// The names of the functions [`add_to_linker`] defines, in witx order.
pub const FUNCTIONS: [&str; 46] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];
