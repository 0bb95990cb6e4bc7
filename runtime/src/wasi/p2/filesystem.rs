//! `wasi:filesystem/types` and `wasi:filesystem/preopens`: every method of `descriptor`
//! (streams, positional `read`/`write`, metadata, times, sync, advice, and the `*-at`
//! path operations), `directory-entry-stream` and `filesystem-error-code`, over the shared
//! cap-std sandbox of [`crate::wasi::filesystem`] (the same code P1 uses, so both previews
//! answer the same error codes). `preopens.get-directories` hands out the context's
//! preopened directories.
//!
//! Semantics follow wasmtime-wasi 48: a failed table lookup traps, file-only methods on a
//! directory are `bad-descriptor` (but `read-via-stream` is `is-directory`), path methods on
//! a file are `not-directory`. File streams read and write at their own offset with
//! positional I/O and are always ready; a failed write is reported by the next
//! `check-write` or `flush`, as wasmtime's asynchronous writes are.

use super::clocks::Datetime;
use super::io::{
    ready_now, HostInputStream, HostOutputStream, InputStream, IoError, OutputStream, Ready,
    StreamFailure, StreamResult,
};
use super::{name, WasiView};
use crate::component::types::Type;
use crate::component::{
    ComponentType, Lift, Linker, Lower, Resource, ResourceType, StoreContextMut, Val,
};
use crate::error::{Error, Result};
use crate::wasi::filesystem::{
    self as fs, Advice, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode, FsResult,
    NewTimestamp,
};
use std::time::{Duration, SystemTime};

/// A `descriptor` resource: an open file or directory.
#[derive(Debug, Clone)]
pub struct Descriptor(pub fs::Descriptor);

/// A `directory-entry-stream` resource: the entries of a directory, read when it was made.
#[derive(Debug)]
pub struct DirectoryEntryStream(std::vec::IntoIter<DirectoryEntry>);

/// The most bytes one file read allocates (wasmtime's limit too).
pub(in crate::wasi) const MAX_READ: usize = 64 * 1024;

/// How much a file output stream accepts at once.
const WRITE_CAPACITY: usize = 64 * 1024;

/// `error-code`'s cases, in order.
const ERROR_CODES: [&str; 37] = [
    "access",
    "would-block",
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
];

pub(in crate::wasi) fn error_code_name(e: ErrorCode) -> &'static str {
    match e {
        ErrorCode::Access => "access",
        ErrorCode::WouldBlock => "would-block",
        ErrorCode::Already => "already",
        ErrorCode::BadDescriptor => "bad-descriptor",
        ErrorCode::Busy => "busy",
        ErrorCode::Exist => "exist",
        ErrorCode::FileTooLarge => "file-too-large",
        ErrorCode::IllegalByteSequence => "illegal-byte-sequence",
        ErrorCode::InProgress => "in-progress",
        ErrorCode::Interrupted => "interrupted",
        ErrorCode::Invalid => "invalid",
        ErrorCode::Io => "io",
        ErrorCode::IsDirectory => "is-directory",
        ErrorCode::Loop => "loop",
        ErrorCode::TooManyLinks => "too-many-links",
        ErrorCode::NameTooLong => "name-too-long",
        ErrorCode::NoEntry => "no-entry",
        ErrorCode::InsufficientMemory => "insufficient-memory",
        ErrorCode::InsufficientSpace => "insufficient-space",
        ErrorCode::NotDirectory => "not-directory",
        ErrorCode::NotEmpty => "not-empty",
        ErrorCode::Unsupported => "unsupported",
        ErrorCode::Overflow => "overflow",
        ErrorCode::NotPermitted => "not-permitted",
        ErrorCode::Pipe => "pipe",
        ErrorCode::InvalidSeek => "invalid-seek",
        ErrorCode::CrossDevice => "cross-device",
    }
}

pub(in crate::wasi) fn mismatch(expected: &str, ty: &Type) -> Error {
    Error::msg(format!("type mismatch: expected {expected}, found {ty}"))
}

fn check_enum(what: &str, ty: &Type, names: &[&str]) -> Result<()> {
    match ty {
        Type::Enum(e) if e.names().eq(names.iter().copied()) => Ok(()),
        _ => Err(mismatch(what, ty)),
    }
}

pub(in crate::wasi) fn check_record(what: &str, ty: &Type, fields: &[&str]) -> Result<()> {
    match ty {
        Type::Record(r) if r.fields().map(|(n, _)| n).eq(fields.iter().copied()) => Ok(()),
        _ => Err(mismatch(what, ty)),
    }
}

