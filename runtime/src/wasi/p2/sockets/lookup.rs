//! `wasi:sockets/ip-name-lookup`: `resolve-addresses` and the `resolve-address-stream`.
//!
//! As in wasmtime-wasi: the name is checked (and IDNA-encoded) with `url::Host::parse`, an
//! IP address resolves to itself at once, anything else is looked up by the system
//! resolver (`getaddrinfo`, in a task). Lookup is refused with
//! `permanent-resolver-failure` unless the context allows some network use.

use super::super::io::{ready_now, subscribe, Ready, Subscribe};
use super::{Bg, ErrorCode, IpAddress, Network, SocketResult};
use crate::component::{Linker, Resource, ResourceType};
use crate::error::Result;
use crate::wasi::p2::{name, WasiView};
use std::net::IpAddr;

/// A name to resolve: an IP address (itself), or a domain (IDNA-encoded) to look up; an
/// invalid name is `invalid-argument`. Shared with WASI 0.3.
pub(crate) fn parse_name(name: &str) -> SocketResult<std::result::Result<IpAddr, String>> {
    match url::Host::parse(name) {
        Ok(url::Host::Domain(d)) => Ok(Err(d)),
        Ok(url::Host::Ipv4(a)) => Ok(Ok(a.into())),
        Ok(url::Host::Ipv6(a)) => Ok(Ok(a.into())),
        // `Host::parse` wants IPv6 addresses in brackets.
        Err(_) => match name.parse::<std::net::Ipv6Addr>() {
            Ok(a) => Ok(Ok(a.into())),
            Err(_) => Err(ErrorCode::InvalidArgument),
        },
    }
}

/// Looks `domain` up with the system resolver (`name-unresolvable` when it fails).
pub(crate) async fn lookup(domain: String) -> SocketResult<Vec<IpAddr>> {
    let addrs = tokio::net::lookup_host((domain.as_str(), 0))
        .await
        .map_err(|_| ErrorCode::NameUnresolvable)?;
    Ok(addrs.map(|a| a.ip().to_canonical()).collect())
}

enum Lookup {
    Pending(Bg<SocketResult<Vec<IpAddr>>>),
    Done(SocketResult<std::vec::IntoIter<IpAddr>>),
}

/// A `resolve-address-stream` resource.
pub struct ResolveAddressStream(Lookup);

impl std::fmt::Debug for ResolveAddressStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResolveAddressStream")
    }
}

impl ResolveAddressStream {
    fn start(name: &str, allowed: bool) -> SocketResult<Self> {
        if !allowed {
            return Err(ErrorCode::PermanentResolverFailure);
        }
        Ok(match parse_name(name)? {
            Ok(ip) => Self::done(vec![ip]),
            Err(domain) => ResolveAddressStream(Lookup::Pending(Bg::spawn(lookup(domain)))),
        })
    }

    fn done(addrs: Vec<IpAddr>) -> Self {
        ResolveAddressStream(Lookup::Done(Ok(addrs.into_iter())))
    }

    fn next(&mut self) -> SocketResult<Option<IpAddr>> {
        if let Lookup::Pending(bg) = &mut self.0 {
            let r = bg.take().ok_or(ErrorCode::WouldBlock)?;
            self.0 = Lookup::Done(r.unwrap_or(Err(ErrorCode::Unknown)).map(|v| v.into_iter()));
        }
        match &mut self.0 {
            Lookup::Done(Ok(addrs)) => Ok(addrs.next()),
            Lookup::Done(Err(e)) => Err(*e),
            Lookup::Pending(_) => unreachable!("settled above"),
        }
    }
}

impl Subscribe for ResolveAddressStream {
    fn ready(&mut self) -> Ready {
        match &self.0 {
            Lookup::Pending(bg) => bg.ready(),
            Lookup::Done(_) => ready_now(),
        }
    }
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut lookup = linker.instance(&name("sockets/ip-name-lookup"))?;
    lookup.resource(
        "resolve-address-stream",
        ResourceType::host::<ResolveAddressStream>(),
        |mut s, rep| super::delete::<T, ResolveAddressStream>(&mut s, rep).map(drop),
    )?;
    lookup.func_wrap(
        "resolve-addresses",
        |mut s, (network, host): (Resource<Network>, String)| {
            let view = s.data_mut().ctx();
            view.table.get(&network)?;
            let r = match ResolveAddressStream::start(&host, view.ctx.net.any()) {
                Ok(stream) => Ok(view.table.push(stream)?),
                Err(e) => Err(e),
            };
            Ok((r,))
        },
    )?;
    lookup.func_wrap(
        "[method]resolve-address-stream.resolve-next-address",
        |mut s, (this,): (Resource<ResolveAddressStream>,)| {
            let stream = s.data_mut().ctx().table.get_mut(&this)?;
            Ok((stream.next().map(|a| a.map(IpAddress)),))
        },
    )?;
    lookup.func_wrap(
        "[method]resolve-address-stream.subscribe",
        |mut s, (this,): (Resource<ResolveAddressStream>,)| {
            Ok((subscribe(s.data_mut().ctx().table, &this)?,))
        },
    )?;
    Ok(())
}
