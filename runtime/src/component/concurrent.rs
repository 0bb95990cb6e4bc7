//! The component-model async ABI (`Async.md`): async-lifted exports driven by their callback
//! loop, async-lowered imports as subtasks, waitable sets and their events, and the
//! `stream`/`future` channels a guest shares with the host.
//!
//! The store runs on one thread, so scheduling is simple: the guest runs until its core
//! function returns (the callback ABI never suspends a wasm stack), and whenever it waits,
//! the waiting thread polls what the waitables depend on (host futures of subtasks, host
//! stream sources, host futures' values) with a waker that unparks it. Host futures are
//! tokio futures, polled inside the I/O runtime's context (`wasi::block`) so timers and
//! sockets work. A channel is shared (`Arc<Chan>`) between its two ends: an end is in a
//! guest's handle table, held by the host ([`HostSource`] / [`HostSink`] / a future value),
//! or dropped. Copies between two guest ends are not supported yet.

use super::abi::{self, AbiCx};
use super::func::{Lifted, RtOpts, StoreCx};
use super::state::InstanceState;
use super::types::Type;
use super::values::Val;
use crate::error::{Error, Result, TrapCode};
use crate::store::Store;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// `BLOCKED`: a copy or cancellation did not finish synchronously.
pub(crate) const BLOCKED: u32 = 0xffff_ffff;
/// The largest number of flat parameters of an async-lowered call.
pub(crate) const MAX_FLAT_ASYNC_PARAMS: usize = 4;

/// Event codes.
pub(crate) mod event {
    pub const NONE: u32 = 0;
    pub const SUBTASK: u32 = 1;
    pub const STREAM_READ: u32 = 2;
    pub const STREAM_WRITE: u32 = 3;
    pub const FUTURE_READ: u32 = 4;
    pub const FUTURE_WRITE: u32 = 5;
    pub const TASK_CANCELLED: u32 = 6;
}

/// Copy results (the low 4 bits of a copy's packed result).
mod copy {
    pub const COMPLETED: u32 = 0;
    pub const DROPPED: u32 = 1;
    pub const CANCELLED: u32 = 2;
}

/// Subtask states.
pub(crate) mod subtask {
    pub const STARTING: u32 = 0;
    pub const STARTED: u32 = 1;
    pub const RETURNED: u32 = 2;
    pub const CANCELLED_BEFORE_STARTED: u32 = 3;
    pub const CANCELLED_BEFORE_RETURNED: u32 = 4;

    /// Whether a subtask in `state` has resolved (returned or been cancelled).
    pub fn resolved(state: u32) -> bool {
        state >= RETURNED
    }
}

/// A host future of a call's results.
pub(crate) type HostFut = Pin<Box<dyn Future<Output = Result<Vec<Val>>> + Send>>;
/// Lowers a subtask's results into its caller.
pub(crate) type Deliver = Box<dyn FnOnce(&mut dyn AbiCx, Vec<Val>) -> Result<()> + Send>;

/// A host function's answer to an async call: its results now, or a future of them.
pub enum HostCall {
    /// Done: the results.
    Ready(Vec<Val>),
    /// Still running; the future gives the results.
    Pending(Pin<Box<dyn Future<Output = Result<Vec<Val>>> + Send>>),
}

/// The host's writable end of a stream the guest reads: produces elements.
pub trait HostSource: Send {
    /// Up to `max` elements (at least one), `None` at the end of the stream, or `Pending`
    /// (the waker is woken when more may be available).
    fn poll_read(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Val>>>;
}

/// The host's readable end of a stream the guest writes: consumes elements.
pub trait HostSink: Send {
    /// Takes elements the guest wrote; an error ends the stream (the guest sees `dropped`).
    fn write(&mut self, vals: Vec<Val>) -> Result<()>;
    /// The guest dropped its writable end.
    fn close(&mut self) {}
}

/// What reads a future the guest writes: the value, or `None` if the guest dropped its end
/// without writing.
pub type HostFutureReader = Box<dyn FnOnce(Option<Val>) + Send>;

/// A [`HostFutureReader`] that also gets the store's data (`T`, as `dyn Any`) when the
/// guest writes the value, to take what it refers to out of the host's tables (a resource
/// handle is only a number without them); `None` for a value never written.
pub type HostFutureDataReader = Box<dyn FnOnce(Option<&mut dyn Any>, Option<Val>) + Send>;

enum Reader {
    /// In a guest's handle table (or not handed out yet).
    Guest,
    Sink(Box<dyn HostSink>),
    Future(HostFutureDataReader),
    Dropped,
}

enum Writer {
    Guest,
    Source(Box<dyn HostSource>),
    /// The host writes the future's value through a [`FutureWriter`].
    HostFuture,
    Dropped,
}

/// Makes a future's value on the store thread, when the guest reads it, from the store's
/// data (`T` as `dyn Any`): to put what the value refers to into the host's tables first
/// (a resource handle is only a number without them).
pub type ValueMaker = Box<dyn FnOnce(&mut dyn Any) -> Result<Val> + Send>;

enum FutureValue {
    Val(Val),
    Make(ValueMaker),
}

struct ChanState {
    reader: Reader,
    writer: Writer,
    /// A future's value, written by the host and not read yet.
    value: Option<FutureValue>,
    /// Woken when a host writer makes progress.
    waker: Option<Waker>,
    /// A guest's copy waiting for the other guest end to rendezvous.
    pending: Option<GuestBuf>,
    /// The copy result the other side left for each end (`[writable, readable]`): the
    /// result code and, unless the end's buffer is still `pending`, the elements copied.
    ev: [Option<(u32, u32)>; 2],
}

/// The buffer of a guest copy waiting in a channel between two guest ends.
struct GuestBuf {
    inst: Arc<InstanceState>,
    opts: RtOpts,
    ptr: u32,
    n: u32,
    /// Elements copied into or out of it so far.
    progress: u32,
    /// A `read` (else a `write`).
    reading: bool,
}

/// A stream or future: what both ends share.
pub(crate) struct Chan {
    elem: Option<Type>,
    state: Mutex<ChanState>,
}

impl Chan {
    fn new(elem: Option<Type>, reader: Reader, writer: Writer) -> Arc<Chan> {
        Arc::new(Chan {
            elem,
            state: Mutex::new(ChanState {
                reader,
                writer,
                value: None,
                waker: None,
                pending: None,
                ev: [None, None],
            }),
        })
    }
    fn lock(&self) -> MutexGuard<'_, ChanState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A `stream<T>` passed between the guest and the host (its readable end).
#[derive(Clone)]
pub struct StreamAny(pub(crate) Arc<Chan>);

/// A `future<T>` passed between the guest and the host (its readable end).
#[derive(Clone)]
pub struct FutureAny(pub(crate) Arc<Chan>);

/// An `error-context` passed between the guest and the host.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorContextAny(pub(crate) String);

macro_rules! handle_impls {
    ($t:ident) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:p})", stringify!($t), Arc::as_ptr(&self.0))
            }
        }
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0)
            }
        }
    };
}
handle_impls!(StreamAny);
handle_impls!(FutureAny);

