//! `wasi:sockets` 0.2: `network` (the `network` resource, `error-code`, the address types and
//! `network-error-code`), `instance-network`, `ip-name-lookup` ([`lookup`]), `tcp` and
//! `tcp-create-socket` ([`tcp`]), `udp` and `udp-create-socket` ([`udp`]).
//!
//! Sockets are tokio sockets driven by the runtime [`crate::wasi::block`] uses. What the
//! guest may reach is the context's [`NetPolicy`](crate::wasi::sockets::NetPolicy): every
//! address the guest binds to, connects or sends to is checked (`access-denied` when not
//! allowed), connections accepted from and datagrams received from other addresses are
//! dropped, as wasmtime-wasi does with its socket address check. Validation order, state
//! machines and error codes follow wasmtime-wasi 48.
//!
//! Operations that wait (connect, accept, a write the OS did not take at once, a name
//! lookup, a datagram the OS did not take at once) run as tasks ([`Bg`]); their result waits
//! in the resource until the guest's `finish-*` / next call takes it, and a pollable on the
//! resource waits for the task.

pub(in crate::wasi) mod lookup;
pub(in crate::wasi) mod tcp;
pub(in crate::wasi) mod udp;

pub use lookup::ResolveAddressStream;
pub use tcp::TcpSocket;
pub use udp::{IncomingDatagramStream, OutgoingDatagramStream, UdpSocket};

use super::io::{IoError, Ready};
use super::{name, WasiView};
use crate::component::types::Type;
use crate::component::{
    ComponentType, Lift, Linker, Lower, Resource, ResourceType, StoreContextMut, Val,
};
use crate::error::{Error, Result};
use rustix::io::Errno;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The `network` resource: the capability to use the network (what may be reached is the
/// context's policy, not this handle's).
#[derive(Debug)]
pub struct Network;

/// `error-code` of `wasi:sockets/network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ErrorCode {
    Unknown,
    AccessDenied,
    NotSupported,
    InvalidArgument,
    OutOfMemory,
    Timeout,
    ConcurrencyConflict,
    NotInProgress,
    WouldBlock,
    InvalidState,
    NewSocketLimit,
    AddressNotBindable,
    AddressInUse,
    RemoteUnreachable,
    ConnectionRefused,
    ConnectionReset,
    ConnectionAborted,
    DatagramTooLarge,
    NameUnresolvable,
    TemporaryResolverFailure,
    PermanentResolverFailure,
}

const ERROR_CODES: [(ErrorCode, &str); 21] = [
    (ErrorCode::Unknown, "unknown"),
    (ErrorCode::AccessDenied, "access-denied"),
    (ErrorCode::NotSupported, "not-supported"),
    (ErrorCode::InvalidArgument, "invalid-argument"),
    (ErrorCode::OutOfMemory, "out-of-memory"),
    (ErrorCode::Timeout, "timeout"),
    (ErrorCode::ConcurrencyConflict, "concurrency-conflict"),
    (ErrorCode::NotInProgress, "not-in-progress"),
    (ErrorCode::WouldBlock, "would-block"),
    (ErrorCode::InvalidState, "invalid-state"),
    (ErrorCode::NewSocketLimit, "new-socket-limit"),
    (ErrorCode::AddressNotBindable, "address-not-bindable"),
    (ErrorCode::AddressInUse, "address-in-use"),
    (ErrorCode::RemoteUnreachable, "remote-unreachable"),
    (ErrorCode::ConnectionRefused, "connection-refused"),
    (ErrorCode::ConnectionReset, "connection-reset"),
    (ErrorCode::ConnectionAborted, "connection-aborted"),
    (ErrorCode::DatagramTooLarge, "datagram-too-large"),
    (ErrorCode::NameUnresolvable, "name-unresolvable"),
    (
        ErrorCode::TemporaryResolverFailure,
        "temporary-resolver-failure",
    ),
    (
        ErrorCode::PermanentResolverFailure,
        "permanent-resolver-failure",
    ),
];

