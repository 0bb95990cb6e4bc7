//! The `wasmgate` command line: `wasmgate run [--invoke NAME] [--dir HOST[::GUEST]]...
//! [--env NAME[=VALUE]]... [--inherit-env] [--allow-net CIDR]... FILE [ARGS...]`.
//!
//! A module runs with WASI Preview 1 (`wasi_snapshot_preview1`): argv is `FILE` as given
//! followed by `ARGS`, stdio is inherited, and the guest sees only the directories and
//! environment variables granted with `--dir`, `--env` and `--inherit-env`. When the guest
//! calls `proc_exit`, the process exits with its status.
//!
//! A component (told apart by its header) runs with WASI 0.2 instead: its `wasi:cli/run`
//! export is called, and `err` from it, like `wasi:cli/exit`'s `exit(err)`, is status 1.
//!
//! Output and exit codes follow the wasmtime CLI: each result of an invoked function on its own
//! line on stdout; errors on stderr with exit status 1; a trap prints the failing module, the
//! trap and a wasm backtrace on stderr and exits with 134 (128 + SIGABRT), as wasmtime does.
//!
//! The code is laid out so WASI can be plugged in: [`RunCommand`] holds the options,
//! [`RunCommand::build_linker`] is the one place that fills the [`Linker`], and [`Host`] is the
//! store data a WASI context would live in.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wasmgate::component::{self, Component, ResourceTable};
use wasmgate::wasi::{p1, p2, WasiCtx, WasiCtxBuilder};
use wasmgate::{
    CompilationMode, Config, Engine, Error, Func, Instance, Linker, Module, Store, Trap, Val,
    ValType,
};

/// Exit status of a trapped guest: 128 + SIGABRT, like wasmtime on Unix.
const TRAP_EXIT_STATUS: u8 = 134;

/// A lean WebAssembly interpreter.
#[derive(Parser)]
#[command(name = "wasmgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a WebAssembly module.
    Run(RunCommand),
    /// Serves HTTP requests with a component's `wasi:http/incoming-handler` export.
    Serve(ServeCommand),
}

/// Runs a WebAssembly module (binary `.wasm` or text `.wat`).
#[derive(Args)]
struct RunCommand {
    /// The function to call (an export of the module). Without it the module's "" or `_start`
    /// export runs, if it has one.
    #[arg(long, value_name = "FUNCTION")]
    invoke: Option<String>,

    /// The module to run, then the arguments: with `--invoke`, the function's parameters (i32 and
    /// i64 in decimal or 0x hex, f32 and f64 as decimals); otherwise the program's arguments.
    #[arg(
        value_name = "WASM",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    module_and_args: Vec<OsString>,

    /// Grants the guest a host directory: `HOST` is preopened under the name `GUEST`
    /// (default: `HOST` as given). Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,

    /// Passes an environment variable to the guest: `NAME=VALUE`, or `NAME` alone for the
    /// host's value. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,

    /// Passes the whole host environment to the guest (by default it sees none).
    #[arg(long)]
    inherit_env: bool,

    /// Lets a component's `wasi:sockets` use the addresses in `CIDR` (`127.0.0.0/8`,
    /// `::1/128`, or one address): bind to them, connect and send to them, accept and
    /// receive from them. By default no socket can be created (`access-denied`) and name
    /// lookup is refused; any `--allow-net` allows both. Repeatable.
    #[arg(long = "allow-net", value_name = "CIDR")]
    allow_net: Vec<String>,

    /// Wasm options, spelled as wasmtime's: `-W unknown-imports-trap[=y|n]` (a function
    /// import nobody provides fails when called, naming itself) or
    /// `-W unknown-imports-default[=y|n]` (it returns zeros). Comma-separated or repeated.
    #[arg(short = 'W', value_name = "KEY[=y|n]")]
    wasm_options: Vec<String>,
}

/// What `-W` asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct WasmOptions {
    unknown_imports_trap: bool,
    unknown_imports_default: bool,
}