impl StreamAny {
    /// A stream of `elem`s the host writes from `source`; give it to the guest.
    pub fn from_source(elem: Type, source: impl HostSource + 'static) -> StreamAny {
        StreamAny(Chan::new(
            Some(elem),
            Reader::Guest,
            Writer::Source(Box::new(source)),
        ))
    }

    /// Takes a stream the guest gave: from now on, what the guest writes goes to `sink`.
    pub fn into_sink(self, sink: impl HostSink + 'static) {
        let mut st = self.0.lock();
        if matches!(st.writer, Writer::Dropped) {
            let mut sink = sink;
            sink.close();
            st.reader = Reader::Dropped;
        } else {
            st.reader = Reader::Sink(Box::new(sink));
        }
    }
}

/// The host's writable end of a future given to the guest.
pub struct FutureWriter(Arc<Chan>);

impl FutureWriter {
    /// Resolves the future.
    pub fn write(self, v: Val) {
        self.resolve(FutureValue::Val(v));
    }

    /// Resolves the future to what `make` returns when the guest reads it.
    pub fn write_with(self, make: ValueMaker) {
        self.resolve(FutureValue::Make(make));
    }

    fn resolve(self, v: FutureValue) {
        let mut st = self.0.lock();
        st.value = Some(v);
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }
}

impl Drop for FutureWriter {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        if st.value.is_none() {
            st.writer = Writer::Dropped;
        }
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }
}

impl FutureAny {
    /// A future of `elem` the host resolves through the [`FutureWriter`].
    pub fn new_host(elem: Option<Type>) -> (FutureAny, FutureWriter) {
        let chan = Chan::new(elem, Reader::Guest, Writer::HostFuture);
        (FutureAny(chan.clone()), FutureWriter(chan))
    }

    /// A future already resolved to `v`.
    pub fn ready(elem: Option<Type>, v: Val) -> FutureAny {
        let (f, w) = FutureAny::new_host(elem);
        w.write(v);
        f
    }

    /// Takes a future the guest gave: `reader` gets its value.
    pub fn into_reader(self, reader: HostFutureReader) {
        self.into_data_reader(Box::new(move |_, v| reader(v)));
    }

    /// Takes a future the guest gave: `reader` gets its value and the store's data.
    pub fn into_data_reader(self, reader: HostFutureDataReader) {
        let mut st = self.0.lock();
        if matches!(st.writer, Writer::Dropped) {
            reader(None, None);
            st.reader = Reader::Dropped;
        } else {
            st.reader = Reader::Future(reader);
        }
    }
}

/// A copy waiting for the other end.
struct PendingOp {
    ptr: u32,
    n: u32,
    opts: RtOpts,
    /// Elements copied so far.
    done: u32,
}

struct Subtask {
    fut: Option<HostFut>,
    /// A call into a guest's async export: its shared state.
    guest: Option<Arc<Mutex<CallState>>>,
    /// Lowers the results into the caller once they are in.
    deliver: Option<Deliver>,
    opts: RtOpts,
    state: u32,
    /// Whether the current state was delivered as an event.
    delivered: bool,
}

enum Waitable {
    Set,
    Subtask(Subtask),
    End {
        chan: Arc<Chan>,
        future: bool,
        readable: bool,
        op: Option<PendingOp>,
        /// The other end was seen dropped.
        done: bool,
    },
    ErrorContext(String),
}

struct Entry {
    w: Waitable,
    /// The waitable set it joined.
    set: u32,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").finish_non_exhaustive()
    }
}

/// One instance's table of async handles (waitables, sets, error contexts).
#[derive(Default)]
pub(crate) struct Table {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
}

/// Runs when an async-lifted export calls `task.return`, with the store's data (as `Any`)
/// and the results, while the task may keep running.
pub(crate) type ReturnHook = Box<dyn FnOnce(&mut dyn std::any::Any, &[Val]) -> Result<()> + Send>;

/// A [`ReturnHook`] slot.
#[derive(Default)]
pub(crate) struct OnReturn(pub Option<ReturnHook>);

impl std::fmt::Debug for OnReturn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "OnReturn(hook)"
        } else {
            "OnReturn"
        })
    }
}

/// One async-lifted call in progress in an instance.
#[derive(Default, Debug)]
pub(crate) struct TaskCx {
    pub results: Option<Vec<Val>>,
    pub context: [u64; 2],
    /// Called at `task.return`.
    pub on_return: OnReturn,
    /// For a call from another guest (async-lowered): the state its caller sees.
    pub call: Option<Arc<Mutex<CallState>>>,
    /// `task.cancel` was called.
    pub cancelled: bool,
}

/// A call from one guest into another's async export, as both sides see it: the subtask
/// state, the results once `task.return` gave them, and cancellation.
#[derive(Default, Debug)]
pub(crate) struct CallState {
    pub state: u32,
    pub results: Option<Vec<Val>>,
    /// The caller called `subtask.cancel`.
    pub cancel_requested: bool,
    /// The callee was told (`TASK_CANCELLED`).
    pub cancel_delivered: bool,
}

/// Locks a call's shared state.
pub(crate) fn lock_call(c: &Mutex<CallState>) -> MutexGuard<'_, CallState> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

/// An async-lifted (callback) task that is not on the stack: suspended in its callback
/// loop, or not started yet because of backpressure.
pub(crate) struct GuestTask {
    lifted: Arc<Lifted>,
    /// The arguments of a call that has not started.
    start: Option<Vec<Val>>,
    cx: TaskCx,
    /// The borrow scope (`InstanceState::begin_task`).
    borrow: u64,
    /// The callback code it suspended with (`YIELD`, or `WAIT` and its set).
    packed: u32,
    call: Arc<Mutex<CallState>>,
}

/// The async tasks of a store that are not on the stack (kept in the root instance).
#[derive(Default)]
pub(crate) struct Sched {
    tasks: Vec<GuestTask>,
}

impl std::fmt::Debug for Sched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sched({} tasks)", self.tasks.len())
    }
}

