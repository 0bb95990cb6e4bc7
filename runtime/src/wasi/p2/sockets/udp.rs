//! `wasi:sockets/udp` and `udp-create-socket`.
//!
//! A [`UdpSocket`] is bound, then `stream` (optionally "connecting" it to one remote
//! address) hands out an [`IncomingDatagramStream`] and an [`OutgoingDatagramStream`],
//! children of the socket sharing its tokio socket. Datagrams from addresses the policy
//! does not allow (or, when connected, from another address) are dropped on receipt;
//! sending to one is `access-denied`. A datagram the OS does not take at once is sent by a
//! task, and `check-send` is 0 until it is done.

use super::super::io::{ready_now, subscribe, Ready, Subscribe};
use super::{
    check, delete, is_valid_remote, Bg, ErrorCode, Family, IpSocketAddress, Network, SocketResult,
};
use crate::component::types::Type;
use crate::component::{
    ComponentType, Lift, Linker, Lower, Resource, ResourceTable, ResourceType, Val,
};
use crate::error::{Error, Result};
use crate::wasi::block::block_on;
use crate::wasi::p2::{name, WasiView};
use crate::wasi::sockets::NetPolicy;
use rustix::io::Errno;
use rustix::net::sockopt;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;

/// The largest UDP payload.
pub(crate) const MAX_DATAGRAM_SIZE: usize = u16::MAX as usize;
/// The most datagrams one `receive` returns and one `check-send` allows (wasmtime-wasi's).
const MAX_DATAGRAMS: usize = 16;
/// `receive` stops adding datagrams past this many bytes.
const MAX_RECEIVE_BYTES: usize = 64 * 1024;

/// A `udp-socket` resource.
pub struct UdpSocket {
    socket: Arc<tokio::net::UdpSocket>,
    family: Family,
    policy: NetPolicy,
    /// Cached: once bound, a socket stays bound.
    bound: bool,
    /// The address `stream` connected the socket to.
    remote: Option<SocketAddr>,
    bind_in_progress: bool,
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UdpSocket")
    }
}

/// A non-blocking, close-on-exec datagram socket, registered with the I/O runtime.
pub(crate) fn make_socket(family: Family) -> std::io::Result<tokio::net::UdpSocket> {
    let fd = rustix::net::socket_with(
        match family {
            Family::Ipv4 => rustix::net::AddressFamily::INET,
            Family::Ipv6 => rustix::net::AddressFamily::INET6,
        },
        rustix::net::SocketType::DGRAM,
        rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
        None,
    )?;
    if family == Family::Ipv6 {
        // WASI: IPv6 sockets are v6-only, and that cannot be changed.
        sockopt::set_ipv6_v6only(&fd, true)?;
    }
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(fd))
}

/// Dissolves a connection (`connect` to `AF_UNSPEC`).
pub(crate) fn disconnect(socket: &tokio::net::UdpSocket) -> rustix::io::Result<()> {
    rustix::net::connect_unspec(socket)
}

