//! WASI P1 host functions: each `wasi_snapshot_preview1` import as a plain function over
//! the [`WasiCtx`] and the guest's memory. Arguments arrive as the raw wasm integers;
//! results are written through the guest's pointers; the `Ok`/`Err` becomes the errno.
//! Semantics (which errno when) follow wasmtime-wasi's P1 adapter.

// The functions take the P1 signatures' arguments one by one.
#![allow(clippy::too_many_arguments)]

use super::table::{Desc, FileDesc};
use super::types::*;
use crate::error::Error;
use crate::wasi::filesystem::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, NewTimestamp, OpenFlags,
};
use crate::wasi::WasiCtx;
use std::time::{Duration, SystemTime};

type Mem<'a, 'b> = &'a mut GuestMemory<'b>;

fn nanos(d: Duration) -> P1Result<u64> {
    Ok(u64::try_from(d.as_nanos()).map_err(|_| Errno::Overflow)?)
}

fn timestamp(t: Option<SystemTime>) -> P1Result<u64> {
    match t {
        None => Ok(0),
        Some(t) => nanos(t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()),
    }
}

fn filetype_of(t: DescriptorType) -> u8 {
    match t {
        DescriptorType::Unknown => filetype::UNKNOWN,
        DescriptorType::BlockDevice => filetype::BLOCK_DEVICE,
        DescriptorType::CharacterDevice => filetype::CHARACTER_DEVICE,
        DescriptorType::Directory => filetype::DIRECTORY,
        DescriptorType::SymbolicLink => filetype::SYMBOLIC_LINK,
        DescriptorType::RegularFile => filetype::REGULAR_FILE,
    }
}

fn filestat_of(st: &DescriptorStat) -> P1Result<Filestat> {
    Ok(Filestat {
        dev: 1,
        ino: st.identity,
        filetype: filetype_of(st.type_),
        nlink: st.link_count,
        size: st.size,
        atim: timestamp(st.accessed)?,
        mtim: timestamp(st.modified)?,
        ctim: timestamp(st.status_changed)?,
    })
}

/// An argument that is not a valid value of its witx type. wasmtime decodes arguments
/// before the call and treats a bad one as a fatal error, not an errno; so do we.
fn invalid_arg(what: &str, value: u64) -> P1Error {
    P1Error::Fatal(Error::msg(format!(
        "invalid value {value} for a `{what}` argument"
    )))
}

/// Checks that the flags argument `flags` has no bits outside `all`.
fn check_flags(flags: u32, all: u32, what: &str) -> P1Result<u32> {
    if flags & !all != 0 {
        return Err(invalid_arg(what, flags.into()));
    }
    Ok(flags)
}

/// Checks that the enum argument `value` is at most `max`.
fn check_enum(value: u32, max: u32, what: &str) -> P1Result<u32> {
    if value > max {
        return Err(invalid_arg(what, value.into()));
    }
    Ok(value)
}

/// Checks a `rights` argument.
fn check_rights(value: u64) -> P1Result<u64> {
    if value & !rights::ALL != 0 {
        return Err(invalid_arg("rights", value));
    }
    Ok(value)
}

fn follow(lookupflags: u32) -> P1Result<bool> {
    Ok(check_flags(lookupflags, lookupflags::SYMLINK_FOLLOW, "lookupflags")? != 0)
}

/// One `set_times` timestamp from P1's (value, set, now) triple.
fn new_timestamp(set: bool, ts: u64, now: bool) -> P1Result<NewTimestamp> {
    match (set, now) {
        (true, true) => Err(Errno::Inval.into()),
        (true, false) => Ok(NewTimestamp::At(
            SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_nanos(ts))
                .ok_or(Errno::Overflow)?,
        )),
        (false, true) => Ok(NewTimestamp::Now),
        (false, false) => Ok(NewTimestamp::NoChange),
    }
}

fn timestamps(atim: u64, mtim: u64, fst: u32) -> P1Result<(NewTimestamp, NewTimestamp)> {
    let fst = check_flags(fst, fstflags::ALL, "fstflags")?;
    Ok((
        new_timestamp(
            fst & fstflags::ATIM != 0,
            atim,
            fst & fstflags::ATIM_NOW != 0,
        )?,
        new_timestamp(
            fst & fstflags::MTIM != 0,
            mtim,
            fst & fstflags::MTIM_NOW != 0,
        )?,
    ))
}