fn bad_handle(idx: u32) -> Error {
    Error::msg(format!("unknown async handle index {idx}"))
}

impl Table {
    fn add(&mut self, w: Waitable) -> u32 {
        let e = Entry { w, set: 0 };
        if let Some(i) = self.free.pop() {
            self.entries[i as usize] = Some(e);
            return i;
        }
        if self.entries.is_empty() {
            self.entries.push(None);
        }
        self.entries.push(Some(e));
        (self.entries.len() - 1) as u32
    }
    fn get(&mut self, idx: u32) -> Result<&mut Entry> {
        self.entries
            .get_mut(idx as usize)
            .and_then(|e| e.as_mut())
            .ok_or_else(|| bad_handle(idx))
    }
    fn remove(&mut self, idx: u32) -> Result<Entry> {
        let e = self
            .entries
            .get_mut(idx as usize)
            .and_then(|e| e.take())
            .ok_or_else(|| bad_handle(idx))?;
        self.free.push(idx);
        Ok(e)
    }
    fn members(&self, set: u32) -> Vec<u32> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.as_ref().is_some_and(|e| e.set == set))
            .map(|(i, _)| i as u32)
            .collect()
    }
}

/// A waker that unparks the waiting thread.
struct ThreadWaker {
    thread: std::thread::Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn thread_waker() -> (Arc<ThreadWaker>, Waker) {
    let w = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        woken: AtomicBool::new(false),
    });
    (w.clone(), Waker::from(w))
}

fn park(w: &ThreadWaker) {
    while !w.woken.swap(false, Ordering::SeqCst) {
        std::thread::park_timeout(std::time::Duration::from_millis(50));
    }
}

fn elem_type(chan: &Chan) -> Result<&Type> {
    chan.elem
        .as_ref()
        .ok_or_else(|| Error::msg("copying values of a stream or future without a type"))
}

/// Stores `vals` as consecutive elements at `ptr`.
fn store_elems(cx: &mut dyn AbiCx, ty: &Type, ptr: u32, vals: &[Val]) -> Result<()> {
    let size = ty.size();
    for (i, v) in vals.iter().enumerate() {
        abi::lower::store(cx, ty, v, ptr + i as u32 * size)?;
    }
    Ok(())
}

fn load_elems(cx: &mut dyn AbiCx, ty: &Type, ptr: u32, n: u32) -> Result<Vec<Val>> {
    let size = ty.size();
    abi::check_range(
        cx,
        ptr as u64,
        n as u64 * size as u64,
        TrapCode::MemoryOutOfBounds,
    )?;
    (0..n)
        .map(|i| abi::lift::load(cx, ty, ptr + i * size))
        .collect()
}

/// Tries to make progress on waitable `idx`; its event when it has one.
fn try_event<T: 'static>(
    store: &mut Store<T>,
    inst: &Arc<InstanceState>,
    idx: u32,
    cx: &mut Context<'_>,
    host_pending: &mut bool,
) -> Result<Option<(u32, u32, u32)>> {
    let mut table = inst.conc();
    let entry = table.get(idx)?;
    match &mut entry.w {
        Waitable::Subtask(st) => {
            if let Some(call) = st.guest.clone() {
                let (state, results) = {
                    let mut c = lock_call(&call);
                    if c.state == st.state {
                        return Ok(None);
                    }
                    let results = if subtask::resolved(c.state) {
                        c.results.take()
                    } else {
                        None
                    };
                    (c.state, results)
                };
                st.state = state;
                st.delivered = true;
                let deliver = if results.is_some() {
                    st.deliver.take()
                } else {
                    None
                };
                let opts = st.opts.clone();
                drop(table);
                if let (Some(d), Some(vals)) = (deliver, results) {
                    let mut scx = StoreCx::new(store, &opts, inst, None);
                    d(&mut scx, vals)?;
                }
                return Ok(Some((event::SUBTASK, idx, state)));
            }
            if let Some(fut) = st.fut.as_mut() {
                let _enter = crate::wasi::block::enter();
                match fut.as_mut().poll(cx) {
                    Poll::Pending => {
                        *host_pending = true;
                        return Ok(None);
                    }
                    Poll::Ready(r) => {
                        st.fut = None;
                        let vals = r?;
                        let deliver = st.deliver.take();
                        let opts = st.opts.clone();
                        st.state = subtask::RETURNED;
                        st.delivered = true;
                        drop(table);
                        if let Some(d) = deliver {
                            let mut scx = StoreCx::new(store, &opts, inst, None);
                            d(&mut scx, vals)?;
                        }
                        return Ok(Some((event::SUBTASK, idx, subtask::RETURNED)));
                    }
                }
            }
            if !st.delivered {
                st.delivered = true;
                return Ok(Some((event::SUBTASK, idx, st.state)));
            }
            Ok(None)
        }
        Waitable::End {
            chan,
            future,
            readable,
            op,
            done,
        } => {
            if op.is_none() {
                return Ok(None);
            }
            let (chan, future, readable) = (chan.clone(), *future, *readable);
            let code = match (future, readable) {
                (false, true) => event::STREAM_READ,
                (false, false) => event::STREAM_WRITE,
                (true, true) => event::FUTURE_READ,
                (true, false) => event::FUTURE_WRITE,
            };
            {
                // A copy between two guest ends: the other side leaves the result.
                let mut st = chan.lock();
                if let Some((result, mut progress)) = st.ev[readable as usize].take() {
                    if st.pending.as_ref().is_some_and(|p| p.reading == readable) {
                        progress = st.pending.take().map_or(0, |p| p.progress);
                    }
                    drop(st);
                    *op = None;
                    if result == copy::DROPPED {
                        *done = true;
                    }
                    let packed = if future {
                        result
                    } else {
                        result | (progress << 4)
                    };
                    return Ok(Some((code, idx, packed)));
                }
                if st.pending.as_ref().is_some_and(|p| p.reading == readable) {
                    let guest_other = if readable {
                        matches!(st.writer, Writer::Guest)
                    } else {
                        matches!(st.reader, Reader::Guest)
                    };
                    if guest_other {
                        return Ok(None);
                    }
                    // The host took the other end since: its path below takes over.
                    st.pending = None;
                }
            }
            let pending = op.as_ref().expect("checked");
            let (ptr, n, opts, already) =
                (pending.ptr, pending.n, pending.opts.clone(), pending.done);
            let progress = {
                let mut st = chan.lock();
                if readable {
                    poll_host_writer(&chan, &mut st, future, n, cx)
                } else {
                    match st.reader {
                        Reader::Dropped => Progress::Dropped,
                        Reader::Sink(_) | Reader::Future(_) => Progress::HostReader,
                        Reader::Guest => Progress::Guest,
                    }
                }
            };
            let progress = match progress {
                Progress::Make(make) => Progress::Values(vec![make(store.data_mut())?]),
                p => p,
            };
            let result = match progress {
                Progress::Pending => {
                    *host_pending = true;
                    return Ok(None);
                }
                Progress::Guest => return Ok(None),
                Progress::Make(_) => unreachable!("made into values above"),
                Progress::HostReader => {
                    // The guest's write blocked before the host took the readable end.
                    *op = None;
                    drop(table);
                    let vals = if chan.elem.is_some() {
                        let mut scx = StoreCx::new(store, &opts, inst, None);
                        load_elems(&mut scx, elem_type(&chan)?, ptr, n)?
                    } else {
                        (0..n).map(|_| Val::Tuple(Vec::new())).collect()
                    };
                    let result = to_host_reader(&chan, store.data_mut(), vals, n);
                    if result & 0xf == copy::DROPPED {
                        if let Waitable::End { done, .. } = &mut inst.conc().get(idx)?.w {
                            *done = true;
                        }
                    }
                    let packed = if future {
                        result
                    } else {
                        (result & 0xf) | ((already + (result >> 4)) << 4)
                    };
                    return Ok(Some((code, idx, packed)));
                }
                Progress::Dropped => {
                    *done = true;
                    copy::DROPPED
                }
                Progress::Values(vals) => {
                    *op = None;
                    drop(table);
                    let count = vals.len() as u32;
                    let mut scx = StoreCx::new(store, &opts, inst, None);
                    store_elems(&mut scx, elem_type(&chan)?, ptr, &vals)?;
                    let packed = if future {
                        copy::COMPLETED
                    } else {
                        copy::COMPLETED | ((already + count) << 4)
                    };
                    return Ok(Some((code, idx, packed)));
                }
            };
            *op = None;
            let packed = if future {
                result
            } else {
                result | (already << 4)
            };
            Ok(Some((code, idx, packed)))
        }
        Waitable::Set | Waitable::ErrorContext(_) => Ok(None),
    }
}

