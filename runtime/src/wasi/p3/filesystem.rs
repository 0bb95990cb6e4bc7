//! `wasi:filesystem/types@0.3.0` and `wasi:filesystem/preopens@0.3.0`: every `descriptor`
//! method over the same shared cap-std sandbox ([`crate::wasi::filesystem`]) and the same
//! helpers as P2 (`p2::filesystem`: flags, `open-at`, metadata hashes, descriptor lookups),
//! so both previews answer the same error codes. The descriptor resource is P2's
//! [`Descriptor`] type.
//!
//! What 0.3.0 changes: the methods are `async func`s (the host finishes each at once, so
//! an async-lowering guest gets `RETURNED`); `error-code` and `descriptor-type` are
//! variants with an `other(option<string>)` case; times are `system-clock.instant`s (signed
//! seconds); and data moves through streams: `read-via-stream` gives a `stream<u8>` read
//! from the file on demand (positional reads from its own offset) plus a
//! `future<result<_, error-code>>` resolved when the stream ends (its end of file, an
//! error, or the guest dropping its end); `write-via-stream` / `append-via-stream` take
//! the guest's `stream<u8>` and write what arrives at once, their future resolved when the
//! guest drops its end (or at the first failed write); `read-directory` reads the entries
//! when called and streams them as `directory-entry` records.
//!
//! As wasmtime-wasi 48: writing through a descriptor not opened for writing is
//! `not-permitted` (the guest's writes then see the stream dropped), streams of a
//! directory are `is-directory` / `bad-descriptor`, `read-directory` of a file is
//! `not-directory`.

use super::{future_payload, name, ok};
use crate::component::types::Type;
use crate::component::{
    ComponentType, FutureAny, FutureWriter, HostSink, HostSource, Lift, Linker, Lower, Resource,
    ResourceType, StoreContextMut, StreamAny, Val,
};
use crate::error::{Error, Result};
use crate::wasi::filesystem::{
    self as fs, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode, FsResult, NewTimestamp,
};
use crate::wasi::p2::filesystem::{
    check_record, desc, error_code_name, mismatch, write_all, DescFlags, HashValue, OpenFlags,
    PathFlags, WitAdvice, WriteMode, MAX_READ,
};
use crate::wasi::p2::{Descriptor, WasiView};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

/// `error-code`'s cases, in order (P2's without `would-block`, and `other`).
const ERROR_CODES: [&str; 37] = [
    "access",
    "already",
    "bad-descriptor",
    "busy",
    "deadlock",
    "quota",
    "exist",
    "file-too-large",
    "illegal-byte-sequence",
    "in-progress",
    "interrupted",
    "invalid",
    "io",
    "is-directory",
    "loop",
    "too-many-links",
    "message-size",
    "name-too-long",
    "no-device",
    "no-entry",
    "no-lock",
    "insufficient-memory",
    "insufficient-space",
    "not-directory",
    "not-empty",
    "not-recoverable",
    "unsupported",
    "no-tty",
    "no-such-device",
    "overflow",
    "not-permitted",
    "pipe",
    "read-only",
    "invalid-seek",
    "text-file-busy",
    "cross-device",
    "other",
];

/// `descriptor-type`'s cases, in order.
const DESCRIPTOR_TYPES: [&str; 8] = [
    "block-device",
    "character-device",
    "directory",
    "fifo",
    "symbolic-link",
    "regular-file",
    "socket",
    "other",
];

fn check_variant(what: &str, ty: &Type, names: &[&str]) -> Result<()> {
    match ty {
        Type::Variant(v) if v.cases().map(|(n, _)| n).eq(names.iter().copied()) => Ok(()),
        _ => Err(mismatch(what, ty)),
    }
}

/// `other(none)`, or `other(some(detail))`.
fn other(detail: Option<&str>) -> Val {
    Val::Variant(
        "other".into(),
        Some(Box::new(Val::Option(
            detail.map(|d| Box::new(Val::String(d.into()))),
        ))),
    )
}