impl ComponentType for ErrorCode {
    fn typecheck(ty: &Type) -> Result<()> {
        check_enum("error-code", ty, &ERROR_CODES)
    }
}

impl Lower for ErrorCode {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Enum(error_code_name(*self).into()))
    }
}

/// A `flags` type of at most 32 flags, as a bit set over its names.
macro_rules! wit_flags {
    ($(#[$doc:meta])* $name:ident $wit:literal [$($flag:literal),*]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub(in crate::wasi) struct $name(u32);

        impl $name {
            const NAMES: &'static [&'static str] = &[$($flag),*];

            #[allow(dead_code)]
            pub(in crate::wasi) fn has(self, flag: &str) -> bool {
                Self::NAMES
                    .iter()
                    .position(|n| *n == flag)
                    .is_some_and(|i| self.0 & (1 << i) != 0)
            }

            #[allow(dead_code)]
            pub(in crate::wasi) fn with(mut self, flag: &str, on: bool) -> Self {
                if let Some(i) = Self::NAMES.iter().position(|n| *n == flag) {
                    if on {
                        self.0 |= 1 << i;
                    }
                }
                self
            }
        }

        impl ComponentType for $name {
            fn typecheck(ty: &Type) -> Result<()> {
                match ty {
                    Type::Flags(f) if f.names().eq(Self::NAMES.iter().copied()) => Ok(()),
                    _ => Err(mismatch($wit, ty)),
                }
            }
        }

        impl Lift for $name {
            fn lift(v: Val) -> Result<Self> {
                match v {
                    Val::Flags(names) => {
                        let mut bits = 0;
                        for n in &names {
                            let i = Self::NAMES.iter().position(|x| x == n).ok_or_else(|| {
                                Error::msg(format!("no flag `{n}` in {}", $wit))
                            })?;
                            bits |= 1 << i;
                        }
                        Ok($name(bits))
                    }
                    other => Err(Error::msg(format!("not a {}: {other}", $wit))),
                }
            }
        }

        impl Lower for $name {
            fn lower(&self) -> Result<Val> {
                Ok(Val::Flags(
                    Self::NAMES
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| self.0 & (1 << i) != 0)
                        .map(|(_, n)| n.to_string())
                        .collect(),
                ))
            }
        }
    };
}

wit_flags!(
    /// `descriptor-flags`
    DescFlags "descriptor-flags" [
        "read",
        "write",
        "file-integrity-sync",
        "data-integrity-sync",
        "requested-write-sync",
        "mutate-directory"
    ]
);
wit_flags!(
    /// `path-flags`
    PathFlags "path-flags" ["symlink-follow"]
);
wit_flags!(
    /// `open-flags`
    OpenFlags "open-flags" ["create", "directory", "exclusive", "truncate"]
);

impl PathFlags {
    pub(in crate::wasi) fn follow(self) -> bool {
        self.has("symlink-follow")
    }
}

/// `descriptor-type`'s cases, in order.
const DESCRIPTOR_TYPES: [&str; 8] = [
    "unknown",
    "block-device",
    "character-device",
    "directory",
    "fifo",
    "symbolic-link",
    "regular-file",
    "socket",
];

/// A `descriptor-type` (the shared type has no FIFO or socket case: those are `unknown`).
struct WitType(DescriptorType);

impl ComponentType for WitType {
    fn typecheck(ty: &Type) -> Result<()> {
        check_enum("descriptor-type", ty, &DESCRIPTOR_TYPES)
    }
}

impl Lower for WitType {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Enum(
            match self.0 {
                DescriptorType::Unknown => "unknown",
                DescriptorType::BlockDevice => "block-device",
                DescriptorType::CharacterDevice => "character-device",
                DescriptorType::Directory => "directory",
                DescriptorType::SymbolicLink => "symbolic-link",
                DescriptorType::RegularFile => "regular-file",
            }
            .into(),
        ))
    }
}

/// `advice`
pub(in crate::wasi) struct WitAdvice(pub(in crate::wasi) Advice);

const ADVICE: [&str; 6] = [
    "normal",
    "sequential",
    "random",
    "will-need",
    "dont-need",
    "no-reuse",
];

impl ComponentType for WitAdvice {
    fn typecheck(ty: &Type) -> Result<()> {
        check_enum("advice", ty, &ADVICE)
    }
}