enum Progress {
    Pending,
    /// Waiting for the guest end (copies between guest ends are not supported yet).
    Guest,
    /// A guest write can go to the host reader that took the other end since.
    HostReader,
    Dropped,
    Values(Vec<Val>),
    /// A future's value, to make with the store's data.
    Make(ValueMaker),
}

/// Gives `n` elements the guest wrote to the channel's host reader; the copy's result.
fn to_host_reader(chan: &Chan, data: &mut dyn Any, vals: Vec<Val>, n: u32) -> u32 {
    let mut st = chan.lock();
    match std::mem::replace(&mut st.reader, Reader::Dropped) {
        Reader::Sink(mut sink) => match sink.write(vals) {
            Ok(()) => {
                st.reader = Reader::Sink(sink);
                copy::COMPLETED | (n << 4)
            }
            Err(_) => {
                sink.close();
                copy::DROPPED
            }
        },
        Reader::Future(r) => {
            st.writer = Writer::Dropped;
            r(Some(data), vals.into_iter().next());
            copy::COMPLETED
        }
        other => {
            st.reader = other;
            copy::DROPPED
        }
    }
}

/// Polls the host writer of a channel the guest reads.
fn poll_host_writer(
    _chan: &Chan,
    st: &mut ChanState,
    future: bool,
    n: u32,
    cx: &mut Context<'_>,
) -> Progress {
    if future {
        if let Some(v) = st.value.take() {
            st.writer = Writer::Dropped;
            return match v {
                FutureValue::Val(v) => Progress::Values(vec![v]),
                FutureValue::Make(f) => Progress::Make(f),
            };
        }
        return match st.writer {
            Writer::Dropped => Progress::Dropped,
            Writer::Guest => Progress::Guest,
            _ => {
                st.waker = Some(cx.waker().clone());
                Progress::Pending
            }
        };
    }
    match &mut st.writer {
        Writer::Source(src) => {
            if n == 0 {
                return Progress::Values(Vec::new());
            }
            let _enter = crate::wasi::block::enter();
            match src.poll_read(cx, n as usize) {
                Poll::Pending => Progress::Pending,
                Poll::Ready(None) => {
                    st.writer = Writer::Dropped;
                    Progress::Dropped
                }
                Poll::Ready(Some(mut vals)) => {
                    vals.truncate(n as usize);
                    Progress::Values(vals)
                }
            }
        }
        Writer::Dropped => Progress::Dropped,
        Writer::HostFuture => Progress::Pending,
        Writer::Guest => Progress::Guest,
    }
}

/// Polls the members of waitable set `set` once: the first event.
fn poll_set<T: 'static>(
    store: &mut Store<T>,
    inst: &Arc<InstanceState>,
    set: u32,
    cx: &mut Context<'_>,
    host_pending: &mut bool,
) -> Result<Option<(u32, u32, u32)>> {
    let members = inst.conc().members(set);
    for m in members {
        if let Some(ev) = try_event(store, inst, m, cx, host_pending)? {
            return Ok(Some(ev));
        }
    }
    Ok(None)
}

/// Waits for an event of waitable set `set` (blocking unless `poll`); meanwhile the other
/// tasks run.
pub(crate) fn wait<T: 'static>(
    store: &mut Store<T>,
    inst: &Arc<InstanceState>,
    set: u32,
    poll: bool,
) -> Result<(u32, u32, u32)> {
    {
        let mut t = inst.conc();
        if !matches!(t.get(set)?.w, Waitable::Set) {
            return Err(Error::msg(format!("handle {set} is not a waitable set")));
        }
    }
    let (tw, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        let mut host_pending = false;
        if let Some(ev) = poll_set(store, inst, set, &mut cx, &mut host_pending)? {
            return Ok(ev);
        }
        if poll {
            return Ok((event::NONE, 0, 0));
        }
        if run_others(store, inst, &mut cx, &mut host_pending)? {
            continue;
        }
        if !host_pending {
            return Err(Error::msg(
                "deadlock: the guest waits for events nothing can deliver",
            ));
        }
        park(&tw);
    }
}

