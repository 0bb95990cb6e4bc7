//! `wasi:sockets@0.3.0`: `types` (the `tcp-socket` and `udp-socket` resources) and
//! `ip-name-lookup`, over the same tokio sockets, [`NetPolicy`] checks, socket options and
//! error mapping as WASI 0.2 (`p2::sockets`, whose helpers this reuses).
//!
//! What differs from 0.2: no `network` handle and no `start-*`/`finish-*` pairs. `connect`,
//! UDP `send`/`receive` and `resolve-addresses` are `async func`s (host futures); `listen`
//! binds implicitly and returns a `stream<tcp-socket>` of accepted connections; TCP data
//! goes through a `stream<u8>` each way, with a `future<result<_, error-code>>` that
//! resolves when the stream ends (`send`: once everything was written and the socket shut
//! down for writing; `receive`: at the peer's FIN, an error, or when the guest drops the
//! stream, which shuts the socket down for reading).
//!
//! TCP sockets live in the context's [`TcpSockets`], not in the resource table: the
//! `stream<tcp-socket>` of `listen` makes sockets while the guest reads it, where no store
//! is at hand, and a `tcp-socket` handle's representation is its index there.
//!
//! Policy: creating a socket and reading or setting its options reach no network, so they
//! are always allowed (as wasmtime 47 did; the upstream `sockets-*-properties` tests declare
//! no network proposal and expect them to work). Everything that binds or reaches an
//! address needs some allowed range: `bind`, `listen` (an implicit bind), `connect` and
//! `send`; with none they answer `access-denied`. `connect` and `send` are checked against
//! the remote address. `bind` is checked against the local address too, except that the unspecified address (`0.0.0.0` / `::`) is allowed (what it can reach is
//! checked per peer: connections and datagrams from other addresses are dropped); a refused
//! address no interface has is still `address-not-bindable`, as the OS would say.

use super::future_payload;
use crate::component::types::{ComponentFunc, Type};
use crate::component::{
    ComponentType, FutureAny, FutureWriter, HostCall, HostSink, HostSource, Lift, Linker, Lower,
    Resource, ResourceAny, ResourceType, StoreContextMut, StreamAny, Val,
};
use crate::error::{Error, Result};
use crate::wasi::block::block_on;
use crate::wasi::cli::lock;
use crate::wasi::p2::sockets::tcp::{
    accept_error, clamp_keep_alive_time, duration_ns, reset, CHUNK, DEFAULT_BACKLOG,
};
use crate::wasi::p2::sockets::udp::{disconnect, make_socket, MAX_DATAGRAM_SIZE};
use crate::wasi::p2::sockets::{
    self as p2, lookup, options, Bg, ErrorCode as Code, Family, IpAddress, IpSocketAddress,
};
use crate::wasi::p2::WasiView;
use crate::wasi::sockets::NetPolicy;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::io::Errno;
use rustix::net::sockopt;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::net::{TcpListener, TcpStream};

fn name(iface: &str) -> String {
    format!("wasi:sockets/{iface}@{}", super::VERSION)
}

/// `error-code` of `wasi:sockets/types@0.3.0`: a 0.2 code (those 0.3 has no case for are
/// `other`, with their 0.2 name), or `connection-broken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The case of the same name, or `other`.
    Code(Code),
    /// `connection-broken`: the connection is not writable any more (`EPIPE`).
    ConnectionBroken,
}

const TYPES_CASES: [&str; 15] = [
    "access-denied",
    "not-supported",
    "invalid-argument",
    "out-of-memory",
    "timeout",
    "invalid-state",
    "address-not-bindable",
    "address-in-use",
    "remote-unreachable",
    "connection-refused",
    "connection-broken",
    "connection-reset",
    "connection-aborted",
    "datagram-too-large",
    "other",
];

const LOOKUP_CASES: [&str; 6] = [
    "access-denied",
    "invalid-argument",
    "name-unresolvable",
    "temporary-resolver-failure",
    "permanent-resolver-failure",
    "other",
];

type SocketResult<T> = std::result::Result<T, ErrorCode>;

impl From<Code> for ErrorCode {
    fn from(c: Code) -> Self {
        ErrorCode::Code(c)
    }
}

impl From<std::io::Error> for ErrorCode {
    fn from(e: std::io::Error) -> Self {
        if Errno::from_io_error(&e) == Some(Errno::PIPE) {
            return ErrorCode::ConnectionBroken;
        }
        Code::from_io(&e).into()
    }
}

impl From<Errno> for ErrorCode {
    fn from(e: Errno) -> Self {
        Code::from(e).into()
    }
}

/// A variant case of `cases` named as `code`, or `other` (with the name, unless `unknown`).
fn variant_case(cases: &[&str], code: &str) -> Val {
    if code != "other" && cases.contains(&code) {
        return Val::Variant(code.into(), None);
    }
    let detail = (code != "unknown").then(|| Box::new(Val::String(code.into())));
    Val::Variant("other".into(), Some(Box::new(Val::Option(detail))))
}

impl ErrorCode {
    fn val(self) -> Val {
        match self {
            ErrorCode::ConnectionBroken => Val::Variant("connection-broken".into(), None),
            ErrorCode::Code(c) => variant_case(&TYPES_CASES, c.name()),
        }
    }
}

