//! WASI P1 ABI: the `wasi_snapshot_preview1` constants (errno, rights, flags, enums),
//! struct layouts, and bounds-checked access to guest memory.

use crate::wasi::filesystem::ErrorCode;
use crate::{Error, TrapCode};

/// A P1 `errno`. Only the values this implementation returns are named here; the
/// numbering is the witx one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
#[allow(missing_docs)] // each name is the POSIX errno it mirrors
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    Again = 6,
    Already = 7,
    Badf = 8,
    Busy = 10,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    Ilseq = 25,
    Inprogress = 26,
    Intr = 27,
    Inval = 28,
    Io = 29,
    Isdir = 31,
    Loop = 32,
    Mlink = 34,
    Nametoolong = 37,
    Noent = 44,
    Nomem = 48,
    Nospc = 51,
    Nosys = 52,
    Notdir = 54,
    Notempty = 55,
    Notsock = 57,
    Notsup = 58,
    Overflow = 61,
    Perm = 63,
    Pipe = 64,
    Range = 68,
    Spipe = 70,
    Xdev = 75,
    Notcapable = 76,
}

impl From<ErrorCode> for Errno {
    fn from(code: ErrorCode) -> Errno {
        match code {
            ErrorCode::Access => Errno::Acces,
            ErrorCode::WouldBlock => Errno::Again,
            ErrorCode::Already => Errno::Already,
            ErrorCode::BadDescriptor => Errno::Badf,
            ErrorCode::Busy => Errno::Busy,
            ErrorCode::Exist => Errno::Exist,
            ErrorCode::FileTooLarge => Errno::Fbig,
            ErrorCode::IllegalByteSequence => Errno::Ilseq,
            ErrorCode::InProgress => Errno::Inprogress,
            ErrorCode::Interrupted => Errno::Intr,
            ErrorCode::Invalid => Errno::Inval,
            ErrorCode::Io => Errno::Io,
            ErrorCode::IsDirectory => Errno::Isdir,
            ErrorCode::Loop => Errno::Loop,
            ErrorCode::TooManyLinks => Errno::Mlink,
            ErrorCode::NameTooLong => Errno::Nametoolong,
            ErrorCode::NoEntry => Errno::Noent,
            ErrorCode::InsufficientMemory => Errno::Nomem,
            ErrorCode::InsufficientSpace => Errno::Nospc,
            ErrorCode::NotDirectory => Errno::Notdir,
            ErrorCode::NotEmpty => Errno::Notempty,
            ErrorCode::Unsupported => Errno::Notsup,
            ErrorCode::Overflow => Errno::Overflow,
            ErrorCode::NotPermitted => Errno::Perm,
            ErrorCode::Pipe => Errno::Pipe,
            ErrorCode::InvalidSeek => Errno::Spipe,
            ErrorCode::CrossDevice => Errno::Xdev,
        }
    }
}

/// Why a P1 call did not succeed: an `errno` for the guest, or a fatal error (a trap,
/// `proc_exit`) that unwinds out of it.
#[derive(Debug)]
pub enum P1Error {
    /// Returned to the guest as the call's result.
    Errno(Errno),
    /// Ends the guest's execution.
    Fatal(Error),
}

impl From<Errno> for P1Error {
    fn from(e: Errno) -> Self {
        P1Error::Errno(e)
    }
}

impl From<ErrorCode> for P1Error {
    fn from(e: ErrorCode) -> Self {
        P1Error::Errno(e.into())
    }
}

impl From<std::io::Error> for P1Error {
    fn from(e: std::io::Error) -> Self {
        P1Error::Errno(ErrorCode::from(&e).into())
    }
}

impl From<Error> for P1Error {
    fn from(e: Error) -> Self {
        P1Error::Fatal(e)
    }
}

impl From<std::num::TryFromIntError> for P1Error {
    fn from(_: std::num::TryFromIntError) -> Self {
        P1Error::Errno(Errno::Overflow)
    }
}

/// `Result` of a P1 call.
pub type P1Result<T> = Result<T, P1Error>;

/// `rights` bits.
#[allow(missing_docs)]
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    /// Every right.
    pub const ALL: u64 = (1 << 30) - 1;
}

