//! WASI state, sockets: what a guest may do with the network.
//!
//! WASI Preview 1 cannot create sockets: it can only use ones the host preopens, and
//! [`WasiCtxBuilder`](super::WasiCtxBuilder) preopens none, so no descriptor is ever a
//! socket and `sock_*` calls report `ENOTSOCK` (or `EBADF` for a closed descriptor),
//! as wasmtime-wasi does. P2 and P3 sockets will keep their state here.
//!
//! WASI 0.2 sockets (`wasi:sockets`) are checked against a [`NetPolicy`]: an allow-list of
//! address ranges (CIDRs) the guest may bind to, connect to, send to, accept from and
//! receive from, empty by default (everything is `access-denied`). Implicit binds (the OS
//! picking a local address for a `connect` or a `send` on an unbound socket) are not
//! checked: the remote address is. With an empty list no socket can even be created
//! (`access-denied`, as the wasmtime CLI without `-S inherit-network`), and name lookup
//! (`ip-name-lookup`) is refused; with any range both are allowed, and lookup results are
//! not filtered: reaching them is checked.

use std::net::IpAddr;
use std::sync::Arc;

/// The addresses a guest may use, as CIDR ranges. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    allowed: Arc<Vec<ipnet::IpNet>>,
}

impl NetPolicy {
    /// Adds a range: `a.b.c.d/n`, `x:y::z/n`, or a bare address (that address only).
    pub fn allow(&mut self, cidr: &str) -> Result<(), String> {
        let cidr = cidr.trim();
        let net = match cidr.parse::<ipnet::IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => match cidr.parse::<IpAddr>() {
                Ok(ip) => ipnet::IpNet::from(ip),
                Err(_) => {
                    return Err(format!(
                        "`{cidr}` is not an address range (expected e.g. 127.0.0.0/8, ::1/128 or 10.1.2.3)"
                    ))
                }
            },
        };
        Arc::make_mut(&mut self.allowed).push(net);
        Ok(())
    }

    /// Allows every address, IPv4 and IPv6 (as wasmtime's `-S inherit-network`).
    pub fn allow_all(&mut self) {
        let all = Arc::make_mut(&mut self.allowed);
        all.push("0.0.0.0/0".parse().expect("a valid range"));
        all.push("::/0".parse().expect("a valid range"));
    }

    /// Whether the guest may use `ip` (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        self.allowed
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
    }

    /// Whether any network use is allowed (and so name lookup).
    pub fn any(&self) -> bool {
        !self.allowed.is_empty()
    }

    /// The allowed ranges.
    pub fn ranges(&self) -> impl Iterator<Item = String> + '_ {
        self.allowed.iter().map(|n| n.to_string())
    }
}

/// How a socket is shut down, as P1's `sdflags` and P2's `shutdown-type` say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// No more receiving.
    Receive,
    /// No more sending.
    Send,
    /// Neither.
    Both,
}

impl Shutdown {
    /// From P1 `sdflags` (bit 0: RD, bit 1: WR); `None` if no or unknown bits are set.
    pub fn from_p1_flags(flags: u8) -> Option<Shutdown> {
        match flags {
            1 => Some(Shutdown::Receive),
            2 => Some(Shutdown::Send),
            3 => Some(Shutdown::Both),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_ranges_and_bare_addresses() {
        let mut p = NetPolicy::default();
        assert!(!p.any());
        assert!(!p.allows("127.0.0.1".parse().unwrap()));
        p.allow("127.0.0.0/8").unwrap();
        p.allow("::1").unwrap();
        p.allow("10.1.2.3/16").unwrap();
        assert!(p.any());
        assert!(p.allows("127.1.2.3".parse().unwrap()));
        assert!(p.allows("::1".parse().unwrap()));
        assert!(p.allows("::ffff:127.0.0.1".parse().unwrap()));
        assert!(p.allows("10.1.200.1".parse().unwrap()));
        assert!(!p.allows("10.2.0.1".parse().unwrap()));
        assert!(!p.allows("::2".parse().unwrap()));
        assert!(!p.allows("0.0.0.0".parse().unwrap()));
        assert!(p.allow("localhost").is_err());
        assert!(p.allow("1.2.3.4/33").is_err());
        let mut all = NetPolicy::default();
        all.allow_all();
        assert!(
            all.allows("8.8.8.8".parse().unwrap()) && all.allows("2001:db8::1".parse().unwrap())
        );
    }
}