impl WasmOptions {
    /// Parses every `-W` value; an unknown key or value is an error that lists the known ones.
    fn parse(values: &[String]) -> Result<WasmOptions, String> {
        let mut opts = WasmOptions::default();
        for item in values.iter().flat_map(|v| v.split(',')) {
            let (key, value) = item.split_once('=').unwrap_or((item, "y"));
            let on = match value {
                "y" | "yes" | "true" => true,
                "n" | "no" | "false" => false,
                other => return Err(format!("-W {key}: `{other}` is not a boolean (use y or n)")),
            };
            match key {
                "unknown-imports-trap" => opts.unknown_imports_trap = on,
                "unknown-imports-default" => opts.unknown_imports_default = on,
                other => {
                    return Err(format!(
                        "unknown -W option `{other}` (supported: unknown-imports-trap, \
                         unknown-imports-default)"
                    ))
                }
            }
        }
        if opts.unknown_imports_trap && opts.unknown_imports_default {
            return Err(
                "-W unknown-imports-trap and unknown-imports-default exclude each other".into(),
            );
        }
        Ok(opts)
    }
}

/// Data every store of the CLI carries: the guest's WASI context.
#[derive(Default)]
struct Host {
    wasi: WasiCtx,
    /// WASI 0.2 resources of a component.
    table: ResourceTable,
}

/// How a failed run ends.
enum RunError {
    /// The guest trapped: exit 134 with the trap and its backtrace. `context` runs outermost
    /// first.
    Trap { context: Vec<String>, trap: Trap },
    /// The guest asked to exit with this status.
    Exit(i32),
    /// Anything else: exit 1 with the chain of messages, outermost first.
    Other(Vec<String>),
}

impl RunError {
    fn msg(msg: impl Into<String>) -> Self {
        RunError::Other(vec![msg.into()])
    }

    fn with_outer_context(self, outer: &str) -> Self {
        match self {
            RunError::Trap { mut context, trap } => {
                context.insert(0, outer.to_string());
                RunError::Trap { context, trap }
            }
            RunError::Other(mut chain) => {
                chain.insert(0, outer.to_string());
                RunError::Other(chain)
            }
            e @ RunError::Exit(_) => e,
        }
    }
}

impl RunCommand {
    fn module_path(&self) -> PathBuf {
        PathBuf::from(&self.module_and_args[0])
    }

    fn args(&self) -> &[OsString] {
        &self.module_and_args[1..]
    }

    /// The engine configuration. Bodies are validated and translated on first call
    /// (`CompilationMode::Lazy`), so a big module starts in milliseconds; an invalid body is
    /// reported, with the file and its offset, when it is first called.
    fn config(&self) -> Config {
        let mut config = Config::new();
        config.compilation_mode(CompilationMode::Lazy);
        config
    }

    /// Fills the linker with the host functions the module may import (all of WASI P1) and
    /// gives the store the guest's WASI context (`--dir`, `--env`, `--inherit-env`, argv).
    fn build_linker(
        &self,
        engine: &Engine,
        store: &mut Store<Host>,
    ) -> Result<Linker<Host>, Error> {
        let mut linker = Linker::new(engine);
        p1::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
        store.data_mut().wasi = self.wasi_ctx()?;
        Ok(linker)
    }

    /// The guest's WASI context from `--dir`, `--env`, `--inherit-env` and the arguments.
    fn wasi_ctx(&self) -> Result<WasiCtx, Error> {
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio();
        for arg in &self.module_and_args {
            let arg = arg
                .to_str()
                .ok_or_else(|| Error::msg(format!("argument {arg:?} is not valid UTF-8")))?;
            builder.arg(arg);
        }
        if self.inherit_env {
            builder.inherit_env();
        }
        for env in &self.envs {
            match env.split_once('=') {
                Some((name, value)) => builder.env(name, value),
                None => match std::env::var(env) {
                    Ok(value) => builder.env(env, value),
                    Err(_) => continue,
                },
            };
        }
        for dir in &self.dirs {
            let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
            builder.preopened_dir(host, guest)?;
        }
        for cidr in &self.allow_net {
            builder
                .allow_net(cidr)
                .map_err(|e| Error::msg(format!("--allow-net {cidr}: {e}")))?;
        }
        Ok(builder.build())
    }