impl UdpSocket {
    fn new(family: Family, policy: NetPolicy) -> SocketResult<Self> {
        // As the wasmtime CLI without network access: no sockets at all.
        if !policy.any() {
            return Err(ErrorCode::AccessDenied);
        }
        let socket = block_on(async move {
            let socket = make_socket(family)?;
            // A new tokio socket is not writable until its reactor has seen it; guests
            // expect a UDP socket to be writable at once (as wasmtime-wasi waits too).
            socket.writable().await?;
            Ok::<_, std::io::Error>(socket)
        })?;
        Ok(UdpSocket {
            socket: Arc::new(socket),
            family,
            policy,
            bound: false,
            remote: None,
            bind_in_progress: false,
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

    fn start_bind(&mut self, addr: SocketAddr, has_streams: bool) -> SocketResult<()> {
        if self.bind_in_progress {
            return Err(ErrorCode::ConcurrencyConflict);
        }
        if has_streams || self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        if !self.family.accepts(addr.ip()) {
            return Err(ErrorCode::InvalidArgument);
        }
        check(&self.policy, addr)?;
        rustix::net::bind(&*self.socket, &addr).map_err(|e| match e {
            Errno::AFNOSUPPORT => ErrorCode::InvalidArgument,
            e => e.into(),
        })?;
        self.bind_in_progress = true;
        Ok(())
    }

    fn finish_bind(&mut self) -> SocketResult<()> {
        if !self.bind_in_progress {
            return Err(ErrorCode::NotInProgress);
        }
        self.bind_in_progress = false;
        Ok(())
    }

    fn update_remote(&mut self) {
        self.remote = self
            .socket
            .peer_addr()
            .ok()
            .filter(|a| *a != self.family.unspecified());
    }

    /// Connects to `remote`, or disconnects for `None`; the streams' state.
    fn connect(&mut self, remote: Option<SocketAddr>) -> SocketResult<()> {
        // WASI 0.2: a socket is bound explicitly before it streams.
        if !self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        let Some(addr) = remote else {
            if self.remote.is_some() {
                // Linux may give the port back on disconnect: the socket stays bound.
                self.bound = true;
                let r = disconnect(&self.socket);
                self.update_remote();
                r?;
            }
            return Ok(());
        };
        if !self.family.accepts(addr.ip()) || !is_valid_remote(addr) {
            return Err(ErrorCode::InvalidArgument);
        }
        // Connecting sets where datagrams go and come from: both must be allowed.
        check(&self.policy, addr)?;
        let r = match rustix::net::connect(&*self.socket, &addr) {
            // Linux does not move a connected socket to another route by itself:
            // dissolve the association and connect again.
            Err(Errno::INVAL) if cfg!(target_os = "linux") => {
                let _ = disconnect(&self.socket);
                rustix::net::connect(&*self.socket, &addr)
            }
            Err(Errno::AFNOSUPPORT) => Err(Errno::INVAL),
            Err(Errno::INPROGRESS) => Ok(()),
            r => r,
        };
        self.update_remote();
        Ok(r?)
    }

    fn fd(&self) -> rustix::fd::BorrowedFd<'_> {
        use rustix::fd::AsFd;
        self.socket.as_fd()
    }
}

impl Subscribe for UdpSocket {
    fn ready(&mut self) -> Ready {
        // No socket-level operation waits.
        ready_now()
    }
}

/// An `incoming-datagram-stream` resource.
pub struct IncomingDatagramStream {
    socket: Arc<tokio::net::UdpSocket>,
    policy: NetPolicy,
    remote: Option<SocketAddr>,
}

impl std::fmt::Debug for IncomingDatagramStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncomingDatagramStream")
    }
}

