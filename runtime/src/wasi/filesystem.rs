//! WASI state, filesystem: preopened directories and the files and directories opened
//! under them, sandboxed by `cap-std`, with the semantics every preview shares.
//!
//! Every path operation goes through a [`cap_std::fs::Dir`], which resolves the path
//! beneath that directory (`openat2(RESOLVE_BENEATH)` on Linux, a careful manual walk
//! elsewhere): `..` above the directory, absolute paths, and symlinks that point outside
//! (or that loop) fail instead of escaping. Hard links and renames are resolved the same
//! way on both ends. Nothing here checks paths by hand.
//!
//! Errors are [`ErrorCode`]s, the `wasi:filesystem` error enum; each preview maps them to
//! its own codes (P1: `errno`). The mapping from host `io::Error`s follows wasmtime-wasi.

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, SystemTimeSpec};
use cap_std::fs::{Dir as CapDir, File as CapFile, Metadata, MetadataExt, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A filesystem error, as `wasi:filesystem/types.error-code` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is the POSIX errno in its doc alias
pub enum ErrorCode {
    /// `EACCES`
    Access,
    /// `EAGAIN`
    WouldBlock,
    /// `EALREADY`
    Already,
    /// `EBADF`
    BadDescriptor,
    /// `EBUSY`
    Busy,
    /// `EEXIST`
    Exist,
    /// `EFBIG`
    FileTooLarge,
    /// `EILSEQ`
    IllegalByteSequence,
    /// `EINPROGRESS`
    InProgress,
    /// `EINTR`
    Interrupted,
    /// `EINVAL`
    Invalid,
    /// `EIO`
    Io,
    /// `EISDIR`
    IsDirectory,
    /// `ELOOP`
    Loop,
    /// `EMLINK`
    TooManyLinks,
    /// `ENAMETOOLONG`
    NameTooLong,
    /// `ENOENT`
    NoEntry,
    /// `ENOMEM`
    InsufficientMemory,
    /// `ENOSPC`
    InsufficientSpace,
    /// `ENOTDIR`
    NotDirectory,
    /// `ENOTEMPTY`
    NotEmpty,
    /// `ENOTSUP`
    Unsupported,
    /// `EOVERFLOW`
    Overflow,
    /// `EPERM`
    NotPermitted,
    /// `EPIPE`
    Pipe,
    /// `ESPIPE`
    InvalidSeek,
    /// `EXDEV`
    CrossDevice,
}

impl ErrorCode {
    /// The code for a raw host `errno`, if it has one.
    fn from_raw_os_error(raw: i32) -> Option<ErrorCode> {
        use rustix::io::Errno;
        let e = Errno::from_raw_os_error(raw);
        Some(match e {
            Errno::PIPE => ErrorCode::Pipe,
            Errno::PERM => ErrorCode::NotPermitted,
            Errno::NOENT => ErrorCode::NoEntry,
            Errno::NOMEM => ErrorCode::InsufficientMemory,
            Errno::IO => ErrorCode::Io,
            Errno::BADF => ErrorCode::BadDescriptor,
            Errno::BUSY => ErrorCode::Busy,
            Errno::ACCESS => ErrorCode::Access,
            Errno::NOTDIR => ErrorCode::NotDirectory,
            Errno::ISDIR => ErrorCode::IsDirectory,
            Errno::INVAL => ErrorCode::Invalid,
            Errno::EXIST => ErrorCode::Exist,
            Errno::FBIG => ErrorCode::FileTooLarge,
            Errno::NOSPC => ErrorCode::InsufficientSpace,
            Errno::SPIPE => ErrorCode::InvalidSeek,
            Errno::MLINK => ErrorCode::TooManyLinks,
            Errno::NAMETOOLONG => ErrorCode::NameTooLong,
            Errno::NOTEMPTY => ErrorCode::NotEmpty,
            Errno::LOOP => ErrorCode::Loop,
            Errno::OVERFLOW => ErrorCode::Overflow,
            Errno::ILSEQ => ErrorCode::IllegalByteSequence,
            Errno::NOTSUP => ErrorCode::Unsupported,
            Errno::ALREADY => ErrorCode::Already,
            Errno::INPROGRESS => ErrorCode::InProgress,
            Errno::INTR => ErrorCode::Interrupted,
            Errno::AGAIN => ErrorCode::WouldBlock,
            Errno::XDEV => ErrorCode::CrossDevice,
            _ if e == Errno::OPNOTSUPP => ErrorCode::Unsupported,
            _ => return None,
        })
    }
}

impl From<&io::Error> for ErrorCode {
    fn from(err: &io::Error) -> ErrorCode {
        if let Some(code) = err.raw_os_error().and_then(ErrorCode::from_raw_os_error) {
            return code;
        }
        // cap-std reports a sandbox escape as `PermissionDenied` with no raw errno,
        // which becomes EPERM, as in wasmtime.
        match err.kind() {
            io::ErrorKind::NotFound => ErrorCode::NoEntry,
            io::ErrorKind::PermissionDenied => ErrorCode::NotPermitted,
            io::ErrorKind::AlreadyExists => ErrorCode::Exist,
            io::ErrorKind::InvalidInput => ErrorCode::Invalid,
            _ => ErrorCode::Io,
        }
    }
}

impl From<io::Error> for ErrorCode {
    fn from(err: io::Error) -> ErrorCode {
        ErrorCode::from(&err)
    }
}

/// `Result` of a filesystem operation.
pub type FsResult<T> = Result<T, ErrorCode>;

/// What a descriptor was opened for: reading, writing or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenMode {
    /// Data can be read (files) or entries listed (directories).
    pub read: bool,
    /// Data can be written (files) or entries changed (directories).
    pub write: bool,
}

