//! `wasi:http/types@0.3.0` and `wasi:http/client@0.3.0` (`send`): headers and trailers
//! (`fields`, P2's [`Fields`]), requests, responses and request options, bodies as a
//! `stream<u8>` plus a `future<result<option<trailers>, error-code>>`, and requests sent
//! with hyper through P2's client (`p2::http::send`, plain `http`).
//!
//! A body the guest gives (`request.new` / `response.new`) is taken at once: its stream
//! goes into a [`Pipe`] (what the guest writes is buffered, no backpressure) and its
//! trailers future is read as soon as the guest writes it, so the guest never waits on a
//! host that has not looked yet. `send` streams the pipe to hyper and resolves the
//! request's `future<result<_, error-code>>` when the body has gone out; the response's
//! body is read from hyper on demand when the guest consumes it.
//!
//! Trailers cross the host both ways. A guest body's trailers future is read when the guest
//! writes it, on the store thread (`FutureAny::into_data_reader`): its `fields` are copied
//! out of the resource table then (the handle stays, for a guest reading its own body back)
//! and the hyper body sends them as its trailer frame after the data, waiting for them if
//! the data ends first; trailers that resolve to an error abort the body, so a request
//! whose trailers fail gets no response. Trailers hyper receives become a `fields` handle
//! when the guest reads the trailers future (`FutureWriter::write_with`).
//!
//! Not yet: `https`. `wasmgate serve` builds a served `request` with [`incoming_request`]
//! and streams the guest's `response` with [`outgoing_response`].

use super::{name, ok};
use crate::component::types::Type;
use crate::component::{
    FutureAny, FutureWriter, HostCall, HostSink, HostSource, Linker, Resource, ResourceAny,
    ResourceType, StoreContextMut, StreamAny, Val, ValueMaker,
};
use crate::component::{Lift, Lower};
use crate::error::{Error, Result};
use crate::wasi::cli::lock;
use crate::wasi::p2::http::{
    empty_body, send, ErrorCode, Fields, FieldsError, HyperBody, Method, RequestOptions, Scheme,
};
use crate::wasi::p2::WasiView;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

type Res<T> = Resource<T>;
type Unit = std::result::Result<(), ()>;

/// What a guest writes into a body stream, waiting for whoever reads the body.
#[derive(Default)]
struct PipeState {
    data: VecDeque<u8>,
    /// The guest dropped its end of the stream.
    closed: bool,
    waker: Option<Waker>,
}