/// `filetype` values.
#[allow(missing_docs)]
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags` bits.
#[allow(missing_docs)]
pub mod fdflags {
    pub const APPEND: u32 = 1;
    pub const DSYNC: u32 = 2;
    pub const NONBLOCK: u32 = 4;
    pub const RSYNC: u32 = 8;
    pub const SYNC: u32 = 16;
    pub const ALL: u32 = 31;
}

/// `oflags` bits.
#[allow(missing_docs)]
pub mod oflags {
    pub const CREAT: u32 = 1;
    pub const DIRECTORY: u32 = 2;
    pub const EXCL: u32 = 4;
    pub const TRUNC: u32 = 8;
    pub const ALL: u32 = 15;
}

/// `lookupflags` bits.
pub mod lookupflags {
    /// Follow a final symlink.
    pub const SYMLINK_FOLLOW: u32 = 1;
}

/// `fstflags` bits.
#[allow(missing_docs)]
pub mod fstflags {
    pub const ATIM: u32 = 1;
    pub const ATIM_NOW: u32 = 2;
    pub const MTIM: u32 = 4;
    pub const MTIM_NOW: u32 = 8;
    pub const ALL: u32 = 15;
}

/// `clockid` values.
#[allow(missing_docs)]
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `eventtype` values (also the `subscription_u` tags).
#[allow(missing_docs)]
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// Size of `filestat`.
pub const FILESTAT_SIZE: u32 = 64;
/// Size of `fdstat`.
pub const FDSTAT_SIZE: u32 = 24;
/// Size of `dirent` (without the name that follows it).
pub const DIRENT_SIZE: u32 = 24;
/// Size of `subscription`.
pub const SUBSCRIPTION_SIZE: u32 = 48;
/// Size of `event`.
pub const EVENT_SIZE: u32 = 32;

/// A guest's linear memory, with every access bounds-checked. An out-of-bounds or
/// misaligned pointer traps (as the witx conventions require), it is never an errno.
pub struct GuestMemory<'a> {
    mem: &'a mut [u8],
}

fn out_of_bounds() -> P1Error {
    P1Error::Fatal(Error::trap(TrapCode::MemoryOutOfBounds))
}

impl<'a> GuestMemory<'a> {
    /// Wraps the memory's bytes.
    pub fn new(mem: &'a mut [u8]) -> Self {
        GuestMemory { mem }
    }

    fn range(&self, ptr: u32, len: u32, align: u32) -> P1Result<std::ops::Range<usize>> {
        if !ptr.is_multiple_of(align) {
            return Err(P1Error::Fatal(Error::msg(format!(
                "pointer {ptr:#x} not aligned to {align}"
            ))));
        }
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or_else(out_of_bounds)?;
        if end > self.mem.len() {
            return Err(out_of_bounds());
        }
        Ok(start..end)
    }

    /// `len` bytes at `ptr`.
    pub fn slice(&self, ptr: u32, len: u32) -> P1Result<&[u8]> {
        let r = self.range(ptr, len, 1)?;
        Ok(&self.mem[r])
    }

    /// `len` bytes at `ptr`, writable.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> P1Result<&mut [u8]> {
        let r = self.range(ptr, len, 1)?;
        Ok(&mut self.mem[r])
    }

    /// Copies `bytes` to `ptr`.
    pub fn write_bytes(&mut self, ptr: u32, bytes: &[u8]) -> P1Result<()> {
        let len = u32::try_from(bytes.len())?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
        Ok(())
    }

    /// A UTF-8 string of `len` bytes at `ptr` (invalid UTF-8 is `EILSEQ`).
    pub fn read_str(&self, ptr: u32, len: u32) -> P1Result<String> {
        let bytes = self.slice(ptr, len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| P1Error::Errno(Errno::Ilseq))
    }

    fn array<const N: usize>(&self, ptr: u32) -> P1Result<[u8; N]> {
        let r = self.range(ptr, N as u32, N as u32)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.mem[r]);
        Ok(out)
    }

    fn put<const N: usize>(&mut self, ptr: u32, bytes: [u8; N]) -> P1Result<()> {
        let r = self.range(ptr, N as u32, N as u32)?;
        self.mem[r].copy_from_slice(&bytes);
        Ok(())
    }

    /// Reads a `u8`.
    pub fn read_u8(&self, ptr: u32) -> P1Result<u8> {
        Ok(self.array::<1>(ptr)?[0])
    }
    /// Reads a little-endian `u16` (2-aligned).
    pub fn read_u16(&self, ptr: u32) -> P1Result<u16> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }
    /// Reads a little-endian `u32` (4-aligned).
    pub fn read_u32(&self, ptr: u32) -> P1Result<u32> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }
    /// Reads a little-endian `u64` (8-aligned).
    pub fn read_u64(&self, ptr: u32) -> P1Result<u64> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }
    /// Writes a `u8`.
    pub fn write_u8(&mut self, ptr: u32, v: u8) -> P1Result<()> {
        self.put(ptr, [v])
    }
    /// Writes a little-endian `u16` (2-aligned).
    pub fn write_u16(&mut self, ptr: u32, v: u16) -> P1Result<()> {
        self.put(ptr, v.to_le_bytes())
    }
    /// Writes a little-endian `u32` (4-aligned).
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> P1Result<()> {
        self.put(ptr, v.to_le_bytes())
    }
    /// Writes a little-endian `u64` (8-aligned).
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> P1Result<()> {
        self.put(ptr, v.to_le_bytes())
    }

    /// Checks that a `size`-byte, `align`-aligned struct fits at `ptr`.
    pub fn check(&self, ptr: u32, size: u32, align: u32) -> P1Result<()> {
        self.range(ptr, size, align).map(|_| ())
    }

    /// The `(buf, len)` of the first non-empty entry of an iovec array, or `(0, 0)`
    /// (P1 reads and writes one buffer per call, as wasmtime does; libc loops).
    pub fn first_nonempty_iovec(&self, iovs: u32, iovs_len: u32) -> P1Result<(u32, u32)> {
        self.check(iovs, iovs_len.checked_mul(8).ok_or_else(out_of_bounds)?, 4)?;
        for i in 0..iovs_len {
            let buf = self.read_u32(iovs + i * 8)?;
            let len = self.read_u32(iovs + i * 8 + 4)?;
            if len != 0 {
                self.check(buf, len, 1)?;
                return Ok((buf, len));
            }
        }
        Ok((0, 0))
    }
}

/// A P1 `filestat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filestat {
    /// Device id.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// `filetype`.
    pub filetype: u8,
    /// Hard links.
    pub nlink: u64,
    /// Size in bytes.
    pub size: u64,
    /// Access time, ns.
    pub atim: u64,
    /// Modification time, ns.
    pub mtim: u64,
    /// Status change time, ns.
    pub ctim: u64,
}

