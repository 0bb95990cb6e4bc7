//! WASI P1 descriptor table: what each guest `fd` number refers to (stdio, a preopened or
//! opened directory, an open file with its cursor and flags).

use super::types::{Errno, P1Result};
use crate::wasi::filesystem::{Dir, File};
use std::collections::{BTreeMap, BTreeSet};

/// An open file as P1 sees it: the shared file plus P1's own cursor and flags.
#[derive(Debug)]
pub(crate) struct FileDesc {
    pub(crate) file: File,
    /// The cursor `fd_read`/`fd_write`/`fd_seek` use (P1 keeps it, not the host).
    pub(crate) position: u64,
    /// `FDFLAGS_APPEND`: every write goes to the end.
    pub(crate) append: bool,
    /// `FDFLAGS_NONBLOCK`: recorded and reported; files never block anyway.
    pub(crate) nonblocking: bool,
}

/// What a descriptor number refers to.
#[derive(Debug)]
pub(crate) enum Desc {
    /// The context's stdin.
    Stdin,
    /// The context's stdout.
    Stdout,
    /// The context's stderr.
    Stderr,
    /// A directory; `preopen` is its guest name if it was preopened.
    Dir { dir: Dir, preopen: Option<String> },
    /// A file.
    File(FileDesc),
}

/// The descriptor table. Numbers are handed out as wasmtime-wasi does: the highest freed
/// number first, else one past the highest in use.
#[derive(Debug, Default)]
pub(crate) struct Descriptors {
    used: BTreeMap<u32, Desc>,
    free: BTreeSet<u32>,
}

impl Descriptors {
    /// stdin, stdout, stderr as 0, 1, 2, then the preopens from 3 on.
    pub(crate) fn new(preopens: &[(Dir, String)]) -> Self {
        let mut t = Descriptors::default();
        t.used.insert(0, Desc::Stdin);
        t.used.insert(1, Desc::Stdout);
        t.used.insert(2, Desc::Stderr);
        for (dir, name) in preopens {
            // A fresh table has room for every preopen.
            let _ = t.push(Desc::Dir {
                dir: dir.clone(),
                preopen: Some(name.clone()),
            });
        }
        t
    }

    /// Adds a descriptor and returns its number.
    pub(crate) fn push(&mut self, desc: Desc) -> P1Result<u32> {
        let fd = match self.free.pop_last() {
            Some(fd) => fd,
            None => match self.used.last_key_value() {
                Some((&last, _)) => match last.checked_add(1) {
                    Some(fd) => fd,
                    None => (0..u32::MAX)
                        .rev()
                        .find(|fd| !self.used.contains_key(fd))
                        .ok_or(Errno::Nomem)?,
                },
                None => 0,
            },
        };
        self.used.insert(fd, desc);
        Ok(fd)
    }

    /// The descriptor `fd`, or `EBADF`.
    pub(crate) fn get(&self, fd: u32) -> P1Result<&Desc> {
        Ok(self.used.get(&fd).ok_or(Errno::Badf)?)
    }

    /// The descriptor `fd`, mutably, or `EBADF`.
    pub(crate) fn get_mut(&mut self, fd: u32) -> P1Result<&mut Desc> {
        Ok(self.used.get_mut(&fd).ok_or(Errno::Badf)?)
    }

    /// Whether `fd` is open.
    pub(crate) fn contains(&self, fd: u32) -> bool {
        self.used.contains_key(&fd)
    }

    /// Closes `fd`, returning what it was.
    pub(crate) fn remove(&mut self, fd: u32) -> P1Result<Desc> {
        let desc = self.used.remove(&fd).ok_or(Errno::Badf)?;
        self.free.insert(fd);
        Ok(desc)
    }

    /// Moves `from` onto `to` (which must be open and is closed first).
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> P1Result<()> {
        if !self.contains(from) || !self.contains(to) {
            return Err(Errno::Badf.into());
        }
        if from == to {
            return Ok(());
        }
        self.remove(to)?;
        let desc = self.remove(from)?;
        self.free.remove(&to);
        self.used.insert(to, desc);
        Ok(())
    }

    /// The open file `fd`, or `EBADF` (also for directories and stdio).
    pub(crate) fn file(&self, fd: u32) -> P1Result<&FileDesc> {
        match self.get(fd)? {
            Desc::File(f) => Ok(f),
            _ => Err(Errno::Badf.into()),
        }
    }

    /// The open file `fd`, mutably, or `EBADF`.
    pub(crate) fn file_mut(&mut self, fd: u32) -> P1Result<&mut FileDesc> {
        match self.get_mut(fd)? {
            Desc::File(f) => Ok(f),
            _ => Err(Errno::Badf.into()),
        }
    }

    /// The directory `fd`, or `EBADF` (also for files and stdio).
    pub(crate) fn dir(&self, fd: u32) -> P1Result<&Dir> {
        match self.get(fd)? {
            Desc::Dir { dir, .. } => Ok(dir),
            _ => Err(Errno::Badf.into()),
        }
    }

    /// A seekable file: `ESPIPE` for stdio, `EBADF` for directories.
    pub(crate) fn seekable(&mut self, fd: u32) -> P1Result<&mut FileDesc> {
        match self.get_mut(fd)? {
            Desc::File(f) => Ok(f),
            Desc::Stdin | Desc::Stdout | Desc::Stderr => Err(Errno::Spipe.into()),
            Desc::Dir { .. } => Err(Errno::Badf.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_reused_highest_first_and_renumber_moves() {
        let mut t = Descriptors::new(&[]);
        assert_eq!(t.push(Desc::Stdin).unwrap(), 3);
        assert_eq!(t.push(Desc::Stdin).unwrap(), 4);
        assert_eq!(t.push(Desc::Stdin).unwrap(), 5);
        t.remove(3).unwrap();
        t.remove(4).unwrap();
        assert_eq!(t.push(Desc::Stdout).unwrap(), 4);
        assert!(t.remove(3).is_err());
        t.renumber(4, 5).unwrap();
        assert!(!t.contains(4));
        assert!(matches!(t.get(5).unwrap(), Desc::Stdout));
        assert!(t.renumber(4, 5).is_err());
        assert!(t.renumber(5, 9).is_err());
        assert!(t.seekable(0).is_err());
    }
}