impl ComponentType for ErrorCode {
    fn typecheck(ty: &Type) -> Result<()> {
        p2::check_variant("error-code", ty, &TYPES_CASES)
    }
}

impl Lower for ErrorCode {
    fn lower(&self) -> Result<Val> {
        Ok(self.val())
    }
}

/// `error-code` of `wasi:sockets/ip-name-lookup@0.3.0`.
struct LookupError(Code);

impl ComponentType for LookupError {
    fn typecheck(ty: &Type) -> Result<()> {
        p2::check_variant("error-code", ty, &LOOKUP_CASES)
    }
}

impl Lower for LookupError {
    fn lower(&self) -> Result<Val> {
        Ok(variant_case(&LOOKUP_CASES, self.0.name()))
    }
}

/// `result<_, error-code>` as a value.
fn result_val(r: SocketResult<()>) -> Val {
    Val::Result(r.map(|()| None).map_err(|e| Some(Box::new(e.val()))))
}

/// The policy check of a local address (see the module docs).
fn check_local(policy: &NetPolicy, addr: SocketAddr) -> SocketResult<()> {
    if !policy.any() {
        return Err(Code::AccessDenied.into());
    }
    if addr.ip().to_canonical().is_unspecified() || policy.allows(addr.ip()) {
        return Ok(());
    }
    // Probed with a throwaway socket, so that nothing stays bound to it.
    match std::net::UdpSocket::bind(SocketAddr::new(addr.ip(), 0)) {
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => Err(Code::AddressNotBindable.into()),
        _ => Err(Code::AccessDenied.into()),
    }
}

fn bind_error(e: Errno) -> ErrorCode {
    match e {
        Errno::AFNOSUPPORT => Code::InvalidArgument.into(),
        e => e.into(),
    }
}

// ---------------------------------------------------------------------------------------
// TCP

enum State {
    Default(tokio::net::TcpSocket),
    /// `connect` is running (its future holds the socket).
    Connecting,
    Listening(Arc<TcpListener>),
    Connected(Arc<TcpStream>),
    /// A failed `connect` (or `listen`) left nothing to use.
    Closed,
}

/// A `tcp-socket` of `wasi:sockets/types@0.3.0`.
pub struct TcpSocket {
    state: State,
    family: Family,
    policy: NetPolicy,
    backlog: u32,
    /// Cached: once bound, a socket stays bound.
    bound: bool,
    /// `send` / `receive` were called (each may be, once).
    sending: bool,
    receiving: bool,
}

impl std::fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TcpSocket")
    }
}

impl TcpSocket {
    fn new(family: Family, policy: NetPolicy) -> SocketResult<Self> {
        let socket = match family {
            Family::Ipv4 => tokio::net::TcpSocket::new_v4()?,
            Family::Ipv6 => {
                let s = tokio::net::TcpSocket::new_v6()?;
                // WASI: IPv6 sockets are v6-only, and that cannot be changed.
                sockopt::set_ipv6_v6only(&s, true)?;
                s
            }
        };
        Ok(Self::with_state(State::Default(socket), family, policy))
    }

    fn with_state(state: State, family: Family, policy: NetPolicy) -> Self {
        let bound = !matches!(state, State::Default(_));
        TcpSocket {
            state,
            family,
            policy,
            backlog: DEFAULT_BACKLOG,
            bound,
            sending: false,
            receiving: false,
        }
    }