/// A guest's body stream, buffered.
#[derive(Clone, Default)]
struct Pipe(Arc<Mutex<PipeState>>);

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Up to `max` bytes, `None` at the end.
    fn poll_take(&self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<u8>>> {
        let mut st = self.lock();
        if !st.data.is_empty() {
            let n = st.data.len().min(max.max(1));
            return Poll::Ready(Some(st.data.drain(..n).collect()));
        }
        if st.closed {
            return Poll::Ready(None);
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

struct PipeSink(Pipe);

impl HostSink for PipeSink {
    fn write(&mut self, vals: Vec<Val>) -> Result<()> {
        let mut st = self.0.lock();
        st.data.extend(vals.into_iter().map(|v| match v {
            Val::U8(b) => b,
            _ => 0,
        }));
        if let Some(w) = st.waker.take() {
            w.wake();
        }
        Ok(())
    }
    fn close(&mut self) {
        let mut st = self.0.lock();
        st.closed = true;
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }
}

impl Drop for PipeSink {
    fn drop(&mut self) {
        self.close();
    }
}

/// A guest body's trailers, for hyper.
#[derive(Clone)]
enum HostTrailers {
    None,
    Map(http::HeaderMap),
    Error(ErrorCode),
}

/// A guest body's trailers future, once the guest wrote (or dropped) it.
#[derive(Default)]
struct TrailersCell {
    /// What the guest wrote (`None`: dropped unwritten) and its host form; `None` while
    /// pending.
    value: Option<(Option<Val>, HostTrailers)>,
    /// Woken when the value comes.
    waker: Option<Waker>,
}

type TrailersSlot = Arc<Mutex<TrailersCell>>;

/// The host form of a written `result<option<trailers>, error-code>`: the `fields` are
/// copied out of `table` (the handle stays valid).
fn host_trailers(table: &mut crate::component::ResourceTable, v: &Val) -> HostTrailers {
    match v {
        Val::Result(Ok(Some(inner))) => match &**inner {
            Val::Option(Some(r)) => match &**r {
                Val::Resource(r) => match r.clone().try_into_resource::<Fields>() {
                    Ok(f) => match table.get(&f) {
                        Ok(f) => HostTrailers::Map(f.map().clone()),
                        Err(e) => HostTrailers::Error(ErrorCode::internal(e)),
                    },
                    Err(e) => HostTrailers::Error(ErrorCode::internal(e)),
                },
                _ => HostTrailers::None,
            },
            _ => HostTrailers::None,
        },
        Val::Result(Err(Some(e))) => HostTrailers::Error(
            ErrorCode::lift((**e).clone())
                .unwrap_or_else(|_| ErrorCode::internal("the trailers failed")),
        ),
        Val::Result(Err(None)) => HostTrailers::Error(ErrorCode::internal("the trailers failed")),
        _ => HostTrailers::None,
    }
}

/// Received trailers as the value of a guest's trailers future: a new immutable `fields`
/// handle, made when the guest reads it (`T`, the store's data, holds the table).
fn trailers_val<T: WasiView + 'static>(map: http::HeaderMap) -> ValueMaker {
    Box::new(move |data| {
        let data = data
            .downcast_mut::<T>()
            .ok_or_else(|| Error::msg("wasi:http: the store's data is not the WASI view"))?;
        let fields = data.ctx().table.push(Fields::new_immutable(map))?;
        let some = Val::Option(Some(Box::new(own(fields)?)));
        Ok(Val::Result(Ok(Some(Box::new(some)))))
    })
}

/// A body the guest made: its stream (if any), its trailers and the future reporting how
/// the transmission ended.
struct GuestBody {
    pipe: Option<Pipe>,
    trailers: TrailersSlot,
    done: Option<FutureWriter>,
}

enum Body {
    Guest(GuestBody),
    Host(HyperBody),
    Consumed,
}

impl Body {
    /// Takes the guest's stream and trailers future now.
    fn from_guest<T: WasiView + 'static>(
        contents: Option<StreamAny>,
        trailers: FutureAny,
        done: FutureWriter,
    ) -> Body {
        let pipe = contents.map(|s| {
            let pipe = Pipe::default();
            s.into_sink(PipeSink(pipe.clone()));
            pipe
        });
        let slot: TrailersSlot = Arc::default();
        let s = slot.clone();
        trailers.into_data_reader(Box::new(move |data, v| {
            let host = match (&v, data.and_then(|d| d.downcast_mut::<T>())) {
                (Some(v), Some(d)) => host_trailers(d.ctx().table, v),
                _ => HostTrailers::None,
            };
            let mut cell = lock(&s);
            cell.value = Some((v, host));
            if let Some(w) = cell.waker.take() {
                w.wake();
            }
        }));
        Body::Guest(GuestBody {
            pipe,
            trailers: slot,
            done: Some(done),
        })
    }
}

/// A guest body as a hyper body: its data, then its trailers (waited for); `done` resolves
/// at its end.
struct PipeBody {
    pipe: Option<Pipe>,
    /// `None` once looked at.
    trailers: Option<TrailersSlot>,
    done: Option<FutureWriter>,
}

impl PipeBody {
    fn new(g: &mut GuestBody) -> Self {
        PipeBody {
            pipe: g.pipe.take(),
            trailers: Some(g.trailers.clone()),
            done: g.done.take(),
        }
    }
}

impl http_body::Body for PipeBody {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, ErrorCode>>> {
        let this = &mut *self;
        let r = match &this.pipe {
            Some(p) => p.poll_take(cx, 64 * 1024),
            None => Poll::Ready(None),
        };
        match r {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(b)) => Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(b))))),
            Poll::Ready(None) => {
                this.pipe = None;
                if let Some(slot) = &this.trailers {
                    let mut cell = lock(slot);
                    let Some((_, host)) = &cell.value else {
                        cell.waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    };
                    let host = host.clone();
                    drop(cell);
                    this.trailers = None;
                    match host {
                        HostTrailers::None => {}
                        HostTrailers::Map(m) => {
                            return Poll::Ready(Some(Ok(http_body::Frame::trailers(m))))
                        }
                        HostTrailers::Error(e) => {
                            if let Some(d) = this.done.take() {
                                d.write(sent_error(&e));
                            }
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
                if let Some(d) = this.done.take() {
                    d.write(ok());
                }
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for PipeBody {
    /// A body dropped before its end (a request never sent, a connection gone) did not go
    /// out: its future resolves to an error.
    fn drop(&mut self) {
        if let Some(d) = self.done.take() {
            d.write(sent_error(&ErrorCode::internal(
                "the body was not transmitted",
            )));
        }
    }
}

/// `err(code)` of a body's transmission future.
fn sent_error(e: &ErrorCode) -> Val {
    Val::Result(Err(Some(Box::new(e.lower().unwrap_or(Val::Option(None))))))
}

/// A response body from hyper, read by the guest; the trailers future resolves at its end.
struct HyperSource {
    body: HyperBody,
    pending: VecDeque<u8>,
    trailers: Option<FutureWriter>,
    /// The trailer frame, once received.
    received: Option<http::HeaderMap>,
    /// Makes the trailers future's value from a received map (generic over the store).
    make: fn(http::HeaderMap) -> ValueMaker,
}

impl HyperSource {
    fn finish(&mut self, v: Val) {
        if let Some(w) = self.trailers.take() {
            w.write(v);
        }
    }
}

impl HostSource for HyperSource {
    fn poll_read(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Val>>> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(max.max(1));
                return Poll::Ready(Some(self.pending.drain(..n).map(Val::U8).collect()));
            }
            match http_body::Body::poll_frame(Pin::new(&mut self.body), cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    match self.received.take() {
                        Some(map) => {
                            if let Some(w) = self.trailers.take() {
                                w.write_with((self.make)(map));
                            }
                        }
                        None => self.finish(Val::Result(Ok(Some(Box::new(Val::Option(None)))))),
                    }
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    let v = e.lower().unwrap_or(Val::Option(None));
                    self.finish(Val::Result(Err(Some(Box::new(v)))));
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => self.pending.extend(data.iter()),
                    Err(frame) => {
                        if let Ok(map) = frame.into_trailers() {
                            self.received
                                .get_or_insert_with(Default::default)
                                .extend(map);
                        }
                    }
                },
            }
        }
    }
}

impl Drop for HyperSource {
    fn drop(&mut self) {
        self.finish(Val::Result(Ok(Some(Box::new(Val::Option(None))))));
    }
}

/// A guest body read back by the guest (`consume-body` of a body it made).
struct PipeSource {
    pipe: Option<Pipe>,
    trailers: TrailersSlot,
    out: Option<FutureWriter>,
}

impl HostSource for PipeSource {
    fn poll_read(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Val>>> {
        let r = match &self.pipe {
            Some(p) => p.poll_take(cx, max),
            None => Poll::Ready(None),
        };
        match r {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(b)) => Poll::Ready(Some(b.into_iter().map(Val::U8).collect())),
            Poll::Ready(None) => {
                let v = lock(&self.trailers).value.take().and_then(|(v, _)| v);
                if let (Some(w), Some(v)) = (self.out.take(), v) {
                    w.write(v);
                }
                Poll::Ready(None)
            }
        }
    }
}

/// `request-options`: P2's, immutable once part of a request.
#[derive(Clone, Copy, Default)]
struct Options {
    o: RequestOptions,
    immutable: bool,
}

/// `request`.
struct Request {
    method: Method,
    scheme: Option<Scheme>,
    authority: Option<String>,
    path_with_query: Option<String>,
    headers: Fields,
    options: Option<RequestOptions>,
    body: Body,
}

/// What `send` fills in a response it has handed out before the answer came.
type Arrival = Arc<Mutex<Option<(u16, http::HeaderMap, HyperBody)>>>;

/// `response`.
struct Response {
    status: u16,
    headers: Fields,
    body: Body,
    /// Set by `send` while the response head is on its way.
    arrival: Option<Arrival>,
}

impl Response {
    /// Moves what `send` received into place.
    fn settle(&mut self) {
        if let Some(a) = self.arrival.take() {
            if let Some((status, headers, body)) =
                a.lock().unwrap_or_else(|e| e.into_inner()).take()
            {
                self.status = status;
                self.headers = Fields::new_immutable(headers);
                self.body = Body::Host(body);
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

fn table<'a, T: WasiView>(
    s: &'a mut StoreContextMut<'_, T>,
) -> &'a mut crate::component::ResourceTable {
    s.data_mut().ctx().table
}

fn case(name: &str, payload: Option<Val>) -> Val {
    Val::Variant(name.to_string(), payload.map(Box::new))
}

/// `result<T, header-error>` from a `fields` change; size limits trap.
fn header_result(r: std::result::Result<Option<Val>, FieldsError>) -> Result<Val> {
    use crate::wasi::p2::http::HeaderError as H;
    match r {
        Ok(v) => Ok(Val::Result(Ok(v.map(Box::new)))),
        Err(FieldsError::Header(h)) => {
            let name = match h {
                H::InvalidSyntax => "invalid-syntax",
                H::Forbidden => "forbidden",
                H::Immutable => "immutable",
            };
            Ok(Val::Result(Err(Some(Box::new(case(name, None))))))
        }
        Err(FieldsError::Trap(e)) => Err(e),
    }
}

fn arg<T: Lift>(args: &[Val], i: usize) -> Result<T> {
    T::lift(
        args.get(i)
            .cloned()
            .ok_or_else(|| Error::msg("wasi:http: missing argument"))?,
    )
}

fn bytes(b: Vec<u8>) -> Val {
    Val::List(b.into_iter().map(Val::U8).collect())
}

fn unit_result(ok: bool) -> Val {
    Val::Result(if ok { Ok(None) } else { Err(None) })
}

fn opts_result(r: std::result::Result<(), &str>) -> Val {
    match r {
        Ok(()) => Val::Result(Ok(None)),
        Err(c) => Val::Result(Err(Some(Box::new(case(c, None))))),
    }
}

/// The own handle of `r` as a value.
fn own<R: 'static>(r: Resource<R>) -> Result<Val> {
    Ok(Val::Resource(ResourceAny::try_from_resource(r)?))
}

/// Defines `wasi:http/types` and `wasi:http/client` at 0.3.0.
pub fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    fields(linker)?;
    let mut types = linker.instance(&name("http/types"))?;
    types.resource(
        "request",
        ResourceType::host::<Request>(),
        delete::<T, Request>,
    )?;
    types.resource(
        "response",
        ResourceType::host::<Response>(),
        delete::<T, Response>,
    )?;
    types.resource(
        "request-options",
        ResourceType::host::<Options>(),
        delete::<T, Options>,
    )?;
    drop(types);
    options(linker)?;
    request(linker)?;
    response(linker)?;
    client(linker)?;
    Ok(())
}

fn fields<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("http/types"))?;
    types.resource(
        "fields",
        ResourceType::host::<Fields>(),
        delete::<T, Fields>,
    )?;
    types.func_wrap("[constructor]fields", |mut s, (): ()| {
        Ok((table(&mut s).push(Fields::new_mutable())?,))
    })?;
    types.func_new("[static]fields.from-list", |mut s, _ty, args, results| {
        let entries: Vec<(String, Vec<u8>)> = arg(args, 0)?;
        let mut f = Fields::new_mutable();
        let mut r = Ok(());
        for (n, v) in entries {
            r = f.append(&n, v);
            if r.is_err() {
                break;
            }
        }
        let r = match r {
            Ok(()) => Ok(Some(own(table(&mut s).push(f)?)?)),
            Err(e) => Err(e),
        };
        results[0] = header_result(r)?;
        Ok(())
    })?;
    types.func_wrap(
        "[method]fields.get",
        |mut s, (this, n): (Res<Fields>, String)| Ok((table(&mut s).get(&this)?.get(&n),)),
    )?;
    types.func_wrap(
        "[method]fields.has",
        |mut s, (this, n): (Res<Fields>, String)| Ok((table(&mut s).get(&this)?.has(&n),)),
    )?;
    types.func_new("[method]fields.set", |mut s, _ty, args, results| {
        let (this, n, v): (Res<Fields>, String, Vec<Vec<u8>>) =
            (arg(args, 0)?, arg(args, 1)?, arg(args, 2)?);
        let r = table(&mut s).get_mut(&this)?.set(&n, v).map(|()| None);
        results[0] = header_result(r)?;
        Ok(())
    })?;
    types.func_new("[method]fields.delete", |mut s, _ty, args, results| {
        let (this, n): (Res<Fields>, String) = (arg(args, 0)?, arg(args, 1)?);
        let r = table(&mut s).get_mut(&this)?.delete(&n).map(|()| None);
        results[0] = header_result(r)?;
        Ok(())
    })?;
    types.func_new(
        "[method]fields.get-and-delete",
        |mut s, _ty, args, results| {
            let (this, n): (Res<Fields>, String) = (arg(args, 0)?, arg(args, 1)?);
            let f = table(&mut s).get_mut(&this)?;
            let values = f.get(&n);
            let r = f
                .delete(&n)
                .map(|()| Some(Val::List(values.into_iter().map(bytes).collect())));
            results[0] = header_result(r)?;
            Ok(())
        },
    )?;
    types.func_new("[method]fields.append", |mut s, _ty, args, results| {
        let (this, n, v): (Res<Fields>, String, Vec<u8>) =
            (arg(args, 0)?, arg(args, 1)?, arg(args, 2)?);
        let r = table(&mut s).get_mut(&this)?.append(&n, v).map(|()| None);
        results[0] = header_result(r)?;
        Ok(())
    })?;
    types.func_wrap(
        "[method]fields.copy-all",
        |mut s, (this,): (Res<Fields>,)| Ok((table(&mut s).get(&this)?.entries(),)),
    )?;
    types.func_wrap("[method]fields.clone", |mut s, (this,): (Res<Fields>,)| {
        let t = table(&mut s);
        let copy = t.get(&this)?.mutable_copy();
        Ok((t.push(copy)?,))
    })?;
    Ok(())
}