    fn execute(&self) -> Result<(), RunError> {
        let path = self.module_path();
        let engine = Engine::new(&self.config());
        if is_component_file(&path) {
            return self.execute_component(&engine, &path);
        }
        // `from_file` names the file in its errors, and the offset for a bad binary.
        let module = Module::from_file(&engine, &path).map_err(|e| RunError::msg(e.to_string()))?;
        let mut store = Store::new(&engine, Host::default());
        let mut linker = self
            .build_linker(&engine, &mut store)
            .map_err(|e| wrap_error(vec!["failed to set up the host functions".to_string()], e))?;
        let options = WasmOptions::parse(&self.wasm_options).map_err(RunError::msg)?;
        let unknown = if options.unknown_imports_trap {
            linker.define_unknown_imports_as_traps(&module)
        } else if options.unknown_imports_default {
            linker.define_unknown_imports_as_default_values(&module)
        } else {
            Ok(())
        };
        unknown
            .map_err(|e| wrap_error(vec!["failed to set up the host functions".to_string()], e))?;

        let main_context = format!("failed to run main module `{}`", path.display());
        let instance = linker.instantiate(&mut store, &module).map_err(|e| {
            wrap_error(
                vec![
                    main_context.clone(),
                    format!("failed to instantiate {:?}", path.display().to_string()),
                ],
                e,
            )
        })?;
        self.run_main(&mut store, instance)
            .map_err(|e| e.with_outer_context(&main_context))
    }

    /// Calls `_initialize` if the module is a reactor, then the `--invoke` function or the
    /// default "" / `_start` export.
    fn run_main(&self, store: &mut Store<Host>, instance: Instance) -> Result<(), RunError> {
        if let Some(init) = instance.get_func(&mut *store, "_initialize") {
            let mut none = [];
            init.call(&mut *store, &[], &mut none)
                .map_err(|e| wrap_error(vec!["failed to run `_initialize`".to_string()], e))?;
        }
        let (func, name) = match &self.invoke {
            Some(name) => {
                let func = instance
                    .get_func(&mut *store, name)
                    .ok_or_else(|| RunError::msg(format!("no func export named `{name}` found")))?;
                (func, Some(name.as_str()))
            }
            None => match instance
                .get_func(&mut *store, "")
                .or_else(|| instance.get_func(&mut *store, "_start"))
            {
                Some(func) => (func, None),
                None => return Ok(()),
            },
        };
        self.invoke(store, func, name)
    }

    fn invoke(
        &self,
        store: &mut Store<Host>,
        func: Func,
        name: Option<&str>,
    ) -> Result<(), RunError> {
        let label = match name {
            Some(name) => format!("`{name}`"),
            None => "command default".to_string(),
        };
        let ty = func.ty(&*store);
        let args = self.args();
        if args.len() < ty.params().len() {
            return Err(RunError::msg(format!(
                "not enough arguments for {label}: it takes {} ({}), got {}",
                ty.params().len(),
                type_list(ty.params()),
                args.len()
            )));
        }
        // Without `--invoke` the remaining arguments are the program's own (WASI argv).
        if name.is_some() && args.len() > ty.params().len() {
            return Err(RunError::msg(format!(
                "too many arguments for {label}: it takes {} ({}), got {}",
                ty.params().len(),
                type_list(ty.params()),
                args.len()
            )));
        }
        let mut values = Vec::with_capacity(ty.params().len());
        for (i, (param, arg)) in ty.params().iter().zip(args).enumerate() {
            let text = arg
                .to_str()
                .ok_or_else(|| RunError::msg(format!("argument {arg:?} is not valid UTF-8")))?;
            let val = parse_arg(*param, text).map_err(|problem| {
                RunError::msg(format!(
                    "invalid argument {i} for {label}: `{text}` is not a valid {param}: {problem}"
                ))
            })?;
            values.push(val);
        }

        let mut results: Vec<Val> = ty.results().iter().map(|_| Val::I32(0)).collect();
        func.call(&mut *store, &values, &mut results)
            .map_err(|e| wrap_error(vec![format!("failed to invoke {label}")], e))?;
        for r in &results {
            println!("{}", show_result(r));
        }
        Ok(())
    }
}