impl IncomingDatagramStream {
    /// At most `max` datagrams that are there now.
    fn receive(&mut self, max: u64) -> SocketResult<Vec<IncomingDatagram>> {
        let max = usize::try_from(max)
            .unwrap_or(usize::MAX)
            .min(MAX_DATAGRAMS);
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut buf = vec![0; MAX_DATAGRAM_SIZE];
        while out.len() < max && bytes < MAX_RECEIVE_BYTES {
            match self.socket.try_recv_from(&mut buf) {
                Ok((n, from)) => {
                    // Dropped: a sender the guest may not hear from, or (connected) a
                    // datagram queued from another peer before the connect.
                    if !self.policy.allows(from.ip()) || self.remote.is_some_and(|r| r != from) {
                        continue;
                    }
                    bytes += 1 + n;
                    out.push(IncomingDatagram {
                        data: buf[..n].to_vec(),
                        remote_address: from,
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) if !out.is_empty() => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }
}

impl Subscribe for IncomingDatagramStream {
    fn ready(&mut self) -> Ready {
        let socket = self.socket.clone();
        Box::pin(async move {
            let _ = socket.readable().await;
        })
    }
}

/// An `outgoing-datagram-stream` resource.
pub struct OutgoingDatagramStream {
    socket: Arc<tokio::net::UdpSocket>,
    family: Family,
    policy: NetPolicy,
    remote: Option<SocketAddr>,
    /// How many datagrams the last `check-send` allowed.
    permit: usize,
    /// A datagram the OS did not take at once, being sent.
    pending: Option<Bg<SocketResult<()>>>,
}

impl std::fmt::Debug for OutgoingDatagramStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutgoingDatagramStream")
    }
}

impl OutgoingDatagramStream {
    fn check_send(&mut self) -> u64 {
        let ready = self.pending.as_ref().is_none_or(|p| p.is_done());
        // How many the OS takes is unknown: a fixed number, as wasmtime-wasi says.
        self.permit = if ready { MAX_DATAGRAMS } else { 0 };
        self.permit as u64
    }

    fn send_one(&mut self, data: Vec<u8>, to: Option<SocketAddr>) -> SocketResult<()> {
        if let Some(p) = &mut self.pending {
            match p.take() {
                None => return Err(ErrorCode::WouldBlock),
                Some(r) => {
                    self.pending = None;
                    r.unwrap_or(Err(ErrorCode::Unknown))?;
                }
            }
        }
        if data.len() > MAX_DATAGRAM_SIZE {
            return Err(ErrorCode::DatagramTooLarge);
        }
        let to = match to {
            Some(addr) => {
                if !is_valid_remote(addr) || !self.family.accepts(addr.ip()) {
                    return Err(ErrorCode::InvalidArgument);
                }
                // A connected socket sends only to its peer.
                if self.remote.is_some_and(|r| r != addr) {
                    return Err(ErrorCode::InvalidArgument);
                }
                addr
            }
            None => self.remote.ok_or(ErrorCode::InvalidArgument)?,
        };
        check(&self.policy, to)?;
        let connected = self.remote == Some(to);
        let r = if connected {
            self.socket.try_send(&data)
        } else {
            self.socket.try_send_to(&data, to)
        };
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let socket = self.socket.clone();
                self.pending = Some(Bg::spawn(async move {
                    let r = if connected {
                        socket.send(&data).await
                    } else {
                        socket.send_to(&data, to).await
                    };
                    r.map(drop).map_err(ErrorCode::from)
                }));
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn send(&mut self, datagrams: Vec<OutgoingDatagram>) -> Result<SocketResult<u64>> {
        if datagrams.is_empty() {
            return Ok(Ok(0));
        }
        if datagrams.len() > self.permit {
            // As wasmtime: sending more than `check-send` allowed is the guest's error.
            return Err(Error::msg(format!(
                "outgoing-datagram-stream.send: {} datagrams is more than the {} that check-send allowed",
                datagrams.len(),
                self.permit
            )));
        }
        // Each `send` needs its own `check-send`.
        self.permit = 0;
        let mut sent = 0;
        for d in datagrams {
            match self.send_one(d.data, d.remote_address) {
                Ok(()) => sent += 1,
                Err(ErrorCode::WouldBlock) => break,
                // WIT: once a datagram is sent, `send` does not fail.
                Err(_) if sent > 0 => break,
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(sent))
    }
}

impl Subscribe for OutgoingDatagramStream {
    fn ready(&mut self) -> Ready {
        match &self.pending {
            Some(p) => p.ready(),
            None => ready_now(),
        }
    }
}

/// `incoming-datagram`.
struct IncomingDatagram {
    data: Vec<u8>,
    remote_address: SocketAddr,
}

impl ComponentType for IncomingDatagram {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Record(r) if r.fields().map(|(n, _)| n).eq(["data", "remote-address"]) => Ok(()),
            _ => Err(super::mismatch("incoming-datagram", ty)),
        }
    }
}

impl Lower for IncomingDatagram {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Record(vec![
            ("data".into(), self.data.lower()?),
            (
                "remote-address".into(),
                IpSocketAddress(self.remote_address).lower()?,
            ),
        ]))
    }
}