impl ErrorCode {
    /// The WIT name of the case.
    pub fn name(self) -> &'static str {
        ERROR_CODES[self as usize].1
    }

    /// The code a socket operation's OS error becomes (wasmtime-wasi's socket-level
    /// mapping: errors without a code of their own are `unknown`).
    pub fn from_io(e: &std::io::Error) -> ErrorCode {
        if let Some(errno) = Errno::from_io_error(e) {
            return Self::from_errno(errno, false);
        }
        Self::from_kind(e.kind(), false)
    }

    /// The code `network-error-code` gives for a stream's error (wasmtime-wasi's P2
    /// mapping: also `would-block`, `concurrency-conflict`, `new-socket-limit`).
    pub fn from_stream_io(e: &std::io::Error) -> ErrorCode {
        if let Some(errno) = Errno::from_io_error(e) {
            return Self::from_errno(errno, true);
        }
        Self::from_kind(e.kind(), true)
    }

    fn from_kind(kind: std::io::ErrorKind, p2: bool) -> ErrorCode {
        use std::io::ErrorKind as K;
        match kind {
            K::AddrInUse => ErrorCode::AddressInUse,
            K::AddrNotAvailable => ErrorCode::AddressNotBindable,
            K::ConnectionAborted => ErrorCode::ConnectionAborted,
            K::ConnectionRefused => ErrorCode::ConnectionRefused,
            K::ConnectionReset => ErrorCode::ConnectionReset,
            K::InvalidInput => ErrorCode::InvalidArgument,
            K::NotConnected => ErrorCode::InvalidState,
            K::OutOfMemory => ErrorCode::OutOfMemory,
            K::PermissionDenied => ErrorCode::AccessDenied,
            K::TimedOut => ErrorCode::Timeout,
            K::Unsupported => ErrorCode::NotSupported,
            K::WouldBlock | K::Interrupted if p2 => ErrorCode::WouldBlock,
            K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown if !p2 => {
                ErrorCode::RemoteUnreachable
            }
            _ => ErrorCode::Unknown,
        }
    }

    fn from_errno(e: Errno, p2: bool) -> ErrorCode {
        match e {
            Errno::WOULDBLOCK | Errno::INTR if p2 => ErrorCode::WouldBlock,
            Errno::ALREADY if p2 => ErrorCode::ConcurrencyConflict,
            Errno::NFILE | Errno::MFILE if p2 => ErrorCode::NewSocketLimit,
            Errno::PERM | Errno::ACCESS => ErrorCode::AccessDenied,
            Errno::ADDRINUSE => ErrorCode::AddressInUse,
            Errno::ADDRNOTAVAIL => ErrorCode::AddressNotBindable,
            Errno::TIMEDOUT => ErrorCode::Timeout,
            Errno::CONNREFUSED => ErrorCode::ConnectionRefused,
            Errno::CONNRESET => ErrorCode::ConnectionReset,
            Errno::CONNABORTED => ErrorCode::ConnectionAborted,
            Errno::INVAL => ErrorCode::InvalidArgument,
            Errno::HOSTUNREACH
            | Errno::HOSTDOWN
            | Errno::NETDOWN
            | Errno::NETUNREACH
            | Errno::NONET => ErrorCode::RemoteUnreachable,
            Errno::ISCONN | Errno::NOTCONN | Errno::DESTADDRREQ => ErrorCode::InvalidState,
            Errno::MSGSIZE => ErrorCode::DatagramTooLarge,
            Errno::NOMEM | Errno::NOBUFS => ErrorCode::OutOfMemory,
            Errno::OPNOTSUPP
            | Errno::NOPROTOOPT
            | Errno::PFNOSUPPORT
            | Errno::PROTONOSUPPORT
            | Errno::PROTOTYPE
            | Errno::SOCKTNOSUPPORT
            | Errno::AFNOSUPPORT => ErrorCode::NotSupported,
            _ => ErrorCode::Unknown,
        }
    }
}

impl From<std::io::Error> for ErrorCode {
    fn from(e: std::io::Error) -> Self {
        ErrorCode::from_io(&e)
    }
}

impl From<Errno> for ErrorCode {
    fn from(e: Errno) -> Self {
        ErrorCode::from_errno(e, false)
    }
}