    fn fd(&self) -> SocketResult<BorrowedFd<'_>> {
        match &self.state {
            State::Default(s) => Ok(s.as_fd()),
            State::Listening(l) => Ok(l.as_fd()),
            State::Connected(s) => Ok(s.as_fd()),
            State::Connecting | State::Closed => Err(Code::InvalidState.into()),
        }
    }

    fn is_bound(&mut self) -> bool {
        if !self.bound {
            self.bound = match &self.state {
                State::Default(s) => s.local_addr().is_ok_and(|a| a != self.family.unspecified()),
                _ => true,
            };
        }
        self.bound
    }

    fn bind(&mut self, addr: SocketAddr) -> SocketResult<()> {
        if self.is_bound() {
            return Err(Code::InvalidState.into());
        }
        let State::Default(socket) = &self.state else {
            return Err(Code::InvalidState.into());
        };
        if !p2::is_unicast(addr.ip()) || !self.family.accepts(addr.ip()) {
            return Err(Code::InvalidArgument.into());
        }
        check_local(&self.policy, addr)?;
        // WASI: binding is not affected by TIME_WAIT of a recently closed socket.
        let _ = sockopt::set_socket_reuseaddr(socket, true);
        rustix::net::bind(socket, &addr).map_err(bind_error)
    }

    /// Checks a `connect` and takes the socket for it.
    fn start_connect(&mut self, addr: SocketAddr) -> SocketResult<tokio::net::TcpSocket> {
        if !matches!(self.state, State::Default(_)) {
            return Err(Code::InvalidState.into());
        }
        if !p2::is_unicast(addr.ip())
            || !p2::is_valid_remote(addr)
            || !self.family.accepts(addr.ip())
        {
            return Err(Code::InvalidArgument.into());
        }
        // An unbound socket is bound by the OS: that implicit bind is not checked, the
        // remote is.
        p2::check(&self.policy, addr)?;
        match std::mem::replace(&mut self.state, State::Connecting) {
            State::Default(socket) => Ok(socket),
            _ => unreachable!("checked above"),
        }
    }

    fn finish_connect(&mut self, r: std::io::Result<TcpStream>) -> SocketResult<()> {
        match r {
            Ok(stream) => {
                self.state = State::Connected(Arc::new(stream));
                self.bound = true;
                Ok(())
            }
            Err(e) => {
                self.state = State::Closed;
                Err(e.into())
            }
        }
    }

    fn listen(&mut self) -> SocketResult<Arc<TcpListener>> {
        if !matches!(self.state, State::Default(_)) {
            return Err(Code::InvalidState.into());
        }
        // Unbound, the OS binds it to the unspecified address and an ephemeral port (allowed
        // as an explicit bind to it is, when any network use is; with none, no bind succeeded).
        if !self.policy.any() {
            return Err(Code::AccessDenied.into());
        }
        let State::Default(socket) = std::mem::replace(&mut self.state, State::Closed) else {
            unreachable!("checked above")
        };
        let backlog = self.backlog;
        // The listener registers with the reactor of the runtime it is made in.
        let listener = Arc::new(block_on(async move { socket.listen(backlog) })?);
        self.state = State::Listening(listener.clone());
        self.bound = true;
        Ok(listener)
    }

    fn local_address(&mut self) -> SocketResult<SocketAddr> {
        if !self.is_bound() {
            return Err(Code::InvalidState.into());
        }
        Ok(match &self.state {
            State::Default(s) => s.local_addr()?,
            State::Listening(l) => l.local_addr()?,
            State::Connected(s) => s.local_addr()?,
            State::Connecting | State::Closed => return Err(Code::InvalidState.into()),
        })
    }

    fn remote_address(&self) -> SocketResult<SocketAddr> {
        match &self.state {
            State::Connected(s) => Ok(s.peer_addr()?),
            _ => Err(Code::InvalidState.into()),
        }
    }

    fn set_listen_backlog_size(&mut self, value: u64) -> SocketResult<()> {
        if value == 0 {
            return Err(Code::InvalidArgument.into());
        }
        // Clamped silently, as operating systems do.
        let value = u32::try_from(value)
            .unwrap_or(i32::MAX as u32)
            .clamp(1, i32::MAX as u32);
        match &self.state {
            State::Default(_) => {}
            // Listening again updates the backlog where the OS supports it.
            State::Listening(l) => rustix::net::listen(&**l, value as i32)
                .map_err(|_| ErrorCode::from(Code::NotSupported))?,
            _ => return Err(Code::InvalidState.into()),
        }
        self.backlog = value;
        Ok(())
    }

    /// The connection, for `send` / `receive` (each once).
    fn take_stream(&mut self, send: bool) -> SocketResult<Arc<TcpStream>> {
        let State::Connected(stream) = &self.state else {
            return Err(Code::InvalidState.into());
        };
        let taken = if send {
            &mut self.sending
        } else {
            &mut self.receiving
        };
        if std::mem::replace(taken, true) {
            return Err(Code::InvalidState.into());
        }
        Ok(stream.clone())
    }
}

/// The context's WASI 0.3 TCP sockets, by handle representation. Cheap to clone.
#[derive(Default, Clone)]
pub(crate) struct TcpSockets(Arc<Mutex<Slots>>);

#[derive(Default)]
struct Slots {
    entries: Vec<Option<Arc<Mutex<TcpSocket>>>>,
    free: Vec<u32>,
}

impl std::fmt::Debug for TcpSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slots = lock(&self.0);
        let live = slots.entries.len() - slots.free.len();
        write!(f, "TcpSockets({live})")
    }
}

impl TcpSockets {
    fn insert(&self, socket: TcpSocket) -> Resource<TcpSocket> {
        let mut slots = lock(&self.0);
        let entry = Some(Arc::new(Mutex::new(socket)));
        let rep = match slots.free.pop() {
            Some(i) => {
                slots.entries[i as usize] = entry;
                i
            }
            None => {
                slots.entries.push(entry);
                (slots.entries.len() - 1) as u32
            }
        };
        Resource::new_own(rep)
    }

    fn get(&self, socket: &Resource<TcpSocket>) -> Result<Arc<Mutex<TcpSocket>>> {
        lock(&self.0)
            .entries
            .get(socket.rep() as usize)
            .and_then(|e| e.clone())
            .ok_or_else(|| Error::msg(format!("unknown tcp-socket {}", socket.rep())))
    }

    fn remove(&self, rep: u32) -> Result<()> {
        let mut slots = lock(&self.0);
        match slots.entries.get_mut(rep as usize).and_then(|e| e.take()) {
            Some(_) => {
                slots.free.push(rep);
                Ok(())
            }
            None => Err(Error::msg(format!("unknown tcp-socket {rep}"))),
        }
    }
}

/// The stream `listen` returns: accepted connections from allowed addresses, as new
/// sockets. Transient accept errors (a connection aborted before it was accepted) are
/// skipped; others end the stream.
struct AcceptSource {
    listener: Arc<TcpListener>,
    family: Family,
    policy: NetPolicy,
    sockets: TcpSockets,
}