/// `outgoing-datagram`.
struct OutgoingDatagram {
    data: Vec<u8>,
    remote_address: Option<SocketAddr>,
}

impl ComponentType for OutgoingDatagram {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Record(r) if r.fields().map(|(n, _)| n).eq(["data", "remote-address"]) => Ok(()),
            _ => Err(super::mismatch("outgoing-datagram", ty)),
        }
    }
}

impl Lift for OutgoingDatagram {
    fn lift(v: Val) -> Result<Self> {
        let Val::Record(mut fields) = v else {
            return Err(Error::msg("not an outgoing-datagram"));
        };
        let data = Vec::<u8>::lift(super::field(&mut fields, "data")?)?;
        let remote = Option::<IpSocketAddress>::lift(super::field(&mut fields, "remote-address")?)?;
        Ok(OutgoingDatagram {
            data,
            remote_address: remote.map(|a| a.0),
        })
    }
}

fn has_streams(table: &ResourceTable, socket: &Resource<UdpSocket>) -> Result<bool> {
    Ok(table
        .iter_children(socket)?
        .any(|c| c.is::<IncomingDatagramStream>() || c.is::<OutgoingDatagramStream>()))
}

type Streams = (
    Resource<IncomingDatagramStream>,
    Resource<OutgoingDatagramStream>,
);