impl Lift for WitAdvice {
    fn lift(v: Val) -> Result<Self> {
        Ok(WitAdvice(match &v {
            Val::Enum(n) => match n.as_str() {
                "normal" => Advice::Normal,
                "sequential" => Advice::Sequential,
                "random" => Advice::Random,
                "will-need" => Advice::WillNeed,
                "dont-need" => Advice::DontNeed,
                "no-reuse" => Advice::NoReuse,
                _ => return Err(Error::msg(format!("not an advice: {v}"))),
            },
            _ => return Err(Error::msg(format!("not an advice: {v}"))),
        }))
    }
}

/// `new-timestamp`, as the guest gave it (converted per call: an out-of-range time is the
/// call's `overflow` error, not a trap).
enum WitNewTimestamp {
    NoChange,
    Now,
    Timestamp(Datetime),
}

impl ComponentType for WitNewTimestamp {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Variant(v)
                if v.cases()
                    .map(|(n, _)| n)
                    .eq(["no-change", "now", "timestamp"]) =>
            {
                Ok(())
            }
            _ => Err(mismatch("new-timestamp", ty)),
        }
    }
}

impl Lift for WitNewTimestamp {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Variant(n, None) if n == "no-change" => Ok(WitNewTimestamp::NoChange),
            Val::Variant(n, None) if n == "now" => Ok(WitNewTimestamp::Now),
            Val::Variant(n, Some(t)) if n == "timestamp" => {
                Ok(WitNewTimestamp::Timestamp(Datetime::lift(*t)?))
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
            WitNewTimestamp::Timestamp(t) => {
                // Nanoseconds of a second or more carry into the seconds, as in wasmtime.
                let secs = t
                    .seconds
                    .checked_add(u64::from(t.nanoseconds / 1_000_000_000))
                    .ok_or(ErrorCode::Overflow)?;
                let d = Duration::new(secs, t.nanoseconds % 1_000_000_000);
                NewTimestamp::At(
                    SystemTime::UNIX_EPOCH
                        .checked_add(d)
                        .ok_or(ErrorCode::Overflow)?,
                )
            }
        })
    }
}

/// A time as a `datetime`; none before the epoch (wasmtime leaves those out too).
fn datetime(t: Option<SystemTime>) -> Option<Datetime> {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(Datetime::from)
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
        Ok(Val::Record(vec![
            ("type".into(), WitType(s.type_).lower()?),
            ("link-count".into(), Val::U64(s.link_count)),
            ("size".into(), Val::U64(s.size)),
            (
                "data-access-timestamp".into(),
                datetime(s.accessed).lower()?,
            ),
            (
                "data-modification-timestamp".into(),
                datetime(s.modified).lower()?,
            ),
            (
                "status-change-timestamp".into(),
                datetime(s.status_changed).lower()?,
            ),
        ]))
    }
}

/// `directory-entry`
struct WitEntry(DirectoryEntry);

impl ComponentType for WitEntry {
    fn typecheck(ty: &Type) -> Result<()> {
        check_record("directory-entry", ty, &["type", "name"])
    }
}

impl Lower for WitEntry {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Record(vec![
            ("type".into(), WitType(self.0.type_).lower()?),
            ("name".into(), Val::String(self.0.name.clone())),
        ]))
    }
}

/// `metadata-hash-value`: 64 bits of identity hash, the upper half derived from the lower
/// as wasmtime does (so a P1 inode read through the adapter is the same number).
pub(in crate::wasi) struct HashValue(pub(in crate::wasi) u64);

impl ComponentType for HashValue {
    fn typecheck(ty: &Type) -> Result<()> {
        check_record("metadata-hash-value", ty, &["lower", "upper"])
    }
}

impl Lower for HashValue {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Record(vec![
            ("lower".into(), Val::U64(self.0)),
            ("upper".into(), Val::U64(self.0 ^ 4614256656552045848)),
        ]))
    }
}

/// A file read as an `input-stream`: positional reads from its own offset.
struct FileInput {
    file: fs::File,
    position: u64,
    closed: bool,
}

impl HostInputStream for FileInput {
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        if self.closed {
            return Err(StreamFailure::Closed);
        }
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0; size.min(MAX_READ)];
        loop {
            match self.file.read_at_io(&mut buf, self.position) {
                Ok(0) => {
                    self.closed = true;
                    return Err(StreamFailure::Closed);
                }
                Ok(n) => {
                    buf.truncate(n);
                    self.position += n as u64;
                    return Ok(buf);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.closed = true;
                    return Err(StreamFailure::Failed(e));
                }
            }
        }
    }

    fn ready(&mut self) -> Ready {
        ready_now()
    }
}