impl HostSource for AcceptSource {
    fn poll_read(&mut self, cx: &mut Context<'_>, _max: usize) -> Poll<Option<Vec<Val>>> {
        loop {
            match self.listener.poll_accept(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok((stream, from))) if self.policy.allows(from.ip()) => {
                    let state = State::Connected(Arc::new(stream));
                    let socket = TcpSocket::with_state(state, self.family, self.policy.clone());
                    let handle = self.sockets.insert(socket);
                    return Poll::Ready(
                        ResourceAny::try_from_resource(handle)
                            .ok()
                            .map(|r| vec![Val::Resource(r)]),
                    );
                }
                Poll::Ready(Ok((stream, _))) => reset(stream),
                Poll::Ready(Err(e)) => {
                    if accept_error(e) != Code::ConnectionAborted {
                        return Poll::Ready(None);
                    }
                }
            }
        }
    }
}

/// The stream `receive` returns; dropped, it shuts the socket down for reading.
struct RecvSource {
    stream: Arc<TcpStream>,
    done: Option<FutureWriter>,
}

impl RecvSource {
    fn finish(&mut self, r: SocketResult<()>) -> Poll<Option<Vec<Val>>> {
        if let Some(w) = self.done.take() {
            w.write(result_val(r));
        }
        Poll::Ready(None)
    }
}

impl HostSource for RecvSource {
    fn poll_read(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Val>>> {
        let mut buf = vec![0u8; max.clamp(1, CHUNK)];
        loop {
            match self.stream.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return self.finish(Err(e.into())),
                Poll::Ready(Ok(())) => {}
            }
            match self.stream.try_read(&mut buf) {
                Ok(0) => return self.finish(Ok(())),
                Ok(n) => return Poll::Ready(Some(buf[..n].iter().map(|b| Val::U8(*b)).collect())),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return self.finish(Err(e.into())),
            }
        }
    }
}

impl Drop for RecvSource {
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&*self.stream, rustix::net::Shutdown::Read);
        let _ = self.finish(Ok(()));
    }
}

/// What the guest writes to the stream it gave `send`: queued for the writing task (which
/// takes it all: no backpressure yet).
struct SendSink {
    queue: Option<tokio::sync::mpsc::UnboundedSender<Vec<u8>>>,
    failed: Arc<AtomicBool>,
}

impl HostSink for SendSink {
    fn write(&mut self, vals: Vec<Val>) -> Result<()> {
        let bytes = vals
            .into_iter()
            .map(|v| match v {
                Val::U8(b) => b,
                _ => 0,
            })
            .collect();
        match &self.queue {
            Some(q) if !self.failed.load(Ordering::SeqCst) && q.send(bytes).is_ok() => Ok(()),
            _ => Err(Error::msg("the connection is not writable")),
        }
    }

    fn close(&mut self) {
        self.queue = None;
    }
}

/// Refuses what the guest writes (a `send` that failed at once).
struct ClosedSink;

impl HostSink for ClosedSink {
    fn write(&mut self, _vals: Vec<Val>) -> Result<()> {
        Err(Error::msg("the stream was not accepted"))
    }
}