/// Writes each string NUL-terminated into `buf` and its address into `ptrs`.
fn write_string_list(
    mem: Mem<'_, '_>,
    strings: impl Iterator<Item = Vec<u8>>,
    mut ptrs: u32,
    mut buf: u32,
) -> P1Result<()> {
    for mut s in strings {
        s.push(0);
        mem.write_u32(ptrs, buf)?;
        mem.write_bytes(buf, &s)?;
        ptrs = ptrs.checked_add(4).ok_or(Errno::Overflow)?;
        buf = buf
            .checked_add(u32::try_from(s.len())?)
            .ok_or(Errno::Overflow)?;
    }
    Ok(())
}

fn env_entries(cx: &WasiCtx) -> impl Iterator<Item = Vec<u8>> + '_ {
    cx.cli
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
}

pub(crate) fn args_get(cx: &mut WasiCtx, mem: Mem<'_, '_>, argv: u32, buf: u32) -> P1Result<()> {
    let args = cx.cli.args.iter().map(|a| a.clone().into_bytes());
    write_string_list(mem, args, argv, buf)
}

pub(crate) fn args_sizes_get(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    argc_ptr: u32,
    size_ptr: u32,
) -> P1Result<()> {
    let argc = u32::try_from(cx.cli.args.len())?;
    let size: usize = cx.cli.args.iter().map(|a| a.len() + 1).sum();
    mem.write_u32(argc_ptr, argc)?;
    mem.write_u32(size_ptr, u32::try_from(size)?)
}

pub(crate) fn environ_get(cx: &mut WasiCtx, mem: Mem<'_, '_>, env: u32, buf: u32) -> P1Result<()> {
    write_string_list(mem, env_entries(cx), env, buf)
}

pub(crate) fn environ_sizes_get(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    count_ptr: u32,
    size_ptr: u32,
) -> P1Result<()> {
    let count = u32::try_from(cx.cli.env.len())?;
    let size: usize = cx.cli.env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    mem.write_u32(count_ptr, count)?;
    mem.write_u32(size_ptr, u32::try_from(size)?)
}