/// How `open_at` creates or truncates, as `wasi:filesystem`'s `open-flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenFlags {
    /// Create the file if missing (`O_CREAT`).
    pub create: bool,
    /// Fail unless the path is a directory (`O_DIRECTORY`).
    pub directory: bool,
    /// Fail if the file exists (`O_EXCL`).
    pub exclusive: bool,
    /// Truncate to size 0 (`O_TRUNC`).
    pub truncate: bool,
}

/// The descriptor flags `open_at` is asked for, as `wasi:filesystem`'s `descriptor-flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DescriptorFlags {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// `O_SYNC`, `O_DSYNC` or `O_RSYNC` was asked for (unsupported, as in wasmtime).
    pub sync: bool,
}

/// The type of a filesystem object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorType {
    /// Anything else (FIFOs, sockets, ...).
    Unknown,
    /// A block device.
    BlockDevice,
    /// A character device.
    CharacterDevice,
    /// A directory.
    Directory,
    /// A symbolic link.
    SymbolicLink,
    /// A regular file.
    RegularFile,
}

impl DescriptorType {
    fn of(ft: cap_std::fs::FileType) -> Self {
        use cap_std::fs::FileTypeExt;
        if ft.is_dir() {
            DescriptorType::Directory
        } else if ft.is_symlink() {
            DescriptorType::SymbolicLink
        } else if ft.is_file() {
            DescriptorType::RegularFile
        } else if ft.is_block_device() {
            DescriptorType::BlockDevice
        } else if ft.is_char_device() {
            DescriptorType::CharacterDevice
        } else {
            DescriptorType::Unknown
        }
    }
}

/// The attributes of a filesystem object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorStat {
    /// What it is.
    pub type_: DescriptorType,
    /// The number of hard links.
    pub link_count: u64,
    /// Size in bytes (for a symlink, the length of its target).
    pub size: u64,
    /// Last access.
    pub accessed: Option<SystemTime>,
    /// Last data modification.
    pub modified: Option<SystemTime>,
    /// Last status change.
    pub status_changed: Option<SystemTime>,
    /// A stable hash of the object's identity (device and inode); P1 reports it as `ino`.
    pub identity: u64,
}

