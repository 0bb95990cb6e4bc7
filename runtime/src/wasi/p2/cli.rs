//! `wasi:cli`: `environment`, `exit` (`exit` and `exit-with-code`), and the `stdin` /
//! `stdout` / `stderr` getters, over the shared CLI state.

use super::io::stdio::{Stdin, Stdout};
use super::io::{InputStream, OutputStream};
use super::{name, WasiView};
use crate::component::{Linker, Resource, ResourceType, StoreContextMut};
use crate::error::{Error, Result};

/// A `terminal-input` resource (stdin is a terminal).
#[derive(Debug)]
pub struct TerminalInput;

/// A `terminal-output` resource (stdout or stderr is a terminal).
#[derive(Debug)]
pub struct TerminalOutput;

fn delete<T: WasiView, R: 'static>(mut store: StoreContextMut<'_, T>, rep: u32) -> Result<()> {
    store
        .data_mut()
        .ctx()
        .table
        .delete(Resource::<R>::new_own(rep))?;
    Ok(())
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut env = linker.instance(&name("cli/environment"))?;
    env.func_wrap("get-environment", |mut s, (): ()| {
        Ok((s.data_mut().ctx().ctx.cli.env.clone(),))
    })?;
    env.func_wrap("get-arguments", |mut s, (): ()| {
        Ok((s.data_mut().ctx().ctx.cli.args.clone(),))
    })?;
    env.func_wrap("initial-cwd", |_, (): ()| Ok((None::<String>,)))?;

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

    linker
        .instance(&name("cli/stdin"))?
        .func_wrap("get-stdin", |mut s, (): ()| {
            let view = s.data_mut().ctx();
            let stdin = InputStream::new(Stdin(view.ctx.cli.stdin.clone()));
            Ok((view.table.push(stdin)?,))
        })?;
    linker
        .instance(&name("cli/stdout"))?
        .func_wrap("get-stdout", |mut s, (): ()| {
            let view = s.data_mut().ctx();
            let out = OutputStream::new(Stdout(view.ctx.cli.stdout.clone()));
            Ok((view.table.push(out)?,))
        })?;
    linker
        .instance(&name("cli/stderr"))?
        .func_wrap("get-stderr", |mut s, (): ()| {
            let view = s.data_mut().ctx();
            let err = OutputStream::new(Stdout(view.ctx.cli.stderr.clone()));
            Ok((view.table.push(err)?,))
        })?;

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