/// Where a file output stream writes.
pub(in crate::wasi) enum WriteMode {
    At(u64),
    Append,
}

/// A file written as an `output-stream`: at its own offset, or appending.
struct FileOutput {
    file: fs::File,
    mode: WriteMode,
    /// A failed write, reported by the next `check-write` or `flush`.
    error: Option<std::io::Error>,
    closed: bool,
}

impl FileOutput {
    fn new(file: fs::File, mode: WriteMode) -> Self {
        FileOutput {
            file,
            mode,
            error: None,
            closed: false,
        }
    }

    /// A pending failure ends the stream.
    fn status(&mut self) -> StreamResult<()> {
        if let Some(e) = self.error.take() {
            self.closed = true;
            return Err(StreamFailure::Failed(e));
        }
        if self.closed {
            return Err(StreamFailure::Closed);
        }
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        write_all(&self.file, &mut self.mode, bytes)
    }
}

/// Writes all of `bytes` at the position of `mode` (which moves on) or at the end.
pub(in crate::wasi) fn write_all(
    file: &fs::File,
    mode: &mut WriteMode,
    mut bytes: &[u8],
) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let r = match *mode {
            WriteMode::At(pos) => file.write_at_io(bytes, pos),
            WriteMode::Append => file.append_io(bytes),
        };
        match r {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                if let WriteMode::At(pos) = mode {
                    *pos += n as u64;
                }
                bytes = &bytes[n..];
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl HostOutputStream for FileOutput {
    fn check_write(&mut self) -> StreamResult<usize> {
        self.status()?;
        Ok(WRITE_CAPACITY)
    }

    fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
        self.status()?;
        if let Err(e) = self.write_all(bytes) {
            self.error = Some(e);
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.status()
    }

    fn ready(&mut self) -> Ready {
        ready_now()
    }
}

/// The descriptor behind a handle (a failed lookup traps).
pub(in crate::wasi) fn desc<T: WasiView>(
    s: &mut StoreContextMut<'_, T>,
    r: &Resource<Descriptor>,
) -> Result<Descriptor> {
    Ok(s.data_mut().ctx().table.get(r)?.clone())
}

impl Descriptor {
    /// The file, or `bad-descriptor` for a directory.
    pub(in crate::wasi) fn file(&self) -> FsResult<&fs::File> {
        match &self.0 {
            fs::Descriptor::File(f) => Ok(f),
            fs::Descriptor::Dir(_) => Err(ErrorCode::BadDescriptor),
        }
    }

    /// The directory, or `not-directory` for a file.
    pub(in crate::wasi) fn dir(&self) -> FsResult<&fs::Dir> {
        match &self.0 {
            fs::Descriptor::Dir(d) => Ok(d),
            fs::Descriptor::File(_) => Err(ErrorCode::NotDirectory),
        }
    }

    pub(in crate::wasi) fn stat(&self) -> FsResult<DescriptorStat> {
        match &self.0 {
            fs::Descriptor::File(f) => f.stat(),
            fs::Descriptor::Dir(d) => d.stat(),
        }
    }

    pub(in crate::wasi) fn flags(&self) -> FsResult<DescFlags> {
        Ok(match &self.0 {
            fs::Descriptor::File(f) => {
                let (sync, dsync, rsync) = f.sync_flags()?;
                DescFlags::default()
                    .with("read", f.open_mode.read)
                    .with("write", f.open_mode.write)
                    .with("requested-write-sync", dsync)
                    .with("file-integrity-sync", sync)
                    .with("data-integrity-sync", rsync)
            }
            fs::Descriptor::Dir(d) => DescFlags::default()
                .with("read", d.open_mode.read)
                .with("mutate-directory", d.open_mode.write),
        })
    }
}

impl Descriptor {
    /// `open-at`: opens `path` beneath this directory.
    pub(in crate::wasi) fn open_at(
        &self,
        flags: PathFlags,
        path: &str,
        oflags: OpenFlags,
        dflags: DescFlags,
    ) -> FsResult<fs::Descriptor> {
        let oflags = fs::OpenFlags {
            create: oflags.has("create"),
            directory: oflags.has("directory"),
            exclusive: oflags.has("exclusive"),
            truncate: oflags.has("truncate"),
        };
        let dflags = fs::DescriptorFlags {
            read: dflags.has("read"),
            write: dflags.has("write"),
            sync: dflags.has("file-integrity-sync")
                || dflags.has("data-integrity-sync")
                || dflags.has("requested-write-sync"),
        };
        self.dir()?.open_at(flags.follow(), path, oflags, dflags)
    }

    /// `is-same-object`; as wasmtime, a failure to stat either is a trap, not `false`.
    pub(in crate::wasi) fn is_same_object(&self, other: &Descriptor) -> Result<bool> {
        let stat = |d: &Descriptor| {
            d.stat()
                .map_err(|e| Error::msg(format!("is-same-object: {e:?}")))
        };
        Ok(stat(self)?.identity == stat(other)?.identity)
    }
}

/// What a descriptor method returns to the guest.
type Ret<T> = Result<(FsResult<T>,)>;

fn ret<T>(r: FsResult<T>) -> Ret<T> {
    Ok((r,))
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
    types.resource(
        "directory-entry-stream",
        ResourceType::host::<DirectoryEntryStream>(),
        |mut s, rep| {
            s.data_mut()
                .ctx()
                .table
                .delete(Resource::<DirectoryEntryStream>::new_own(rep))?;
            Ok(())
        },
    )?;

    types.func_wrap(
        "[method]descriptor.read-via-stream",
        |mut s, (this, offset): (This, u64)| -> Ret<Resource<InputStream>> {
            let d = desc(&mut s, &this)?;
            let file = match &d.0 {
                fs::Descriptor::File(f) => f.clone(),
                fs::Descriptor::Dir(_) => return ret(Err(ErrorCode::IsDirectory)),
            };
            let stream = InputStream::new(FileInput {
                file,
                position: offset,
                closed: false,
            });
            ret(Ok(s.data_mut().ctx().table.push(stream)?))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut s, (this, offset): (This, u64)| -> Ret<Resource<OutputStream>> {
            let d = desc(&mut s, &this)?;
            let file = match d.file() {
                Ok(f) => f.clone(),
                Err(e) => return ret(Err(e)),
            };
            let stream = OutputStream::new(FileOutput::new(file, WriteMode::At(offset)));
            ret(Ok(s.data_mut().ctx().table.push(stream)?))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut s, (this,): (This,)| -> Ret<Resource<OutputStream>> {
            let d = desc(&mut s, &this)?;
            let file = match d.file() {
                Ok(f) => f.clone(),
                Err(e) => return ret(Err(e)),
            };
            let stream = OutputStream::new(FileOutput::new(file, WriteMode::Append));
            ret(Ok(s.data_mut().ctx().table.push(stream)?))
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
        "[method]descriptor.read",
        |mut s, (this, len, offset): (This, u64, u64)| -> Ret<(Vec<u8>, bool)> {
            let d = desc(&mut s, &this)?;
            ret((|| {
                let f = d.file()?;
                let mut buf = vec![0; usize::try_from(len).unwrap_or(usize::MAX).min(MAX_READ)];
                let n = f.read_at(&mut buf, offset)?;
                buf.truncate(n);
                // As wasmtime: end of file is a read of nothing (even of length 0).
                Ok((buf, n == 0))
            })())
        },
    )?;
    types.func_wrap(
        "[method]descriptor.write",
        |mut s, (this, buf, offset): (This, Vec<u8>, u64)| -> Ret<u64> {
            let d = desc(&mut s, &this)?;
            ret(d
                .file()
                .and_then(|f| f.write_at(&buf, offset))
                .map(|n| n as u64))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.read-directory",
        |mut s, (this,): (This,)| -> Ret<Resource<DirectoryEntryStream>> {
            let d = desc(&mut s, &this)?;
            let entries = match d.dir().and_then(fs::Dir::read_directory) {
                Ok(e) => e,
                Err(e) => return ret(Err(e)),
            };
            let stream = DirectoryEntryStream(entries.into_iter());
            ret(Ok(s.data_mut().ctx().table.push(stream)?))
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
    types.func_wrap(
        "[method]directory-entry-stream.read-directory-entry",
        |mut s,
         (this,): (Resource<DirectoryEntryStream>,)|
         -> Result<(FsResult<Option<WitEntry>>,)> {
            let stream = s.data_mut().ctx().table.get_mut(&this)?;
            Ok((Ok(stream.0.next().map(WitEntry)),))
        },
    )?;
    types.func_wrap(
        "filesystem-error-code",
        |mut s, (err,): (Resource<IoError>,)| {
            let e = &s.data_mut().ctx().table.get(&err)?.0;
            Ok((Some(ErrorCode::from(e)),))
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
