//! WASI 0.3 (Preview 3) for components, on the component-model async ABI
//! (`component::concurrent`): host implementations over the same shared state as P1 and P2
//! ([`WasiCtx`](crate::wasi::WasiCtx) through [`p2::WasiView`](super::p2::WasiView)).
//!
//! So far: `wasi:cli` (`environment`, `exit`, `stdin` / `stdout` / `stderr` as `stream<u8>`
//! with a `future<result<_, error-code>>` each, `terminal-*`), `wasi:clocks`
//! (`monotonic-clock` with the async `wait-for` / `wait-until` as tokio timers,
//! `system-clock`, `timezone` as UTC), `wasi:random`, `wasi:filesystem` (`filesystem.rs`)
//! `wasi:sockets` (`sockets.rs`) and `wasi:http` types + client (`http.rs`). Interfaces are
//! defined at 0.3.0.

mod filesystem;
pub(crate) mod http;

pub(crate) mod sockets;

use super::p2::{TerminalInput, TerminalOutput, WasiView};
use crate::component::types::{ComponentFunc, Type};
use crate::component::{
    Component, FutureAny, FutureWriter, HostCall, HostSink, HostSource, Instance, Linker, Resource,
    ResourceType, StoreContextMut, StreamAny, Val,
};
use crate::error::{Error, Result};
use crate::store::AsContextMut;
use crate::wasi::cli::{OutputStream, StdinStream};
use std::task::{Context, Poll};
use std::time::Duration;

/// The version the interfaces are defined at.
pub const VERSION: &str = "0.3.0";

fn name(pkg_iface: &str) -> String {
    format!("wasi:{pkg_iface}@{VERSION}")
}

/// The export name of `wasi:cli/run` a component has, at whatever 0.3.x version.
pub fn run_export(component: &Component) -> Option<&str> {
    component
        .exports()
        .map(|(n, _)| n)
        .find(|n| n.starts_with("wasi:cli/run@0.3."))
}

/// Calls the component's `wasi:cli/run#run` (an async export); its result as an exit
/// status (0 for `ok`, 1 for `err`). `wasi:cli/exit` ends the call with [`Error::exit`].
pub fn run<T: 'static>(
    store: impl AsContextMut<Data = T>,
    component: &Component,
    instance: &Instance,
) -> Result<i32> {
    let iface = run_export(component)
        .ok_or_else(|| Error::msg("the component does not export `wasi:cli/run@0.3`"))?;
    super::p2::call_run(store, instance, iface)
}

/// Defines every implemented WASI 0.3 interface in `linker`.
pub fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    cli(linker)?;
    clocks(linker)?;
    random(linker)?;
    filesystem::add_to_linker(linker)?;
    sockets::add_to_linker(linker)?;
    http::add_to_linker(linker)?;
    Ok(())
}

/// The payload type of a function returning `future<T>` (or a tuple ending in one).
fn future_payload(ty: &ComponentFunc) -> Option<Type> {
    let mut t = ty.results().next()?.clone();
    if let Type::Tuple(tuple) = &t {
        t = tuple.types().last()?.clone();
    }
    match t {
        Type::Future(p) => p.as_deref().cloned(),
        _ => None,
    }
}

fn ok() -> Val {
    Val::Result(Ok(None))
}

fn err_code(code: &str) -> Val {
    Val::Result(Err(Some(Box::new(Val::Enum(code.to_string())))))
}

/// stdout / stderr: what the guest writes to the stream.
struct OutSink {
    out: OutputStream,
    done: Option<FutureWriter>,
}

impl HostSink for OutSink {
    fn write(&mut self, vals: Vec<Val>) -> Result<()> {
        let bytes: Vec<u8> = vals
            .into_iter()
            .map(|v| match v {
                Val::U8(b) => b,
                _ => 0,
            })
            .collect();
        if self.out.write_all(&bytes).is_err() {
            if let Some(w) = self.done.take() {
                w.write(err_code("io"));
            }
            return Err(Error::msg("write failed"));
        }
        Ok(())
    }
    fn close(&mut self) {
        if let Some(w) = self.done.take() {
            w.write(ok());
        }
    }
}

/// The stream ended early (the guest dropped its end): the transfer still succeeded.
impl Drop for OutSink {
    fn drop(&mut self) {
        self.close();
    }
}

impl Drop for StdinSource {
    fn drop(&mut self) {
        if let Some(w) = self.done.take() {
            w.write(ok());
        }
    }
}

