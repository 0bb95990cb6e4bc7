//! WASI 0.2 (Preview 2) for components: host implementations of WASI interfaces over the
//! same shared state as P1 ([`WasiCtx`]), with the guest-visible resources (streams, errors)
//! in a [`ResourceTable`].
//!
//! So far a first subset: `wasi:io/error`, `wasi:io/streams` (stdio streams: `read`,
//! `blocking-read`, `check-write`, `write`, `blocking-write-and-flush`, `flush`,
//! `blocking-flush`), `wasi:cli/{environment, exit, stdin, stdout, stderr, terminal-*}`,
//! `wasi:clocks/{wall-clock, monotonic-clock}` (without pollables) and
//! `wasi:random/{random, insecure, insecure-seed}`, and `wasi:filesystem/{types, preopens}`
//! (every `descriptor` method). `wasi:sockets` (`sockets/`): TCP, UDP and name
//! lookup over tokio, every address checked against the context's `--allow-net` ranges.
//! Interfaces are
//! defined at 0.2.12, the WIT of wasmtime-wasi 48; the linker accepts components importing
//! any 0.2.x.
//!
//! ```no_run
//! use wasmgate::component::{Component, Linker, ResourceTable};
//! use wasmgate::wasi::p2::{self, WasiCtxView, WasiView};
//! use wasmgate::wasi::{WasiCtx, WasiCtxBuilder};
//! use wasmgate::{Engine, Store};
//! struct Host { wasi: WasiCtx, table: ResourceTable }
//! impl WasiView for Host {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//! # fn main() -> Result<(), wasmgate::Error> {
//! let engine = Engine::default();
//! let component = Component::from_file(&engine, "hello.wasm")?;
//! let mut linker = Linker::<Host>::new(&engine);
//! p2::add_to_linker(&mut linker)?;
//! let host = Host { wasi: WasiCtxBuilder::new().inherit_stdio().build(), table: ResourceTable::new() };
//! let mut store = Store::new(&engine, host);
//! let instance = linker.instantiate(&mut store, &component)?;
//! let status = p2::run(&mut store, &component, &instance)?;
//! # let _ = status; Ok(()) }
//! ```

mod cli;
mod clocks;
pub(in crate::wasi) mod filesystem;
pub mod http;
mod io;
mod random;
pub(in crate::wasi) mod sockets;

pub use cli::{TerminalInput, TerminalOutput};
pub use clocks::Datetime;
pub use filesystem::Descriptor;
pub use io::{
    ready_now, subscribe, subscribe_fn, HostInputStream, HostOutputStream, InputStream, IoError,
    OutputStream, Pollable, Ready, StreamError, StreamFailure, StreamResult, Subscribe,
};
pub use sockets::{
    ErrorCode as SocketErrorCode, IncomingDatagramStream, Network, OutgoingDatagramStream,
    ResolveAddressStream, TcpSocket, UdpSocket,
};

use crate::component::{Component, Instance, Linker, ResourceTable};
use crate::error::{Error, Result};
use crate::store::AsContextMut;
use crate::wasi::WasiCtx;

/// The version the interfaces are defined at.
pub const VERSION: &str = "0.2.12";

/// What a store's data gives the WASI hosts: the shared state and the resource table.
pub struct WasiCtxView<'a> {
    /// The WASI state.
    pub ctx: &'a mut WasiCtx,
    /// Where guest-visible resources live.
    pub table: &'a mut ResourceTable,
}

/// Store data that holds a [`WasiCtx`] and a [`ResourceTable`].
pub trait WasiView {
    /// Both, borrowed.
    fn ctx(&mut self) -> WasiCtxView<'_>;
}

/// The name of interface `iface` of package `wasi:pkg` at [`VERSION`].
fn name(pkg_iface: &str) -> String {
    format!("wasi:{pkg_iface}@{VERSION}")
}

/// Defines every implemented WASI 0.2 interface in `linker`.
pub fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    io::add_to_linker(linker)?;
    cli::add_to_linker(linker)?;
    clocks::add_to_linker(linker)?;
    random::add_to_linker(linker)?;
    filesystem::add_to_linker(linker)?;
    sockets::add_to_linker(linker)?;
    http::add_to_linker(linker)?;
    Ok(())
}

/// The export name of `wasi:cli/run` a component has, at whatever 0.2.x version.
pub fn run_export(component: &Component) -> Option<&str> {
    component
        .exports()
        .map(|(n, _)| n)
        .find(|n| n.starts_with("wasi:cli/run@0.2."))
}

/// Calls the component's `wasi:cli/run#run`; its result as an exit status (0 for `ok`, 1
/// for `err`). A guest calling `wasi:cli/exit#exit` ends the call with [`Error::exit`].
pub fn run<T: 'static>(
    store: impl AsContextMut<Data = T>,
    component: &Component,
    instance: &Instance,
) -> Result<i32> {
    let iface = run_export(component)
        .ok_or_else(|| Error::msg("the component does not export `wasi:cli/run`"))?;
    call_run(store, instance, iface)
}

/// Calls `run` of the exported instance `iface` (`wasi:cli/run@0.2.x` or `@0.3.x`: both
/// are `run: func() -> result`, the 0.3 one async-lifted, which the call handles).
pub(crate) fn call_run<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    instance: &Instance,
    iface: &str,
) -> Result<i32> {
    let idx = instance
        .get_export_index(&store, None, iface)
        .and_then(|i| instance.get_export_index(&store, Some(&i), "run"))
        .ok_or_else(|| Error::msg(format!("`{iface}` exports no `run` function")))?;
    let run = instance
        .get_typed_func::<(), (std::result::Result<(), ()>,)>(&store, &idx)
        .map_err(|e| e.context(format!("`{iface}#run`")))?;
    let (status,) = run.call(&mut store, ())?;
    Ok(if status.is_ok() { 0 } else { 1 })
}