/// Defines a method `[method]udp-socket.<name>` taking the socket (mutably) and `P`.
macro_rules! method {
    ($inst:ident, $name:literal, |$sock:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $inst.func_wrap(
            concat!("[method]udp-socket.", $name),
            |mut s, (this, $($arg,)*): (Resource<UdpSocket>, $($ty,)*)| {
                let $sock = s.data_mut().ctx().table.get_mut(&this)?;
                Ok(($body,))
            },
        )?;
    };
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    linker
        .instance(&name("sockets/udp-create-socket"))?
        .func_wrap("create-udp-socket", |mut s, (family,): (Family,)| {
            let view = s.data_mut().ctx();
            let r = match UdpSocket::new(family, view.ctx.net.clone()) {
                Ok(socket) => Ok(view.table.push(socket)?),
                Err(e) => Err(e),
            };
            Ok((r,))
        })?;

    let mut udp = linker.instance(&name("sockets/udp"))?;
    udp.resource(
        "udp-socket",
        ResourceType::host::<UdpSocket>(),
        |mut s, rep| delete::<T, UdpSocket>(&mut s, rep).map(drop),
    )?;
    udp.resource(
        "incoming-datagram-stream",
        ResourceType::host::<IncomingDatagramStream>(),
        |mut s, rep| delete::<T, IncomingDatagramStream>(&mut s, rep).map(drop),
    )?;
    udp.resource(
        "outgoing-datagram-stream",
        ResourceType::host::<OutgoingDatagramStream>(),
        |mut s, rep| delete::<T, OutgoingDatagramStream>(&mut s, rep).map(drop),
    )?;

    udp.func_wrap(
        "[method]udp-socket.start-bind",
        |mut s,
         (this, network, addr): (Resource<UdpSocket>, Resource<Network>, IpSocketAddress)| {
            let table = s.data_mut().ctx().table;
            table.get(&network)?;
            let streams = has_streams(table, &this)?;
            Ok((table.get_mut(&this)?.start_bind(addr.0, streams),))
        },
    )?;
    method!(udp, "finish-bind", |sock| sock.finish_bind());
    udp.func_wrap(
        "[method]udp-socket.stream",
        |mut s,
         (this, remote): (Resource<UdpSocket>, Option<IpSocketAddress>)|
         -> Result<(SocketResult<Streams>,)> {
            let table = s.data_mut().ctx().table;
            if has_streams(table, &this)? {
                return Err(Error::msg(
                    "udp-socket.stream: the socket's streams are not dropped yet",
                ));
            }
            let socket = table.get_mut(&this)?;
            if let Err(e) = socket.connect(remote.map(|a| a.0)) {
                return Ok((Err(e),));
            }
            let incoming = IncomingDatagramStream {
                socket: socket.socket.clone(),
                policy: socket.policy.clone(),
                remote: socket.remote,
            };
            let outgoing = OutgoingDatagramStream {
                socket: socket.socket.clone(),
                family: socket.family,
                policy: socket.policy.clone(),
                remote: socket.remote,
                permit: 0,
                pending: None,
            };
            let incoming = table.push_child(incoming, &this)?;
            let outgoing = table.push_child(outgoing, &this)?;
            Ok((Ok((incoming, outgoing)),))
        },
    )?;
    method!(udp, "local-address", |sock| {
        if sock.is_bound() {
            sock.socket
                .local_addr()
                .map(IpSocketAddress)
                .map_err(ErrorCode::from)
        } else {
            Err(ErrorCode::InvalidState)
        }
    });
    method!(udp, "remote-address", |sock| sock
        .remote
        .map(IpSocketAddress)
        .ok_or(ErrorCode::InvalidState));
    method!(udp, "address-family", |sock| sock.family);
    method!(udp, "unicast-hop-limit", |sock| super::options::hop_limit(
        sock.fd(),
        sock.family
    ));
    method!(udp, "set-unicast-hop-limit", |sock, value: u8| {
        super::options::set_hop_limit(sock.fd(), sock.family, value)
    });
    method!(udp, "receive-buffer-size", |sock| {
        super::options::receive_buffer_size(sock.fd())
    });
    method!(udp, "set-receive-buffer-size", |sock, value: u64| {
        super::options::set_receive_buffer_size(sock.fd(), value)
    });
    method!(udp, "send-buffer-size", |sock| {
        super::options::send_buffer_size(sock.fd())
    });
    method!(udp, "set-send-buffer-size", |sock, value: u64| {
        super::options::set_send_buffer_size(sock.fd(), value)
    });
    udp.func_wrap(
        "[method]udp-socket.subscribe",
        |mut s, (this,): (Resource<UdpSocket>,)| Ok((subscribe(s.data_mut().ctx().table, &this)?,)),
    )?;

    udp.func_wrap(
        "[method]incoming-datagram-stream.receive",
        |mut s, (this, max): (Resource<IncomingDatagramStream>, u64)| {
            let stream = s.data_mut().ctx().table.get_mut(&this)?;
            Ok((stream.receive(max),))
        },
    )?;
    udp.func_wrap(
        "[method]incoming-datagram-stream.subscribe",
        |mut s, (this,): (Resource<IncomingDatagramStream>,)| {
            Ok((subscribe(s.data_mut().ctx().table, &this)?,))
        },
    )?;
    udp.func_wrap(
        "[method]outgoing-datagram-stream.check-send",
        |mut s, (this,): (Resource<OutgoingDatagramStream>,)| {
            let stream = s.data_mut().ctx().table.get_mut(&this)?;
            Ok((Ok::<_, ErrorCode>(stream.check_send()),))
        },
    )?;
    udp.func_wrap(
        "[method]outgoing-datagram-stream.send",
        |mut s, (this, datagrams): (Resource<OutgoingDatagramStream>, Vec<OutgoingDatagram>)| {
            let stream = s.data_mut().ctx().table.get_mut(&this)?;
            Ok((stream.send(datagrams)?,))
        },
    )?;
    udp.func_wrap(
        "[method]outgoing-datagram-stream.subscribe",
        |mut s, (this,): (Resource<OutgoingDatagramStream>,)| {
            Ok((subscribe(s.data_mut().ctx().table, &this)?,))
        },
    )?;
    Ok(())
}