/// Writes all of `buf` to `stream`.
async fn write_all(stream: &TcpStream, buf: &[u8]) -> SocketResult<()> {
    let mut done = 0;
    while done < buf.len() {
        stream.writable().await?;
        match stream.try_write(&buf[done..]) {
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `send`: a task writes what the guest queues, then shuts the socket down for writing and
/// resolves the future.
fn start_send(stream: Arc<TcpStream>, data: StreamAny, done: FutureWriter) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let failed = Arc::new(AtomicBool::new(false));
    data.into_sink(SendSink {
        queue: Some(tx),
        failed: failed.clone(),
    });
    // Detached: it ends when the guest's stream does (or the connection fails).
    drop(Bg::spawn(async move {
        let mut r = Ok(());
        while let Some(buf) = rx.recv().await {
            if let Err(e) = write_all(&stream, &buf).await {
                failed.store(true, Ordering::SeqCst);
                r = Err(e);
                break;
            }
        }
        let _ = rustix::net::shutdown(&*stream, rustix::net::Shutdown::Write);
        done.write(result_val(r));
    }));
}

/// The element type of the `stream<T>` in a function's `result<stream<T>, _>`.
fn stream_elem(ty: &ComponentFunc) -> Result<Type> {
    match ty.results().next() {
        Some(Type::Result(r)) => match r.ok() {
            Some(Type::Stream(Some(elem))) => Ok((**elem).clone()),
            _ => Err(Error::msg(
                "listen: expected a result<stream<tcp-socket>, _>",
            )),
        },
        _ => Err(Error::msg(
            "listen: expected a result<stream<tcp-socket>, _>",
        )),
    }
}

fn next_arg(args: &mut std::vec::IntoIter<Val>, func: &str) -> Result<Val> {
    args.next()
        .ok_or_else(|| Error::msg(format!("{func}: missing argument")))
}

fn tcp_socket<T: WasiView>(
    s: &mut StoreContextMut<'_, T>,
    this: &Resource<TcpSocket>,
) -> Result<Arc<Mutex<TcpSocket>>> {
    s.data_mut().ctx().ctx.p3_tcp.get(this)
}

/// Defines `[method]tcp-socket.<name>` taking the socket (locked, mutably) and `P`.
macro_rules! tcp_method {
    ($inst:ident, $name:literal, |$sock:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $inst.func_wrap(
            concat!("[method]tcp-socket.", $name),
            |mut s, (this, $($arg,)*): (Resource<TcpSocket>, $($ty,)*)| {
                let socket = tcp_socket(&mut s, &this)?;
                let $sock = &mut *lock(&socket);
                Ok(($body,))
            },
        )?;
    };
}

fn tcp<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("types"))?;
    types.resource(
        "tcp-socket",
        ResourceType::host::<TcpSocket>(),
        |mut s, rep| s.data_mut().ctx().ctx.p3_tcp.remove(rep),
    )?;
    types.func_wrap(
        "[static]tcp-socket.create",
        |mut s, (family,): (Family,)| {
            let ctx = s.data_mut().ctx().ctx;
            let r = TcpSocket::new(family, ctx.net.clone()).map(|sock| ctx.p3_tcp.insert(sock));
            Ok((r,))
        },
    )?;
    tcp_method!(types, "bind", |sock, addr: IpSocketAddress| sock
        .bind(addr.0));
    types.func_new_async("[method]tcp-socket.connect", |mut s, _ty, args| {
        let mut args = args.into_iter();
        let this = Resource::<TcpSocket>::lift(next_arg(&mut args, "connect")?)?;
        let addr = IpSocketAddress::lift(next_arg(&mut args, "connect")?)?.0;
        let socket = tcp_socket(&mut s, &this)?;
        let started = lock(&socket).start_connect(addr);
        let raw = match started {
            Ok(raw) => raw,
            Err(e) => return Ok(HostCall::Ready(vec![result_val(Err(e))])),
        };
        Ok(HostCall::Pending(Box::pin(async move {
            let r = raw.connect(addr).await;
            let r = lock(&socket).finish_connect(r);
            Ok(vec![result_val(r)])
        })))
    })?;
    types.func_new("[method]tcp-socket.listen", |mut s, ty, args, results| {
        let this = Resource::<TcpSocket>::lift(args[0].clone())?;
        let elem = stream_elem(&ty)?;
        let sockets = s.data_mut().ctx().ctx.p3_tcp.clone();
        let socket = sockets.get(&this)?;
        let mut sock = lock(&socket);
        results[0] = match sock.listen() {
            Ok(listener) => {
                let source = AcceptSource {
                    listener,
                    family: sock.family,
                    policy: sock.policy.clone(),
                    sockets: sockets.clone(),
                };
                Val::Result(Ok(Some(Box::new(Val::Stream(StreamAny::from_source(
                    elem, source,
                ))))))
            }
            Err(e) => Val::Result(Err(Some(Box::new(e.val())))),
        };
        Ok(())
    })?;
    types.func_new("[method]tcp-socket.send", |mut s, ty, args, results| {
        let this = Resource::<TcpSocket>::lift(args[0].clone())?;
        let Some(Val::Stream(data)) = args.get(1).cloned() else {
            return Err(Error::msg("send: expected a stream"));
        };
        let socket = tcp_socket(&mut s, &this)?;
        let taken = lock(&socket).take_stream(true);
        let (future, done) = FutureAny::new_host(future_payload(&ty));
        match taken {
            Ok(stream) => start_send(stream, data, done),
            Err(e) => {
                data.into_sink(ClosedSink);
                done.write(result_val(Err(e)));
            }
        }
        results[0] = Val::Future(future);
        Ok(())
    })?;
    types.func_new("[method]tcp-socket.receive", |mut s, ty, args, results| {
        let this = Resource::<TcpSocket>::lift(args[0].clone())?;
        let socket = tcp_socket(&mut s, &this)?;
        let taken = lock(&socket).take_stream(false);
        let (future, done) = FutureAny::new_host(future_payload(&ty));
        let mut source = RecvSource {
            stream: match taken {
                Ok(stream) => stream,
                Err(e) => {
                    done.write(result_val(Err(e)));
                    results[0] = Val::Tuple(vec![
                        Val::Stream(StreamAny::from_source(Type::U8, Empty)),
                        Val::Future(future),
                    ]);
                    return Ok(());
                }
            },
            done: None,
        };
        source.done = Some(done);
        results[0] = Val::Tuple(vec![
            Val::Stream(StreamAny::from_source(Type::U8, source)),
            Val::Future(future),
        ]);
        Ok(())
    })?;
    tcp_method!(types, "get-local-address", |sock| sock
        .local_address()
        .map(IpSocketAddress));
    tcp_method!(types, "get-remote-address", |sock| sock
        .remote_address()
        .map(IpSocketAddress));
    tcp_method!(types, "get-is-listening", |sock| matches!(
        sock.state,
        State::Listening(_)
    ));
    tcp_method!(types, "get-address-family", |sock| sock.family);
    tcp_method!(types, "set-listen-backlog-size", |sock, value: u64| sock
        .set_listen_backlog_size(value));
    tcp_method!(types, "get-keep-alive-enabled", |sock| sock
        .fd()
        .and_then(|fd| Ok(sockopt::socket_keepalive(fd)?)));
    tcp_method!(types, "set-keep-alive-enabled", |sock, value: bool| sock
        .fd()
        .and_then(|fd| Ok(sockopt::set_socket_keepalive(fd, value)?)));
    tcp_method!(types, "get-keep-alive-idle-time", |sock| sock
        .fd()
        .and_then(|fd| Ok(duration_ns(sockopt::tcp_keepidle(fd)?))));
    tcp_method!(types, "set-keep-alive-idle-time", |sock, value: u64| {
        if value == 0 {
            Err(Code::InvalidArgument.into())
        } else {
            sock.fd()
                .and_then(|fd| Ok(sockopt::set_tcp_keepidle(fd, clamp_keep_alive_time(value))?))
        }
    });
    tcp_method!(types, "get-keep-alive-interval", |sock| sock
        .fd()
        .and_then(|fd| Ok(duration_ns(sockopt::tcp_keepintvl(fd)?))));
    tcp_method!(types, "set-keep-alive-interval", |sock, value: u64| {
        if value == 0 {
            Err(Code::InvalidArgument.into())
        } else {
            sock.fd().and_then(|fd| {
                Ok(sockopt::set_tcp_keepintvl(
                    fd,
                    clamp_keep_alive_time(value),
                )?)
            })
        }
    });
    tcp_method!(types, "get-keep-alive-count", |sock| sock
        .fd()
        .and_then(|fd| Ok(sockopt::tcp_keepcnt(fd)?)));
    tcp_method!(types, "set-keep-alive-count", |sock, value: u32| {
        if value == 0 {
            Err(Code::InvalidArgument.into())
        } else {
            // At most Linux's maximum.
            sock.fd().and_then(|fd| {
                Ok(sockopt::set_tcp_keepcnt(
                    fd,
                    value.clamp(1, i8::MAX as u32),
                )?)
            })
        }
    });
    tcp_method!(types, "get-hop-limit", |sock| {
        let family = sock.family;
        sock.fd().and_then(|fd| Ok(options::hop_limit(fd, family)?))
    });
    tcp_method!(types, "set-hop-limit", |sock, value: u8| {
        let family = sock.family;
        sock.fd()
            .and_then(|fd| Ok(options::set_hop_limit(fd, family, value)?))
    });
    tcp_method!(types, "get-receive-buffer-size", |sock| sock
        .fd()
        .and_then(|fd| Ok(options::receive_buffer_size(fd)?)));
    tcp_method!(types, "set-receive-buffer-size", |sock, value: u64| sock
        .fd()
        .and_then(|fd| Ok(options::set_receive_buffer_size(fd, value)?)));
    tcp_method!(types, "get-send-buffer-size", |sock| sock
        .fd()
        .and_then(|fd| Ok(options::send_buffer_size(fd)?)));
    tcp_method!(types, "set-send-buffer-size", |sock, value: u64| sock
        .fd()
        .and_then(|fd| Ok(options::set_send_buffer_size(fd, value)?)));
    Ok(())
}