/// An `error-code` value (`would-block`, which 0.3.0 lacks, is `other`).
fn error_val(e: ErrorCode) -> Val {
    match e {
        ErrorCode::WouldBlock => other(Some("would-block")),
        e => Val::Variant(error_code_name(e).into(), None),
    }
}

/// `error-code`
struct Code(ErrorCode);

impl ComponentType for Code {
    fn typecheck(ty: &Type) -> Result<()> {
        check_variant("error-code", ty, &ERROR_CODES)
    }
}

impl Lower for Code {
    fn lower(&self) -> Result<Val> {
        Ok(error_val(self.0))
    }
}

/// `result<_, error-code>` as a value.
fn result_val(r: FsResult<()>) -> Val {
    match r {
        Ok(()) => ok(),
        Err(e) => Val::Result(Err(Some(Box::new(error_val(e))))),
    }
}

/// `descriptor-type`
struct WitType(DescriptorType);

impl ComponentType for WitType {
    fn typecheck(ty: &Type) -> Result<()> {
        check_variant("descriptor-type", ty, &DESCRIPTOR_TYPES)
    }
}

impl Lower for WitType {
    fn lower(&self) -> Result<Val> {
        let case = match self.0 {
            DescriptorType::Unknown => return Ok(other(None)),
            DescriptorType::BlockDevice => "block-device",
            DescriptorType::CharacterDevice => "character-device",
            DescriptorType::Directory => "directory",
            DescriptorType::SymbolicLink => "symbolic-link",
            DescriptorType::RegularFile => "regular-file",
        };
        Ok(Val::Variant(case.into(), None))
    }
}

/// `system-clock.instant`: signed seconds and nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Instant {
    seconds: i64,
    nanoseconds: u32,
}

impl Instant {
    /// A host time; `None` if it does not fit.
    fn of(t: SystemTime) -> Option<Instant> {
        match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => Some(Instant {
                seconds: i64::try_from(d.as_secs()).ok()?,
                nanoseconds: d.subsec_nanos(),
            }),
            Err(e) => {
                // Before the epoch: the seconds round down, the nanoseconds stay positive.
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).ok()?;
                Some(match d.subsec_nanos() {
                    0 => Instant {
                        seconds: -secs,
                        nanoseconds: 0,
                    },
                    n => Instant {
                        seconds: -secs - 1,
                        nanoseconds: 1_000_000_000 - n,
                    },
                })
            }
        }
    }

    /// The host time; nanoseconds of a second or more carry into the seconds, as in
    /// wasmtime; out of range is `overflow`.
    fn to_system(self) -> FsResult<SystemTime> {
        let carry = i64::from(self.nanoseconds / 1_000_000_000);
        let secs = self.seconds.checked_add(carry).ok_or(ErrorCode::Overflow)?;
        let nanos = self.nanoseconds % 1_000_000_000;
        let t = if secs >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))
        } else {
            SystemTime::UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))
                .and_then(|t| t.checked_add(Duration::from_nanos(nanos.into())))
        };
        t.ok_or(ErrorCode::Overflow)
    }
}

impl ComponentType for Instant {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Record(r)
                if r.fields()
                    .map(|(n, t)| (n, t.clone()))
                    .eq([("seconds", Type::S64), ("nanoseconds", Type::U32)]) =>
            {
                Ok(())
            }
            _ => Err(mismatch("instant", ty)),
        }
    }
}

impl Lift for Instant {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Record(fields) => match fields.as_slice() {
                [(_, Val::S64(seconds)), (_, Val::U32(nanoseconds))] => Ok(Instant {
                    seconds: *seconds,
                    nanoseconds: *nanoseconds,
                }),
                _ => Err(Error::msg("not an instant")),
            },
            other => Err(Error::msg(format!("not an instant: {other}"))),
        }
    }
}

impl Lower for Instant {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Record(vec![
            ("seconds".into(), Val::S64(self.seconds)),
            ("nanoseconds".into(), Val::U32(self.nanoseconds)),
        ]))
    }
}