/// Waits until the copy or subtask `idx` has an event (for synchronous built-ins).
fn wait_one<T: 'static>(
    store: &mut Store<T>,
    inst: &Arc<InstanceState>,
    idx: u32,
) -> Result<(u32, u32, u32)> {
    let (tw, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        let mut host_pending = false;
        if let Some(ev) = try_event(store, inst, idx, &mut cx, &mut host_pending)? {
            return Ok(ev);
        }
        if run_others(store, inst, &mut cx, &mut host_pending)? {
            continue;
        }
        if !host_pending {
            return Err(Error::msg(
                "deadlock: waiting for a copy nothing can complete",
            ));
        }
        park(&tw);
    }
}

/// Runs each task off the stack that can make progress once (a callback with its event,
/// a call that may start now); whether any ran.
pub(crate) fn run_others<T: 'static>(
    store: &mut Store<T>,
    inst: &InstanceState,
    cx: &mut Context<'_>,
    host_pending: &mut bool,
) -> Result<bool> {
    let n = inst.sched().tasks.len();
    let mut progressed = false;
    for _ in 0..n {
        let task = {
            let mut s = inst.sched();
            if s.tasks.is_empty() {
                break;
            }
            s.tasks.remove(0)
        };
        let (ran, rest) = step(store, task, cx, host_pending)?;
        progressed |= ran;
        if let Some(t) = rest {
            inst.sched().tasks.push(t);
        }
    }
    Ok(progressed)
}

/// Runs `f` as task `task` of its instance (its context current, the instance entered).
fn run_in_task<T: 'static>(
    store: &mut Store<T>,
    task: &mut GuestTask,
    f: impl FnOnce(&mut Store<T>) -> Result<Vec<u64>>,
) -> Result<u32> {
    let inst = task.lifted.instance.clone();
    inst.set_entered(true);
    inst.tasks().push(std::mem::take(&mut task.cx));
    let r = f(store);
    task.cx = inst.tasks().pop().unwrap_or_default();
    inst.set_entered(false);
    Ok(r?.first().copied().unwrap_or(0) as u32)
}

/// Makes one step of a task off the stack: whether it ran, and the task unless it exited.
fn step<T: 'static>(
    store: &mut Store<T>,
    mut task: GuestTask,
    cx: &mut Context<'_>,
    host_pending: &mut bool,
) -> Result<(bool, Option<GuestTask>)> {
    let inst = task.lifted.instance.clone();
    if inst.busy() {
        return Ok((false, Some(task)));
    }
    if let Some(args) = task.start.take() {
        if *inst.backpressure() > 0 {
            task.start = Some(args);
            return Ok((false, Some(task)));
        }
        let packed = start_task(store, &mut task, args)?;
        return Ok((true, finish_step(task, packed)?));
    }
    let cancel = {
        let mut c = lock_call(&task.call);
        let now = c.cancel_requested && !c.cancel_delivered;
        c.cancel_delivered |= now;
        now
    };
    let ev = if cancel {
        (event::TASK_CANCELLED, 0, 0)
    } else if task.packed & 0xf == 1 {
        (event::NONE, 0, 0)
    } else {
        match poll_set(store, &inst, task.packed >> 4, cx, host_pending)? {
            Some(ev) => ev,
            None => return Ok((false, Some(task))),
        }
    };
    let callback = task
        .lifted
        .opts
        .callback
        .ok_or_else(|| Error::msg("a suspended task without a callback"))?;
    let packed = run_in_task(store, &mut task, |s| {
        super::call_core(s, callback, &[ev.0 as u64, ev.1 as u64, ev.2 as u64])
    })?;
    Ok((true, finish_step(task, packed)?))
}

/// Starts a call of `task` with `args`: its callback code.
fn start_task<T: 'static>(
    store: &mut Store<T>,
    task: &mut GuestTask,
    args: Vec<Val>,
) -> Result<u32> {
    let lifted = task.lifted.clone();
    let inst = &lifted.instance;
    lock_call(&task.call).state = subtask::STARTED;
    task.borrow = inst.begin_task();
    let ty = &lifted.ty;
    let flat = {
        let mut cx = StoreCx::new(store, &lifted.opts, inst, Some(task.borrow));
        abi::lower_values(
            &mut cx,
            ty.param_types(),
            ty.params_tuple(),
            ty.flat_params().len(),
            abi::MAX_FLAT_PARAMS,
            &args,
            None,
        )?
    };
    run_in_task(store, task, |s| super::call_core(s, lifted.core, &flat))
}

/// After a task's core function or callback returned `packed`: the task unless it exited.
fn finish_step(mut task: GuestTask, packed: u32) -> Result<Option<GuestTask>> {
    match packed & 0xf {
        0 => {
            task.lifted.instance.end_task(task.borrow)?;
            if task.cx.results.is_none() && !task.cx.cancelled {
                return Err(Error::msg(
                    "the async export exited without calling `task.return`",
                ));
            }
            Ok(None)
        }
        1 | 2 => {
            task.packed = packed;
            Ok(Some(task))
        }
        code => Err(Error::msg(format!("invalid callback code {code}"))),
    }
}

/// An async-lowered call of guest export `lifted` (async, with a callback): starts it now
/// unless backpressure (or a task of its instance on the stack) makes it wait. The call's
/// state, and the task to keep if it did not exit.
pub(crate) fn call_guest_async<T: 'static>(
    store: &mut Store<T>,
    lifted: Arc<Lifted>,
    args: Vec<Val>,
) -> Result<Arc<Mutex<CallState>>> {
    let call = Arc::new(Mutex::new(CallState::default()));
    let inst = lifted.instance.clone();
    let mut task = GuestTask {
        lifted,
        start: None,
        cx: TaskCx {
            call: Some(call.clone()),
            ..TaskCx::default()
        },
        borrow: 0,
        packed: 0,
        call: call.clone(),
    };
    if inst.busy() || *inst.backpressure() > 0 {
        task.start = Some(args);
        inst.sched().tasks.push(task);
        return Ok(call);
    }
    let packed = start_task(store, &mut task, args)?;
    if let Some(t) = finish_step(task, packed)? {
        inst.sched().tasks.push(t);
    }
    Ok(call)
}