impl RunCommand {
    /// Runs a component (detected by its header) with WASI 0.2: its `wasi:cli/run` export
    /// is called and its result becomes the exit status (0 for `ok`, 1 for `err`).
    fn execute_component(&self, engine: &Engine, path: &Path) -> Result<(), RunError> {
        if self.invoke.is_some() {
            return Err(RunError::msg(
                "--invoke is not supported for components yet",
            ));
        }
        let component =
            Component::from_file(engine, path).map_err(|e| RunError::msg(e.to_string()))?;
        let main_context = format!("failed to run main module `{}`", path.display());
        let mut linker = component::Linker::<Host>::new(engine);
        p2::add_to_linker(&mut linker)
            .map_err(|e| wrap_error(vec!["failed to set up the host functions".to_string()], e))?;
        wasmgate::wasi::p3::add_to_linker(&mut linker)
            .map_err(|e| wrap_error(vec!["failed to set up the host functions".to_string()], e))?;
        let options = WasmOptions::parse(&self.wasm_options).map_err(RunError::msg)?;
        if options.unknown_imports_default {
            return Err(RunError::msg(
                "-W unknown-imports-default is for core modules; a component can use \
                 -W unknown-imports-trap",
            ));
        }
        if options.unknown_imports_trap {
            linker
                .define_unknown_imports_as_traps(&component)
                .map_err(|e| {
                    wrap_error(vec!["failed to set up the host functions".to_string()], e)
                })?;
        }
        let wasi = self
            .wasi_ctx()
            .map_err(|e| wrap_error(vec!["failed to set up the host functions".to_string()], e))?;
        let mut store = Store::new(
            engine,
            Host {
                wasi,
                ..Host::default()
            },
        );
        let instance = linker.instantiate(&mut store, &component).map_err(|e| {
            wrap_error(
                vec![
                    main_context.clone(),
                    format!("failed to instantiate {:?}", path.display().to_string()),
                ],
                e,
            )
        })?;
        let status = if wasmgate::wasi::p3::run_export(&component).is_some() {
            wasmgate::wasi::p3::run(&mut store, &component, &instance)
        } else {
            p2::run(&mut store, &component, &instance)
        }
        .map_err(|e| wrap_error(vec![main_context.clone()], e))?;
        match status {
            0 => Ok(()),
            code => Err(RunError::Exit(code)),
        }
    }
}

impl p2::WasiView for Host {
    fn ctx(&mut self) -> p2::WasiCtxView<'_> {
        p2::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Serves HTTP/1.1 with a `wasi:http/proxy` component: each request gets a fresh instance
/// (as `wasmtime serve`).
#[derive(Args)]
struct ServeCommand {
    /// The socket address to listen on.
    #[arg(long, value_name = "SOCKADDR", default_value = "0.0.0.0:8080")]
    addr: std::net::SocketAddr,

    /// Grants the guest a host directory (`HOST[::GUEST]`). Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,

    /// Passes an environment variable to the guest: `NAME=VALUE`, or `NAME` alone for the
    /// host's value. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,

    /// Passes the whole host environment to the guest.
    #[arg(long)]
    inherit_env: bool,

    /// The most bytes of a request head; larger ones are answered 431.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_header_size: usize,

    /// The most bytes of a request body; larger ones are answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    max_body_size: u64,

    /// The component (binary `.wasm` or text `.wat`).
    #[arg(value_name = "WASM")]
    component: PathBuf,
}

impl ServeCommand {
    /// Each request's WASI context: stdio inherited, `--env`, `--inherit-env`, `--dir`.
    fn wasi_ctx(
        component: &Path,
        envs: &[(String, String)],
        dirs: &[String],
    ) -> Result<WasiCtx, Error> {
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio();
        builder.arg(component.to_string_lossy());
        builder.envs(envs);
        for dir in dirs {
            let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
            builder.preopened_dir(host, guest)?;
        }
        Ok(builder.build())
    }