/// A stream that has ended.
struct Empty;

impl HostSource for Empty {
    fn poll_read(&mut self, _cx: &mut Context<'_>, _max: usize) -> Poll<Option<Vec<Val>>> {
        Poll::Ready(None)
    }
}

// ---------------------------------------------------------------------------------------
// UDP

/// A `udp-socket` of `wasi:sockets/types@0.3.0` (in the resource table).
pub struct UdpSocket {
    socket: Arc<tokio::net::UdpSocket>,
    family: Family,
    policy: NetPolicy,
    /// Cached: once bound, a socket stays bound.
    bound: bool,
    remote: Option<SocketAddr>,
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UdpSocket")
    }
}

impl UdpSocket {
    fn new(family: Family, policy: NetPolicy) -> SocketResult<Self> {
        let socket = block_on(async move {
            let socket = make_socket(family)?;
            // A new tokio socket is not writable until its reactor has seen it.
            socket.writable().await?;
            Ok::<_, std::io::Error>(socket)
        })?;
        Ok(UdpSocket {
            socket: Arc::new(socket),
            family,
            policy,
            bound: false,
            remote: None,
        })
    }

    fn is_bound(&mut self) -> bool {
        if !self.bound {
            self.bound = self
                .socket
                .local_addr()
                .is_ok_and(|a| a != self.family.unspecified());
        }
        self.bound
    }

    fn bind(&mut self, addr: SocketAddr) -> SocketResult<()> {
        if self.is_bound() {
            return Err(Code::InvalidState.into());
        }
        if !self.family.accepts(addr.ip()) {
            return Err(Code::InvalidArgument.into());
        }
        check_local(&self.policy, addr)?;
        rustix::net::bind(&*self.socket, &addr).map_err(bind_error)
    }

    fn update_remote(&mut self) {
        self.remote = self
            .socket
            .peer_addr()
            .ok()
            .filter(|a| *a != self.family.unspecified());
    }