pub(crate) fn clock_res_get(cx: &mut WasiCtx, mem: Mem<'_, '_>, id: u32, ret: u32) -> P1Result<()> {
    let res = match check_enum(id, clockid::THREAD_CPUTIME_ID, "clockid")? {
        clockid::REALTIME => nanos(cx.clocks.wall_resolution())?,
        clockid::MONOTONIC => nanos(cx.clocks.monotonic_resolution())?,
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u64(ret, res)
}

pub(crate) fn clock_time_get(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    id: u32,
    _precision: u64,
    ret: u32,
) -> P1Result<()> {
    let now = match check_enum(id, clockid::THREAD_CPUTIME_ID, "clockid")? {
        clockid::REALTIME => nanos(cx.clocks.wall_now())?,
        clockid::MONOTONIC => cx.clocks.monotonic_now(),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u64(ret, now)
}

pub(crate) fn fd_advise(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> P1Result<()> {
    let advice = match advice {
        0 => Advice::Normal,
        1 => Advice::Sequential,
        2 => Advice::Random,
        3 => Advice::WillNeed,
        4 => Advice::DontNeed,
        5 => Advice::NoReuse,
        _ => return Err(invalid_arg("advice", advice.into())),
    };
    cx.p1.table.file(fd)?.file.advise(offset, len, advice)?;
    Ok(())
}

pub(crate) fn fd_allocate(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    _offset: u64,
    _len: u64,
) -> P1Result<()> {
    cx.p1.table.file(fd)?;
    Err(Errno::Notsup.into())
}

pub(crate) fn fd_close(cx: &mut WasiCtx, _mem: Mem<'_, '_>, fd: u32) -> P1Result<()> {
    cx.p1.table.remove(fd)?;
    Ok(())
}

pub(crate) fn fd_datasync(cx: &mut WasiCtx, _mem: Mem<'_, '_>, fd: u32) -> P1Result<()> {
    cx.p1.table.file(fd)?.file.sync_data()?;
    Ok(())
}

pub(crate) fn fd_sync(cx: &mut WasiCtx, _mem: Mem<'_, '_>, fd: u32) -> P1Result<()> {
    cx.p1.table.file(fd)?.file.sync()?;
    Ok(())
}

/// The rights wasmtime reports for a preopened directory: what many libcs expect.
const PREOPEN_RIGHTS: u64 = rights::PATH_CREATE_DIRECTORY
    | rights::PATH_CREATE_FILE
    | rights::PATH_LINK_SOURCE
    | rights::PATH_LINK_TARGET
    | rights::PATH_OPEN
    | rights::FD_READDIR
    | rights::PATH_READLINK
    | rights::PATH_RENAME_SOURCE
    | rights::PATH_RENAME_TARGET
    | rights::PATH_SYMLINK
    | rights::PATH_REMOVE_DIRECTORY
    | rights::PATH_UNLINK_FILE
    | rights::PATH_FILESTAT_GET
    | rights::PATH_FILESTAT_SET_TIMES
    | rights::FD_FILESTAT_GET
    | rights::FD_FILESTAT_SET_TIMES;

const PREOPEN_INHERITING: u64 = PREOPEN_RIGHTS
    | rights::FD_DATASYNC
    | rights::FD_READ
    | rights::FD_SEEK
    | rights::FD_FDSTAT_SET_FLAGS
    | rights::FD_SYNC
    | rights::FD_TELL
    | rights::FD_WRITE
    | rights::FD_ADVISE
    | rights::FD_ALLOCATE
    | rights::FD_FILESTAT_GET
    | rights::FD_FILESTAT_SET_SIZE
    | rights::FD_FILESTAT_SET_TIMES
    | rights::POLL_FD_READWRITE;

fn stdio_filetype(is_terminal: bool) -> u8 {
    if is_terminal {
        filetype::CHARACTER_DEVICE
    } else {
        filetype::UNKNOWN
    }
}

pub(crate) fn fd_fdstat_get(cx: &mut WasiCtx, mem: Mem<'_, '_>, fd: u32, ret: u32) -> P1Result<()> {
    let stat = match cx.p1.table.get(fd)? {
        Desc::Stdin => Fdstat {
            filetype: stdio_filetype(cx.cli.stdin.is_terminal()),
            flags: 0,
            rights_base: rights::FD_READ,
            rights_inheriting: rights::FD_READ,
        },
        Desc::Stdout | Desc::Stderr => {
            let stream = match cx.p1.table.get(fd)? {
                Desc::Stdout => &cx.cli.stdout,
                _ => &cx.cli.stderr,
            };
            Fdstat {
                filetype: stdio_filetype(stream.is_terminal()),
                flags: 0,
                rights_base: rights::FD_WRITE,
                rights_inheriting: rights::FD_WRITE,
            }
        }
        Desc::Dir {
            preopen: Some(_), ..
        } => Fdstat {
            filetype: filetype::DIRECTORY,
            flags: 0,
            rights_base: PREOPEN_RIGHTS,
            rights_inheriting: PREOPEN_INHERITING,
        },
        Desc::Dir { dir, preopen: None } => {
            let mut base = rights::ALL
                & !(rights::FD_SEEK
                    | rights::FD_FILESTAT_SET_SIZE
                    | rights::PATH_FILESTAT_SET_SIZE
                    | rights::FD_WRITE);
            if !dir.open_mode.read {
                base &= !(rights::FD_READ | rights::FD_READDIR);
            }
            Fdstat {
                filetype: filetype::DIRECTORY,
                flags: 0,
                rights_base: base,
                rights_inheriting: base,
            }
        }
        Desc::File(f) => {
            let ty = filetype_of(f.file.stat()?.type_);
            let (sync, dsync, rsync) = f.file.sync_flags()?;
            let mut flags = 0u32;
            // wasmtime-wasi reports O_RSYNC as DSYNC and O_DSYNC as RSYNC; no file is
            // ever opened with them here, so both stay clear.
            if rsync && !sync {
                flags |= fdflags::DSYNC;
            }
            if dsync && !sync {
                flags |= fdflags::RSYNC;
            }
            if sync {
                flags |= fdflags::SYNC;
            }
            if f.append {
                flags |= fdflags::APPEND;
            }
            if f.nonblocking {
                flags |= fdflags::NONBLOCK;
            }
            let mut base = rights::ALL;
            if !f.file.open_mode.read {
                base &= !(rights::FD_READ | rights::FD_READDIR);
            }
            if !f.file.open_mode.write {
                base &= !rights::FD_WRITE;
            }
            Fdstat {
                filetype: ty,
                flags: flags as u16,
                rights_base: base,
                rights_inheriting: base,
            }
        }
    };
    stat.write(mem, ret)
}

pub(crate) fn fd_fdstat_set_flags(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    flags: u32,
) -> P1Result<()> {
    let flags = check_flags(flags, fdflags::ALL, "fdflags")?;
    let f = cx.p1.table.file_mut(fd)?;
    if flags & (fdflags::DSYNC | fdflags::SYNC | fdflags::RSYNC) != 0 {
        return Err(Errno::Inval.into());
    }
    f.append = flags & fdflags::APPEND != 0;
    f.nonblocking = flags & fdflags::NONBLOCK != 0;
    Ok(())
}

pub(crate) fn fd_fdstat_set_rights(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> P1Result<()> {
    check_rights(base)?;
    check_rights(inheriting)?;
    match cx.p1.table.get(fd)? {
        Desc::File(_) | Desc::Dir { .. } => Err(Errno::Notsup.into()),
        _ => Err(Errno::Badf.into()),
    }
}

pub(crate) fn fd_filestat_get(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    ret: u32,
) -> P1Result<()> {
    let stat = match cx.p1.table.get(fd)? {
        Desc::Stdin => Filestat {
            filetype: stdio_filetype(cx.cli.stdin.is_terminal()),
            ..Filestat::default()
        },
        Desc::Stdout => Filestat {
            filetype: stdio_filetype(cx.cli.stdout.is_terminal()),
            ..Filestat::default()
        },
        Desc::Stderr => Filestat {
            filetype: stdio_filetype(cx.cli.stderr.is_terminal()),
            ..Filestat::default()
        },
        Desc::Dir { dir, .. } => filestat_of(&dir.stat()?)?,
        Desc::File(f) => filestat_of(&f.file.stat()?)?,
    };
    stat.write(mem, ret)
}

pub(crate) fn fd_filestat_set_size(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    size: u64,
) -> P1Result<()> {
    cx.p1.table.file(fd)?.file.set_size(size)?;
    Ok(())
}

pub(crate) fn fd_filestat_set_times(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> P1Result<()> {
    let (atim, mtim) = timestamps(atim, mtim, fst)?;
    match cx.p1.table.get(fd)? {
        Desc::File(f) => f.file.set_times(atim, mtim)?,
        Desc::Dir { dir, .. } => dir.set_times(atim, mtim)?,
        _ => return Err(Errno::Badf.into()),
    }
    Ok(())
}

pub(crate) fn fd_read(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    ret: u32,
) -> P1Result<()> {
    let (buf, len) = mem.first_nonempty_iovec(iovs, iovs_len)?;
    let n = match cx.p1.table.get_mut(fd)? {
        Desc::File(f) => {
            let n = f.file.read_at(mem.slice_mut(buf, len)?, f.position)?;
            f.position = f.position.checked_add(n as u64).ok_or(Errno::Overflow)?;
            n
        }
        Desc::Stdin => cx.cli.stdin.read(mem.slice_mut(buf, len)?)?,
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u32(ret, u32::try_from(n)?)
}

pub(crate) fn fd_pread(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    ret: u32,
) -> P1Result<()> {
    let (buf, len) = mem.first_nonempty_iovec(iovs, iovs_len)?;
    let n = match cx.p1.table.get(fd)? {
        Desc::File(f) => f.file.read_at(mem.slice_mut(buf, len)?, offset)?,
        Desc::Stdin => return Err(Errno::Spipe.into()),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u32(ret, u32::try_from(n)?)
}

/// Where `fd_write`/`fd_pwrite` write.
#[derive(Clone, Copy)]
enum WriteAt {
    Cursor,
    Offset(u64),
}

fn write_impl(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    at: WriteAt,
    ret: u32,
) -> P1Result<()> {
    let (buf, len) = mem.first_nonempty_iovec(iovs, iovs_len)?;
    let bytes = mem.slice(buf, len)?;
    let n = match cx.p1.table.get_mut(fd)? {
        Desc::File(f) => write_file(f, bytes, at)?,
        Desc::Stdout | Desc::Stderr if matches!(at, WriteAt::Offset(_)) => {
            return Err(Errno::Spipe.into())
        }
        Desc::Stdout => {
            cx.cli.stdout.write_all(bytes)?;
            bytes.len()
        }
        Desc::Stderr => {
            cx.cli.stderr.write_all(bytes)?;
            bytes.len()
        }
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u32(ret, u32::try_from(n)?)
}

fn write_file(f: &mut FileDesc, bytes: &[u8], at: WriteAt) -> P1Result<usize> {
    // With APPEND every write goes to the end, even `fd_pwrite`'s (Linux pwrite semantics).
    let n = if f.append {
        f.file.append(bytes)?
    } else {
        let pos = match at {
            WriteAt::Cursor => f.position,
            WriteAt::Offset(o) => o,
        };
        f.file.write_at(bytes, pos)?
    };
    if let WriteAt::Cursor = at {
        f.position = if f.append {
            f.file.stat()?.size
        } else {
            f.position.checked_add(n as u64).ok_or(Errno::Overflow)?
        };
    }
    Ok(n)
}

pub(crate) fn fd_write(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    ret: u32,
) -> P1Result<()> {
    write_impl(cx, mem, fd, iovs, iovs_len, WriteAt::Cursor, ret)
}

pub(crate) fn fd_pwrite(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    ret: u32,
) -> P1Result<()> {
    write_impl(cx, mem, fd, iovs, iovs_len, WriteAt::Offset(offset), ret)
}

pub(crate) fn fd_prestat_get(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    ret: u32,
) -> P1Result<()> {
    match cx.p1.table.get(fd)? {
        Desc::Dir {
            preopen: Some(name),
            ..
        } => {
            let len = u32::try_from(name.len())?;
            mem.check(ret, 8, 4)?;
            mem.write_u32(ret, 0)?; // tag `dir`, padding zeroed
            mem.write_u32(ret + 4, len)
        }
        _ => Err(Errno::Badf.into()),
    }
}

pub(crate) fn fd_prestat_dir_name(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> P1Result<()> {
    match cx.p1.table.get(fd)? {
        Desc::Dir {
            preopen: Some(name),
            ..
        } => {
            if name.len() > path_len as usize {
                return Err(Errno::Nametoolong.into());
            }
            mem.write_bytes(path, name.as_bytes())
        }
        _ => Err(Errno::Notdir.into()),
    }
}

pub(crate) fn fd_readdir(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    ret: u32,
) -> P1Result<()> {
    let dir = cx.p1.table.dir(fd)?;
    let entries = dir.read_directory()?;
    let self_id = dir.stat()?.identity;
    let cookie = usize::try_from(cookie).map_err(|_| Errno::Overflow)?;
    // `.` and `..` first (both with this directory's inode, as wasmtime reports them),
    // then the host's entries; the cookie of an entry is its index + 1.
    let head = [
        (filetype::DIRECTORY, self_id, ".".to_owned()),
        (filetype::DIRECTORY, self_id, "..".to_owned()),
    ];
    let all = head.into_iter().chain(
        entries
            .into_iter()
            .map(|e| (filetype_of(e.type_), e.identity, e.name)),
    );
    let mut out = Vec::new();
    for (index, (d_type, d_ino, name)) in all.enumerate().skip(cookie) {
        if out.len() >= buf_len as usize {
            break;
        }
        let mut dirent = [0u8; DIRENT_SIZE as usize];
        dirent[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        dirent[8..16].copy_from_slice(&d_ino.to_le_bytes());
        dirent[16..20].copy_from_slice(&u32::try_from(name.len())?.to_le_bytes());
        dirent[20] = d_type;
        out.extend_from_slice(&dirent);
        out.extend_from_slice(name.as_bytes());
    }
    // A full buffer tells the guest there may be more: it retries with a bigger one.
    out.truncate(buf_len as usize);
    mem.write_bytes(buf, &out)?;
    mem.write_u32(ret, u32::try_from(out.len())?)
}

pub(crate) fn fd_renumber(cx: &mut WasiCtx, _mem: Mem<'_, '_>, from: u32, to: u32) -> P1Result<()> {
    cx.p1.table.renumber(from, to)
}

pub(crate) fn fd_seek(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    offset: i64,
    whence: u32,
    ret: u32,
) -> P1Result<()> {
    check_enum(whence, 2, "whence")?;
    let f = cx.p1.table.seekable(fd)?;
    let pos = match whence {
        0 => u64::try_from(offset).map_err(|_| Errno::Inval)?,
        1 => f.position.checked_add_signed(offset).ok_or(Errno::Inval)?,
        _ => f
            .file
            .stat()?
            .size
            .checked_add_signed(offset)
            .ok_or(Errno::Inval)?,
    };
    f.position = pos;
    mem.write_u64(ret, pos)
}

pub(crate) fn fd_tell(cx: &mut WasiCtx, mem: Mem<'_, '_>, fd: u32, ret: u32) -> P1Result<()> {
    let pos = cx.p1.table.seekable(fd)?.position;
    mem.write_u64(ret, pos)
}

pub(crate) fn path_create_directory(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> P1Result<()> {
    let dir = cx.p1.table.dir(fd)?;
    let path = mem.read_str(path, path_len)?;
    dir.create_directory_at(&path)?;
    Ok(())
}

pub(crate) fn path_filestat_get(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    ret: u32,
) -> P1Result<()> {
    let follow = follow(flags)?;
    let dir = cx.p1.table.dir(fd)?;
    let path = mem.read_str(path, path_len)?;
    let stat = filestat_of(&dir.stat_at(follow, &path)?)?;
    stat.write(mem, ret)
}

pub(crate) fn path_filestat_set_times(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> P1Result<()> {
    let follow = follow(flags)?;
    let (atim, mtim) = timestamps(atim, mtim, fst)?;
    let dir = cx.p1.table.dir(fd)?;
    let path = mem.read_str(path, path_len)?;
    dir.set_times_at(follow, &path, atim, mtim)?;
    Ok(())
}

pub(crate) fn path_link(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> P1Result<()> {
    let old_follow = follow(old_flags)?;
    let old_dir = cx.p1.table.dir(old_fd)?;
    let new_dir = cx.p1.table.dir(new_fd)?;
    let old_path = mem.read_str(old_path, old_len)?;
    let new_path = mem.read_str(new_path, new_len)?;
    old_dir.link_at(old_follow, &old_path, new_dir, &new_path)?;
    Ok(())
}

pub(crate) fn path_open(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    oflags_: u32,
    rights_base: u64,
    rights_inheriting: u64,
    fdflags_: u32,
    ret: u32,
) -> P1Result<()> {
    let follow = follow(dirflags)?;
    let oflags_ = check_flags(oflags_, oflags::ALL, "oflags")?;
    let rights_base = check_rights(rights_base)?;
    check_rights(rights_inheriting)?;
    let fdflags_ = check_flags(fdflags_, fdflags::ALL, "fdflags")?;
    let path = mem.read_str(path, path_len)?;
    let flags = DescriptorFlags {
        read: rights_base & rights::FD_READ != 0,
        write: rights_base & rights::FD_WRITE != 0,
        sync: fdflags_ & (fdflags::SYNC | fdflags::DSYNC | fdflags::RSYNC) != 0,
    };
    let open = OpenFlags {
        create: oflags_ & oflags::CREAT != 0,
        directory: oflags_ & oflags::DIRECTORY != 0,
        exclusive: oflags_ & oflags::EXCL != 0,
        truncate: oflags_ & oflags::TRUNC != 0,
    };
    let dir = match cx.p1.table.get(fd)? {
        Desc::Dir { dir, .. } => dir,
        Desc::File(_) => return Err(Errno::Notdir.into()),
        _ => return Err(Errno::Badf.into()),
    };
    let desc = match dir.open_at(follow, &path, open, flags)? {
        crate::wasi::filesystem::Descriptor::Dir(dir) => Desc::Dir { dir, preopen: None },
        crate::wasi::filesystem::Descriptor::File(file) => Desc::File(FileDesc {
            file,
            position: 0,
            append: fdflags_ & fdflags::APPEND != 0,
            nonblocking: fdflags_ & fdflags::NONBLOCK != 0,
        }),
    };
    mem.check(ret, 4, 4)?;
    let new_fd = cx.p1.table.push(desc)?;
    mem.write_u32(ret, new_fd)
}

pub(crate) fn path_readlink(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    ret: u32,
) -> P1Result<()> {
    let dir = cx.p1.table.dir(fd)?;
    let path = mem.read_str(path, path_len)?;
    let mut target = dir.readlink_at(&path)?.into_bytes();
    target.truncate(buf_len as usize);
    mem.write_bytes(buf, &target)?;
    mem.write_u32(ret, u32::try_from(target.len())?)
}

pub(crate) fn path_remove_directory(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> P1Result<()> {
    let dir = cx.p1.table.dir(fd)?;
    let path = mem.read_str(path, path_len)?;
    dir.remove_directory_at(&path)?;
    Ok(())
}

pub(crate) fn path_rename(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    old_fd: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> P1Result<()> {
    let old_dir = cx.p1.table.dir(old_fd)?;
    let new_dir = cx.p1.table.dir(new_fd)?;
    let old_path = mem.read_str(old_path, old_len)?;
    let new_path = mem.read_str(new_path, new_len)?;
    old_dir.rename_at(&old_path, new_dir, &new_path)?;
    Ok(())
}

pub(crate) fn path_symlink(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    target: u32,
    target_len: u32,
    fd: u32,
    link: u32,
    link_len: u32,
) -> P1Result<()> {
    let dir = cx.p1.table.dir(fd)?;
    let target = mem.read_str(target, target_len)?;
    let link = mem.read_str(link, link_len)?;
    dir.symlink_at(&target, &link)?;
    Ok(())
}

pub(crate) fn path_unlink_file(
    cx: &mut WasiCtx,
    mem: Mem<'_, '_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> P1Result<()> {
    let dir = cx.p1.table.dir(fd)?;
    let path = mem.read_str(path, path_len)?;
    dir.unlink_file_at(&path)?;
    Ok(())
}

/// `proc_exit`: always an error, which unwinds out of the guest.
pub(crate) fn proc_exit(_cx: &mut WasiCtx, code: u32) -> Error {
    // WASI exit statuses are [0, 126), as wasmtime enforces.
    if code >= 126 {
        return Error::msg("exit with invalid exit status outside of [0..126)");
    }
    Error::exit(code as i32)
}

pub(crate) fn proc_raise(_cx: &mut WasiCtx, _mem: Mem<'_, '_>, sig: u32) -> P1Result<()> {
    check_enum(sig, 30, "signal")?;
    Err(Errno::Notsup.into())
}

pub(crate) fn sched_yield(_cx: &mut WasiCtx, _mem: Mem<'_, '_>) -> P1Result<()> {
    std::thread::yield_now();
    Ok(())
}

pub(crate) fn random_get(_cx: &mut WasiCtx, mem: Mem<'_, '_>, buf: u32, len: u32) -> P1Result<()> {
    crate::wasi::random::fill(mem.slice_mut(buf, len)?)?;
    Ok(())
}

/// No descriptor is ever a socket (see [`crate::wasi::sockets`]).
fn not_a_socket(cx: &WasiCtx, fd: u32) -> P1Result<()> {
    cx.p1.table.get(fd)?;
    Err(Errno::Notsock.into())
}

pub(crate) fn sock_accept(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    flags: u32,
    _ret: u32,
) -> P1Result<()> {
    check_flags(flags, fdflags::ALL, "fdflags")?;
    not_a_socket(cx, fd)
}

pub(crate) fn sock_recv(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    _ri_data: u32,
    _ri_data_len: u32,
    ri_flags: u32,
    _ro_datalen: u32,
    _ro_flags: u32,
) -> P1Result<()> {
    check_flags(ri_flags, 3, "riflags")?;
    not_a_socket(cx, fd)
}

pub(crate) fn sock_send(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    _si_data: u32,
    _si_data_len: u32,
    si_flags: u32,
    _ret: u32,
) -> P1Result<()> {
    check_flags(si_flags, 0, "siflags")?;
    not_a_socket(cx, fd)
}

pub(crate) fn sock_shutdown(
    cx: &mut WasiCtx,
    _mem: Mem<'_, '_>,
    fd: u32,
    how: u32,
) -> P1Result<()> {
    check_flags(how, 3, "sdflags")?;
    not_a_socket(cx, fd)
}
