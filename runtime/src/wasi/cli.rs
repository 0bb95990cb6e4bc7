//! WASI state, command line: arguments, environment, and the three stdio streams,
//! either inherited from the host process or in-memory pipes an embedder can fill
//! ([`InputPipe`]) and read back ([`OutputPipe`]).

use std::io::{self, IsTerminal, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// An in-memory sink for a guest's stdout or stderr. Clones share one buffer, so keep a
/// clone and read what the guest wrote with [`OutputPipe::contents`].
#[derive(Debug, Clone, Default)]
pub struct OutputPipe {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl OutputPipe {
    /// An empty pipe.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        lock(&self.buf).clone()
    }

    fn write(&self, bytes: &[u8]) {
        lock(&self.buf).extend_from_slice(bytes);
    }
}

/// An in-memory source for a guest's stdin: the guest reads these bytes, then end of file.
/// Clones share one read position.
#[derive(Debug, Clone, Default)]
pub struct InputPipe {
    inner: Arc<Mutex<io::Cursor<Vec<u8>>>>,
}

impl InputPipe {
    /// A pipe that yields `bytes` and then end of file.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        InputPipe {
            inner: Arc::new(Mutex::new(io::Cursor::new(bytes.into()))),
        }
    }

    fn read(&self, buf: &mut [u8]) -> usize {
        // Reading from a cursor over a Vec cannot fail.
        lock(&self.inner).read(buf).unwrap_or(0)
    }
}

/// Locks a mutex, ignoring poisoning: the WASI state behind these mutexes (byte buffers,
/// socket and body state) stays consistent even if a holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a guest's stdin comes from.
#[derive(Debug, Clone, Default)]
pub enum StdinStream {
    /// Immediately at end of file.
    #[default]
    Empty,
    /// An in-memory pipe.
    Pipe(InputPipe),
    /// The host process's stdin.
    Inherit,
}

impl StdinStream {
    /// Reads up to `buf.len()` bytes; 0 means end of file. Blocks for inherited stdin.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            StdinStream::Empty => Ok(0),
            StdinStream::Pipe(p) => Ok(p.read(buf)),
            StdinStream::Inherit => {
                // Unbuffered, so that readiness polling sees exactly what is left.
                let stdin = io::stdin();
                loop {
                    match rustix::io::read(&stdin, &mut *buf) {
                        Ok(n) => return Ok(n),
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }

    /// Whether the stream is a terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(self, StdinStream::Inherit) && io::stdin().is_terminal()
    }

    /// Waits until a read would not block, at most `timeout` (forever if `None`).
    /// Returns whether it is ready.
    pub fn wait_readable(&self, timeout: Option<Duration>) -> bool {
        match self {
            StdinStream::Empty | StdinStream::Pipe(_) => true,
            StdinStream::Inherit => {
                use rustix::event::{poll, PollFd, PollFlags};
                let stdin = io::stdin();
                let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
                let ts = timeout.map(|d| rustix::time::Timespec {
                    tv_sec: d.as_secs().try_into().unwrap_or(i64::MAX),
                    tv_nsec: d.subsec_nanos().into(),
                });
                // An error (e.g. stdin closed) counts as ready: the read will report it.
                !matches!(poll(&mut fds, ts.as_ref()), Ok(0))
            }
        }
    }
}

/// Where a guest's stdout or stderr goes.
#[derive(Debug, Clone, Default)]
pub enum OutputStream {
    /// Dropped.
    #[default]
    Discard,
    /// An in-memory pipe.
    Pipe(OutputPipe),
    /// The host process's stdout.
    InheritStdout,
    /// The host process's stderr.
    InheritStderr,
}

impl OutputStream {
    /// Writes all of `bytes` (and flushes the host stream, so stdout and stderr keep
    /// their relative order).
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            OutputStream::Discard => Ok(()),
            OutputStream::Pipe(p) => {
                p.write(bytes);
                Ok(())
            }
            OutputStream::InheritStdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            OutputStream::InheritStderr => {
                let mut err = io::stderr().lock();
                err.write_all(bytes)?;
                err.flush()
            }
        }
    }

    /// Whether the stream is a terminal.
    pub fn is_terminal(&self) -> bool {
        match self {
            OutputStream::InheritStdout => io::stdout().is_terminal(),
            OutputStream::InheritStderr => io::stderr().is_terminal(),
            _ => false,
        }
    }
}

/// The command-line part of a WASI context.
#[derive(Debug, Clone, Default)]
pub struct CliCtx {
    /// `argv`, with the program name first.
    pub args: Vec<String>,
    /// The environment, in insertion order.
    pub env: Vec<(String, String)>,
    /// Standard input.
    pub stdin: StdinStream,
    /// Standard output.
    pub stdout: OutputStream,
    /// Standard error.
    pub stderr: OutputStream,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_pipe_clones_share_a_buffer() {
        let a = OutputPipe::new();
        let b = a.clone();
        OutputStream::Pipe(b).write_all(b"hi ").unwrap();
        OutputStream::Pipe(a.clone()).write_all(b"there").unwrap();
        assert_eq!(a.contents(), b"hi there");
    }

    #[test]
    fn input_pipe_reads_then_eof() {
        let s = StdinStream::Pipe(InputPipe::new("abc"));
        let mut buf = [0u8; 2];
        assert_eq!(s.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"ab");
        assert_eq!(s.read(&mut buf).unwrap(), 1);
        assert_eq!(s.read(&mut buf).unwrap(), 0);
        assert!(s.wait_readable(Some(Duration::ZERO)));
        assert!(!s.is_terminal());
    }
}