    fn connect(&mut self, addr: SocketAddr) -> SocketResult<()> {
        if !self.family.accepts(addr.ip()) || !p2::is_valid_remote(addr) {
            return Err(Code::InvalidArgument.into());
        }
        p2::check(&self.policy, addr)?;
        let r = match rustix::net::connect(&*self.socket, &addr) {
            // Linux does not move a connected socket to another route by itself:
            // dissolve the association and connect again.
            Err(Errno::INVAL) if cfg!(target_os = "linux") => {
                let _ = disconnect(&self.socket);
                rustix::net::connect(&*self.socket, &addr)
            }
            Err(Errno::AFNOSUPPORT) => Err(Errno::INVAL),
            r => r,
        };
        self.update_remote();
        Ok(r?)
    }

    fn disconnect(&mut self) -> SocketResult<()> {
        if self.remote.is_none() {
            return Err(Code::InvalidState.into());
        }
        // Linux may give the port back on disconnect: the socket stays bound.
        self.bound = true;
        let r = disconnect(&self.socket);
        self.update_remote();
        Ok(r?)
    }

    /// Checks a datagram and its destination: `Some` address to send to, `None` for the
    /// connected peer.
    fn destination(&self, len: usize, to: Option<SocketAddr>) -> SocketResult<Option<SocketAddr>> {
        if len > MAX_DATAGRAM_SIZE {
            return Err(Code::DatagramTooLarge.into());
        }
        let to = match to {
            Some(addr) => {
                if !p2::is_valid_remote(addr) || !self.family.accepts(addr.ip()) {
                    return Err(Code::InvalidArgument.into());
                }
                // A connected socket sends only to its peer.
                if self.remote.is_some_and(|r| r != addr) {
                    return Err(Code::InvalidArgument.into());
                }
                addr
            }
            None => self.remote.ok_or(Code::InvalidArgument)?,
        };
        p2::check(&self.policy, to)?;
        Ok((self.remote != Some(to)).then_some(to))
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

fn udp<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("types"))?;
    types.resource(
        "udp-socket",
        ResourceType::host::<UdpSocket>(),
        |mut s, rep| {
            s.data_mut()
                .ctx()
                .table
                .delete(Resource::<UdpSocket>::new_own(rep))?;
            Ok(())
        },
    )?;
    types.func_wrap(
        "[static]udp-socket.create",
        |mut s, (family,): (Family,)| {
            let view = s.data_mut().ctx();
            let r = match UdpSocket::new(family, view.ctx.net.clone()) {
                Ok(sock) => Ok(view.table.push(sock)?),
                Err(e) => Err(e),
            };
            Ok((r,))
        },
    )?;
    macro_rules! udp_method {
        ($name:literal, |$sock:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
            types.func_wrap(
                concat!("[method]udp-socket.", $name),
                |mut s, (this, $($arg,)*): (Resource<UdpSocket>, $($ty,)*)| {
                    let $sock = s.data_mut().ctx().table.get_mut(&this)?;
                    Ok(($body,))
                },
            )?;
        };
    }
    udp_method!("bind", |sock, addr: IpSocketAddress| sock.bind(addr.0));
    udp_method!("connect", |sock, addr: IpSocketAddress| sock
        .connect(addr.0));
    udp_method!("disconnect", |sock| sock.disconnect());
    types.func_new_async("[method]udp-socket.send", |mut s, _ty, args| {
        let mut args = args.into_iter();
        let this = Resource::<UdpSocket>::lift(next_arg(&mut args, "send")?)?;
        let data = Vec::<u8>::lift(next_arg(&mut args, "send")?)?;
        let to = Option::<IpSocketAddress>::lift(next_arg(&mut args, "send")?)?.map(|a| a.0);
        let sock = s.data_mut().ctx().table.get_mut(&this)?;
        let to = match sock.destination(data.len(), to) {
            Ok(to) => to,
            Err(e) => return Ok(HostCall::Ready(vec![result_val(Err(e))])),
        };
        let socket = sock.socket.clone();
        let r = match to {
            Some(to) => socket.try_send_to(&data, to),
            None => socket.try_send(&data),
        };
        Ok(match r {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                HostCall::Pending(Box::pin(async move {
                    let r = match to {
                        Some(to) => socket.send_to(&data, to).await,
                        None => socket.send(&data).await,
                    };
                    Ok(vec![result_val(r.map(drop).map_err(ErrorCode::from))])
                }))
            }
            r => HostCall::Ready(vec![result_val(r.map(drop).map_err(ErrorCode::from))]),
        })
    })?;
    types.func_new_async("[method]udp-socket.receive", |mut s, _ty, args| {
        let mut args = args.into_iter();
        let this = Resource::<UdpSocket>::lift(next_arg(&mut args, "receive")?)?;
        let sock = s.data_mut().ctx().table.get_mut(&this)?;
        if !sock.is_bound() {
            let r: SocketResult<()> = Err(Code::InvalidState.into());
            return Ok(HostCall::Ready(vec![result_val(r)]));
        }
        let (socket, policy, remote) = (sock.socket.clone(), sock.policy.clone(), sock.remote);
        Ok(HostCall::Pending(Box::pin(async move {
            let mut buf = vec![0; MAX_DATAGRAM_SIZE];
            let r = loop {
                match socket.recv_from(&mut buf).await {
                    // Dropped: a sender the guest may not hear from, or (connected) a
                    // datagram queued from another peer before the connect.
                    Ok((_, from))
                        if !policy.allows(from.ip()) || remote.is_some_and(|r| r != from) => {}
                    Ok((n, from)) => break Ok((buf[..n].to_vec(), IpSocketAddress(from))),
                    Err(e) => break Err(ErrorCode::from(e)),
                }
            };
            Ok(vec![r.lower()?])
        })))
    })?;
    udp_method!("get-local-address", |sock| {
        if sock.is_bound() {
            sock.socket
                .local_addr()
                .map(IpSocketAddress)
                .map_err(ErrorCode::from)
        } else {
            Err(Code::InvalidState.into())
        }
    });
    udp_method!("get-remote-address", |sock| sock
        .remote
        .map(IpSocketAddress)
        .ok_or(ErrorCode::from(Code::InvalidState)));
    udp_method!("get-address-family", |sock| sock.family);
    udp_method!("get-unicast-hop-limit", |sock| options::hop_limit(
        sock.fd(),
        sock.family
    )
    .map_err(ErrorCode::from));
    udp_method!("set-unicast-hop-limit", |sock, value: u8| {
        options::set_hop_limit(sock.fd(), sock.family, value).map_err(ErrorCode::from)
    });
    udp_method!("get-receive-buffer-size", |sock| {
        options::receive_buffer_size(sock.fd()).map_err(ErrorCode::from)
    });
    udp_method!("set-receive-buffer-size", |sock, value: u64| {
        options::set_receive_buffer_size(sock.fd(), value).map_err(ErrorCode::from)
    });
    udp_method!("get-send-buffer-size", |sock| {
        options::send_buffer_size(sock.fd()).map_err(ErrorCode::from)
    });
    udp_method!("set-send-buffer-size", |sock, value: u64| {
        options::set_send_buffer_size(sock.fd(), value).map_err(ErrorCode::from)
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------
// ip-name-lookup

fn name_lookup<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    linker.instance(&name("ip-name-lookup"))?.func_new_async(
        "resolve-addresses",
        |mut s, _ty, args| {
            let mut args = args.into_iter();
            let host = String::lift(next_arg(&mut args, "resolve-addresses")?)?;
            let done = |r: std::result::Result<Vec<std::net::IpAddr>, Code>| -> Result<Vec<Val>> {
                let r = r
                    .map(|v| v.into_iter().map(IpAddress).collect::<Vec<_>>())
                    .map_err(LookupError);
                Ok(vec![r.lower()?])
            };
            // Refused unless some network use is allowed; results are not filtered.
            if !s.data_mut().ctx().ctx.net.any() {
                return Ok(HostCall::Ready(done(Err(Code::AccessDenied))?));
            }
            Ok(match lookup::parse_name(&host) {
                Err(e) => HostCall::Ready(done(Err(e))?),
                Ok(Ok(ip)) => HostCall::Ready(done(Ok(vec![ip]))?),
                Ok(Err(domain)) => {
                    HostCall::Pending(Box::pin(async move { done(lookup::lookup(domain).await) }))
                }
            })
        },
    )?;
    Ok(())
}

/// Defines `wasi:sockets/types@0.3.0` and `wasi:sockets/ip-name-lookup@0.3.0`.
pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    tcp(linker)?;
    udp(linker)?;
    name_lookup(linker)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_become_0_3_cases() {
        let case = |c: ErrorCode| match c.val() {
            Val::Variant(n, None) => n,
            Val::Variant(n, Some(p)) => format!("{n}({p})"),
            other => panic!("{other:?}"),
        };
        assert_eq!(case(Code::AccessDenied.into()), "access-denied");
        assert_eq!(case(ErrorCode::ConnectionBroken), "connection-broken");
        assert!(case(Code::Unknown.into()).starts_with("other("));
        assert!(case(Code::WouldBlock.into()).contains("would-block"));
        let pipe = std::io::Error::from_raw_os_error(Errno::PIPE.raw_os_error());
        assert_eq!(ErrorCode::from(pipe), ErrorCode::ConnectionBroken);
    }

    #[test]
    fn local_addresses_are_checked_after_the_os() {
        let mut policy = NetPolicy::default();
        policy.allow("127.0.0.0/8").unwrap();
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(check_local(&policy, addr("127.0.0.1:0")), Ok(()));
        assert_eq!(check_local(&policy, addr("0.0.0.0:0")), Ok(()));
        assert_eq!(
            check_local(&policy, addr("192.0.2.1:0")),
            Err(Code::AddressNotBindable.into())
        );
        // No range at all: not even the unspecified address.
        let none = NetPolicy::default();
        assert_eq!(
            check_local(&none, addr("0.0.0.0:0")),
            Err(Code::AccessDenied.into())
        );
        assert_eq!(
            check_local(&none, addr("[::]:0")),
            Err(Code::AccessDenied.into())
        );
    }

    #[test]
    fn sockets_without_network_have_options_but_reach_nothing() {
        let mut tcp = TcpSocket::new(Family::Ipv4, NetPolicy::default()).unwrap();
        assert_eq!(tcp.listen().err(), Some(Code::AccessDenied.into()));
        let mut tcp = TcpSocket::new(Family::Ipv4, NetPolicy::default()).unwrap();
        let remote = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            tcp.start_connect(remote).err(),
            Some(Code::AccessDenied.into())
        );
    }
}