fn nanos(d: Option<Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn options<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("http/types"))?;
    types.func_wrap("[constructor]request-options", |mut s, (): ()| {
        Ok((table(&mut s).push(Options::default())?,))
    })?;
    types.func_wrap(
        "[method]request-options.clone",
        |mut s, (this,): (Res<Options>,)| {
            let t = table(&mut s);
            let o = Options {
                o: t.get(&this)?.o,
                immutable: false,
            };
            Ok((t.push(o)?,))
        },
    )?;
    type Field = fn(&mut RequestOptions) -> &mut Option<Duration>;
    let fields: [(&str, Field); 3] = [
        ("connect-timeout", |o| &mut o.connect_timeout),
        ("first-byte-timeout", |o| &mut o.first_byte_timeout),
        ("between-bytes-timeout", |o| &mut o.between_bytes_timeout),
    ];
    for (field, get) in fields {
        types.func_wrap(
            &format!("[method]request-options.get-{field}"),
            move |mut s, (this,): (Res<Options>,)| {
                let mut o = table(&mut s).get(&this)?.o;
                Ok((nanos(*get(&mut o)),))
            },
        )?;
        types.func_new(
            &format!("[method]request-options.set-{field}"),
            move |mut s, _ty, args, results| {
                let (this, d): (Res<Options>, Option<u64>) = (arg(args, 0)?, arg(args, 1)?);
                let o = table(&mut s).get_mut(&this)?;
                results[0] = if o.immutable {
                    opts_result(Err("immutable"))
                } else {
                    *get(&mut o.o) = d.map(Duration::from_nanos);
                    opts_result(Ok(()))
                };
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// The payload type of the `n`th element of a function's result tuple, if a future.
fn tuple_future(ty: &crate::component::types::ComponentFunc, n: usize) -> Option<Type> {
    match ty.results().next()? {
        Type::Tuple(t) => match t.types().get(n)? {
            Type::Future(p) => p.as_deref().cloned(),
            _ => None,
        },
        _ => None,
    }
}

/// `new`'s body arguments: `option<stream<u8>>` and the trailers future.
fn body_args(args: &[Val], at: usize) -> Result<(Option<StreamAny>, FutureAny)> {
    let contents = match args.get(at) {
        Some(Val::Option(Some(b))) => match &**b {
            Val::Stream(s) => Some(s.clone()),
            _ => return Err(Error::msg("wasi:http: expected a stream")),
        },
        _ => None,
    };
    let Some(Val::Future(trailers)) = args.get(at + 1).cloned() else {
        return Err(Error::msg("wasi:http: expected a trailers future"));
    };
    Ok((contents, trailers))
}

/// `consume-body`: the body's stream and trailers future; `res` (the guest's report of
/// how reading went) is read and ignored.
fn consume<T: WasiView + 'static>(
    body: Body,
    ty: &crate::component::types::ComponentFunc,
    res: Option<&Val>,
) -> Result<Val> {
    if let Some(Val::Future(f)) = res.cloned() {
        f.into_reader(Box::new(|_| {}));
    }
    let (trailers, writer) = FutureAny::new_host(tuple_future(ty, 1));
    let stream = match body {
        Body::Guest(g) => {
            let mut g = g;
            if let Some(d) = g.done.take() {
                d.write(ok());
            }
            StreamAny::from_source(
                Type::U8,
                PipeSource {
                    pipe: g.pipe,
                    trailers: g.trailers,
                    out: Some(writer),
                },
            )
        }
        Body::Host(body) => StreamAny::from_source(
            Type::U8,
            HyperSource {
                body,
                pending: VecDeque::new(),
                trailers: Some(writer),
                received: None,
                make: trailers_val::<T>,
            },
        ),
        Body::Consumed => return Err(Error::msg("wasi:http: the body was already consumed")),
    };
    Ok(Val::Tuple(vec![Val::Stream(stream), Val::Future(trailers)]))
}

/// A `path-with-query`: URI path and query characters (raw UTF-8 too), relative or not.
fn valid_path(p: &str) -> bool {
    p.chars().all(|c| {
        !c.is_ascii() || c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=:@/?\"{}".contains(c)
    })
}

/// An authority: as `http` parses it, with a host and, after a `:`, a port.
fn valid_authority(a: &str) -> bool {
    if a.parse::<http::uri::Authority>().is_err() {
        return false;
    }
    let host_port = a.rsplit_once('@').map_or(a, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => (host_port, None),
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    !host.is_empty() && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
}

fn request<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("http/types"))?;
    types.func_new("[static]request.new", |mut s, ty, args, results| {
        let headers: Res<Fields> = arg(args, 0)?;
        let (contents, trailers) = body_args(args, 1)?;
        let opts: Option<Res<Options>> = arg(args, 3)?;
        let t = table(&mut s);
        let mut headers = t.delete(headers)?;
        headers.set_immutable();
        let options = match opts {
            Some(o) => Some(t.delete(o)?.o),
            None => None,
        };
        let (sent, done) = FutureAny::new_host(tuple_future(&ty, 1));
        let req = Request {
            method: Method::Get,
            scheme: None,
            authority: None,
            path_with_query: None,
            headers,
            options,
            body: Body::from_guest::<T>(contents, trailers, done),
        };
        results[0] = Val::Tuple(vec![own(t.push(req)?)?, Val::Future(sent)]);
        Ok(())
    })?;
    types.func_wrap(
        "[method]request.get-method",
        |mut s, (this,): (Res<Request>,)| Ok((table(&mut s).get(&this)?.method.clone(),)),
    )?;
    types.func_new("[method]request.set-method", |mut s, _ty, args, results| {
        let (this, m): (Res<Request>, Method) = (arg(args, 0)?, arg(args, 1)?);
        let parsed = match &m {
            Method::Other(o) if o.is_empty() => None,
            m => http::Method::try_from(m).ok(),
        };
        let r = table(&mut s).get_mut(&this)?;
        results[0] = unit_result(parsed.is_some());
        if let Some(p) = parsed {
            r.method = Method::from(&p);
        }
        Ok(())
    })?;
    types.func_wrap(
        "[method]request.get-path-with-query",
        |mut s, (this,): (Res<Request>,)| {
            let r = table(&mut s).get(&this)?;
            Ok((r.path_with_query.clone(),))
        },
    )?;
    types.func_wrap(
        "[method]request.set-path-with-query",
        |mut s, (this, p): (Res<Request>, Option<String>)| -> Result<(Unit,)> {
            let parsed = match p {
                None => Some(None),
                Some(p) if valid_path(&p) => {
                    Some(Some(if p.is_empty() { "/".to_string() } else { p }))
                }
                Some(_) => None,
            };
            let r = table(&mut s).get_mut(&this)?;
            Ok((match parsed {
                Some(p) => {
                    r.path_with_query = p;
                    Ok(())
                }
                None => Err(()),
            },))
        },
    )?;
    types.func_wrap(
        "[method]request.get-scheme",
        |mut s, (this,): (Res<Request>,)| Ok((table(&mut s).get(&this)?.scheme.clone(),)),
    )?;
    types.func_wrap(
        "[method]request.set-scheme",
        |mut s, (this, sc): (Res<Request>, Option<Scheme>)| -> Result<(Unit,)> {
            let sc = match sc {
                Some(Scheme::Other(o)) if o.eq_ignore_ascii_case("http") => Some(Scheme::Http),
                Some(Scheme::Other(o)) if o.eq_ignore_ascii_case("https") => Some(Scheme::Https),
                Some(Scheme::Other(o)) if !valid_scheme(&o) => return Ok((Err(()),)),
                sc => sc,
            };
            table(&mut s).get_mut(&this)?.scheme = sc;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]request.get-authority",
        |mut s, (this,): (Res<Request>,)| Ok((table(&mut s).get(&this)?.authority.clone(),)),
    )?;
    types.func_wrap(
        "[method]request.set-authority",
        |mut s, (this, a): (Res<Request>, Option<String>)| -> Result<(Unit,)> {
            if let Some(a) = &a {
                if !valid_authority(a) {
                    return Ok((Err(()),));
                }
            }
            table(&mut s).get_mut(&this)?.authority = a;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]request.get-options",
        |mut s, (this,): (Res<Request>,)| {
            let t = table(&mut s);
            Ok((match t.get(&this)?.options {
                Some(o) => Some(t.push(Options { o, immutable: true })?),
                None => None,
            },))
        },
    )?;
    types.func_wrap(
        "[method]request.get-headers",
        |mut s, (this,): (Res<Request>,)| {
            let t = table(&mut s);
            let h = Fields::new_immutable(t.get(&this)?.headers.map().clone());
            Ok((t.push(h)?,))
        },
    )?;
    types.func_new(
        "[static]request.consume-body",
        |mut s, ty, args, results| {
            let this: Res<Request> = arg(args, 0)?;
            let r = table(&mut s).delete(this)?;
            results[0] = consume::<T>(r.body, &ty, args.get(1))?;
            Ok(())
        },
    )?;
    Ok(())
}

fn response<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("http/types"))?;
    types.func_new("[static]response.new", |mut s, ty, args, results| {
        let headers: Res<Fields> = arg(args, 0)?;
        let (contents, trailers) = body_args(args, 1)?;
        let t = table(&mut s);
        let mut headers = t.delete(headers)?;
        headers.set_immutable();
        let (sent, done) = FutureAny::new_host(tuple_future(&ty, 1));
        let resp = Response {
            status: 200,
            headers,
            body: Body::from_guest::<T>(contents, trailers, done),
            arrival: None,
        };
        results[0] = Val::Tuple(vec![own(t.push(resp)?)?, Val::Future(sent)]);
        Ok(())
    })?;
    types.func_wrap(
        "[method]response.get-status-code",
        |mut s, (this,): (Res<Response>,)| {
            let r = table(&mut s).get_mut(&this)?;
            r.settle();
            Ok((r.status,))
        },
    )?;
    types.func_wrap(
        "[method]response.set-status-code",
        |mut s, (this, code): (Res<Response>, u16)| -> Result<(Unit,)> {
            let r = table(&mut s).get_mut(&this)?;
            r.settle();
            if !(100..=599).contains(&code) {
                return Ok((Err(()),));
            }
            r.status = code;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]response.get-headers",
        |mut s, (this,): (Res<Response>,)| {
            let t = table(&mut s);
            let r = t.get_mut(&this)?;
            r.settle();
            let h = Fields::new_immutable(r.headers.map().clone());
            Ok((t.push(h)?,))
        },
    )?;
    types.func_new(
        "[static]response.consume-body",
        |mut s, ty, args, results| {
            let this: Res<Response> = arg(args, 0)?;
            let mut r = table(&mut s).delete(this)?;
            r.settle();
            let body = std::mem::replace(&mut r.body, Body::Consumed);
            results[0] = consume::<T>(body, &ty, args.get(1))?;
            Ok(())
        },
    )?;
    Ok(())
}

