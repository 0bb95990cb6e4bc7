//! `wasi:sockets/tcp` and `tcp-create-socket`.
//!
//! A [`TcpSocket`] goes `Default` (bound or not) → `Connecting` → `Connected`, or `Default`
//! → `Listening`; a failed connect leaves it `Closed` with the error. `finish-connect` and
//! `accept` hand out the connection as an `input-stream` and an `output-stream`, children
//! of the socket in the table. Reads are non-blocking `try_read`s; a write the OS does not
//! take at once continues in a task (the stream says `check-write` 0 until it is done), so
//! nothing the guest wrote is lost when it drops the stream. Dropping the receiving half
//! shuts the socket down for reading, the sending half for writing (as wasmtime-wasi).

use super::super::io::{
    ready_now, subscribe, HostInputStream, HostOutputStream, InputStream, OutputStream, Ready,
    StreamFailure, StreamResult, Subscribe,
};
use super::{
    check, delete, is_unicast, is_valid_remote, Bg, ErrorCode, Family, IpSocketAddress, Network,
    SocketResult,
};
use crate::component::types::Type;
use crate::component::{ComponentType, Lift, Linker, Lower, Resource, ResourceType, Val};
use crate::error::{Error, Result};
use crate::wasi::block::block_on;
use crate::wasi::cli::lock;
use crate::wasi::p2::{name, WasiView};
use crate::wasi::sockets::{NetPolicy, Shutdown};
use rustix::fd::AsFd;
use rustix::io::Errno;
use rustix::net::sockopt;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// The listen backlog unless the guest sets one (Rust's standard library's).
pub(crate) const DEFAULT_BACKLOG: u32 = 128;
/// The most bytes one read returns and one `check-write` allows (wasmtime-wasi's).
pub(crate) const CHUNK: usize = 64 * 1024;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// An operation between its `start-*` and `finish-*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Bind,
    Connect,
    Listen,
}

enum Connecting {
    Task(Bg<SocketResult<TcpStream>>),
    /// Refused before any syscall (the policy): `finish-connect` reports it.
    Failed(ErrorCode),
}

enum State {
    Default(tokio::net::TcpSocket),
    Connecting(Connecting),
    Listening {
        listener: Arc<TcpListener>,
        /// An accept started by a pollable; `accept` takes its result.
        pending: Option<Bg<SocketResult<TcpStream>>>,
    },
    Connected(Arc<TcpStream>),
    Closed(ErrorCode),
}

/// A `tcp-socket` resource.
pub struct TcpSocket {
    state: State,
    family: Family,
    policy: NetPolicy,
    backlog: u32,
    /// Cached: once bound, a socket stays bound.
    bound: bool,
    in_progress: Option<Op>,
    reader: Option<Arc<Mutex<ReadState>>>,
    writer: Option<Arc<Mutex<WriteState>>>,
}

impl std::fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TcpSocket")
    }
}

impl Drop for TcpSocket {
    fn drop(&mut self) {
        // A task must not keep a listener open (or a connect going) for a dropped socket.
        match &self.state {
            State::Listening {
                pending: Some(bg), ..
            } => bg.abort(),
            State::Connecting(Connecting::Task(bg)) => bg.abort(),
            _ => {}
        }
    }
}

/// Accept errors as wasmtime-wasi normalises them: Linux passes a new connection's pending
/// network error to `accept`; it is `connection-aborted` there, as on other systems.
pub(crate) fn accept_error(e: std::io::Error) -> ErrorCode {
    match Errno::from_io_error(&e) {
        Some(
            Errno::CONNRESET
            | Errno::NETRESET
            | Errno::HOSTUNREACH
            | Errno::HOSTDOWN
            | Errno::NETDOWN
            | Errno::NETUNREACH
            | Errno::PROTO
            | Errno::NOPROTOOPT
            | Errno::NONET
            | Errno::OPNOTSUPP,
        ) => ErrorCode::ConnectionAborted,
        _ => e.into(),
    }
}

