//! WASI: the state every preview shares ([`cli`], [`clocks`], [`filesystem`], [`random`],
//! [`sockets`]) in one [`WasiCtx`], and the ABI layers over it ([`p1`]:
//! `wasi_snapshot_preview1`).
//!
//! A context is made with [`WasiCtxBuilder`], whose methods take `&mut self` and return
//! `&mut Self` (as wasmtime-wasi's do), so calls chain on a temporary and `build()` ends
//! the chain:
//!
//! ```no_run
//! use wasmgate::wasi::{OutputPipe, WasiCtxBuilder};
//! # fn main() -> Result<(), wasmgate::Error> {
//! let out = OutputPipe::new();
//! let ctx = WasiCtxBuilder::new()
//!     .args(&["prog.wasm", "a"])
//!     .env("K", "V")
//!     .stdout(out.clone())
//!     .preopened_dir("/tmp", "/sandbox")?
//!     .build();
//! # let _ = ctx; Ok(()) }
//! ```
//!
//! By default a context has no arguments, no environment, an empty stdin, discarded
//! stdout/stderr and no preopened directory: the guest gets only what it is given.
//! The filesystem is Unix-only for now (it uses `rustix` for positional I/O and flags).

pub mod block;
pub mod cli;
pub mod clocks;
pub mod filesystem;
pub mod p1;
pub mod p2;
pub mod p3;
pub mod random;
pub mod registry;
pub mod sockets;

pub use cli::{InputPipe, OutputPipe};

use crate::error::Error;
use cli::{CliCtx, OutputStream, StdinStream};
use clocks::Clocks;
use filesystem::Dir;
use std::path::Path;

/// The WASI state of one guest: what it may see and touch. Put it (or a struct holding
/// it) in the `Store`'s data and link a preview with e.g. [`p1::add_to_linker`].
#[derive(Debug)]
pub struct WasiCtx {
    pub(crate) cli: CliCtx,
    pub(crate) clocks: Clocks,
    pub(crate) preopens: Vec<(Dir, String)>,
    pub(crate) p1: p1::P1State,
    /// The addresses WASI 0.2 sockets may use.
    pub(crate) net: sockets::NetPolicy,
    /// WASI 0.3 TCP sockets (a `tcp-socket` handle's representation indexes it).
    pub(crate) p3_tcp: p3::sockets::TcpSockets,
}

impl WasiCtx {
    /// The arguments the guest sees (`argv`, program name first).
    pub fn args(&self) -> &[String] {
        &self.cli.args
    }

    /// The environment the guest sees.
    pub fn env(&self) -> &[(String, String)] {
        &self.cli.env
    }

    /// The preopened directories' guest names, in descriptor order (P1 fds 3, 4, ...).
    pub fn preopen_names(&self) -> impl Iterator<Item = &str> {
        self.preopens.iter().map(|(_, name)| name.as_str())
    }
}

impl Default for WasiCtx {
    /// A context that grants nothing (as `WasiCtxBuilder::new().build()`).
    fn default() -> Self {
        WasiCtxBuilder::new().build()
    }
}

/// Builds a [`WasiCtx`]. See the [module docs](self) for the calling style.
#[derive(Debug, Default)]
pub struct WasiCtxBuilder {
    cli: CliCtx,
    preopens: Vec<(Dir, String)>,
    net: sockets::NetPolicy,
}

impl WasiCtxBuilder {
    /// A builder for a context that grants nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends arguments. `argv[0]`, the program name, is the caller's to include.
    pub fn args<S: AsRef<str>>(&mut self, args: impl IntoIterator<Item = S>) -> &mut Self {
        self.cli
            .args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Appends one argument.
    pub fn arg(&mut self, arg: impl AsRef<str>) -> &mut Self {
        self.cli.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds an environment variable.
    pub fn env(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        self.cli
            .env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Adds several environment variables.
    pub fn envs<K: AsRef<str>, V: AsRef<str>>(&mut self, env: &[(K, V)]) -> &mut Self {
        for (k, v) in env {
            self.env(k, v);
        }
        self
    }

    /// Adds every variable of the host process's environment (those that are UTF-8).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (k, v) in std::env::vars_os() {
            if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
                self.cli.env.push((k, v));
            }
        }
        self
    }

    /// Reads stdin from an in-memory pipe.
    pub fn stdin(&mut self, pipe: InputPipe) -> &mut Self {
        self.cli.stdin = StdinStream::Pipe(pipe);
        self
    }

    /// Reads stdin from the host process's stdin.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.cli.stdin = StdinStream::Inherit;
        self
    }

    /// Writes stdout into an in-memory pipe.
    pub fn stdout(&mut self, pipe: OutputPipe) -> &mut Self {
        self.cli.stdout = OutputStream::Pipe(pipe);
        self
    }

    /// Writes stdout to the host process's stdout.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.cli.stdout = OutputStream::InheritStdout;
        self
    }

    /// Writes stderr into an in-memory pipe.
    pub fn stderr(&mut self, pipe: OutputPipe) -> &mut Self {
        self.cli.stderr = OutputStream::Pipe(pipe);
        self
    }

    /// Writes stderr to the host process's stderr.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.cli.stderr = OutputStream::InheritStderr;
        self
    }

    /// Inherits stdin, stdout and stderr.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Gives the guest the host directory `host_path` under the name `guest_path`
    /// (read-write). Everything the guest reaches through it stays beneath it.
    /// Fails, naming the path, if the directory cannot be opened.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl AsRef<str>,
    ) -> Result<&mut Self, Error> {
        let host_path = host_path.as_ref();
        let dir = Dir::open_ambient(host_path).map_err(|e| {
            Error::msg(format!(
                "failed to open directory {} to preopen it: {e}",
                host_path.display()
            ))
        })?;
        self.preopens.push((dir, guest_path.as_ref().to_owned()));
        Ok(self)
    }

    /// Lets the guest's sockets use the addresses in `cidr` (`127.0.0.0/8`, `::1/128`, or a
    /// bare address): bind to them, connect and send to them, accept and receive from them.
    /// Without any, no socket can be created (`access-denied`) and name lookup is refused;
    /// any range also allows name lookup. Repeatable. Fails on a malformed range.
    pub fn allow_net(&mut self, cidr: impl AsRef<str>) -> Result<&mut Self, Error> {
        self.net.allow(cidr.as_ref()).map_err(Error::msg)?;
        Ok(self)
    }

    /// Lets the guest's sockets use every address (as wasmtime's `-S inherit-network`).
    pub fn inherit_network(&mut self) -> &mut Self {
        self.net.allow_all();
        self
    }

    /// Finishes the context, leaving this builder empty.
    pub fn build(&mut self) -> WasiCtx {
        let cli = std::mem::take(&mut self.cli);
        let preopens = std::mem::take(&mut self.preopens);
        let p1 = p1::P1State::new(&preopens);
        WasiCtx {
            cli,
            clocks: Clocks::default(),
            preopens,
            p1,
            net: std::mem::take(&mut self.net),
            p3_tcp: Default::default(),
        }
    }
}
