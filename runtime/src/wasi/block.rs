//! Driving host futures to completion from synchronous host functions.
//!
//! Guests call host functions on the thread that runs the store; the host side of a
//! pollable, a socket or an HTTP request is a tokio future. [`block_on`] waits for one:
//! inside a multi-threaded tokio runtime (e.g. `wasmgate serve`, which runs guests with
//! `spawn_blocking`) it blocks in place on that runtime; elsewhere it uses one process-wide
//! runtime, so that sockets made in one call are driven by the same reactor in the next.

use std::future::Future;
use std::sync::OnceLock;

/// The process-wide runtime used outside of any tokio context.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wasmgate-io")
            .enable_all()
            .build()
            .expect("cannot start the I/O runtime")
    })
}

/// Runs `f` to completion, blocking this thread.
pub fn block_on<F: Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| h.block_on(f))
        }
        // A current-thread runtime cannot block in place: run on our own runtime from a
        // scoped thread, so the caller's runtime is not re-entered.
        Ok(_) => std::thread::scope(|s| {
            s.spawn(|| runtime().block_on(f))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
        Err(_) => runtime().block_on(f),
    }
}

/// Enters the process-wide runtime (for creating tokio I/O objects outside of a future).
pub fn enter() -> tokio::runtime::EnterGuard<'static> {
    runtime().enter()
}