/// Drops a connection from an address the guest may not reach, with a reset.
pub(crate) fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Accepts connections until one comes from an allowed address.
fn spawn_accept(listener: Arc<TcpListener>, policy: NetPolicy) -> Bg<SocketResult<TcpStream>> {
    Bg::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, addr)) if policy.allows(addr.ip()) => return Ok(s),
                Ok((s, _)) => reset(s),
                Err(e) => return Err(accept_error(e)),
            }
        }
    })
}

/// One accept attempt that does not wait: `None` if no connection is queued.
fn try_accept(listener: &Arc<TcpListener>, policy: &NetPolicy) -> Option<SocketResult<TcpStream>> {
    let (listener, policy) = (listener.clone(), policy.clone());
    block_on(std::future::poll_fn(move |cx| {
        Poll::Ready(loop {
            match listener.poll_accept(cx) {
                Poll::Ready(Ok((s, addr))) if policy.allows(addr.ip()) => break Some(Ok(s)),
                Poll::Ready(Ok((s, _))) => reset(s),
                Poll::Ready(Err(e)) => break Some(Err(accept_error(e))),
                Poll::Pending => break None,
            }
        })
    }))
}

pub(crate) fn clamp_keep_alive_time(ns: u64) -> Duration {
    // Never rounded down to 0 by the syscall; at most Linux's maximum.
    Duration::from_nanos(ns.clamp(NANOS_PER_SEC, i16::MAX as u64 * NANOS_PER_SEC))
}

pub(crate) fn duration_ns(d: Duration) -> u64 {
    d.as_nanos().try_into().unwrap_or(u64::MAX)
}

impl TcpSocket {
    fn new(family: Family, policy: NetPolicy) -> SocketResult<Self> {
        // As the wasmtime CLI without network access: no sockets at all.
        if !policy.any() {
            return Err(ErrorCode::AccessDenied);
        }
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
        TcpSocket {
            state,
            family,
            policy,
            backlog: DEFAULT_BACKLOG,
            bound: false,
            in_progress: None,
            reader: None,
            writer: None,
        }
    }