fn mismatch(expected: &str, ty: &Type) -> Error {
    Error::msg(format!("type mismatch: expected {expected}, found {ty}"))
}

pub(crate) fn check_enum(expected: &str, ty: &Type, names: &[&str]) -> Result<()> {
    match ty {
        Type::Enum(e) if e.names().eq(names.iter().copied()) => Ok(()),
        _ => Err(mismatch(expected, ty)),
    }
}

pub(crate) fn check_variant(expected: &str, ty: &Type, names: &[&str]) -> Result<()> {
    match ty {
        Type::Variant(v) if v.cases().map(|(n, _)| n).eq(names.iter().copied()) => Ok(()),
        _ => Err(mismatch(expected, ty)),
    }
}

pub(crate) fn enum_case(v: &Val, what: &str) -> Result<String> {
    match v {
        Val::Enum(n) => Ok(n.clone()),
        other => Err(Error::msg(format!("not a {what}: {other}"))),
    }
}

impl ComponentType for ErrorCode {
    fn typecheck(ty: &Type) -> Result<()> {
        check_enum("error-code", ty, &ERROR_CODES.map(|(_, n)| n))
    }
}

impl Lower for ErrorCode {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Enum(self.name().into()))
    }
}

impl Lift for ErrorCode {
    fn lift(v: Val) -> Result<Self> {
        let n = enum_case(&v, "error-code")?;
        ERROR_CODES
            .iter()
            .find(|(_, name)| *name == n)
            .map(|(c, _)| *c)
            .ok_or_else(|| Error::msg(format!("not an error-code: {n}")))
    }
}

/// `ip-address-family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ipv4`
    Ipv4,
    /// `ipv6`
    Ipv6,
}

impl Family {
    /// The unspecified address of the family, port 0.
    pub(crate) fn unspecified(self) -> SocketAddr {
        match self {
            Family::Ipv4 => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
            Family::Ipv6 => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
        }
    }

    /// Whether `ip` may be used on a socket of this family: IPv4 on IPv4; on IPv6 neither
    /// IPv4-mapped nor the deprecated IPv4-compatible addresses (the sockets are v6-only).
    pub(crate) fn accepts(self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Family::Ipv4, IpAddr::V4(_)) => true,
            (Family::Ipv6, IpAddr::V6(v6)) => {
                let compatible = matches!(v6.segments(), [0, 0, 0, 0, 0, 0, _, _])
                    && v6 != Ipv6Addr::UNSPECIFIED
                    && v6 != Ipv6Addr::LOCALHOST;
                !compatible && v6.to_ipv4_mapped().is_none()
            }
            _ => false,
        }
    }
}

impl ComponentType for Family {
    fn typecheck(ty: &Type) -> Result<()> {
        check_enum("ip-address-family", ty, &["ipv4", "ipv6"])
    }
}

impl Lower for Family {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Enum(
            match self {
                Family::Ipv4 => "ipv4",
                Family::Ipv6 => "ipv6",
            }
            .into(),
        ))
    }
}

impl Lift for Family {
    fn lift(v: Val) -> Result<Self> {
        match enum_case(&v, "ip-address-family")?.as_str() {
            "ipv4" => Ok(Family::Ipv4),
            "ipv6" => Ok(Family::Ipv6),
            n => Err(Error::msg(format!("not an ip-address-family: {n}"))),
        }
    }
}

/// A remote address worth connecting or sending to: not unspecified, port not 0.
pub(crate) fn is_valid_remote(addr: SocketAddr) -> bool {
    !addr.ip().to_canonical().is_unspecified() && addr.port() != 0
}

