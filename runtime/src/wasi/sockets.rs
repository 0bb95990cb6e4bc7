//! WASI state, sockets: what a guest may do with the network.
//!
//! WASI Preview 1 cannot create sockets: it can only use ones the host preopens, and
//! [`WasiCtxBuilder`](super::WasiCtxBuilder) preopens none, so no descriptor is ever a
//! socket and `sock_*` calls report `ENOTSOCK` (or `EBADF` for a closed descriptor),
//! as wasmtime-wasi does. P2 and P3 sockets will keep their state here.

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