/// The hyper request for a `request`, checked before sending.
fn outgoing(
    req: &mut Request,
) -> std::result::Result<(http::Request<HyperBody>, Option<FutureWriter>), ErrorCode> {
    let method =
        http::Method::try_from(&req.method).map_err(|_| ErrorCode::HttpRequestMethodInvalid)?;
    let scheme = match req.scheme.clone().unwrap_or(Scheme::Http) {
        Scheme::Http => http::uri::Scheme::HTTP,
        Scheme::Https => http::uri::Scheme::HTTPS,
        Scheme::Other(s) => s.parse().map_err(|_| ErrorCode::HttpProtocolError)?,
    };
    let authority = req
        .authority
        .clone()
        .ok_or(ErrorCode::HttpRequestUriInvalid)?;
    let path = match &req.path_with_query {
        Some(p) if p.starts_with('/') => p.clone(),
        Some(p) => format!("/{p}"),
        None => "/".to_string(),
    };
    let uri = http::Uri::builder()
        .scheme(scheme)
        .authority(authority.as_str())
        .path_and_query(path)
        .build()
        .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::HOST, authority.as_str());
    for (k, v) in req.headers.map() {
        builder = builder.header(k, v);
    }
    let (body, done) = match std::mem::replace(&mut req.body, Body::Consumed) {
        Body::Guest(mut g) => {
            // No stream and no trailers (already known): an empty body, not chunked.
            let no_trailers = matches!(lock(&g.trailers).value, Some((_, HostTrailers::None)));
            if g.pipe.is_none() && no_trailers {
                (empty_body(), g.done.take())
            } else {
                (PipeBody::new(&mut g).boxed(), None)
            }
        }
        Body::Host(b) => (b, None),
        Body::Consumed => (empty_body(), None),
    };
    let req = builder.body(body).map_err(ErrorCode::internal)?;
    Ok((req, done))
}