    fn fd(&self) -> SocketResult<rustix::fd::BorrowedFd<'_>> {
        match &self.state {
            State::Default(s) => Ok(s.as_fd()),
            State::Listening { listener, .. } => Ok(listener.as_fd()),
            State::Connected(s) => Ok(s.as_fd()),
            State::Connecting(_) => Err(ErrorCode::InvalidState),
            State::Closed(e) => Err(*e),
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

    fn start_bind(&mut self, addr: SocketAddr) -> SocketResult<()> {
        if self.in_progress.is_some() {
            return Err(ErrorCode::ConcurrencyConflict);
        }
        if self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        let State::Default(socket) = &self.state else {
            return Err(ErrorCode::InvalidState);
        };
        if !is_unicast(addr.ip()) || !self.family.accepts(addr.ip()) {
            return Err(ErrorCode::InvalidArgument);
        }
        check(&self.policy, addr)?;
        // WASI: binding is not affected by TIME_WAIT of a recently closed socket.
        let _ = sockopt::set_socket_reuseaddr(socket, true);
        socket
            .bind(addr)
            .map_err(|e| match Errno::from_io_error(&e) {
                Some(Errno::AFNOSUPPORT) => ErrorCode::InvalidArgument,
                _ => e.into(),
            })?;
        self.in_progress = Some(Op::Bind);
        Ok(())
    }

    fn finish(&mut self, op: Op) -> SocketResult<()> {
        if self.in_progress != Some(op) {
            return Err(ErrorCode::NotInProgress);
        }
        self.in_progress = None;
        Ok(())
    }

    fn start_connect(&mut self, addr: SocketAddr) -> SocketResult<()> {
        if self.in_progress.is_some() {
            return Err(ErrorCode::ConcurrencyConflict);
        }
        if !matches!(self.state, State::Default(_)) {
            return Err(ErrorCode::InvalidState);
        }
        if !is_unicast(addr.ip()) || !is_valid_remote(addr) || !self.family.accepts(addr.ip()) {
            return Err(ErrorCode::InvalidArgument);
        }
        let State::Default(socket) =
            std::mem::replace(&mut self.state, State::Closed(ErrorCode::Unknown))
        else {
            unreachable!("checked above")
        };
        // As wasmtime-wasi, a refused address is reported by `finish-connect`. An unbound
        // socket is bound by the OS: that implicit bind is not checked, the remote is.
        self.state = State::Connecting(match check(&self.policy, addr) {
            Err(e) => Connecting::Failed(e),
            Ok(()) => Connecting::Task(Bg::spawn(async move {
                socket.connect(addr).await.map_err(ErrorCode::from)
            })),
        });
        self.in_progress = Some(Op::Connect);
        Ok(())
    }

    /// `finish-connect` without the streams: `would-block` while connecting.
    fn finish_connect(&mut self) -> SocketResult<()> {
        if self.in_progress != Some(Op::Connect) {
            return Err(ErrorCode::NotInProgress);
        }
        let result = match &mut self.state {
            State::Connecting(Connecting::Failed(e)) => Err(*e),
            State::Connecting(Connecting::Task(bg)) => match bg.take() {
                None => return Err(ErrorCode::WouldBlock),
                Some(Some(r)) => r,
                Some(None) => Err(ErrorCode::Unknown),
            },
            _ => Err(ErrorCode::InvalidState),
        };
        self.in_progress = None;
        match result {
            Ok(stream) => {
                self.state = State::Connected(Arc::new(stream));
                self.bound = true;
                Ok(())
            }
            Err(e) => {
                self.state = State::Closed(e);
                Err(e)
            }
        }
    }

    fn start_listen(&mut self) -> SocketResult<()> {
        if self.in_progress.is_some() {
            return Err(ErrorCode::ConcurrencyConflict);
        }
        // WASI 0.2: a socket is bound explicitly before it listens.
        if !self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        let local = match &self.state {
            State::Default(s) => s.local_addr()?,
            _ => return Err(ErrorCode::InvalidState),
        };
        check(&self.policy, local)?;
        let State::Default(socket) =
            std::mem::replace(&mut self.state, State::Closed(ErrorCode::Unknown))
        else {
            unreachable!("checked above")
        };
        let backlog = self.backlog;
        // The listener registers with the reactor of the runtime it is made in.
        let listener = block_on(async move { socket.listen(backlog) })?;
        self.state = State::Listening {
            listener: Arc::new(listener),
            pending: None,
        };
        self.in_progress = Some(Op::Listen);
        Ok(())
    }

    /// The next connection, without waiting.
    fn accept(&mut self) -> SocketResult<TcpSocket> {
        let State::Listening { listener, pending } = &mut self.state else {
            return Err(ErrorCode::InvalidState);
        };
        let result = match pending {
            Some(bg) => match bg.take() {
                None => return Err(ErrorCode::WouldBlock),
                Some(r) => {
                    *pending = None;
                    r.unwrap_or(Err(ErrorCode::Unknown))
                }
            },
            None => try_accept(listener, &self.policy).ok_or(ErrorCode::WouldBlock)?,
        };
        let stream = result?;
        let mut socket = TcpSocket::with_state(
            State::Connected(Arc::new(stream)),
            self.family,
            self.policy.clone(),
        );
        socket.bound = true;
        Ok(socket)
    }

    /// The connection's two streams (once).
    fn take_streams(&mut self) -> SocketResult<(TcpReader, TcpWriter)> {
        let stream = match &self.state {
            State::Connected(s) => s.clone(),
            State::Closed(e) => return Err(*e),
            _ => return Err(ErrorCode::InvalidState),
        };
        if self.reader.is_some() {
            return Err(ErrorCode::InvalidState);
        }
        let reader = Arc::new(Mutex::new(ReadState::Open(RecvHalf(stream.clone()))));
        let writer = Arc::new(Mutex::new(WriteState::Ready(SendHalf(stream))));
        self.reader = Some(reader.clone());
        self.writer = Some(writer.clone());
        Ok((TcpReader(reader), TcpWriter(writer)))
    }

    fn shutdown(&mut self, how: Shutdown) -> SocketResult<()> {
        let (Some(reader), Some(writer)) = (&self.reader, &self.writer) else {
            return Err(ErrorCode::InvalidState);
        };
        if matches!(how, Shutdown::Receive | Shutdown::Both) {
            *lock(reader) = ReadState::Closed;
        }
        if matches!(how, Shutdown::Send | Shutdown::Both) {
            lock(writer).shutdown();
        }
        Ok(())
    }

    fn local_address(&mut self) -> SocketResult<SocketAddr> {
        if !self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        Ok(match &self.state {
            State::Default(s) => s.local_addr()?,
            State::Listening { listener, .. } => listener.local_addr()?,
            State::Connected(s) => s.local_addr()?,
            State::Connecting(_) => return Err(ErrorCode::InvalidState),
            State::Closed(e) => return Err(*e),
        })
    }

    fn remote_address(&self) -> SocketResult<SocketAddr> {
        match &self.state {
            State::Connected(s) => Ok(s.peer_addr()?),
            State::Closed(e) => Err(*e),
            _ => Err(ErrorCode::InvalidState),
        }
    }

    fn set_listen_backlog_size(&mut self, value: u64) -> SocketResult<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        // Clamped silently, as operating systems do.
        let value = u32::try_from(value)
            .unwrap_or(i32::MAX as u32)
            .clamp(1, i32::MAX as u32);
        match &self.state {
            State::Default(_) => {
                self.backlog = value;
                Ok(())
            }
            State::Listening { listener, .. } => {
                // Listening again updates the backlog where the OS supports it.
                if rustix::net::listen(&**listener, value as i32).is_err() {
                    return Err(ErrorCode::NotSupported);
                }
                self.backlog = value;
                Ok(())
            }
            State::Closed(e) => Err(*e),
            State::Connecting(_) | State::Connected(_) => Err(ErrorCode::InvalidState),
        }
    }