/// Not multicast, not broadcast.
pub(crate) fn is_unicast(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

fn u8s(v: Val, n: usize) -> Result<Vec<u8>> {
    match v {
        Val::Tuple(items) if items.len() == n => items.into_iter().map(u8::lift).collect(),
        other => Err(Error::msg(format!("not an ipv4-address: {other}"))),
    }
}

fn u16s(v: Val, n: usize) -> Result<Vec<u16>> {
    match v {
        Val::Tuple(items) if items.len() == n => items.into_iter().map(u16::lift).collect(),
        other => Err(Error::msg(format!("not an ipv6-address: {other}"))),
    }
}

fn field(fields: &mut Vec<(String, Val)>, name: &str) -> Result<Val> {
    let i = fields
        .iter()
        .position(|(n, _)| n == name)
        .ok_or_else(|| Error::msg(format!("record has no field `{name}`")))?;
    Ok(fields.remove(i).1)
}

fn lower_ip(ip: IpAddr) -> Val {
    match ip {
        IpAddr::V4(v4) => Val::Tuple(v4.octets().into_iter().map(Val::U8).collect()),
        IpAddr::V6(v6) => Val::Tuple(v6.segments().into_iter().map(Val::U16).collect()),
    }
}

/// `ip-address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpAddress(pub IpAddr);

impl ComponentType for IpAddress {
    fn typecheck(ty: &Type) -> Result<()> {
        check_variant("ip-address", ty, &["ipv4", "ipv6"])
    }
}

impl Lower for IpAddress {
    fn lower(&self) -> Result<Val> {
        let case = if self.0.is_ipv4() { "ipv4" } else { "ipv6" };
        Ok(Val::Variant(case.into(), Some(Box::new(lower_ip(self.0)))))
    }
}

/// `ip-socket-address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpSocketAddress(pub SocketAddr);

impl ComponentType for IpSocketAddress {
    fn typecheck(ty: &Type) -> Result<()> {
        check_variant("ip-socket-address", ty, &["ipv4", "ipv6"])
    }
}

impl Lower for IpSocketAddress {
    fn lower(&self) -> Result<Val> {
        Ok(match self.0 {
            SocketAddr::V4(a) => Val::Variant(
                "ipv4".into(),
                Some(Box::new(Val::Record(vec![
                    ("port".into(), Val::U16(a.port())),
                    ("address".into(), lower_ip(IpAddr::V4(*a.ip()))),
                ]))),
            ),
            SocketAddr::V6(a) => Val::Variant(
                "ipv6".into(),
                Some(Box::new(Val::Record(vec![
                    ("port".into(), Val::U16(a.port())),
                    ("flow-info".into(), Val::U32(a.flowinfo())),
                    ("address".into(), lower_ip(IpAddr::V6(*a.ip()))),
                    ("scope-id".into(), Val::U32(a.scope_id())),
                ]))),
            ),
        })
    }
}

impl Lift for IpSocketAddress {
    fn lift(v: Val) -> Result<Self> {
        let (case, mut fields) = match v {
            Val::Variant(case, Some(payload)) => match *payload {
                Val::Record(fields) => (case, fields),
                other => return Err(Error::msg(format!("not an ip-socket-address: {other}"))),
            },
            other => return Err(Error::msg(format!("not an ip-socket-address: {other}"))),
        };
        let port = u16::lift(field(&mut fields, "port")?)?;
        Ok(IpSocketAddress(match case.as_str() {
            "ipv4" => {
                let b = u8s(field(&mut fields, "address")?, 4)?;
                SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::new(b[0], b[1], b[2], b[3]),
                    port,
                ))
            }
            "ipv6" => {
                let s = u16s(field(&mut fields, "address")?, 8)?;
                let flow = u32::lift(field(&mut fields, "flow-info")?)?;
                let scope = u32::lift(field(&mut fields, "scope-id")?)?;
                let ip = Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
                SocketAddr::V6(SocketAddrV6::new(ip, port, flow, scope))
            }
            other => {
                return Err(Error::msg(format!(
                    "not an ip-socket-address case: {other}"
                )))
            }
        }))
    }
}

/// What a socket method returns to the guest: a value or an `error-code`.
pub(crate) type SocketResult<T> = std::result::Result<T, ErrorCode>;

/// The runtime socket tasks run on: the one [`block_on`](crate::wasi::block::block_on)
/// drives, so that sockets made in a `block_on` and tasks spawned here share a reactor.
fn io_handle() -> tokio::runtime::Handle {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => h,
        _ => crate::wasi::block::runtime().handle().clone(),
    }
}