/// stdin: read on demand (a blocking read for an inherited stdin).
struct StdinSource {
    input: StdinStream,
    done: Option<FutureWriter>,
}

impl HostSource for StdinSource {
    fn poll_read(&mut self, _cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Val>>> {
        let mut buf = vec![0u8; max.min(64 * 1024)];
        match self.input.read(&mut buf) {
            Ok(n) if n > 0 => Poll::Ready(Some(buf[..n].iter().map(|b| Val::U8(*b)).collect())),
            r => {
                if let Some(w) = self.done.take() {
                    w.write(if r.is_ok() { ok() } else { err_code("io") });
                }
                Poll::Ready(None)
            }
        }
    }
}

fn delete<T: WasiView, R: 'static>(mut store: StoreContextMut<'_, T>, rep: u32) -> Result<()> {
    store
        .data_mut()
        .ctx()
        .table
        .delete(Resource::<R>::new_own(rep))?;
    Ok(())
}

fn cli<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut env = linker.instance(&name("cli/environment"))?;
    env.func_wrap("get-environment", |mut s, (): ()| {
        Ok((s.data_mut().ctx().ctx.cli.env.clone(),))
    })?;
    env.func_wrap("get-arguments", |mut s, (): ()| {
        Ok((s.data_mut().ctx().ctx.cli.args.clone(),))
    })?;
    env.func_wrap("get-initial-cwd", |_, (): ()| Ok((None::<String>,)))?;

    let mut exit = linker.instance(&name("cli/exit"))?;
    exit.func_wrap(
        "exit",
        |_, (status,): (std::result::Result<(), ()>,)| -> Result<()> {
            Err(Error::exit(if status.is_ok() { 0 } else { 1 }))
        },
    )?;
    exit.func_wrap("exit-with-code", |_, (code,): (u8,)| -> Result<()> {
        Err(Error::exit(code.into()))
    })?;

    linker.instance(&name("cli/types"))?;
    linker.instance(&name("cli/stdin"))?.func_new(
        "read-via-stream",
        |mut s, ty, _args, results| {
            let input = s.data_mut().ctx().ctx.cli.stdin.clone();
            let (future, done) = FutureAny::new_host(future_payload(&ty));
            let stream = StreamAny::from_source(
                Type::U8,
                StdinSource {
                    input,
                    done: Some(done),
                },
            );
            results[0] = Val::Tuple(vec![Val::Stream(stream), Val::Future(future)]);
            Ok(())
        },
    )?;
    for (iface, stderr) in [("cli/stdout", false), ("cli/stderr", true)] {
        linker.instance(&name(iface))?.func_new(
            "write-via-stream",
            move |mut s, ty, args, results| {
                let cli = &s.data_mut().ctx().ctx.cli;
                let out = if stderr {
                    cli.stderr.clone()
                } else {
                    cli.stdout.clone()
                };
                let Some(Val::Stream(data)) = args.first().cloned() else {
                    return Err(Error::msg("write-via-stream: expected a stream"));
                };
                let (future, done) = FutureAny::new_host(future_payload(&ty));
                data.into_sink(OutSink {
                    out,
                    done: Some(done),
                });
                results[0] = Val::Future(future);
                Ok(())
            },
        )?;
    }

    linker.instance(&name("cli/terminal-input"))?.resource(
        "terminal-input",
        ResourceType::host::<TerminalInput>(),
        delete::<T, TerminalInput>,
    )?;
    linker.instance(&name("cli/terminal-output"))?.resource(
        "terminal-output",
        ResourceType::host::<TerminalOutput>(),
        delete::<T, TerminalOutput>,
    )?;
    linker.instance(&name("cli/terminal-stdin"))?.func_wrap(
        "get-terminal-stdin",
        |mut s, (): ()| {
            let view = s.data_mut().ctx();
            let terminal = match view.ctx.cli.stdin.is_terminal() {
                true => Some(view.table.push(TerminalInput)?),
                false => None,
            };
            Ok((terminal,))
        },
    )?;
    for (iface, func, stderr) in [
        ("cli/terminal-stdout", "get-terminal-stdout", false),
        ("cli/terminal-stderr", "get-terminal-stderr", true),
    ] {
        linker
            .instance(&name(iface))?
            .func_wrap(func, move |mut s, (): ()| {
                let view = s.data_mut().ctx();
                let stream = if stderr {
                    &view.ctx.cli.stderr
                } else {
                    &view.ctx.cli.stdout
                };
                let terminal = match stream.is_terminal() {
                    true => Some(view.table.push(TerminalOutput)?),
                    false => None,
                };
                Ok((terminal,))
            })?;
    }
    Ok(())
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn sleep(d: Duration) -> HostCall {
    if d.is_zero() {
        return HostCall::Ready(Vec::new());
    }
    HostCall::Pending(Box::pin(async move {
        tokio::time::sleep(d).await;
        Ok(Vec::new())
    }))
}