/// `thread.yield`: lets the other tasks run once; whether the current task was cancelled
/// (`cancellable` only).
pub(crate) fn yield_now<T: 'static>(
    store: &mut Store<T>,
    inst: &Arc<InstanceState>,
    cancellable: bool,
) -> Result<u32> {
    if cancellable {
        let call = inst.tasks().last().and_then(|t| t.call.clone());
        if let Some(call) = call {
            let mut c = lock_call(&call);
            if c.cancel_requested && !c.cancel_delivered {
                c.cancel_delivered = true;
                return Ok(1);
            }
        }
    }
    let (_tw, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut host_pending = false;
    run_others(store, inst, &mut cx, &mut host_pending)?;
    Ok(0)
}

/// The packed result of the callback ABI.
pub(crate) fn callback_loop<T: 'static>(
    store: &mut Store<T>,
    inst: &Arc<InstanceState>,
    callback: crate::store::Func,
    mut packed: u32,
) -> Result<()> {
    loop {
        let code = packed & 0xf;
        let set = packed >> 4;
        let ev = match code {
            0 => return Ok(()),
            1 => {
                yield_now(store, inst, false)?;
                (event::NONE, 0, 0)
            }
            2 => wait(store, inst, set, false)?,
            _ => return Err(Error::msg(format!("invalid callback code {code}"))),
        };
        let r = super::call_core(store, callback, &[ev.0 as u64, ev.1 as u64, ev.2 as u64])?;
        packed = r.first().copied().unwrap_or(0) as u32;
    }
}

/// Registers an async-lowered call still running: the subtask's handle.
pub(crate) fn add_subtask(
    inst: &InstanceState,
    fut: Pin<Box<dyn Future<Output = Result<Vec<Val>>> + Send>>,
    opts: RtOpts,
    deliver: Deliver,
) -> u32 {
    inst.conc().add(Waitable::Subtask(Subtask {
        fut: Some(fut),
        guest: None,
        deliver: Some(deliver),
        opts,
        state: subtask::STARTED,
        delivered: true,
    }))
}

/// Registers an async-lowered call of a guest export that has not resolved: its handle.
pub(crate) fn add_guest_subtask(
    inst: &InstanceState,
    call: Arc<Mutex<CallState>>,
    state: u32,
    opts: RtOpts,
    deliver: Deliver,
) -> u32 {
    inst.conc().add(Waitable::Subtask(Subtask {
        fut: None,
        guest: Some(call),
        deliver: Some(deliver),
        opts,
        state,
        delivered: true,
    }))
}

/// Lifts a stream/future/error-context handle out of the guest's table (for the host).
pub(crate) fn lift_handle(inst: &InstanceState, ty: &Type, idx: u32) -> Result<Val> {
    let mut t = inst.conc();
    if let Type::ErrorContext = ty {
        return match &t.get(idx)?.w {
            Waitable::ErrorContext(m) => Ok(Val::ErrorContext(ErrorContextAny(m.clone()))),
            _ => Err(bad_handle(idx)),
        };
    }
    let want_future = matches!(ty, Type::Future(_));
    match &t.get(idx)?.w {
        Waitable::End {
            future,
            readable: true,
            op: None,
            ..
        } if *future == want_future => {}
        _ => {
            return Err(Error::msg(format!(
                "handle {idx} is not an idle readable end of a {ty}"
            )))
        }
    }
    let Waitable::End { chan, .. } = t.remove(idx)?.w else {
        unreachable!("checked")
    };
    chan.lock().reader = Reader::Guest;
    Ok(if want_future {
        Val::Future(FutureAny(chan))
    } else {
        Val::Stream(StreamAny(chan))
    })
}

/// Lowers a stream/future/error-context into the guest's table: its new handle.
pub(crate) fn lower_handle(inst: &InstanceState, v: &Val) -> Result<u32> {
    let mut t = inst.conc();
    let (chan, future) = match v {
        Val::Stream(s) => (s.0.clone(), false),
        Val::Future(f) => (f.0.clone(), true),
        Val::ErrorContext(e) => return Ok(t.add(Waitable::ErrorContext(e.0.clone()))),
        other => {
            return Err(Error::msg(format!(
                "expected a stream or future, found a {}",
                other.desc()
            )))
        }
    };
    Ok(t.add(Waitable::End {
        chan,
        future,
        readable: true,
        op: None,
        done: false,
    }))
}

/// The built-ins, by what they do; `instance.rs` turns each into a core function.
pub(crate) mod builtins {
    use super::*;

    pub fn waitable_set_new(inst: &InstanceState) -> u32 {
        inst.conc().add(Waitable::Set)
    }

    pub fn waitable_set_drop(inst: &InstanceState, set: u32) -> Result<()> {
        let mut t = inst.conc();
        if !matches!(t.get(set)?.w, Waitable::Set) {
            return Err(bad_handle(set));
        }
        if !t.members(set).is_empty() {
            return Err(Error::msg("cannot drop a waitable set with waiters"));
        }
        t.remove(set).map(drop)
    }

    pub fn waitable_join(inst: &InstanceState, w: u32, set: u32) -> Result<()> {
        let mut t = inst.conc();
        if set != 0 && !matches!(t.get(set)?.w, Waitable::Set) {
            return Err(bad_handle(set));
        }
        let e = t.get(w)?;
        if matches!(e.w, Waitable::Set | Waitable::ErrorContext(_)) {
            return Err(Error::msg(format!("handle {w} is not a waitable")));
        }
        e.set = set;
        Ok(())
    }

    pub fn subtask_drop(inst: &InstanceState, idx: u32) -> Result<()> {
        let mut t = inst.conc();
        match &t.get(idx)?.w {
            Waitable::Subtask(s)
                if s.fut.is_none() && s.delivered && subtask::resolved(s.state) => {}
            Waitable::Subtask(_) => {
                return Err(Error::msg(
                    "cannot drop a subtask which has not yet resolved",
                ))
            }
            _ => return Err(bad_handle(idx)),
        }
        t.remove(idx).map(drop)
    }