impl DescriptorStat {
    fn new(meta: &Metadata) -> Self {
        let ctime = u64::try_from(meta.ctime()).ok().and_then(|secs| {
            let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        });
        DescriptorStat {
            type_: DescriptorType::of(meta.file_type()),
            link_count: meta.nlink(),
            size: meta.len(),
            accessed: meta.accessed().ok().map(|t| t.into_std()),
            modified: meta.modified().ok().map(|t| t.into_std()),
            status_changed: ctime,
            identity: identity_hash(meta.dev(), meta.ino()),
        }
    }
}

/// A 64-bit hash of (device, inode), as wasmtime derives P1 inode numbers: stable for
/// one object within a process, and it does not reveal the host's inode numbers.
fn identity_hash(dev: u64, ino: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (dev, ino).hash(&mut hasher);
    hasher.finish()
}

/// A new timestamp for `set_times`: keep, now, or a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewTimestamp {
    /// Leave it unchanged.
    NoChange,
    /// Set it to the current time.
    Now,
    /// Set it to this time.
    At(SystemTime),
}

impl NewTimestamp {
    fn spec(self) -> Option<SystemTimeSpec> {
        match self {
            NewTimestamp::NoChange => None,
            NewTimestamp::Now => Some(SystemTimeSpec::SymbolicNow),
            NewTimestamp::At(t) => Some(SystemTimeSpec::Absolute(
                cap_std::time::SystemTime::from_std(t),
            )),
        }
    }
    fn resolve(self) -> Option<SystemTime> {
        match self {
            NewTimestamp::NoChange => None,
            NewTimestamp::Now => Some(SystemTime::now()),
            NewTimestamp::At(t) => Some(t),
        }
    }
}

/// File access advice (`posix_fadvise`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// No advice.
    Normal,
    /// Sequential access.
    Sequential,
    /// Random access.
    Random,
    /// Will be needed soon.
    WillNeed,
    /// Will not be needed soon.
    DontNeed,
    /// Accessed once.
    NoReuse,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The entry's type (symlinks are not followed).
    pub type_: DescriptorType,
    /// Its name.
    pub name: String,
    /// Its identity hash (see [`DescriptorStat::identity`]).
    pub identity: u64,
}

/// An open regular file (or other non-directory object).
#[derive(Debug, Clone)]
pub struct File {
    // Once open, a file needs no sandboxing: it is kept as a plain std file.
    file: Arc<std::fs::File>,
    /// What it was opened for.
    pub open_mode: OpenMode,
}

impl File {
    /// Wraps an open host file.
    pub fn new(file: CapFile, open_mode: OpenMode) -> Self {
        File {
            file: Arc::new(file.into_std()),
            open_mode,
        }
    }

    fn std(&self) -> &std::fs::File {
        &self.file
    }

