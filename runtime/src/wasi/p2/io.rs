//! `wasi:io/error`, `wasi:io/poll` and `wasi:io/streams`.
//!
//! Streams are trait objects ([`HostInputStream`], [`HostOutputStream`]): stdio, files,
//! sockets and HTTP bodies each implement the non-blocking primitives (`read`,
//! `check-write`/`write`/`flush`) and a readiness future; the blocking methods, `skip`,
//! `write-zeroes` and `splice` are built here from those, once.
//!
//! A [`Pollable`] is made by `subscribe` on a resource that implements [`Subscribe`] (it is
//! that resource's child in the table, so the resource outlives it), or from a future of
//! its own (a clock deadline). Readiness futures own what they wait on (`'static`), so
//! `poll` can wait on many at once without borrowing the table.

use super::{name, WasiView};
use crate::component::types::Type;
use crate::component::{
    ComponentType, Lift, Linker, Lower, Resource, ResourceTable, ResourceType, StoreContextMut, Val,
};
use crate::error::{Error, Result};
use crate::wasi::block::block_on;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A readiness future: resolves when the thing it watches is ready.
pub type Ready = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A future that is ready at once.
pub fn ready_now() -> Ready {
    Box::pin(std::future::ready(()))
}

/// A resource a pollable can watch.
pub trait Subscribe: Send + 'static {
    /// A future that resolves when the resource is ready (for a stream: when the next
    /// non-blocking operation would make progress or report an error). It must not borrow
    /// `self`: it owns what it waits on.
    fn ready(&mut self) -> Ready;
}

/// Why a stream operation did not succeed, host side.
#[derive(Debug)]
pub enum StreamFailure {
    /// The stream is closed (end of input, or the reader went away).
    Closed,
    /// The last operation failed; the stream is closed from now on.
    Failed(std::io::Error),
}

impl From<std::io::Error> for StreamFailure {
    fn from(e: std::io::Error) -> Self {
        StreamFailure::Failed(e)
    }
}

/// The result of a host stream operation.
pub type StreamResult<T> = std::result::Result<T, StreamFailure>;

/// The host side of an `input-stream`.
pub trait HostInputStream: Send + 'static {
    /// Reads at most `size` bytes without blocking; empty when nothing is available yet.
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>>;

    /// Discards at most `size` bytes without blocking; how many were discarded.
    fn skip(&mut self, size: usize) -> StreamResult<usize> {
        Ok(self.read(size)?.len())
    }

    /// Resolves when `read` would return data, end of stream or an error.
    fn ready(&mut self) -> Ready;
}

/// The host side of an `output-stream`.
pub trait HostOutputStream: Send + 'static {
    /// How many bytes `write` accepts now (0: wait for readiness).
    fn check_write(&mut self) -> StreamResult<usize>;

    /// Writes bytes; at most what `check_write` allowed.
    fn write(&mut self, bytes: &[u8]) -> StreamResult<()>;

    /// Starts flushing what was written; readiness says when it is done.
    fn flush(&mut self) -> StreamResult<()>;

    /// Resolves when `check_write` would allow writing (or a flush is done).
    fn ready(&mut self) -> Ready;

    /// Writes `len` zero bytes; at most what `check_write` allowed.
    fn write_zeroes(&mut self, len: usize) -> StreamResult<()> {
        self.write(&vec![0; len])
    }
}

/// An `input-stream` resource.
pub struct InputStream(pub Box<dyn HostInputStream>);

/// An `output-stream` resource.
pub struct OutputStream(pub Box<dyn HostOutputStream>);

impl std::fmt::Debug for InputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputStream")
    }
}

impl std::fmt::Debug for OutputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputStream")
    }
}

impl InputStream {
    /// Wraps a host stream.
    pub fn new(s: impl HostInputStream) -> Self {
        InputStream(Box::new(s))
    }
}

impl OutputStream {
    /// Wraps a host stream.
    pub fn new(s: impl HostOutputStream) -> Self {
        OutputStream(Box::new(s))
    }
}

impl Subscribe for InputStream {
    fn ready(&mut self) -> Ready {
        self.0.ready()
    }
}

impl Subscribe for OutputStream {
    fn ready(&mut self) -> Ready {
        self.0.ready()
    }
}

/// A `pollable` resource.
pub struct Pollable(PollSource);

enum PollSource {
    /// Watches its parent resource at this table index.
    Child {
        parent: u32,
        make: fn(&mut dyn Any) -> Result<Ready>,
    },
    /// Makes its own futures (e.g. a deadline).
    Own(Box<dyn FnMut() -> Ready + Send>),
}