    pub fn subtask_cancel<T: 'static>(
        store: &mut Store<T>,
        inst: &Arc<InstanceState>,
        idx: u32,
        is_async: bool,
    ) -> Result<u32> {
        let mut t = inst.conc();
        match &mut t.get(idx)?.w {
            Waitable::Subtask(s) if s.guest.is_some() => {
                if s.delivered && subtask::resolved(s.state) {
                    return Err(Error::msg("`subtask.cancel` of a subtask already resolved"));
                }
                let call = s.guest.clone().expect("checked");
                drop(t);
                cancel_guest_call(store, inst, &call)?;
                let (_tw, waker) = thread_waker();
                let mut cx = Context::from_waker(&waker);
                loop {
                    let mut host_pending = false;
                    let ev = try_event(store, inst, idx, &mut cx, &mut host_pending)?;
                    match ev {
                        Some((_, _, state)) if subtask::resolved(state) => return Ok(state),
                        Some(_) => continue,
                        None if is_async => return Ok(BLOCKED),
                        None => {
                            let (_, _, state) = wait_one(store, inst, idx)?;
                            if subtask::resolved(state) {
                                return Ok(state);
                            }
                        }
                    }
                }
            }
            Waitable::Subtask(s) => {
                if s.fut.take().is_some() {
                    s.deliver = None;
                    s.state = subtask::CANCELLED_BEFORE_RETURNED;
                }
                s.delivered = true;
                Ok(s.state)
            }
            _ => Err(bad_handle(idx)),
        }
    }

    /// Asks the callee of `call` to cancel: a call not started is dropped at once; a
    /// suspended callee gets `TASK_CANCELLED` now.
    fn cancel_guest_call<T: 'static>(
        store: &mut Store<T>,
        inst: &InstanceState,
        call: &Arc<Mutex<CallState>>,
    ) -> Result<()> {
        let pos = inst
            .sched()
            .tasks
            .iter()
            .position(|t| Arc::ptr_eq(&t.call, call));
        {
            let mut c = lock_call(call);
            if subtask::resolved(c.state) {
                return Ok(());
            }
            if c.state == subtask::STARTING {
                if let Some(p) = pos {
                    inst.sched().tasks.remove(p);
                }
                c.state = subtask::CANCELLED_BEFORE_STARTED;
                return Ok(());
            }
            c.cancel_requested = true;
        }
        if let Some(p) = pos {
            let task = inst.sched().tasks.remove(p);
            let (_tw, waker) = thread_waker();
            let mut cx = Context::from_waker(&waker);
            let mut host_pending = false;
            let (_, rest) = step(store, task, &mut cx, &mut host_pending)?;
            if let Some(t) = rest {
                inst.sched().tasks.push(t);
            }
        }
        Ok(())
    }

    /// `backpressure.inc` (`delta` 1) / `backpressure.dec` (-1).
    pub fn backpressure(inst: &InstanceState, delta: i32) -> Result<()> {
        let mut bp = inst.backpressure();
        *bp = bp
            .checked_add_signed(delta)
            .ok_or_else(|| Error::msg("backpressure counter out of range"))?;
        Ok(())
    }

    /// `{stream,future}.new`: `readable | writable << 32`.
    pub fn new_chan(inst: &InstanceState, elem: Option<Type>, future: bool) -> u64 {
        let chan = Chan::new(elem, Reader::Guest, Writer::Guest);
        let mut t = inst.conc();
        let r = t.add(Waitable::End {
            chan: chan.clone(),
            future,
            readable: true,
            op: None,
            done: false,
        });
        let w = t.add(Waitable::End {
            chan,
            future,
            readable: false,
            op: None,
            done: false,
        });
        r as u64 | (w as u64) << 32
    }

    fn end(t: &mut Table, idx: u32, future: bool, readable: bool) -> Result<&mut Waitable> {
        let e = t.get(idx)?;
        match &e.w {
            Waitable::End {
                future: f,
                readable: r,
                ..
            } if *f == future && *r == readable => Ok(&mut e.w),
            _ => Err(Error::msg(format!(
                "handle {idx} is not the {} end of a {}",
                if readable { "readable" } else { "writable" },
                if future { "future" } else { "stream" }
            ))),
        }
    }

    /// `{stream,future}.{read,write}`.
    #[allow(clippy::too_many_arguments)]
    pub fn copy<T: 'static>(
        store: &mut Store<T>,
        inst: &Arc<InstanceState>,
        opts: &RtOpts,
        is_async: bool,
        future: bool,
        readable: bool,
        idx: u32,
        ptr: u32,
        n: u32,
    ) -> Result<u32> {
        let chan = {
            let mut t = inst.conc();
            let Waitable::End { chan, op, done, .. } = end(&mut t, idx, future, readable)? else {
                unreachable!("checked")
            };
            if op.is_some() {
                return Err(Error::msg("a copy is already in progress on this end"));
            }
            if *done {
                return Err(Error::msg("the other end was dropped"));
            }
            *op = Some(PendingOp {
                ptr,
                n,
                opts: opts.clone(),
                done: 0,
            });
            chan.clone()
        };
        let guest_other = {
            let st = chan.lock();
            if readable {
                matches!(st.writer, Writer::Guest)
            } else {
                matches!(st.reader, Reader::Guest)
            }
        };
        if guest_other {
            return guest_copy(
                store, inst, &chan, opts, is_async, future, readable, idx, ptr, n,
            );
        }
        if !readable {
            // The guest writes: a host reader takes everything at once.
            let mut st = chan.lock();
            let taken = match &mut st.reader {
                Reader::Sink(_) | Reader::Future(_) => true,
                Reader::Dropped => false,
                Reader::Guest => {
                    drop(st);
                    return finish_or_block(store, inst, idx, is_async);
                }
            };
            let result = if taken {
                drop(st);
                let vals = if chan.elem.is_some() {
                    let mut scx = StoreCx::new(store, opts, inst, None);
                    load_elems(&mut scx, elem_type(&chan)?, ptr, n)?
                } else {
                    (0..n).map(|_| Val::Tuple(Vec::new())).collect()
                };
                to_host_reader(&chan, store.data_mut(), vals, n)
            } else {
                copy::DROPPED
            };
            let mut t = inst.conc();
            if let Waitable::End { op, done, .. } = &mut t.get(idx)?.w {
                *op = None;
                *done = result & 0xf == copy::DROPPED;
            }
            return Ok(result);
        }
        finish_or_block(store, inst, idx, is_async)
    }

    /// A copy whose other end is a guest's: rendezvous with its pending copy, or become
    /// the pending one (`CanonicalABI.md`, `SharedStreamImpl` / `SharedFutureImpl`).
    #[allow(clippy::too_many_arguments)]
    fn guest_copy<T: 'static>(
        store: &mut Store<T>,
        inst: &Arc<InstanceState>,
        chan: &Arc<Chan>,
        opts: &RtOpts,
        is_async: bool,
        future: bool,
        readable: bool,
        idx: u32,
        ptr: u32,
        n: u32,
    ) -> Result<u32> {
        let mine = GuestBuf {
            inst: inst.clone(),
            opts: opts.clone(),
            ptr,
            n,
            progress: 0,
            reading: readable,
        };
        let mut st = chan.lock();
        let Some(mut p) = st.pending.take() else {
            st.pending = Some(mine);
            drop(st);
            return finish_or_block(store, inst, idx, is_async);
        };
        if Arc::ptr_eq(&p.inst, inst) && !none_or_number(chan.elem.as_ref()) {
            return Err(Error::msg(
                "a copy between two ends in one instance of a non-number type",
            ));
        }
        let remain = p.n - p.progress;
        let result = if remain > 0 {
            let k = n.min(remain);
            if k > 0 {
                drop(st);
                let (src, dst) = if readable { (&p, &mine) } else { (&mine, &p) };
                transfer(store, chan, src, dst, k)?;
                st = chan.lock();
                p.progress += k;
                if future {
                    st.ev[p.reading as usize] = Some((copy::COMPLETED, p.progress));
                } else {
                    st.ev[p.reading as usize] = Some((copy::COMPLETED, 0));
                    st.pending = Some(p);
                }
            } else {
                st.pending = Some(p);
            }
            copy::COMPLETED | if future { 0 } else { k << 4 }
        } else if !readable && n == 0 {
            st.pending = Some(p);
            copy::COMPLETED
        } else {
            st.ev[p.reading as usize] = Some((copy::COMPLETED, p.progress));
            st.pending = Some(mine);
            drop(st);
            return finish_or_block(store, inst, idx, is_async);
        };
        drop(st);
        let mut t = inst.conc();
        if let Waitable::End { op, .. } = &mut t.get(idx)?.w {
            *op = None;
        }
        Ok(result)
    }

    /// Copies `k` elements from `src` (after its progress) to `dst` (likewise).
    fn transfer<T: 'static>(
        store: &mut Store<T>,
        chan: &Chan,
        src: &GuestBuf,
        dst: &GuestBuf,
        k: u32,
    ) -> Result<()> {
        let Some(ty) = chan.elem.as_ref() else {
            return Ok(());
        };
        let size = ty.size();
        let vals = {
            let mut cx = StoreCx::new(store, &src.opts, &src.inst, None);
            load_elems(&mut cx, ty, src.ptr + src.progress * size, k)?
        };
        let mut cx = StoreCx::new(store, &dst.opts, &dst.inst, None);
        abi::check_range(
            &cx,
            (dst.ptr + dst.progress * size) as u64,
            k as u64 * size as u64,
            TrapCode::MemoryOutOfBounds,
        )?;
        store_elems(&mut cx, ty, dst.ptr + dst.progress * size, &vals)
    }

    fn none_or_number(t: Option<&Type>) -> bool {
        matches!(
            t,
            None | Some(
                Type::U8
                    | Type::S8
                    | Type::U16
                    | Type::S16
                    | Type::U32
                    | Type::S32
                    | Type::U64
                    | Type::S64
                    | Type::Float32
                    | Type::Float64
            )
        )
    }

    fn finish_or_block<T: 'static>(
        store: &mut Store<T>,
        inst: &Arc<InstanceState>,
        idx: u32,
        is_async: bool,
    ) -> Result<u32> {
        let (_tw, waker) = thread_waker();
        let mut cx = Context::from_waker(&waker);
        let mut host_pending = false;
        if let Some((_, _, packed)) = try_event(store, inst, idx, &mut cx, &mut host_pending)? {
            return Ok(packed);
        }
        if is_async {
            return Ok(BLOCKED);
        }
        Ok(wait_one(store, inst, idx)?.2)
    }

    /// `{stream,future}.cancel-{read,write}`.
    pub fn cancel(inst: &InstanceState, future: bool, readable: bool, idx: u32) -> Result<u32> {
        let mut t = inst.conc();
        let Waitable::End { op, chan, done, .. } = end(&mut t, idx, future, readable)? else {
            unreachable!("checked")
        };
        let Some(p) = op.take() else {
            return Err(Error::msg("no copy in progress to cancel"));
        };
        {
            // Between two guest ends: a result already left for this end wins, else the
            // pending buffer is taken back with the progress made.
            let mut st = chan.lock();
            let mine = st.pending.as_ref().is_some_and(|b| b.reading == readable);
            let ev = st.ev[readable as usize].take();
            let progress = if mine {
                st.pending.take().map(|b| b.progress)
            } else {
                None
            };
            if let Some((result, prog)) = ev {
                if result == copy::DROPPED {
                    *done = true;
                }
                let prog = progress.unwrap_or(prog);
                return Ok(if future { result } else { result | (prog << 4) });
            }
            if let Some(prog) = progress {
                return Ok(if future {
                    copy::CANCELLED
                } else {
                    copy::CANCELLED | (prog << 4)
                });
            }
        }
        Ok(if future {
            copy::CANCELLED
        } else {
            copy::CANCELLED | (p.done << 4)
        })
    }

    /// `{stream,future}.drop-{readable,writable}`.
    pub fn drop_end(inst: &InstanceState, future: bool, readable: bool, idx: u32) -> Result<()> {
        let mut t = inst.conc();
        end(&mut t, idx, future, readable)?;
        let Waitable::End { chan, op, .. } = t.remove(idx)?.w else {
            unreachable!("checked")
        };
        if op.is_some() {
            return Err(Error::msg("cannot drop an end with a copy in progress"));
        }
        drop(t);
        let mut st = chan.lock();
        if st.pending.as_ref().is_some_and(|b| b.reading != readable) {
            let b = st.pending.take().expect("checked");
            st.ev[b.reading as usize] = Some((copy::DROPPED, b.progress));
        }
        if readable {
            st.reader = Reader::Dropped;
            if matches!(st.writer, Writer::Source(_)) {
                st.writer = Writer::Dropped;
            }
        } else {
            match std::mem::replace(&mut st.reader, Reader::Dropped) {
                Reader::Sink(mut s) => s.close(),
                Reader::Future(r) => r(None, None),
                Reader::Guest => st.reader = Reader::Guest,
                Reader::Dropped => {}
            }
            st.writer = Writer::Dropped;
        }
        Ok(())
    }

    pub fn error_context_new(inst: &InstanceState, msg: String) -> u32 {
        inst.conc().add(Waitable::ErrorContext(msg))
    }

    pub fn error_context_message(inst: &InstanceState, idx: u32) -> Result<String> {
        match &inst.conc().get(idx)?.w {
            Waitable::ErrorContext(m) => Ok(m.clone()),
            _ => Err(bad_handle(idx)),
        }
    }

    pub fn error_context_drop(inst: &InstanceState, idx: u32) -> Result<()> {
        let mut t = inst.conc();
        match &t.get(idx)?.w {
            Waitable::ErrorContext(_) => t.remove(idx).map(drop),
            _ => Err(bad_handle(idx)),
        }
    }
}

/// Whether async-lowered parameters go through memory.
pub(crate) fn async_params_in_memory(flat: usize) -> bool {
    flat > MAX_FLAT_ASYNC_PARAMS
}