    /// Reads at `offset` without moving any cursor.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        use std::os::unix::fs::FileExt;
        Ok(self.std().read_at(buf, offset)?)
    }

    /// Writes at `offset` without moving any cursor.
    pub fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        use std::os::unix::fs::FileExt;
        Ok(self.std().write_at(buf, offset)?)
    }

    /// Appends at the end of the file, atomically where the host can.
    pub fn append(&self, buf: &[u8]) -> FsResult<usize> {
        Ok(self.append_io(buf)?)
    }

    /// [`File::read_at`] with the host's error, for streams that report it as is.
    pub fn read_at_io(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        self.std().read_at(buf, offset)
    }

    /// [`File::write_at`] with the host's error, for streams that report it as is.
    pub fn write_at_io(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        self.std().write_at(buf, offset)
    }

    /// [`File::append`] with the host's error, for streams that report it as is.
    pub fn append_io(&self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        {
            use rustix::io::{pwritev2, Errno, ReadWriteFlags};
            let iovs = [io::IoSlice::new(buf)];
            match pwritev2(self.std(), &iovs, 0, ReadWriteFlags::APPEND) {
                Err(Errno::NOSYS) | Err(Errno::NOTSUP) => {}
                Ok(n) => return Ok(n),
                Err(e) => return Err(io::Error::from(e)),
            }
        }
        // Fallback: switch the description to append mode for one write.
        use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
        let old = fcntl_getfl(self.std()).map_err(io::Error::from)?;
        fcntl_setfl(self.std(), old | OFlags::APPEND).map_err(io::Error::from)?;
        let result = rustix::io::write(self.std(), buf);
        let _ = fcntl_setfl(self.std(), old);
        result.map_err(io::Error::from)
    }

    /// The file's attributes.
    pub fn stat(&self) -> FsResult<DescriptorStat> {
        let meta = Metadata::from_file(&self.file)?;
        Ok(DescriptorStat::new(&meta))
    }

    /// Truncates or extends the file.
    pub fn set_size(&self, size: u64) -> FsResult<()> {
        Ok(self.file.set_len(size)?)
    }

    /// Sets access and modification times.
    pub fn set_times(&self, atim: NewTimestamp, mtim: NewTimestamp) -> FsResult<()> {
        set_fd_times(self.std(), atim, mtim)
    }

    /// Gives the host advice about the access pattern.
    pub fn advise(&self, offset: u64, len: u64, advice: Advice) -> FsResult<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::Advice as A;
            let advice = match advice {
                Advice::Normal => A::Normal,
                Advice::Sequential => A::Sequential,
                Advice::Random => A::Random,
                Advice::WillNeed => A::WillNeed,
                Advice::DontNeed => A::DontNeed,
                Advice::NoReuse => A::NoReuse,
            };
            rustix::fs::fadvise(self.std(), offset, std::num::NonZeroU64::new(len), advice)
                .map_err(io::Error::from)?;
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (offset, len, advice);
        Ok(())
    }

    /// Flushes data and metadata to the device.
    pub fn sync(&self) -> FsResult<()> {
        Ok(self.file.sync_all()?)
    }

    /// Flushes data to the device.
    pub fn sync_data(&self) -> FsResult<()> {
        Ok(self.file.sync_data()?)
    }

    /// Whether the host file description has `O_SYNC`/`O_DSYNC`/`O_RSYNC` set:
    /// `(sync, dsync, rsync)`.
    pub fn sync_flags(&self) -> FsResult<(bool, bool, bool)> {
        use rustix::fs::{fcntl_getfl, OFlags};
        let fl = fcntl_getfl(self.std()).map_err(io::Error::from)?;
        Ok((
            fl.contains(OFlags::SYNC),
            fl.contains(OFlags::DSYNC),
            fl.contains(OFlags::RSYNC),
        ))
    }
}

fn set_fd_times(f: &std::fs::File, atim: NewTimestamp, mtim: NewTimestamp) -> FsResult<()> {
    let mut times = std::fs::FileTimes::new();
    if let Some(t) = atim.resolve() {
        times = times.set_accessed(t);
    }
    if let Some(t) = mtim.resolve() {
        times = times.set_modified(t);
    }
    Ok(f.set_times(times)?)
}

/// An open directory: every path operation is resolved beneath it.
#[derive(Debug, Clone)]
pub struct Dir {
    dir: Arc<CapDir>,
    /// What it was opened for.
    pub open_mode: OpenMode,
}

/// A file or directory opened through [`Dir::open_at`].
#[derive(Debug, Clone)]
pub enum Descriptor {
    /// Not a directory.
    File(File),
    /// A directory.
    Dir(Dir),
}

/// Whether `path` ends with a `/` (after which the object must be a directory).
fn has_trailing_slash(path: &str) -> bool {
    path.ends_with('/')
}