fn client<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    linker
        .instance(&name("http/client"))?
        .func_new_async("send", |mut s, _ty, args| {
            let this: Res<Request> = arg(&args, 0)?;
            let t = table(&mut s);
            let mut req = t.delete(this)?;
            let options = req.options.unwrap_or_default();
            let arrival: Arrival = Arc::default();
            let placeholder = t.push(Response {
                status: 200,
                headers: Fields::new_immutable(http::HeaderMap::new()),
                body: Body::Consumed,
                arrival: Some(arrival.clone()),
            })?;
            let (hreq, done) = match outgoing(&mut req) {
                Ok(r) => r,
                Err(e) => {
                    t.delete(placeholder)?;
                    return Ok(HostCall::Ready(vec![Val::Result(Err(Some(Box::new(
                        e.lower()?,
                    ))))]));
                }
            };
            let handle = own(placeholder)?;
            Ok(HostCall::Pending(Box::pin(async move {
                let r = send(hreq, options).await;
                if let Some(d) = done {
                    d.write(match &r {
                        Ok(_) => ok(),
                        Err(e) => sent_error(e),
                    });
                }
                Ok(vec![match r {
                    Ok(resp) => {
                        let (parts, body) = resp.into_parts();
                        *arrival.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some((parts.status.as_u16(), parts.headers, body));
                        Val::Result(Ok(Some(Box::new(handle))))
                    }
                    Err(e) => Val::Result(Err(Some(Box::new(e.lower()?)))),
                }])
            })))
        })?;
    Ok(())
}