impl std::fmt::Debug for Pollable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pollable")
    }
}

impl Pollable {
    /// A pollable that is ready when the futures `make` returns are.
    pub fn from_fn(make: impl FnMut() -> Ready + Send + 'static) -> Self {
        Pollable(PollSource::Own(Box::new(make)))
    }
}

/// Makes a pollable watching `resource` (as its child: the resource cannot be dropped first).
pub fn subscribe<R: Subscribe>(
    table: &mut ResourceTable,
    resource: &Resource<R>,
) -> Result<Resource<Pollable>> {
    fn make<R: Subscribe>(any: &mut dyn Any) -> Result<Ready> {
        any.downcast_mut::<R>()
            .map(Subscribe::ready)
            .ok_or_else(|| Error::msg("pollable: its resource has the wrong type"))
    }
    let parent = resource.rep();
    Ok(table.push_child(
        Pollable(PollSource::Child {
            parent,
            make: make::<R>,
        }),
        resource,
    )?)
}

/// Adds a pollable with its own readiness futures.
pub fn subscribe_fn(
    table: &mut ResourceTable,
    make: impl FnMut() -> Ready + Send + 'static,
) -> Result<Resource<Pollable>> {
    Ok(table.push(Pollable::from_fn(make))?)
}

fn pollable_future(table: &mut ResourceTable, p: &Resource<Pollable>) -> Result<Ready> {
    let parent = match &mut table.get_mut(p)?.0 {
        PollSource::Own(make) => return Ok(make()),
        PollSource::Child { parent, make } => (*parent, *make),
    };
    (parent.1)(table.get_any_mut(parent.0)?)
}

/// Waits until at least one of `futures` is ready; the indices of all that are.
pub fn wait_any(mut futures: Vec<Ready>) -> Vec<u32> {
    block_on(std::future::poll_fn(move |cx| {
        let mut ready = Vec::new();
        for (i, f) in futures.iter_mut().enumerate() {
            if f.as_mut().poll(cx).is_ready() {
                ready.push(i as u32);
            }
        }
        if ready.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(ready)
        }
    }))
}

/// Whether `future` is ready now, without waiting.
pub fn is_ready(mut future: Ready) -> bool {
    block_on(std::future::poll_fn(move |cx| {
        Poll::Ready(future.as_mut().poll(cx).is_ready())
    }))
}

/// An `error` resource: a message for `to-debug-string`.
#[derive(Debug)]
pub struct IoError(pub std::io::Error);

/// `stream-error`: `last-operation-failed(own<error>)` or `closed`.
#[derive(Debug)]
pub enum StreamError {
    /// The operation failed; the error says why.
    LastOperationFailed(Resource<IoError>),
    /// The stream is closed.
    Closed,
}

impl StreamError {
    /// The guest's view of a host failure: an `error` resource is added for `Failed`.
    pub fn from_failure(table: &mut ResourceTable, f: StreamFailure) -> Result<Self> {
        Ok(match f {
            StreamFailure::Closed => StreamError::Closed,
            StreamFailure::Failed(e) => StreamError::LastOperationFailed(table.push(IoError(e))?),
        })
    }
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

/// What a stream method returns to the guest.
type GuestResult<T> = std::result::Result<T, StreamError>;

/// The most bytes one `read` or `write` moves.
const MAX_CHUNK: u64 = 1 << 20;

fn guest<T: WasiView, V>(
    store: &mut StoreContextMut<'_, T>,
    r: StreamResult<V>,
) -> Result<GuestResult<V>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(f) => Ok(Err(StreamError::from_failure(
            store.data_mut().ctx().table,
            f,
        )?)),
    }
}

fn input<'a, T: WasiView>(
    store: &'a mut StoreContextMut<'_, T>,
    this: &Resource<InputStream>,
) -> Result<&'a mut dyn HostInputStream> {
    Ok(&mut *store.data_mut().ctx().table.get_mut(this)?.0)
}

fn output<'a, T: WasiView>(
    store: &'a mut StoreContextMut<'_, T>,
    this: &Resource<OutputStream>,
) -> Result<&'a mut dyn HostOutputStream> {
    Ok(&mut *store.data_mut().ctx().table.get_mut(this)?.0)
}

/// Reads, waiting first if nothing is available (end of stream and errors return at once).
fn blocking_read(s: &mut dyn HostInputStream, size: usize) -> StreamResult<Vec<u8>> {
    if size == 0 {
        return s.read(0);
    }
    loop {
        let bytes = s.read(size)?;
        if !bytes.is_empty() {
            return Ok(bytes);
        }
        block_on(s.ready());
    }
}