impl Dir {
    /// Opens the host directory `path` with ambient authority: this is how a preopen
    /// is made, the only place the sandbox's root is chosen.
    pub fn open_ambient(path: &Path) -> io::Result<Dir> {
        let dir = CapDir::open_ambient_dir(path, cap_std::ambient_authority())?;
        Ok(Dir::from_cap(
            dir,
            OpenMode {
                read: true,
                write: true,
            },
        ))
    }

    fn from_cap(dir: CapDir, open_mode: OpenMode) -> Dir {
        Dir {
            dir: Arc::new(dir),
            open_mode,
        }
    }

    /// A std handle on this directory itself, for calls std offers on any open file.
    fn std_handle(&self) -> FsResult<std::fs::File> {
        Ok(self.dir.try_clone()?.into_std_file())
    }

    /// Opens `path` beneath this directory.
    pub fn open_at(
        &self,
        follow: bool,
        path: &str,
        oflags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Descriptor> {
        let mut opts = OpenOptions::new();
        let mut mode = OpenMode::default();
        if oflags.create {
            if oflags.exclusive {
                opts.create_new(true);
            } else {
                opts.create(true);
            }
            opts.write(true);
            mode.write = true;
        }
        if oflags.truncate {
            opts.truncate(true).write(true);
            mode.write = true;
        }
        if flags.read {
            opts.read(true);
            mode.read = true;
        }
        if flags.write {
            opts.write(true);
            mode.write = true;
        } else {
            // Open for reading at least, so the host lets us open it at all.
            opts.read(true);
            mode.read = true;
        }
        opts.follow(if follow {
            FollowSymlinks::Yes
        } else {
            FollowSymlinks::No
        });
        if flags.sync {
            return Err(ErrorCode::Unsupported);
        }
        if oflags.directory && (oflags.create || oflags.exclusive || oflags.truncate) {
            return Err(ErrorCode::Invalid);
        }
        let file = self.dir.open_with(path, &opts)?;
        if file.metadata()?.is_dir() {
            let dir = CapDir::from_std_file(file.into_std());
            Ok(Descriptor::Dir(Dir::from_cap(dir, mode)))
        } else if oflags.directory {
            Err(ErrorCode::NotDirectory)
        } else {
            Ok(Descriptor::File(File::new(file, mode)))
        }
    }

    /// Creates a directory.
    pub fn create_directory_at(&self, path: &str) -> FsResult<()> {
        Ok(self.dir.create_dir(path)?)
    }

    /// The attributes of `path`, following a final symlink if `follow`.
    pub fn stat_at(&self, follow: bool, path: &str) -> FsResult<DescriptorStat> {
        let meta = if follow {
            self.dir.metadata(path)?
        } else {
            self.dir.symlink_metadata(path)?
        };
        Ok(DescriptorStat::new(&meta))
    }

    /// Sets the times of `path`, following a final symlink if `follow`.
    pub fn set_times_at(
        &self,
        follow: bool,
        path: &str,
        atim: NewTimestamp,
        mtim: NewTimestamp,
    ) -> FsResult<()> {
        if follow {
            self.dir.set_times(path, atim.spec(), mtim.spec())?;
        } else {
            self.dir.set_symlink_times(path, atim.spec(), mtim.spec())?;
        }
        Ok(())
    }

    /// Creates the hard link `new_dir/new_path` to `old_path`.
    pub fn link_at(
        &self,
        old_follow: bool,
        old_path: &str,
        new_dir: &Dir,
        new_path: &str,
    ) -> FsResult<()> {
        if old_follow {
            return Err(ErrorCode::Invalid);
        }
        Ok(self.dir.hard_link(old_path, &new_dir.dir, new_path)?)
    }

    /// The target of the symlink `path` (an absolute target is refused).
    pub fn readlink_at(&self, path: &str) -> FsResult<String> {
        let target = self.dir.read_link(path)?;
        target
            .into_os_string()
            .into_string()
            .map_err(|_| ErrorCode::IllegalByteSequence)
    }

    /// Removes an empty directory.
    pub fn remove_directory_at(&self, path: &str) -> FsResult<()> {
        Ok(self.dir.remove_dir(path)?)
    }

    /// Renames `old_path` to `new_dir/new_path`.
    pub fn rename_at(&self, old_path: &str, new_dir: &Dir, new_path: &str) -> FsResult<()> {
        // A trailing slash on either side requires the source to be a directory. Give
        // the source one too and let the host check it atomically with the rename
        // (wasmtime-wasi does the same).
        let old_path = if has_trailing_slash(new_path) && !has_trailing_slash(old_path) {
            std::borrow::Cow::Owned(format!("{old_path}/"))
        } else {
            std::borrow::Cow::Borrowed(old_path)
        };
        Ok(self.dir.rename(&*old_path, &new_dir.dir, new_path)?)
    }

    /// Creates the symlink `link_path` pointing to `target` (an absolute target is refused).
    pub fn symlink_at(&self, target: &str, link_path: &str) -> FsResult<()> {
        Ok(self.dir.symlink(target, link_path)?)
    }

    /// Removes a file or symlink (not a directory).
    pub fn unlink_file_at(&self, path: &str) -> FsResult<()> {
        Ok(self.dir.remove_file_or_symlink(path)?)
    }

    /// This directory's own attributes.
    pub fn stat(&self) -> FsResult<DescriptorStat> {
        Ok(DescriptorStat::new(&self.dir.dir_metadata()?))
    }

    /// Sets this directory's own times.
    pub fn set_times(&self, atim: NewTimestamp, mtim: NewTimestamp) -> FsResult<()> {
        set_fd_times(&self.std_handle()?, atim, mtim)
    }

    /// Flushes the directory to the device.
    pub fn sync(&self) -> FsResult<()> {
        Ok(self.std_handle()?.sync_all()?)
    }

    /// Flushes the directory's data to the device.
    pub fn sync_data(&self) -> FsResult<()> {
        Ok(self.std_handle()?.sync_data()?)
    }

    /// Every entry of the directory except `.` and `..`, in the host's order.
    pub fn read_directory(&self) -> FsResult<Vec<DirectoryEntry>> {
        let mut out = Vec::new();
        for entry in self.dir.entries()? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| ErrorCode::IllegalByteSequence)?;
            out.push(DirectoryEntry {
                type_: DescriptorType::of(meta.file_type()),
                name,
                identity: identity_hash(meta.dev(), meta.ino()),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh host directory `root` with a sibling `outside` file the guest must not reach.
    fn sandbox(name: &str) -> (PathBuf, Dir) {
        let base = std::env::temp_dir().join(format!("wasmgate-fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/sub")).unwrap();
        std::fs::write(base.join("outside"), b"secret").unwrap();
        std::fs::write(base.join("root/file"), b"hello").unwrap();
        let dir = Dir::open_ambient(&base.join("root")).unwrap();
        (base, dir)
    }

    fn read_only() -> DescriptorFlags {
        DescriptorFlags {
            read: true,
            ..Default::default()
        }
    }

    fn open(dir: &Dir, path: &str) -> FsResult<Descriptor> {
        dir.open_at(true, path, OpenFlags::default(), read_only())
    }

    #[test]
    fn escapes_through_dotdot_absolute_and_symlinks_fail() {
        let (base, dir) = sandbox("escape");
        assert_eq!(
            open(&dir, "../outside").unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            open(&dir, "sub/../../outside").unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            open(&dir, "/etc/passwd").unwrap_err(),
            ErrorCode::NotPermitted
        );
        // A symlink the host planted pointing outside, absolute and relative.
        std::os::unix::fs::symlink(base.join("outside"), base.join("root/abs")).unwrap();
        std::os::unix::fs::symlink("../outside", base.join("root/rel")).unwrap();
        assert_eq!(open(&dir, "abs").unwrap_err(), ErrorCode::NotPermitted);
        assert_eq!(open(&dir, "rel").unwrap_err(), ErrorCode::NotPermitted);
        // The guest may not create an absolute symlink, nor read one back.
        assert_eq!(
            dir.symlink_at("/etc", "mine").unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(dir.readlink_at("abs").unwrap_err(), ErrorCode::NotPermitted);
        // Hard links and renames cannot leave either.
        assert_eq!(
            dir.link_at(false, "file", &dir, "../stolen").unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            dir.rename_at("file", &dir, "../moved").unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            dir.rename_at("../outside", &dir, "in").unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert!(base.join("outside").exists() && !base.join("moved").exists());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn symlink_loops_and_nofollow() {
        let (base, dir) = sandbox("loop");
        dir.symlink_at("loop", "loop").unwrap();
        assert_eq!(open(&dir, "loop").unwrap_err(), ErrorCode::Loop);
        dir.symlink_at("file", "link").unwrap();
        assert_eq!(
            dir.open_at(false, "link", OpenFlags::default(), read_only())
                .unwrap_err(),
            ErrorCode::Loop
        );
        assert!(matches!(open(&dir, "link").unwrap(), Descriptor::File(_)));
        assert_eq!(
            dir.stat_at(false, "link").unwrap().type_,
            DescriptorType::SymbolicLink
        );
        assert_eq!(dir.stat_at(true, "link").unwrap().size, 5);
        assert_eq!(dir.readlink_at("link").unwrap(), "file");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn error_codes_for_common_failures() {
        let (base, dir) = sandbox("errors");
        assert_eq!(open(&dir, "missing").unwrap_err(), ErrorCode::NoEntry);
        assert_eq!(open(&dir, "file/").unwrap_err(), ErrorCode::NotDirectory);
        assert_eq!(
            dir.create_directory_at("sub").unwrap_err(),
            ErrorCode::Exist
        );
        std::fs::write(base.join("root/sub/x"), b"").unwrap();
        assert_eq!(
            dir.remove_directory_at("sub").unwrap_err(),
            ErrorCode::NotEmpty
        );
        assert_eq!(
            dir.remove_directory_at("file").unwrap_err(),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            dir.unlink_file_at("sub").unwrap_err(),
            ErrorCode::IsDirectory
        );
        let dirflags = OpenFlags {
            directory: true,
            ..Default::default()
        };
        assert_eq!(
            dir.open_at(true, "file", dirflags, read_only())
                .unwrap_err(),
            ErrorCode::NotDirectory
        );
        let excl = OpenFlags {
            create: true,
            exclusive: true,
            ..Default::default()
        };
        assert_eq!(
            dir.open_at(true, "file", excl, read_only()).unwrap_err(),
            ErrorCode::Exist
        );
        // A trailing slash on the target of a rename requires a directory source.
        assert_eq!(
            dir.rename_at("file", &dir, "renamed/").unwrap_err(),
            ErrorCode::NotDirectory
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn files_read_write_and_list() {
        let (base, dir) = sandbox("rw");
        let create = OpenFlags {
            create: true,
            ..Default::default()
        };
        let rw = DescriptorFlags {
            read: true,
            write: true,
            sync: false,
        };
        let Descriptor::File(f) = dir.open_at(true, "new", create, rw).unwrap() else {
            panic!("not a file")
        };
        assert_eq!(f.write_at(b"abcdef", 0).unwrap(), 6);
        assert_eq!(f.append(b"gh").unwrap(), 2);
        let mut buf = [0u8; 16];
        assert_eq!(f.read_at(&mut buf, 2).unwrap(), 6);
        assert_eq!(&buf[..6], b"cdefgh");
        f.set_size(3).unwrap();
        assert_eq!(f.stat().unwrap().size, 3);
        let mut names: Vec<_> = dir
            .read_directory()
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(names, ["file", "new", "sub"]);
        let _ = std::fs::remove_dir_all(&base);
    }
}