/// Sets the flag when dropped: a task that finished, panicked or was aborted is done.
struct DoneGuard(watch::Sender<bool>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// A background task whose result is taken once; any number of readiness futures can wait
/// for it without borrowing it.
pub(crate) struct Bg<T> {
    slot: Arc<Mutex<Option<T>>>,
    done: watch::Receiver<bool>,
    abort: tokio::task::AbortHandle,
}

impl<T: Send + 'static> Bg<T> {
    /// Spawns `f` on the I/O runtime.
    pub(crate) fn spawn(f: impl Future<Output = T> + Send + 'static) -> Self {
        let (tx, done) = watch::channel(false);
        let slot = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let task = io_handle().spawn(async move {
            let _done = DoneGuard(tx);
            let v = f.await;
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
        });
        Bg {
            slot,
            done,
            abort: task.abort_handle(),
        }
    }

    /// Whether the task has ended.
    pub(crate) fn is_done(&self) -> bool {
        *self.done.borrow()
    }

    /// The result, if the task has ended: `Some(None)` if it ended without one (panicked).
    pub(crate) fn take(&mut self) -> Option<Option<T>> {
        if !self.is_done() {
            return None;
        }
        Some(self.slot.lock().unwrap_or_else(|p| p.into_inner()).take())
    }

    /// Resolves when the task has ended.
    pub(crate) fn ready(&self) -> Ready {
        let mut done = self.done.clone();
        Box::pin(async move {
            let _ = done.wait_for(|d| *d).await;
        })
    }

    /// Stops the task (a pending accept of a listener the guest dropped).
    pub(crate) fn abort(&self) {
        self.abort.abort();
    }
}

/// Socket options TCP and UDP share, normalised as wasmtime-wasi does.
pub(crate) mod options {
    use super::{ErrorCode, Family, SocketResult};
    use rustix::fd::BorrowedFd;
    use rustix::io::Errno;
    use rustix::net::sockopt;

    pub(crate) fn hop_limit(fd: BorrowedFd<'_>, family: Family) -> SocketResult<u8> {
        match family {
            Family::Ipv4 => u8::try_from(sockopt::ip_ttl(fd)?).map_err(|_| ErrorCode::NotSupported),
            Family::Ipv6 => Ok(sockopt::ipv6_unicast_hops(fd)?),
        }
    }

    pub(crate) fn set_hop_limit(fd: BorrowedFd<'_>, family: Family, value: u8) -> SocketResult<()> {
        // WIT: 0 is `invalid-argument` (checked here: systems disagree).
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        match family {
            Family::Ipv4 => sockopt::set_ip_ttl(fd, value.into())?,
            Family::Ipv6 => sockopt::set_ipv6_unicast_hops(fd, Some(value))?,
        }
        Ok(())
    }

    /// Linux reports twice the size set (bookkeeping); halved back, as wasmtime-wasi does.
    fn normalize_get(v: usize) -> u64 {
        let v = if cfg!(target_os = "linux") { v / 2 } else { v };
        v.try_into().unwrap_or(u64::MAX)
    }