fn blocking_skip(s: &mut dyn HostInputStream, size: usize) -> StreamResult<usize> {
    if size == 0 {
        return s.skip(0);
    }
    loop {
        let n = s.skip(size)?;
        if n > 0 {
            return Ok(n);
        }
        block_on(s.ready());
    }
}

/// Waits until `check_write` allows something; how much.
fn wait_writable(s: &mut dyn HostOutputStream) -> StreamResult<usize> {
    loop {
        let n = s.check_write()?;
        if n > 0 {
            return Ok(n);
        }
        block_on(s.ready());
    }
}

fn blocking_flush(s: &mut dyn HostOutputStream) -> StreamResult<()> {
    s.flush()?;
    block_on(s.ready());
    // A failure of the flush shows in the next check.
    s.check_write().map(|_| ())
}

fn check_len(op: &str, len: usize, allowed: usize) -> Result<()> {
    if len > allowed {
        // As wasmtime: writing more than `check-write` allowed is the guest's error, and
        // it traps rather than being reported as a stream error.
        return Err(Error::msg(format!(
            "output-stream.{op}: {len} bytes is more than the {allowed} that check-write allowed"
        )));
    }
    Ok(())
}

/// `blocking-write-and-flush` and `blocking-write-zeroes-and-flush`: at most 4096 bytes.
fn blocking_write_and_flush(
    s: &mut dyn HostOutputStream,
    bytes: Option<&[u8]>,
    len: usize,
) -> Result<StreamResult<()>> {
    if len > 4096 {
        return Err(Error::msg(format!(
            "output-stream.blocking-write-and-flush: {len} bytes is more than the 4096 allowed"
        )));
    }
    let mut done = 0;
    while done < len {
        let n = match wait_writable(s) {
            Ok(n) => n.min(len - done),
            Err(e) => return Ok(Err(e)),
        };
        let r = match bytes {
            Some(b) => s.write(&b[done..done + n]),
            None => s.write_zeroes(n),
        };
        if let Err(e) = r {
            return Ok(Err(e));
        }
        done += n;
    }
    Ok(blocking_flush(s))
}