    /// The pollable's future: a connect's end, or (listening) a queued connection.
    fn readiness(&mut self) -> Ready {
        match (&self.in_progress, &mut self.state) {
            (Some(Op::Connect), State::Connecting(Connecting::Task(bg))) => bg.ready(),
            (None, State::Listening { listener, pending }) => pending
                .get_or_insert_with(|| spawn_accept(listener.clone(), self.policy.clone()))
                .ready(),
            _ => ready_now(),
        }
    }
}

impl Subscribe for TcpSocket {
    fn ready(&mut self) -> Ready {
        self.readiness()
    }
}

/// The receiving half: shuts the socket down for reading when dropped.
struct RecvHalf(Arc<TcpStream>);

impl Drop for RecvHalf {
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&*self.0, rustix::net::Shutdown::Read);
    }
}

/// The sending half: shuts the socket down for writing when dropped.
struct SendHalf(Arc<TcpStream>);

impl Drop for SendHalf {
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&*self.0, rustix::net::Shutdown::Write);
    }
}

enum ReadState {
    Open(RecvHalf),
    Closed,
}

/// The `input-stream` of a connection.
struct TcpReader(Arc<Mutex<ReadState>>);

impl HostInputStream for TcpReader {
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        let mut state = lock(&self.0);
        let ReadState::Open(half) = &*state else {
            return Err(StreamFailure::Closed);
        };
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0; size.min(CHUNK)];
        match half.0.try_read(&mut buf) {
            Ok(0) => {
                *state = ReadState::Closed;
                Err(StreamFailure::Closed)
            }
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(Vec::new()),
            Err(e) => {
                *state = ReadState::Closed;
                Err(StreamFailure::Failed(e))
            }
        }
    }

    fn ready(&mut self) -> Ready {
        match &*lock(&self.0) {
            ReadState::Open(half) => {
                let stream = half.0.clone();
                Box::pin(async move {
                    let _ = stream.readable().await;
                })
            }
            ReadState::Closed => ready_now(),
        }
    }
}

/// Why writing stopped; clonable, so that every later call reports it.
#[derive(Debug, Clone)]
enum WriteError {
    /// The peer is gone (a broken pipe) or the guest shut the socket down.
    Closed,
    /// An OS error, by its code (or kind and message).
    Failed(Option<i32>, ErrorKind, String),
}

impl WriteError {
    fn from_io(e: std::io::Error) -> Self {
        if Errno::from_io_error(&e) == Some(Errno::PIPE) {
            return WriteError::Closed;
        }
        WriteError::Failed(e.raw_os_error(), e.kind(), e.to_string())
    }