/// A served request as an own `request` handle (for the `handler` export of
/// `wasmgate serve`): method, `http` scheme, authority (the URI's, else `host`), path and
/// headers from hyper; its body is read from hyper as the guest consumes it.
pub(crate) fn incoming_request(
    table: &mut crate::component::ResourceTable,
    req: http::Request<HyperBody>,
) -> Result<Val> {
    let (parts, body) = req.into_parts();
    let authority = parts.uri.authority().map(|a| a.to_string()).or_else(|| {
        parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    });
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
    let req = Request {
        method: Method::from(&parts.method),
        scheme: Some(Scheme::Http),
        authority,
        path_with_query: Some(path),
        headers: Fields::new_immutable(parts.headers),
        options: None,
        body: Body::Host(body),
    };
    own(table.push(req)?)
}

/// The hyper response for what the `handler` export returned
/// (`result<response, error-code>`): `Err` with a message for an `error-code`. A body the
/// guest writes is streamed as written, also after `handle` returned.
pub(crate) fn outgoing_response(
    table: &mut crate::component::ResourceTable,
    v: &Val,
) -> Result<std::result::Result<http::Response<HyperBody>, String>> {
    let resp = match v {
        Val::Result(Ok(Some(r))) => match &**r {
            Val::Resource(r) => r.clone().try_into_resource::<Response>()?,
            _ => return Err(Error::msg("wasi:http/handler: expected a response")),
        },
        Val::Result(Err(e)) => return Ok(Err(format!("{e:?}"))),
        _ => return Err(Error::msg("wasi:http/handler: expected a result")),
    };
    let mut resp = table.delete(resp)?;
    resp.settle();
    let body = match std::mem::replace(&mut resp.body, Body::Consumed) {
        Body::Guest(mut g) => PipeBody::new(&mut g).boxed(),
        Body::Host(b) => b,
        Body::Consumed => empty_body(),
    };
    let mut out = http::Response::new(body);
    *out.status_mut() =
        http::StatusCode::from_u16(resp.status).map_err(|e| Error::msg(e.to_string()))?;
    *out.headers_mut() = resp.headers.map().clone();
    Ok(Ok(out))
}