    fn normalize_set(value: u64) -> SocketResult<usize> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        Ok(usize::try_from(value)
            .unwrap_or(usize::MAX)
            .clamp(1, i32::MAX as usize))
    }

    /// A size is a hint: `ENOBUFS` (the BSDs' "too big") is not an error.
    fn hint(r: rustix::io::Result<()>) -> SocketResult<()> {
        match r {
            Ok(()) | Err(Errno::NOBUFS) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn receive_buffer_size(fd: BorrowedFd<'_>) -> SocketResult<u64> {
        Ok(normalize_get(sockopt::socket_recv_buffer_size(fd)?))
    }

    pub(crate) fn set_receive_buffer_size(fd: BorrowedFd<'_>, value: u64) -> SocketResult<()> {
        hint(sockopt::set_socket_recv_buffer_size(
            fd,
            normalize_set(value)?,
        ))
    }

    pub(crate) fn send_buffer_size(fd: BorrowedFd<'_>) -> SocketResult<u64> {
        Ok(normalize_get(sockopt::socket_send_buffer_size(fd)?))
    }

    pub(crate) fn set_send_buffer_size(fd: BorrowedFd<'_>, value: u64) -> SocketResult<()> {
        hint(sockopt::set_socket_send_buffer_size(
            fd,
            normalize_set(value)?,
        ))
    }
}

/// The policy check: `access-denied` unless the context allows `addr`.
pub(crate) fn check(
    policy: &crate::wasi::sockets::NetPolicy,
    addr: SocketAddr,
) -> SocketResult<()> {
    if policy.allows(addr.ip()) {
        Ok(())
    } else {
        Err(ErrorCode::AccessDenied)
    }
}

pub(super) fn delete<T: WasiView, R: 'static>(
    store: &mut StoreContextMut<'_, T>,
    rep: u32,
) -> Result<R> {
    Ok(store
        .data_mut()
        .ctx()
        .table
        .delete(Resource::<R>::new_own(rep))?)
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut network = linker.instance(&name("sockets/network"))?;
    network.resource("network", ResourceType::host::<Network>(), |mut s, rep| {
        delete::<T, Network>(&mut s, rep).map(drop)
    })?;
    // `@unstable(feature = network-error-code)` in the WIT; wasmtime links it behind
    // `-S network-error-code`. The code of a socket stream's error.
    network.func_wrap(
        "network-error-code",
        |mut s, (err,): (Resource<IoError>,)| {
            let e = s.data_mut().ctx().table.get(&err)?;
            Ok((Some(ErrorCode::from_stream_io(&e.0)),))
        },
    )?;
    linker
        .instance(&name("sockets/instance-network"))?
        .func_wrap("instance-network", |mut s, (): ()| {
            Ok((s.data_mut().ctx().table.push(Network)?,))
        })?;
    lookup::add_to_linker(linker)?;
    tcp::add_to_linker(linker)?;
    udp::add_to_linker(linker)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_values() {
        for a in ["127.0.0.1:80", "[::1]:443", "[fe80::1%3]:9"] {
            let addr: SocketAddr = a.parse().unwrap();
            let v = IpSocketAddress(addr).lower().unwrap();
            assert_eq!(IpSocketAddress::lift(v).unwrap().0, addr);
        }
        for (i, (code, name)) in ERROR_CODES.iter().enumerate() {
            assert_eq!(*code as usize, i);
            assert_eq!(
                ErrorCode::lift(code.lower().unwrap()).unwrap().name(),
                *name
            );
        }
    }

    #[test]
    fn errors_map_as_wasmtime_does() {
        let e = |n| std::io::Error::from_raw_os_error(n);
        assert_eq!(
            ErrorCode::from_io(&e(libc_errno(Errno::ADDRINUSE))),
            ErrorCode::AddressInUse
        );
        assert_eq!(
            ErrorCode::from_io(&e(libc_errno(Errno::AGAIN))),
            ErrorCode::Unknown
        );
        assert_eq!(
            ErrorCode::from_stream_io(&e(libc_errno(Errno::AGAIN))),
            ErrorCode::WouldBlock
        );
        assert_eq!(
            ErrorCode::from_io(&std::io::ErrorKind::PermissionDenied.into()),
            ErrorCode::AccessDenied
        );
    }

    fn libc_errno(e: Errno) -> i32 {
        e.raw_os_error()
    }

    #[test]
    fn families_accept_their_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(Family::Ipv4.accepts(ip("127.0.0.1")));
        assert!(!Family::Ipv4.accepts(ip("::1")));
        assert!(Family::Ipv6.accepts(ip("::1")));
        assert!(Family::Ipv6.accepts(ip("::")));
        assert!(!Family::Ipv6.accepts(ip("::ffff:127.0.0.1")));
        assert!(!Family::Ipv6.accepts(ip("::7f00:1")));
        assert!(!is_unicast(ip("224.0.0.1")) && !is_unicast(ip("255.255.255.255")));
        assert!(!is_valid_remote("0.0.0.0:80".parse().unwrap()));
        assert!(!is_valid_remote("127.0.0.1:0".parse().unwrap()));
    }
}
