//! WASI P1 `poll_oneoff`: waits for clock deadlines and descriptor readiness.
//!
//! Files, pipes and output streams are always ready (as on POSIX); the one source that
//! can block is an inherited stdin, which is polled with the host's `poll(2)`. Without
//! one, the call sleeps until the earliest clock deadline. Event fields follow
//! wasmtime-wasi (ready fd events report `nbytes = 1`, a file at its end `HANGUP`).

use super::table::Desc;
use super::types::*;
use crate::wasi::WasiCtx;
use std::time::{Duration, Instant};

/// A decoded subscription.
enum Sub {
    Clock { deadline: Instant },
    StdinRead,
    FileRead { at_end: bool },
    Write,
}

/// `eventrwflags::FD_READWRITE_HANGUP`.
const HANGUP: u16 = 1;

pub(crate) fn poll_oneoff(
    cx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    subs_ptr: u32,
    events_ptr: u32,
    n: u32,
    ret: u32,
) -> P1Result<()> {
    if n == 0 {
        // Sleeping forever is not supported in P1.
        return Err(Errno::Inval.into());
    }
    let overflow = || P1Error::from(Errno::Overflow);
    mem.check(
        subs_ptr,
        n.checked_mul(SUBSCRIPTION_SIZE).ok_or_else(overflow)?,
        8,
    )?;
    mem.check(
        events_ptr,
        n.checked_mul(EVENT_SIZE).ok_or_else(overflow)?,
        8,
    )?;

    let start = Instant::now();
    let mut subs = Vec::with_capacity(n as usize);
    for i in 0..n {
        let base = subs_ptr + i * SUBSCRIPTION_SIZE;
        let userdata = mem.read_u64(base)?;
        let sub = match mem.read_u8(base + 8)? {
            eventtype::CLOCK => {
                let id = mem.read_u32(base + 16)?;
                let timeout = mem.read_u64(base + 24)?;
                let flags = mem.read_u16(base + 40)?;
                if flags & !1 != 0 {
                    return Err(Errno::Inval.into());
                }
                let absolute = flags & 1 != 0;
                let far = || start + Duration::from_secs(u64::from(u32::MAX));
                let after = |ns: u64| {
                    start
                        .checked_add(Duration::from_nanos(ns))
                        .unwrap_or_else(far)
                };
                let deadline = match id {
                    clockid::MONOTONIC if absolute => cx.clocks.monotonic_instant(timeout),
                    clockid::MONOTONIC | clockid::REALTIME if !absolute => after(timeout),
                    clockid::REALTIME => {
                        let now =
                            u64::try_from(cx.clocks.wall_now().as_nanos()).unwrap_or(u64::MAX);
                        after(timeout.saturating_sub(now))
                    }
                    _ => return Err(Errno::Inval.into()),
                };
                Sub::Clock { deadline }
            }
            eventtype::FD_READ => match cx.p1.table.get(mem.read_u32(base + 16)?)? {
                Desc::Stdin => Sub::StdinRead,
                Desc::File(f) => Sub::FileRead {
                    at_end: f.file.stat()?.size <= f.position,
                },
                _ => return Err(Errno::Badf.into()),
            },
            eventtype::FD_WRITE => match cx.p1.table.get(mem.read_u32(base + 16)?)? {
                Desc::Stdout | Desc::Stderr | Desc::File(_) => Sub::Write,
                _ => return Err(Errno::Badf.into()),
            },
            _ => return Err(Errno::Inval.into()),
        };
        subs.push((userdata, sub));
    }

    let ready = loop {
        let now = Instant::now();
        let ready: Vec<bool> = subs
            .iter()
            .map(|(_, sub)| match sub {
                Sub::Clock { deadline } => *deadline <= now,
                Sub::StdinRead => cx.cli.stdin.wait_readable(Some(Duration::ZERO)),
                Sub::FileRead { .. } | Sub::Write => true,
            })
            .collect();
        if ready.iter().any(|&r| r) {
            break ready;
        }
        let earliest = subs
            .iter()
            .filter_map(|(_, sub)| match sub {
                Sub::Clock { deadline } => Some(*deadline),
                _ => None,
            })
            .min();
        let wait = earliest.map(|d| d.saturating_duration_since(now));
        if subs.iter().any(|(_, s)| matches!(s, Sub::StdinRead)) {
            cx.cli.stdin.wait_readable(wait);
        } else if let Some(wait) = wait {
            std::thread::sleep(wait);
        }
    };

    let mut count = 0u32;
    for ((userdata, sub), _) in subs.iter().zip(&ready).filter(|(_, &r)| r) {
        let (kind, nbytes, flags) = match sub {
            Sub::Clock { .. } => (eventtype::CLOCK, 0, 0),
            Sub::StdinRead => (eventtype::FD_READ, 1, 0),
            Sub::FileRead { at_end } => (eventtype::FD_READ, 1, if *at_end { HANGUP } else { 0 }),
            Sub::Write => (eventtype::FD_WRITE, 1, 0),
        };
        let base = events_ptr + count * EVENT_SIZE;
        mem.slice_mut(base, EVENT_SIZE)?.fill(0);
        mem.write_u64(base, *userdata)?;
        mem.write_u16(base + 8, Errno::Success as u16)?;
        mem.write_u8(base + 10, kind)?;
        mem.write_u64(base + 16, nbytes)?;
        mem.write_u16(base + 24, flags)?;
        count += 1;
    }
    mem.write_u32(ret, count)
}