impl Filestat {
    /// Writes it at `ptr`.
    pub fn write(&self, mem: &mut GuestMemory<'_>, ptr: u32) -> P1Result<()> {
        mem.check(ptr, FILESTAT_SIZE, 8)?;
        mem.write_u64(ptr, self.dev)?;
        mem.write_u64(ptr + 8, self.ino)?;
        mem.slice_mut(ptr + 16, 8)?.fill(0);
        mem.write_u8(ptr + 16, self.filetype)?;
        mem.write_u64(ptr + 24, self.nlink)?;
        mem.write_u64(ptr + 32, self.size)?;
        mem.write_u64(ptr + 40, self.atim)?;
        mem.write_u64(ptr + 48, self.mtim)?;
        mem.write_u64(ptr + 56, self.ctim)
    }
}

/// A P1 `fdstat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fdstat {
    /// `filetype`.
    pub filetype: u8,
    /// `fdflags`.
    pub flags: u16,
    /// Base rights.
    pub rights_base: u64,
    /// Inheriting rights.
    pub rights_inheriting: u64,
}

impl Fdstat {
    /// Writes it at `ptr`.
    pub fn write(&self, mem: &mut GuestMemory<'_>, ptr: u32) -> P1Result<()> {
        mem.check(ptr, FDSTAT_SIZE, 8)?;
        mem.slice_mut(ptr, 8)?.fill(0);
        mem.write_u8(ptr, self.filetype)?;
        mem.write_u16(ptr + 2, self.flags)?;
        mem.write_u64(ptr + 8, self.rights_base)?;
        mem.write_u64(ptr + 16, self.rights_inheriting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_alignment_trap() {
        let mut buf = vec![0u8; 16];
        let mut m = GuestMemory::new(&mut buf);
        m.write_u32(12, 7).unwrap();
        assert_eq!(m.read_u32(12).unwrap(), 7);
        assert!(matches!(m.read_u32(14), Err(P1Error::Fatal(_))));
        assert!(matches!(m.read_u32(16), Err(P1Error::Fatal(_))));
        assert!(matches!(m.slice(10, u32::MAX), Err(P1Error::Fatal(_))));
        assert!(matches!(m.read_u64(u32::MAX - 7), Err(P1Error::Fatal(_))));
    }

    #[test]
    fn invalid_utf8_is_eilseq() {
        let mut buf = vec![0xffu8, 0xfe];
        let m = GuestMemory::new(&mut buf);
        assert!(matches!(
            m.read_str(0, 2),
            Err(P1Error::Errno(Errno::Ilseq))
        ));
    }

    #[test]
    fn first_nonempty_iovec_skips_empty_ones() {
        let mut buf = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut buf);
        m.write_u32(0, 32).unwrap();
        m.write_u32(4, 0).unwrap();
        m.write_u32(8, 40).unwrap();
        m.write_u32(12, 5).unwrap();
        assert_eq!(m.first_nonempty_iovec(0, 2).unwrap(), (40, 5));
        assert_eq!(m.first_nonempty_iovec(0, 1).unwrap(), (0, 0));
        assert_eq!(m.first_nonempty_iovec(0, 0).unwrap(), (0, 0));
    }
}