/// `new-timestamp`, as the guest gave it (converted per call: an out-of-range time is the
/// call's `overflow` error, not a trap).
enum WitNewTimestamp {
    NoChange,
    Now,
    Timestamp(Instant),
}

impl ComponentType for WitNewTimestamp {
    fn typecheck(ty: &Type) -> Result<()> {
        check_variant("new-timestamp", ty, &["no-change", "now", "timestamp"])
    }
}

impl Lift for WitNewTimestamp {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Variant(n, None) if n == "no-change" => Ok(WitNewTimestamp::NoChange),
            Val::Variant(n, None) if n == "now" => Ok(WitNewTimestamp::Now),
            Val::Variant(n, Some(t)) if n == "timestamp" => {
                Ok(WitNewTimestamp::Timestamp(Instant::lift(*t)?))
            }
            other => Err(Error::msg(format!("not a new-timestamp: {other}"))),
        }
    }
}

impl WitNewTimestamp {
    fn resolve(self) -> FsResult<NewTimestamp> {
        Ok(match self {
            WitNewTimestamp::NoChange => NewTimestamp::NoChange,
            WitNewTimestamp::Now => NewTimestamp::Now,
            WitNewTimestamp::Timestamp(t) => NewTimestamp::At(t.to_system()?),
        })
    }
}

/// `descriptor-stat`
struct WitStat(DescriptorStat);

impl ComponentType for WitStat {
    fn typecheck(ty: &Type) -> Result<()> {
        check_record(
            "descriptor-stat",
            ty,
            &[
                "type",
                "link-count",
                "size",
                "data-access-timestamp",
                "data-modification-timestamp",
                "status-change-timestamp",
            ],
        )
    }
}

impl Lower for WitStat {
    fn lower(&self) -> Result<Val> {
        let s = &self.0;
        let time = |t: Option<SystemTime>| t.and_then(Instant::of).lower();
        Ok(Val::Record(vec![
            ("type".into(), WitType(s.type_).lower()?),
            ("link-count".into(), Val::U64(s.link_count)),
            ("size".into(), Val::U64(s.size)),
            ("data-access-timestamp".into(), time(s.accessed)?),
            ("data-modification-timestamp".into(), time(s.modified)?),
            ("status-change-timestamp".into(), time(s.status_changed)?),
        ]))
    }
}

/// A `directory-entry` value.
fn entry_val(e: &DirectoryEntry) -> Result<Val> {
    Ok(Val::Record(vec![
        ("type".into(), WitType(e.type_).lower()?),
        ("name".into(), Val::String(e.name.clone())),
    ]))
}

/// Resolves a stream's future once (through a closure, so tests can watch it).
struct Done(Option<Box<dyn FnOnce(FsResult<()>) + Send>>);

impl Done {
    /// Resolves `w` with the `result<_, error-code>`.
    fn future(w: FutureWriter) -> Done {
        Done(Some(Box::new(move |r| w.write(result_val(r)))))
    }

    fn finish(&mut self, r: FsResult<()>) {
        if let Some(f) = self.0.take() {
            f(r);
        }
    }
}

/// Ended without an error (the guest dropped its end early): the future is `ok`.
impl Drop for Done {
    fn drop(&mut self) {
        self.finish(Ok(()));
    }
}

/// `read-via-stream`: the file read on demand from its own offset.
struct FileSource {
    file: fs::File,
    position: u64,
    done: Done,
}