    fn failure(&self) -> StreamFailure {
        match self {
            WriteError::Closed => StreamFailure::Closed,
            WriteError::Failed(Some(code), ..) => {
                StreamFailure::Failed(std::io::Error::from_raw_os_error(*code))
            }
            WriteError::Failed(None, kind, msg) => {
                StreamFailure::Failed(std::io::Error::new(*kind, msg.clone()))
            }
        }
    }
}

enum WriteState {
    Ready(SendHalf),
    /// The rest of a write, in a task that gives the half back.
    Writing(Bg<Result<SendHalf, WriteError>>),
    /// Shut down once the write in progress ends.
    Closing(Bg<Result<(), WriteError>>),
    Closed(WriteError),
}

impl WriteState {
    /// Moves on from a task that has ended.
    fn settle(&mut self) {
        match self {
            WriteState::Writing(bg) => {
                if let Some(r) = bg.take() {
                    *self = match r {
                        Some(Ok(half)) => WriteState::Ready(half),
                        Some(Err(e)) => WriteState::Closed(e),
                        None => WriteState::Closed(WriteError::Closed),
                    };
                }
            }
            WriteState::Closing(bg) => {
                if let Some(r) = bg.take() {
                    *self = WriteState::Closed(match r {
                        Some(Err(e)) => e,
                        _ => WriteError::Closed,
                    });
                }
            }
            _ => {}
        }
    }

    fn shutdown(&mut self) {
        self.settle();
        *self = match std::mem::replace(self, WriteState::Closed(WriteError::Closed)) {
            // Dropping the half shuts the socket down for writing.
            WriteState::Ready(_) => WriteState::Closed(WriteError::Closed),
            WriteState::Writing(mut bg) => WriteState::Closing(Bg::spawn(async move {
                bg.ready().await;
                match bg.take() {
                    Some(Some(Err(e))) => Err(e),
                    _ => Ok(()),
                }
            })),
            other => other,
        };
    }
}

/// The `output-stream` of a connection.
struct TcpWriter(Arc<Mutex<WriteState>>);

impl HostOutputStream for TcpWriter {
    fn check_write(&mut self) -> StreamResult<usize> {
        let mut state = lock(&self.0);
        state.settle();
        match &*state {
            WriteState::Ready(_) => Ok(CHUNK),
            WriteState::Writing(_) | WriteState::Closing(_) => Ok(0),
            WriteState::Closed(e) => Err(e.failure()),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
        let mut state = lock(&self.0);
        state.settle();
        let half = match std::mem::replace(&mut *state, WriteState::Closed(WriteError::Closed)) {
            WriteState::Ready(half) => half,
            WriteState::Closed(e) => {
                let f = e.failure();
                *state = WriteState::Closed(e);
                return Err(f);
            }
            busy => {
                *state = busy;
                if bytes.is_empty() {
                    return Ok(());
                }
                return Err(StreamFailure::Failed(std::io::Error::new(
                    ErrorKind::WouldBlock,
                    "a write is in progress",
                )));
            }
        };
        let mut done = 0;
        while done < bytes.len() {
            match half.0.try_write(&bytes[done..]) {
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    let e = WriteError::from_io(e);
                    let f = e.failure();
                    *state = WriteState::Closed(e);
                    return Err(f);
                }
            }
        }
        if done == bytes.len() {
            *state = WriteState::Ready(half);
            return Ok(());
        }
        let rest = bytes[done..].to_vec();
        *state = WriteState::Writing(Bg::spawn(async move {
            let mut done = 0;
            while done < rest.len() {
                if let Err(e) = half.0.writable().await {
                    return Err(WriteError::from_io(e));
                }
                match half.0.try_write(&rest[done..]) {
                    Ok(n) => done += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(WriteError::from_io(e)),
                }
            }
            Ok(half)
        }));
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Writes reach the OS as soon as they can; a flush has nothing to speed up, and
        // its end (readiness) is the end of the write in progress.
        let mut state = lock(&self.0);
        state.settle();
        match &*state {
            WriteState::Closed(e) => Err(e.failure()),
            _ => Ok(()),
        }
    }