/// `splice`: moves at most `len` bytes from `src` to `dst` without blocking on either
/// (`blocking` waits for `dst` to accept and `src` to have something).
fn splice<T: WasiView>(
    store: &mut StoreContextMut<'_, T>,
    dst: &Resource<OutputStream>,
    src: &Resource<InputStream>,
    len: u64,
    blocking: bool,
) -> Result<GuestResult<u64>> {
    let allowed = {
        let out = output(store, dst)?;
        if blocking {
            wait_writable(out)
        } else {
            out.check_write()
        }
    };
    let allowed = match allowed {
        Ok(n) => n,
        Err(e) => return guest(store, Err(e)),
    };
    let n = len.min(allowed as u64).min(MAX_CHUNK) as usize;
    let bytes = {
        let inp = input(store, src)?;
        if blocking {
            blocking_read(inp, n)
        } else {
            inp.read(n)
        }
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return guest(store, Err(e)),
    };
    let r = output(store, dst)?.write(&bytes);
    let r = r.map(|()| bytes.len() as u64);
    guest(store, r)
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
            Ok((s.data_mut().ctx().table.get(&this)?.0.to_string(),))
        },
    )?;

    let mut poll = linker.instance(&name("io/poll"))?;
    poll.resource(
        "pollable",
        ResourceType::host::<Pollable>(),
        |mut s, rep| delete::<T, Pollable>(&mut s, rep),
    )?;
    poll.func_wrap(
        "[method]pollable.ready",
        |mut s, (this,): (Resource<Pollable>,)| {
            let f = pollable_future(s.data_mut().ctx().table, &this)?;
            Ok((is_ready(f),))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut s, (this,): (Resource<Pollable>,)| {
            let f = pollable_future(s.data_mut().ctx().table, &this)?;
            block_on(f);
            Ok(())
        },
    )?;
    poll.func_wrap("poll", |mut s, (list,): (Vec<Resource<Pollable>>,)| {
        if list.is_empty() {
            return Err(Error::msg("poll: the list of pollables is empty"));
        }
        if list.len() > u32::MAX as usize {
            return Err(Error::msg("poll: too many pollables"));
        }
        let table = s.data_mut().ctx().table;
        let futures = list
            .iter()
            .map(|p| pollable_future(table, p))
            .collect::<Result<Vec<_>>>()?;
        Ok((wait_any(futures),))
    })?;

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

    streams.func_wrap(
        "[method]input-stream.read",
        |mut s, (this, len): (Resource<InputStream>, u64)| {
            let r = input(&mut s, &this)?.read(len.min(MAX_CHUNK) as usize);
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-read",
        |mut s, (this, len): (Resource<InputStream>, u64)| {
            let r = blocking_read(input(&mut s, &this)?, len.min(MAX_CHUNK) as usize);
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.skip",
        |mut s, (this, len): (Resource<InputStream>, u64)| {
            let r = input(&mut s, &this)?
                .skip(len.min(MAX_CHUNK) as usize)
                .map(|n| n as u64);
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-skip",
        |mut s, (this, len): (Resource<InputStream>, u64)| {
            let r =
                blocking_skip(input(&mut s, &this)?, len.min(MAX_CHUNK) as usize).map(|n| n as u64);
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.subscribe",
        |mut s, (this,): (Resource<InputStream>,)| {
            Ok((subscribe(s.data_mut().ctx().table, &this)?,))
        },
    )?;

    streams.func_wrap(
        "[method]output-stream.check-write",
        |mut s, (this,): (Resource<OutputStream>,)| {
            let r = output(&mut s, &this)?.check_write().map(|n| n as u64);
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.write",
        |mut s, (this, bytes): (Resource<OutputStream>, Vec<u8>)| {
            let out = output(&mut s, &this)?;
            let r = match out.check_write() {
                Ok(allowed) => {
                    check_len("write", bytes.len(), allowed)?;
                    out.write(&bytes)
                }
                Err(e) => Err(e),
            };
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.write-zeroes",
        |mut s, (this, len): (Resource<OutputStream>, u64)| {
            let out = output(&mut s, &this)?;
            let r = match out.check_write() {
                Ok(allowed) => {
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    check_len("write-zeroes", len, allowed)?;
                    out.write_zeroes(len)
                }
                Err(e) => Err(e),
            };
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |mut s, (this, bytes): (Resource<OutputStream>, Vec<u8>)| {
            let r = blocking_write_and_flush(output(&mut s, &this)?, Some(&bytes), bytes.len())?;
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-zeroes-and-flush",
        |mut s, (this, len): (Resource<OutputStream>, u64)| {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let r = blocking_write_and_flush(output(&mut s, &this)?, None, len)?;
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.flush",
        |mut s, (this,): (Resource<OutputStream>,)| {
            let r = output(&mut s, &this)?.flush();
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-flush",
        |mut s, (this,): (Resource<OutputStream>,)| {
            let r = blocking_flush(output(&mut s, &this)?);
            Ok((guest(&mut s, r)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.subscribe",
        |mut s, (this,): (Resource<OutputStream>,)| {
            Ok((subscribe(s.data_mut().ctx().table, &this)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.splice",
        |mut s, (this, src, len): (Resource<OutputStream>, Resource<InputStream>, u64)| {
            Ok((splice(&mut s, &this, &src, len, false)?,))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-splice",
        |mut s, (this, src, len): (Resource<OutputStream>, Resource<InputStream>, u64)| {
            Ok((splice(&mut s, &this, &src, len, true)?,))
        },
    )?;
    Ok(())
}

/// Stdio as streams: stdin reads the context's stdin, stdout/stderr write through.
pub(super) mod stdio {
    use super::*;
    use crate::wasi::cli::{OutputStream as HostOut, StdinStream};

    /// The guest's stdin.
    pub struct Stdin(pub StdinStream);

    impl HostInputStream for Stdin {
        fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
            if size == 0 {
                return Ok(Vec::new());
            }
            if !self.0.wait_readable(Some(std::time::Duration::ZERO)) {
                return Ok(Vec::new());
            }
            let mut buf = vec![0; size];
            match self.0.read(&mut buf)? {
                0 => Err(StreamFailure::Closed),
                n => {
                    buf.truncate(n);
                    Ok(buf)
                }
            }
        }

        fn ready(&mut self) -> Ready {
            match &self.0 {
                StdinStream::Inherit => {
                    let s = self.0.clone();
                    Box::pin(async move {
                        let _ = tokio::task::spawn_blocking(move || s.wait_readable(None)).await;
                    })
                }
                _ => ready_now(),
            }
        }
    }

    /// The guest's stdout or stderr: writes reach the host stream at once.
    pub struct Stdout(pub HostOut);

    impl HostOutputStream for Stdout {
        fn check_write(&mut self) -> StreamResult<usize> {
            Ok(MAX_CHUNK as usize)
        }

        fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
            Ok(self.0.write_all(bytes)?)
        }

        fn flush(&mut self) -> StreamResult<()> {
            Ok(())
        }

        fn ready(&mut self) -> Ready {
            ready_now()
        }
    }
}
