//! `wasi:cli`: `environment`, `exit`, and the `stdin` / `stdout` / `stderr` getters, over the
//! shared CLI state.

use super::io::{InputStream, OutputStream};
use super::{name, WasiView};
use crate::component::{Linker, Resource};
use crate::error::{Error, Result};

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

    linker
        .instance(&name("cli/stdin"))?
        .func_wrap("get-stdin", |mut s, (): ()| {
            Ok((s.data_mut().ctx().table.push(InputStream::Stdin)?,))
        })?;
    linker
        .instance(&name("cli/stdout"))?
        .func_wrap("get-stdout", |mut s, (): ()| {
            let r: Resource<OutputStream> = s.data_mut().ctx().table.push(OutputStream::Stdout)?;
            Ok((r,))
        })?;
    linker
        .instance(&name("cli/stderr"))?
        .func_wrap("get-stderr", |mut s, (): ()| {
            Ok((s.data_mut().ctx().table.push(OutputStream::Stderr)?,))
        })?;
    Ok(())
}