fn clocks<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    linker.instance(&name("clocks/types"))?;
    let mut mono = linker.instance(&name("clocks/monotonic-clock"))?;
    mono.func_wrap("now", |mut s, (): ()| {
        Ok((s.data_mut().ctx().ctx.clocks.monotonic_now(),))
    })?;
    mono.func_wrap("get-resolution", |mut s, (): ()| {
        Ok((nanos(s.data_mut().ctx().ctx.clocks.monotonic_resolution()),))
    })?;
    mono.func_new_async("wait-until", |mut s, _ty, args| {
        let Some(Val::U64(when)) = args.first() else {
            return Err(Error::msg("wait-until: expected a u64"));
        };
        let now = s.data_mut().ctx().ctx.clocks.monotonic_now();
        Ok(sleep(Duration::from_nanos(when.saturating_sub(now))))
    })?;
    mono.func_new_async("wait-for", |_, _ty, args| {
        let Some(Val::U64(d)) = args.first() else {
            return Err(Error::msg("wait-for: expected a u64"));
        };
        Ok(sleep(Duration::from_nanos(*d)))
    })?;

    let mut sys = linker.instance(&name("clocks/system-clock"))?;
    sys.func_new("now", |mut s, _ty, _args, results| {
        let d = s.data_mut().ctx().ctx.clocks.wall_now();
        results[0] = Val::Record(vec![
            (
                "seconds".to_string(),
                Val::S64(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            ),
            ("nanoseconds".to_string(), Val::U32(d.subsec_nanos())),
        ]);
        Ok(())
    })?;
    sys.func_wrap("get-resolution", |mut s, (): ()| {
        Ok((nanos(s.data_mut().ctx().ctx.clocks.wall_resolution()),))
    })?;

    let mut tz = linker.instance(&name("clocks/timezone"))?;
    tz.func_wrap("iana-id", |_, (): ()| Ok((Some("UTC".to_string()),)))?;
    tz.func_new("utc-offset", |_, _ty, _args, results| {
        results[0] = Val::Option(Some(Box::new(Val::S64(0))));
        Ok(())
    })?;
    tz.func_wrap("to-debug-string", |_, (): ()| Ok(("UTC".to_string(),)))?;
    Ok(())
}

/// The most bytes one call may ask for.
const MAX_BYTES: u64 = 64 << 20;

fn random_bytes(len: u64) -> Result<Vec<u8>> {
    if len > MAX_BYTES {
        return Err(Error::msg(format!(
            "get-random-bytes: {len} bytes is more than the {MAX_BYTES} allowed"
        )));
    }
    let mut buf = vec![0u8; len as usize];
    crate::wasi::random::fill(&mut buf)?;
    Ok(buf)
}

fn random_u64() -> Result<u64> {
    let mut buf = [0u8; 8];
    crate::wasi::random::fill(&mut buf)?;
    Ok(u64::from_le_bytes(buf))
}

fn random<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut random = linker.instance(&name("random/random"))?;
    random.func_wrap("get-random-bytes", |_, (len,): (u64,)| {
        Ok((random_bytes(len)?,))
    })?;
    random.func_wrap("get-random-u64", |_, (): ()| Ok((random_u64()?,)))?;
    let mut insecure = linker.instance(&name("random/insecure"))?;
    insecure.func_wrap("get-insecure-random-bytes", |_, (len,): (u64,)| {
        Ok((random_bytes(len)?,))
    })?;
    insecure.func_wrap("get-insecure-random-u64", |_, (): ()| Ok((random_u64()?,)))?;
    // The seed is the same for every call: one per process.
    static SEED: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    linker.instance(&name("random/insecure-seed"))?.func_wrap(
        "get-insecure-seed",
        |_, (): ()| {
            Ok(
                (
                    *SEED.get_or_init(|| {
                        (random_u64().unwrap_or(0x5eed), random_u64().unwrap_or(1))
                    }),
                ),
            )
        },
    )?;
    Ok(())
}