    fn ready(&mut self) -> Ready {
        let mut state = lock(&self.0);
        state.settle();
        match &*state {
            WriteState::Ready(half) => {
                let stream = half.0.clone();
                Box::pin(async move {
                    let _ = stream.writable().await;
                })
            }
            WriteState::Writing(bg) => bg.ready(),
            WriteState::Closing(bg) => bg.ready(),
            WriteState::Closed(_) => ready_now(),
        }
    }
}

/// `shutdown-type`.
struct ShutdownType(Shutdown);

impl ComponentType for ShutdownType {
    fn typecheck(ty: &Type) -> Result<()> {
        super::check_enum("shutdown-type", ty, &["receive", "send", "both"])
    }
}

impl Lift for ShutdownType {
    fn lift(v: Val) -> Result<Self> {
        Ok(ShutdownType(
            match super::enum_case(&v, "shutdown-type")?.as_str() {
                "receive" => Shutdown::Receive,
                "send" => Shutdown::Send,
                "both" => Shutdown::Both,
                n => return Err(Error::msg(format!("not a shutdown-type: {n}"))),
            },
        ))
    }
}

impl Lower for ShutdownType {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Enum(
            match self.0 {
                Shutdown::Receive => "receive",
                Shutdown::Send => "send",
                Shutdown::Both => "both",
            }
            .into(),
        ))
    }
}

type Streams = (Resource<InputStream>, Resource<OutputStream>);
/// What `accept` returns: the connection's socket and streams.
type Accepted = (
    Resource<TcpSocket>,
    Resource<InputStream>,
    Resource<OutputStream>,
);