    fn execute(&self) -> Result<(), Vec<String>> {
        let mut config = Config::new();
        config.compilation_mode(CompilationMode::Lazy);
        let engine = Engine::new(&config);
        let component =
            Component::from_file(&engine, &self.component).map_err(|e| vec![e.to_string()])?;
        let mut envs: Vec<(String, String)> = Vec::new();
        if self.inherit_env {
            envs.extend(std::env::vars());
        }
        for env in &self.envs {
            match env.split_once('=') {
                Some((k, v)) => envs.push((k.to_string(), v.to_string())),
                None => envs.extend(std::env::var(env).ok().map(|v| (env.clone(), v))),
            }
        }
        let (path, dirs) = (self.component.clone(), self.dirs.clone());
        let make_ctx = move || Self::wasi_ctx(&path, &envs, &dirs);
        make_ctx()
            .map_err(|e| vec!["failed to set up the host functions".into(), e.to_string()])?;
        let options = wasmgate::serve::ServeOptions {
            max_header_bytes: self.max_header_size,
            max_body_bytes: self.max_body_size,
        };
        let server = wasmgate::serve::Server::new(component, make_ctx, options)
            .map_err(|e| vec![e.to_string()])?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| vec![format!("cannot start the runtime: {e}")])?;
        rt.block_on(async {
            let listener = wasmgate::serve::bind(self.addr).await?;
            let local = listener
                .local_addr()
                .map_err(|e| Error::msg(e.to_string()))?;
            eprintln!("Serving HTTP on http://{local}/");
            // Ctrl-C (SIGINT) ends the server with status 0, as `wasmtime serve`.
            let mut run = tokio::spawn(server.run(listener));
            let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
            std::future::poll_fn(|cx| {
                use std::future::Future;
                use std::task::Poll;
                if let Poll::Ready(r) = std::pin::Pin::new(&mut run).poll(cx) {
                    return Poll::Ready(r.map_err(|e| Error::msg(e.to_string())).and_then(|r| r));
                }
                match ctrl_c.as_mut().poll(cx) {
                    Poll::Ready(_) => Poll::Ready(Ok(())),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await
        })
        .map_err(|e| vec![e.to_string()])
    }
}

/// Whether the file (binary or text) holds a component rather than a core module. Unreadable
/// or malformed files are reported by the module path.
fn is_component_file(path: &Path) -> bool {
    use std::io::Read;
    // A binary says what it is in its 8-byte header: read no more of a large module.
    let mut header = Vec::with_capacity(8);
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    if file.take(8).read_to_end(&mut header).is_err() {
        return false;
    }
    if header.starts_with(b"\0asm") {
        return wasmparser::Parser::is_component(&header);
    }
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    wat::parse_bytes(&bytes).is_ok_and(|b| wasmparser::Parser::is_component(&b))
}

/// Classifies an engine error; `context` runs outermost first.
fn wrap_error(mut context: Vec<String>, err: Error) -> RunError {
    if let Some(code) = err.exit_code() {
        return RunError::Exit(code);
    }
    if let Some(trap) = err.as_trap() {
        return RunError::Trap {
            context,
            trap: trap.clone(),
        };
    }
    context.push(err.to_string());
    RunError::Other(context)
}

/// `Error: outer` then the causes, numbered, as anyhow prints an error chain.
fn format_chain(chain: &[String]) -> String {
    let mut out = chain.first().cloned().unwrap_or_default();
    match chain.len() {
        0 | 1 => {}
        2 => {
            let _ = write!(out, "\n\nCaused by:\n    {}", indent(&chain[1]));
        }
        _ => {
            out.push_str("\n\nCaused by:");
            for (i, c) in chain[1..].iter().enumerate() {
                let _ = write!(out, "\n    {i}: {}", indent(c));
            }
        }
    }
    out
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n    ")
}

fn type_list(tys: &[ValType]) -> String {
    if tys.is_empty() {
        return "no parameters".to_string();
    }
    tys.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a command-line argument as a value of `ty`, like wasmtime: integers in decimal or
/// with a `0x` prefix, floats as Rust parses them (`1.5`, `-0`, `inf`, `NaN`).
fn parse_arg(ty: ValType, text: &str) -> Result<Val, String> {
    fn hex(text: &str) -> Option<&str> {
        text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))
    }
    Ok(match ty {
        ValType::I32 => Val::I32(match hex(text) {
            Some(h) => u32::from_str_radix(h, 16).map_err(|e| e.to_string())? as i32,
            None => text
                .parse::<i32>()
                .or_else(|e| text.parse::<u32>().map(|u| u as i32).map_err(|_| e))
                .map_err(|e| e.to_string())?,
        }),
        ValType::I64 => Val::I64(match hex(text) {
            Some(h) => u64::from_str_radix(h, 16).map_err(|e| e.to_string())? as i64,
            None => text
                .parse::<i64>()
                .or_else(|e| text.parse::<u64>().map(|u| u as i64).map_err(|_| e))
                .map_err(|e| e.to_string())?,
        }),
        ValType::F32 => Val::F32(text.parse::<f32>().map_err(|e| e.to_string())?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>().map_err(|e| e.to_string())?.to_bits()),
        other => {
            return Err(format!(
                "{other} arguments are not supported on the command line"
            ))
        }
    })
}

/// Formats one result as the wasmtime CLI does.
fn show_result(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        // wasmtime 48 prints the vector as one unsigned 128-bit decimal.
        Val::V128(x) => x.to_string(),
        Val::FuncRef(None) => "<null funcref>".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(None) => "<null externref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
        Val::ExnRef(None) => "<null exnref>".to_string(),
        Val::ExnRef(Some(_)) => "<exnref>".to_string(),
        Val::AnyRef(None) => "<null anyref>".to_string(),
        Val::AnyRef(Some(_)) => "<anyref>".to_string(),
    }
}

/// The report of a trap, in the shape of wasmtime's:
///
/// ```text
/// Error: failed to run main module `trap.wat`
///
/// Caused by:
///     0: failed to invoke `boom`
///     1: error while executing at wasm backtrace:
///            0: func[1] <unknown>!inner
///            1: func[2] <unknown>!boom
///     2: wasm trap: unreachable
/// ```
fn trap_report(context: &[String], trap: &Trap) -> String {
    let mut chain: Vec<String> = context.to_vec();
    if !trap.trace().is_empty() {
        let mut bt = String::from("error while executing at wasm backtrace:");
        for (i, frame) in trap.trace().iter().enumerate() {
            let _ = write!(bt, "\n    {i:>4}: func[{}] {frame}", frame.func_index);
        }
        chain.push(bt);
    }
    chain.push(format!("wasm trap: {}", trap.code()));
    format_chain(&chain)
}

/// `wasmtime FILE` is `wasmtime run FILE`; keep that shorthand.
fn normalize_args(mut args: Vec<OsString>) -> Vec<OsString> {
    if let Some(first) = args.get(1).and_then(|a| a.to_str()) {
        let is_subcommand = matches!(first, "run" | "serve" | "help");
        if !is_subcommand && !first.starts_with('-') {
            args.insert(1, OsString::from("run"));
        }
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(normalize_args(std::env::args_os().collect()));
    match cli.command {
        Command::Serve(cmd) => match cmd.execute() {
            Ok(()) => ExitCode::SUCCESS,
            Err(chain) => {
                eprintln!("Error: {}", format_chain(&chain));
                ExitCode::FAILURE
            }
        },
        Command::Run(cmd) => match cmd.execute() {
            Ok(()) => ExitCode::SUCCESS,
            Err(RunError::Exit(code)) => std::process::exit(code),
            Err(RunError::Trap { context, trap }) => {
                eprintln!("Error: {}", trap_report(&context, &trap));
                ExitCode::from(TRAP_EXIT_STATUS)
            }
            Err(RunError::Other(chain)) => {
                eprintln!("Error: {}", format_chain(&chain));
                ExitCode::FAILURE
            }
        },
    }
}
