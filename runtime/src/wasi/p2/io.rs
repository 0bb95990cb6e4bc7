//! `wasi:io/error` and `wasi:io/streams`: the stdio streams of the shared CLI state as
//! `input-stream` / `output-stream` resources.

use super::{name, WasiView};
use crate::component::types::Type;
use crate::component::{
    ComponentType, Lift, Linker, Lower, Resource, ResourceType, StoreContextMut, Val,
};
use crate::error::{Error, Result};

/// An `error` resource: a message for `to-debug-string`.
#[derive(Debug)]
pub struct IoError(pub String);

/// An `input-stream` resource.
#[derive(Debug)]
pub enum InputStream {
    /// The guest's stdin.
    Stdin,
}

/// An `output-stream` resource.
#[derive(Debug)]
pub enum OutputStream {
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr.
    Stderr,
}

/// `stream-error`: `last-operation-failed(own<error>)` or `closed`.
#[derive(Debug)]
pub enum StreamError {
    /// The operation failed; the error says why.
    LastOperationFailed(Resource<IoError>),
    /// The stream is closed.
    Closed,
}

impl ComponentType for StreamError {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Variant(v)
                if v.cases()
                    .map(|(n, _)| n)
                    .eq(["last-operation-failed", "closed"]) =>
            {
                Ok(())
            }
            _ => Err(Error::msg(format!(
                "type mismatch: expected stream-error, found {ty}"
            ))),
        }
    }
}

impl Lower for StreamError {
    fn lower(&self) -> Result<Val> {
        Ok(match self {
            StreamError::LastOperationFailed(e) => {
                Val::Variant("last-operation-failed".into(), Some(Box::new(e.lower()?)))
            }
            StreamError::Closed => Val::Variant("closed".into(), None),
        })
    }
}

impl Lift for StreamError {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Variant(n, _) if n == "closed" => Ok(StreamError::Closed),
            Val::Variant(n, Some(e)) if n == "last-operation-failed" => {
                Ok(StreamError::LastOperationFailed(Resource::lift(*e)?))
            }
            other => Err(Error::msg(format!("not a stream-error: {other}"))),
        }
    }
}

type StreamResult<T> = std::result::Result<T, StreamError>;

/// How many bytes `check-write` allows at once.
const WRITE_BUDGET: u64 = 1 << 20;

fn failed<T: WasiView>(
    store: &mut StoreContextMut<'_, T>,
    e: std::io::Error,
) -> Result<StreamError> {
    let err = store.data_mut().ctx().table.push(IoError(e.to_string()))?;
    Ok(StreamError::LastOperationFailed(err))
}

fn write<T: WasiView>(
    store: &mut StoreContextMut<'_, T>,
    this: &Resource<OutputStream>,
    bytes: &[u8],
) -> Result<StreamResult<()>> {
    let view = store.data_mut().ctx();
    let stream = match view.table.get(this)? {
        OutputStream::Stdout => view.ctx.cli.stdout.clone(),
        OutputStream::Stderr => view.ctx.cli.stderr.clone(),
    };
    match stream.write_all(bytes) {
        Ok(()) => Ok(Ok(())),
        Err(e) => Ok(Err(failed(store, e)?)),
    }
}

fn read<T: WasiView>(
    store: &mut StoreContextMut<'_, T>,
    this: &Resource<InputStream>,
    len: u64,
) -> Result<StreamResult<Vec<u8>>> {
    let view = store.data_mut().ctx();
    let InputStream::Stdin = view.table.get(this)?;
    let mut buf = vec![0u8; len.min(WRITE_BUDGET) as usize];
    if buf.is_empty() {
        return Ok(Ok(buf));
    }
    match view.ctx.cli.stdin.read(&mut buf) {
        Ok(0) => Ok(Err(StreamError::Closed)),
        Ok(n) => {
            buf.truncate(n);
            Ok(Ok(buf))
        }
        Err(e) => Ok(Err(failed(store, e)?)),
    }
}

fn delete<T: WasiView, R: 'static>(store: &mut StoreContextMut<'_, T>, rep: u32) -> Result<()> {
    store
        .data_mut()
        .ctx()
        .table
        .delete(Resource::<R>::new_own(rep))?;
    Ok(())
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut error = linker.instance(&name("io/error"))?;
    error.resource("error", ResourceType::host::<IoError>(), |mut s, rep| {
        delete::<T, IoError>(&mut s, rep)
    })?;
    error.func_wrap(
        "[method]error.to-debug-string",
        |mut s, (this,): (Resource<IoError>,)| {
            Ok((s.data_mut().ctx().table.get(&this)?.0.clone(),))
        },
    )?;

    let mut streams = linker.instance(&name("io/streams"))?;
    streams.resource(
        "input-stream",
        ResourceType::host::<InputStream>(),
        |mut s, rep| delete::<T, InputStream>(&mut s, rep),
    )?;
    streams.resource(
        "output-stream",
        ResourceType::host::<OutputStream>(),
        |mut s, rep| delete::<T, OutputStream>(&mut s, rep),
    )?;
    for method in ["read", "blocking-read"] {
        streams.func_wrap(
            &format!("[method]input-stream.{method}"),
            |mut s, (this, len): (Resource<InputStream>, u64)| Ok((read(&mut s, &this, len)?,)),
        )?;
    }
    streams.func_wrap(
        "[method]output-stream.check-write",
        |mut s, (this,): (Resource<OutputStream>,)| {
            s.data_mut().ctx().table.get(&this)?;
            Ok((StreamResult::Ok(WRITE_BUDGET),))
        },
    )?;
    for method in ["write", "blocking-write-and-flush"] {
        streams.func_wrap(
            &format!("[method]output-stream.{method}"),
            |mut s, (this, bytes): (Resource<OutputStream>, Vec<u8>)| {
                Ok((write(&mut s, &this, &bytes)?,))
            },
        )?;
    }
    for method in ["flush", "blocking-flush"] {
        streams.func_wrap(
            &format!("[method]output-stream.{method}"),
            |mut s, (this,): (Resource<OutputStream>,)| {
                // Writes reach the host stream at once: nothing is buffered.
                s.data_mut().ctx().table.get(&this)?;
                Ok((StreamResult::Ok(()),))
            },
        )?;
    }
    Ok(())
}