impl HostSource for FileSource {
    fn poll_read(&mut self, _cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Val>>> {
        if self.done.0.is_none() {
            return Poll::Ready(None);
        }
        let mut buf = vec![0; max.clamp(1, MAX_READ)];
        loop {
            match self.file.read_at_io(&mut buf, self.position) {
                Ok(0) => {
                    self.done.finish(Ok(()));
                    return Poll::Ready(None);
                }
                Ok(n) => {
                    let Some(next) = self.position.checked_add(n as u64) else {
                        self.done.finish(Err(ErrorCode::Overflow));
                        return Poll::Ready(None);
                    };
                    self.position = next;
                    return Poll::Ready(Some(buf[..n].iter().map(|b| Val::U8(*b)).collect()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done.finish(Err(ErrorCode::from(&e)));
                    return Poll::Ready(None);
                }
            }
        }
    }
}

/// Elements known in advance (directory entries), then the end.
struct ListSource(std::vec::IntoIter<Val>);

impl HostSource for ListSource {
    fn poll_read(&mut self, _cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Val>>> {
        let chunk: Vec<Val> = self.0.by_ref().take(max.max(1)).collect();
        Poll::Ready((!chunk.is_empty()).then_some(chunk))
    }
}

/// `write-via-stream` / `append-via-stream`: what the guest writes goes to the file at once.
/// Without a file (the call failed), every write fails: the guest sees the stream dropped.
struct FileSink {
    file: Option<fs::File>,
    mode: WriteMode,
    done: Done,
}

impl HostSink for FileSink {
    fn write(&mut self, vals: Vec<Val>) -> Result<()> {
        let Some(file) = &self.file else {
            return Err(Error::msg("the stream was refused"));
        };
        let bytes: Vec<u8> = vals
            .into_iter()
            .map(|v| match v {
                Val::U8(b) => b,
                _ => 0,
            })
            .collect();
        if let Err(e) = write_all(file, &mut self.mode, &bytes) {
            self.file = None;
            self.done.finish(Err(ErrorCode::from(&e)));
            return Err(Error::msg(format!("write failed: {e}")));
        }
        Ok(())
    }

    fn close(&mut self) {
        self.done.finish(Ok(()));
    }
}

/// The element type of the stream a function returns first (in a tuple).
fn stream_elem(ty: &crate::component::types::ComponentFunc) -> Result<Type> {
    let mut t = ty
        .results()
        .next()
        .cloned()
        .ok_or_else(|| Error::msg("expected a function returning a stream"))?;
    if let Type::Tuple(tuple) = &t {
        t = tuple
            .types()
            .first()
            .cloned()
            .ok_or_else(|| Error::msg("expected a stream"))?;
    }
    match t {
        Type::Stream(Some(e)) => Ok((*e).clone()),
        other => Err(mismatch("stream<T>", &other)),
    }
}

/// The descriptor a `func_new` host function was called on.
fn this<T: WasiView>(s: &mut StoreContextMut<'_, T>, args: &[Val]) -> Result<Descriptor> {
    let r = Resource::<Descriptor>::lift(
        args.first()
            .cloned()
            .ok_or_else(|| Error::msg("expected a descriptor"))?,
    )?;
    desc(s, &r)
}

/// A writable file for `write-via-stream`: `bad-descriptor` for a directory,
/// `not-permitted` without write access (as wasmtime).
fn writable(d: &Descriptor) -> FsResult<fs::File> {
    let f = d.file()?;
    if !f.open_mode.write {
        return Err(ErrorCode::NotPermitted);
    }
    Ok(f.clone())
}

/// Defines `write-via-stream` or `append-via-stream`.
fn write_stream<T: WasiView + 'static>(
    types: &mut crate::component::LinkerInstance<'_, T>,
    func: &str,
    append: bool,
) -> Result<()> {
    let what = func.to_string();
    types.func_new(func, move |mut s, ty, args, results| {
        let d = this(&mut s, args)?;
        let Some(Val::Stream(data)) = args.get(1).cloned() else {
            return Err(Error::msg(format!("{what}: expected a stream")));
        };
        let mode = match (append, args.get(2)) {
            (true, _) => WriteMode::Append,
            (false, Some(Val::U64(offset))) => WriteMode::At(*offset),
            _ => return Err(Error::msg(format!("{what}: expected an offset"))),
        };
        let (future, w) = FutureAny::new_host(future_payload(&ty));
        let mut done = Done::future(w);
        let file = match writable(&d) {
            Ok(f) => Some(f),
            Err(e) => {
                done.finish(Err(e));
                None
            }
        };
        data.into_sink(FileSink { file, mode, done });
        results[0] = Val::Future(future);
        Ok(())
    })
}

/// What a descriptor method returns to the guest.
type Ret<T> = Result<(std::result::Result<T, Code>,)>;

fn ret<T>(r: FsResult<T>) -> Ret<T> {
    Ok((r.map_err(Code),))
}

type This = Resource<Descriptor>;

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("filesystem/types"))?;
    types.resource(
        "descriptor",
        ResourceType::host::<Descriptor>(),
        |mut s, rep| {
            s.data_mut()
                .ctx()
                .table
                .delete(Resource::<Descriptor>::new_own(rep))?;
            Ok(())
        },
    )?;

    types.func_new(
        "[method]descriptor.read-via-stream",
        |mut s, ty, args, results| {
            let d = this(&mut s, args)?;
            let Some(Val::U64(offset)) = args.get(1) else {
                return Err(Error::msg("read-via-stream: expected an offset"));
            };
            let (future, w) = FutureAny::new_host(future_payload(&ty));
            let mut done = Done::future(w);
            let stream = match &d.0 {
                fs::Descriptor::File(f) => StreamAny::from_source(
                    Type::U8,
                    FileSource {
                        file: f.clone(),
                        position: *offset,
                        done,
                    },
                ),
                fs::Descriptor::Dir(_) => {
                    done.finish(Err(ErrorCode::IsDirectory));
                    StreamAny::from_source(Type::U8, ListSource(Vec::new().into_iter()))
                }
            };
            results[0] = Val::Tuple(vec![Val::Stream(stream), Val::Future(future)]);
            Ok(())
        },
    )?;
    write_stream(&mut types, "[method]descriptor.write-via-stream", false)?;
    write_stream(&mut types, "[method]descriptor.append-via-stream", true)?;
    types.func_new(
        "[method]descriptor.read-directory",
        |mut s, ty, args, results| {
            let d = this(&mut s, args)?;
            let elem = stream_elem(&ty)?;
            let (future, w) = FutureAny::new_host(future_payload(&ty));
            let mut done = Done::future(w);
            let entries = match d.dir().and_then(fs::Dir::read_directory) {
                Ok(entries) => entries.iter().map(entry_val).collect::<Result<_>>()?,
                Err(e) => {
                    done.finish(Err(e));
                    Vec::new()
                }
            };
            // The entries are all read: the future is `ok` (unless the listing failed).
            drop(done);
            let stream = StreamAny::from_source(elem, ListSource(entries.into_iter()));
            results[0] = Val::Tuple(vec![Val::Stream(stream), Val::Future(future)]);
            Ok(())
        },
    )?;

    types.func_wrap(
        "[method]descriptor.advise",
        |mut s, (this, offset, len, advice): (This, u64, u64, WitAdvice)| -> Ret<()> {
            let d = desc(&mut s, &this)?;
            ret(d.file().and_then(|f| f.advise(offset, len, advice.0)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.sync-data",
        |mut s, (this,): (This,)| -> Ret<()> {
            ret(match desc(&mut s, &this)?.0 {
                fs::Descriptor::File(f) => f.sync_data(),
                fs::Descriptor::Dir(d) => d.sync_data(),
            })
        },
    )?;
    types.func_wrap(
        "[method]descriptor.get-flags",
        |mut s, (this,): (This,)| -> Ret<DescFlags> { ret(desc(&mut s, &this)?.flags()) },
    )?;
    types.func_wrap(
        "[method]descriptor.get-type",
        |mut s, (this,): (This,)| -> Ret<WitType> {
            ret(match desc(&mut s, &this)?.0 {
                fs::Descriptor::File(f) => f.stat().map(|st| WitType(st.type_)),
                fs::Descriptor::Dir(_) => Ok(WitType(DescriptorType::Directory)),
            })
        },
    )?;
    types.func_wrap(
        "[method]descriptor.set-size",
        |mut s, (this, size): (This, u64)| -> Ret<()> {
            ret(desc(&mut s, &this)?.file().and_then(|f| f.set_size(size)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.set-times",
        |mut s, (this, atim, mtim): (This, WitNewTimestamp, WitNewTimestamp)| -> Ret<()> {
            let d = desc(&mut s, &this)?;
            ret((|| {
                let (atim, mtim) = (atim.resolve()?, mtim.resolve()?);
                match &d.0 {
                    fs::Descriptor::File(f) => f.set_times(atim, mtim),
                    fs::Descriptor::Dir(d) => d.set_times(atim, mtim),
                }
            })())
        },
    )?;
    types.func_wrap(
        "[method]descriptor.sync",
        |mut s, (this,): (This,)| -> Ret<()> {
            ret(match desc(&mut s, &this)?.0 {
                fs::Descriptor::File(f) => f.sync(),
                fs::Descriptor::Dir(d) => d.sync(),
            })
        },
    )?;
    types.func_wrap(
        "[method]descriptor.create-directory-at",
        |mut s, (this, path): (This, String)| -> Ret<()> {
            let d = desc(&mut s, &this)?;
            ret(d.dir().and_then(|d| d.create_directory_at(&path)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.stat",
        |mut s, (this,): (This,)| -> Ret<WitStat> { ret(desc(&mut s, &this)?.stat().map(WitStat)) },
    )?;
    types.func_wrap(
        "[method]descriptor.stat-at",
        |mut s, (this, flags, path): (This, PathFlags, String)| -> Ret<WitStat> {
            let d = desc(&mut s, &this)?;
            ret(d
                .dir()
                .and_then(|d| d.stat_at(flags.follow(), &path))
                .map(WitStat))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.set-times-at",
        |mut s,
         (this, flags, path, atim, mtim): (
            This,
            PathFlags,
            String,
            WitNewTimestamp,
            WitNewTimestamp,
        )|
         -> Ret<()> {
            let d = desc(&mut s, &this)?;
            ret((|| {
                let d = d.dir()?;
                let (atim, mtim) = (atim.resolve()?, mtim.resolve()?);
                d.set_times_at(flags.follow(), &path, atim, mtim)
            })())
        },
    )?;
    types.func_wrap(
        "[method]descriptor.link-at",
        |mut s,
         (this, flags, old_path, new, new_path): (This, PathFlags, String, This, String)|
         -> Ret<()> {
            let old = desc(&mut s, &this)?;
            let new = desc(&mut s, &new)?;
            ret((|| {
                old.dir()?
                    .link_at(flags.follow(), &old_path, new.dir()?, &new_path)
            })())
        },
    )?;
    types.func_wrap(
        "[method]descriptor.open-at",
        |mut s,
         (this, flags, path, oflags, dflags): (This, PathFlags, String, OpenFlags, DescFlags)|
         -> Ret<Resource<Descriptor>> {
            let d = desc(&mut s, &this)?;
            match d.open_at(flags, &path, oflags, dflags) {
                Ok(o) => ret(Ok(s.data_mut().ctx().table.push(Descriptor(o))?)),
                Err(e) => ret(Err(e)),
            }
        },
    )?;
    types.func_wrap(
        "[method]descriptor.readlink-at",
        |mut s, (this, path): (This, String)| -> Ret<String> {
            let d = desc(&mut s, &this)?;
            ret(d.dir().and_then(|d| d.readlink_at(&path)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.remove-directory-at",
        |mut s, (this, path): (This, String)| -> Ret<()> {
            let d = desc(&mut s, &this)?;
            ret(d.dir().and_then(|d| d.remove_directory_at(&path)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.rename-at",
        |mut s, (this, old_path, new, new_path): (This, String, This, String)| -> Ret<()> {
            let old = desc(&mut s, &this)?;
            let new = desc(&mut s, &new)?;
            ret((|| old.dir()?.rename_at(&old_path, new.dir()?, &new_path))())
        },
    )?;
    types.func_wrap(
        "[method]descriptor.symlink-at",
        |mut s, (this, target, path): (This, String, String)| -> Ret<()> {
            let d = desc(&mut s, &this)?;
            ret(d.dir().and_then(|d| d.symlink_at(&target, &path)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.unlink-file-at",
        |mut s, (this, path): (This, String)| -> Ret<()> {
            let d = desc(&mut s, &this)?;
            ret(d.dir().and_then(|d| d.unlink_file_at(&path)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.is-same-object",
        |mut s, (this, other): (This, This)| {
            let a = desc(&mut s, &this)?;
            let b = desc(&mut s, &other)?;
            Ok((a.is_same_object(&b)?,))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.metadata-hash",
        |mut s, (this,): (This,)| -> Ret<HashValue> {
            ret(desc(&mut s, &this)?.stat().map(|st| HashValue(st.identity)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.metadata-hash-at",
        |mut s, (this, flags, path): (This, PathFlags, String)| -> Ret<HashValue> {
            let d = desc(&mut s, &this)?;
            ret(d
                .dir()
                .and_then(|d| d.stat_at(flags.follow(), &path))
                .map(|st| HashValue(st.identity)))
        },
    )?;

    linker.instance(&name("filesystem/preopens"))?.func_wrap(
        "get-directories",
        |mut s, (): ()| {
            let view = s.data_mut().ctx();
            let preopens: Vec<(fs::Dir, String)> = view.ctx.preopens.clone();
            let mut dirs = Vec::with_capacity(preopens.len());
            for (dir, guest) in preopens {
                let d = Descriptor(fs::Descriptor::Dir(dir));
                dirs.push((view.table.push(d)?, guest));
            }
            Ok((dirs,))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Option<Val>>>;

    /// A [`Done`] whose result is recorded (as the value the guest would read).
    fn watch() -> (Done, Seen) {
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        let done = Done(Some(Box::new(move |r| {
            *s.lock().unwrap() = Some(result_val(r))
        })));
        (done, seen)
    }

    fn result_of(seen: &Seen) -> Option<Val> {
        seen.lock().unwrap().clone()
    }

    fn err(code: &str) -> Val {
        Val::Result(Err(Some(Box::new(Val::Variant(code.into(), None)))))
    }

    /// A scratch file opened read-write (and a read-only handle on it).
    fn scratch(name: &str) -> (std::path::PathBuf, fs::File, fs::File) {
        let base =
            std::env::temp_dir().join(format!("wasmgate-p3fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("f"), b"hello").unwrap();
        let dir = fs::Dir::open_ambient(&base).unwrap();
        let open = |write| {
            let flags = fs::DescriptorFlags {
                read: true,
                write,
                sync: false,
            };
            match dir.open_at(false, "f", fs::OpenFlags::default(), flags) {
                Ok(fs::Descriptor::File(f)) => f,
                other => panic!("not a file: {other:?}"),
            }
        };
        (base.clone(), open(true), open(false))
    }

    fn read_all(src: &mut FileSource, max: usize) -> Vec<u8> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(vals)) = src.poll_read(&mut cx, max) {
            assert!(vals.len() <= max);
            out.extend(vals.into_iter().map(|v| match v {
                Val::U8(b) => b,
                other => panic!("not a byte: {other}"),
            }));
        }
        out
    }

    #[test]
    fn read_stream_ends_with_its_result() {
        let (base, file, _) = scratch("read");
        for (offset, want) in [(0, &b"hello"[..]), (1, b"ello"), (5, b""), (17, b"")] {
            let (done, seen) = watch();
            let mut src = FileSource {
                file: file.clone(),
                position: offset,
                done,
            };
            assert_eq!(read_all(&mut src, 2), want);
            assert_eq!(result_of(&seen), Some(ok()));
        }
        // An offset the host refuses is the future's error.
        let (done, seen) = watch();
        let mut src = FileSource {
            file,
            position: u64::MAX,
            done,
        };
        assert_eq!(read_all(&mut src, 8), b"");
        assert_eq!(result_of(&seen), Some(err("invalid")));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn dropping_a_read_stream_early_is_ok() {
        let (base, file, _) = scratch("early");
        let (done, seen) = watch();
        let src = FileSource {
            file,
            position: 0,
            done,
        };
        assert_eq!(result_of(&seen), None);
        drop(src);
        assert_eq!(result_of(&seen), Some(ok()));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn write_sinks_write_at_once_and_resolve_on_close() {
        let (base, file, read_only) = scratch("write");
        let bytes = |b: &[u8]| b.iter().map(|b| Val::U8(*b)).collect::<Vec<_>>();
        let (done, seen) = watch();
        let mut sink = FileSink {
            file: Some(file.clone()),
            mode: WriteMode::At(1),
            done,
        };
        sink.write(bytes(b"EL")).unwrap();
        sink.write(bytes(b"LO!")).unwrap();
        assert_eq!(result_of(&seen), None);
        sink.close();
        assert_eq!(result_of(&seen), Some(ok()));
        let (done, seen) = watch();
        let mut sink = FileSink {
            file: Some(file),
            mode: WriteMode::Append,
            done,
        };
        sink.write(bytes(b"?")).unwrap();
        drop(sink);
        assert_eq!(result_of(&seen), Some(ok()));
        assert_eq!(std::fs::read(base.join("f")).unwrap(), b"hELLO!?");
        // Without write access the call is refused: `not-permitted`, and writes fail.
        let d = Descriptor(fs::Descriptor::File(read_only));
        assert_eq!(writable(&d).unwrap_err(), ErrorCode::NotPermitted);
        let (done, seen) = watch();
        let mut done = done;
        done.finish(Err(ErrorCode::NotPermitted));
        let mut sink = FileSink {
            file: None,
            mode: WriteMode::Append,
            done,
        };
        assert!(sink.write(bytes(b"x")).is_err());
        sink.close();
        assert_eq!(result_of(&seen), Some(err("not-permitted")));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn list_sources_chunk_then_end() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut src = ListSource(vec![Val::U8(1), Val::U8(2), Val::U8(3)].into_iter());
        assert!(matches!(src.poll_read(&mut cx, 2), Poll::Ready(Some(v)) if v.len() == 2));
        assert!(matches!(src.poll_read(&mut cx, 2), Poll::Ready(Some(v)) if v.len() == 1));
        assert!(matches!(src.poll_read(&mut cx, 2), Poll::Ready(None)));
    }

    #[test]
    fn codes_and_types_are_0_3_cases() {
        assert_eq!(
            error_val(ErrorCode::NoEntry),
            Val::Variant("no-entry".into(), None)
        );
        assert_eq!(error_val(ErrorCode::WouldBlock), other(Some("would-block")));
        assert!(!ERROR_CODES.contains(&"would-block") && ERROR_CODES[36] == "other");
        assert_eq!(
            WitType(DescriptorType::Unknown).lower().unwrap(),
            other(None)
        );
        assert_eq!(
            WitType(DescriptorType::SymbolicLink).lower().unwrap(),
            Val::Variant("symbolic-link".into(), None)
        );
    }

    #[test]
    fn instants_round_trip_on_both_sides_of_the_epoch() {
        for (seconds, nanoseconds) in [(0, 0), (69, 5), (-1, 0), (-2, 999_999_999)] {
            let i = Instant {
                seconds,
                nanoseconds,
            };
            assert_eq!(Instant::of(i.to_system().unwrap()), Some(i));
        }
        let carried = Instant {
            seconds: 1,
            nanoseconds: 2_000_000_001,
        };
        assert_eq!(
            Instant::of(carried.to_system().unwrap()),
            Some(Instant {
                seconds: 3,
                nanoseconds: 1
            })
        );
        let too_far = Instant {
            seconds: i64::MAX,
            nanoseconds: 1_000_000_000,
        };
        assert_eq!(too_far.to_system(), Err(ErrorCode::Overflow));
    }
}