/// Defines a method `[method]tcp-socket.<name>` taking the socket (mutably) and `P`.
macro_rules! method {
    ($inst:ident, $name:literal, |$sock:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $inst.func_wrap(
            concat!("[method]tcp-socket.", $name),
            |mut s, (this, $($arg,)*): (Resource<TcpSocket>, $($ty,)*)| {
                let $sock = s.data_mut().ctx().table.get_mut(&this)?;
                Ok(($body,))
            },
        )?;
    };
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    linker
        .instance(&name("sockets/tcp-create-socket"))?
        .func_wrap("create-tcp-socket", |mut s, (family,): (Family,)| {
            let view = s.data_mut().ctx();
            let r = match TcpSocket::new(family, view.ctx.net.clone()) {
                Ok(socket) => Ok(view.table.push(socket)?),
                Err(e) => Err(e),
            };
            Ok((r,))
        })?;

    let mut tcp = linker.instance(&name("sockets/tcp"))?;
    tcp.resource(
        "tcp-socket",
        ResourceType::host::<TcpSocket>(),
        |mut s, rep| delete::<T, TcpSocket>(&mut s, rep).map(drop),
    )?;
    tcp.func_wrap(
        "[method]tcp-socket.start-bind",
        |mut s,
         (this, network, addr): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
            let table = s.data_mut().ctx().table;
            table.get(&network)?;
            Ok((table.get_mut(&this)?.start_bind(addr.0),))
        },
    )?;
    method!(tcp, "finish-bind", |sock| sock.finish(Op::Bind));
    tcp.func_wrap(
        "[method]tcp-socket.start-connect",
        |mut s,
         (this, network, addr): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
            let table = s.data_mut().ctx().table;
            table.get(&network)?;
            Ok((table.get_mut(&this)?.start_connect(addr.0),))
        },
    )?;
    tcp.func_wrap(
        "[method]tcp-socket.finish-connect",
        |mut s, (this,): (Resource<TcpSocket>,)| -> Result<(SocketResult<Streams>,)> {
            let table = s.data_mut().ctx().table;
            let socket = table.get_mut(&this)?;
            let streams = socket.finish_connect().and_then(|()| socket.take_streams());
            let (reader, writer) = match streams {
                Ok(rw) => rw,
                Err(e) => return Ok((Err(e),)),
            };
            let input = table.push_child(InputStream::new(reader), &this)?;
            let output = table.push_child(OutputStream::new(writer), &this)?;
            Ok((Ok((input, output)),))
        },
    )?;
    method!(tcp, "start-listen", |sock| sock.start_listen());
    method!(tcp, "finish-listen", |sock| sock.finish(Op::Listen));
    tcp.func_wrap(
        "[method]tcp-socket.accept",
        |mut s, (this,): (Resource<TcpSocket>,)| -> Result<(SocketResult<Accepted>,)> {
            let table = s.data_mut().ctx().table;
            let accepted = table
                .get_mut(&this)?
                .accept()
                .and_then(|mut c| c.take_streams().map(|rw| (c, rw)));
            let (client, (reader, writer)) = match accepted {
                Ok(a) => a,
                Err(e) => return Ok((Err(e),)),
            };
            let client = table.push(client)?;
            let input = table.push_child(InputStream::new(reader), &client)?;
            let output = table.push_child(OutputStream::new(writer), &client)?;
            Ok((Ok((client, input, output)),))
        },
    )?;
    method!(tcp, "local-address", |sock| sock
        .local_address()
        .map(IpSocketAddress));
    method!(tcp, "remote-address", |sock| sock
        .remote_address()
        .map(IpSocketAddress));
    method!(tcp, "is-listening", |sock| matches!(
        sock.state,
        State::Listening { .. }
    ));
    method!(tcp, "address-family", |sock| sock.family);
    method!(tcp, "set-listen-backlog-size", |sock, value: u64| sock
        .set_listen_backlog_size(value));
    method!(tcp, "keep-alive-enabled", |sock| sock
        .fd()
        .and_then(|fd| Ok(sockopt::socket_keepalive(fd)?)));
    method!(tcp, "set-keep-alive-enabled", |sock, value: bool| sock
        .fd()
        .and_then(|fd| Ok(sockopt::set_socket_keepalive(fd, value)?)));
    method!(tcp, "keep-alive-idle-time", |sock| sock
        .fd()
        .and_then(|fd| Ok(duration_ns(sockopt::tcp_keepidle(fd)?))));
    method!(tcp, "set-keep-alive-idle-time", |sock, value: u64| {
        if value == 0 {
            Err(ErrorCode::InvalidArgument)
        } else {
            sock.fd()
                .and_then(|fd| Ok(sockopt::set_tcp_keepidle(fd, clamp_keep_alive_time(value))?))
        }
    });
    method!(tcp, "keep-alive-interval", |sock| sock
        .fd()
        .and_then(|fd| Ok(duration_ns(sockopt::tcp_keepintvl(fd)?))));
    method!(tcp, "set-keep-alive-interval", |sock, value: u64| {
        if value == 0 {
            Err(ErrorCode::InvalidArgument)
        } else {
            sock.fd().and_then(|fd| {
                Ok(sockopt::set_tcp_keepintvl(
                    fd,
                    clamp_keep_alive_time(value),
                )?)
            })
        }
    });
    method!(tcp, "keep-alive-count", |sock| sock
        .fd()
        .and_then(|fd| Ok(sockopt::tcp_keepcnt(fd)?)));
    method!(tcp, "set-keep-alive-count", |sock, value: u32| {
        if value == 0 {
            Err(ErrorCode::InvalidArgument)
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
    method!(tcp, "hop-limit", |sock| {
        let family = sock.family;
        sock.fd()
            .and_then(|fd| super::options::hop_limit(fd, family))
    });
    method!(tcp, "set-hop-limit", |sock, value: u8| {
        let family = sock.family;
        sock.fd()
            .and_then(|fd| super::options::set_hop_limit(fd, family, value))
    });
    method!(tcp, "receive-buffer-size", |sock| sock
        .fd()
        .and_then(super::options::receive_buffer_size));
    method!(tcp, "set-receive-buffer-size", |sock, value: u64| sock
        .fd()
        .and_then(|fd| super::options::set_receive_buffer_size(
            fd, value
        )));
    method!(tcp, "send-buffer-size", |sock| sock
        .fd()
        .and_then(super::options::send_buffer_size));
    method!(tcp, "set-send-buffer-size", |sock, value: u64| sock
        .fd()
        .and_then(|fd| super::options::set_send_buffer_size(fd, value)));
    tcp.func_wrap(
        "[method]tcp-socket.subscribe",
        |mut s, (this,): (Resource<TcpSocket>,)| Ok((subscribe(s.data_mut().ctx().table, &this)?,)),
    )?;
    method!(tcp, "shutdown", |sock, how: ShutdownType| sock
        .shutdown(how.0));
    Ok(())
}
