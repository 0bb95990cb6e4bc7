//! Bodies between hyper and the guest, over tokio channels of [`Bytes`]:
//!
//! - an incoming body (a request to `serve`, a response to an outgoing request) is read by a
//!   pump task into a bounded channel; the guest's `input-stream` reads the channel, and the
//!   trailers (or the error that ended the body) arrive in a [`Pending`] for
//!   `future-trailers`;
//! - an outgoing body is a bounded channel the guest's `output-stream` writes into, read by
//!   hyper as an [`http_body::Body`]; `outgoing-body.finish` sends the trailers (or an abort)
//!   on a oneshot once the writer is gone.
//!
//! Readiness futures own clones of what they wait on (a channel sender, an `Arc`), as the io
//! core requires.

use super::values::ErrorCode;
use crate::wasi::p2::{HostInputStream, HostOutputStream, Ready, StreamFailure, StreamResult};
use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot, watch};

/// A body as hyper sees it, either way.
pub type HyperBody = BoxBody<Bytes, ErrorCode>;

/// The most bytes one write to an outgoing body takes (wasmtime's chunk size).
pub const CHUNK_SIZE: usize = 1024 * 1024;

/// How many chunks of an incoming body are read ahead of the guest.
const READ_AHEAD: usize = 4;

/// Spawns a task on the runtime host calls block on: the current multi-threaded runtime
/// (`serve`), else the process-wide one.
pub fn spawn<F: Future<Output = ()> + Send + 'static>(f: F) {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            drop(h.spawn(f));
        }
        _ => drop(crate::wasi::block::runtime().spawn(f)),
    }
}

/// A value that arrives later, once: the receiving side.
pub struct Pending<T> {
    value: Arc<Mutex<Option<T>>>,
    done: watch::Receiver<bool>,
}

/// The sending side of a [`Pending`].
pub struct Completer<T> {
    value: Arc<Mutex<Option<T>>>,
    done: watch::Sender<bool>,
}

/// A new pending value and the handle that completes it.
pub fn pending<T>() -> (Completer<T>, Pending<T>) {
    let value = Arc::new(Mutex::new(None));
    let (tx, rx) = watch::channel(false);
    (
        Completer {
            value: value.clone(),
            done: tx,
        },
        Pending { value, done: rx },
    )
}

impl<T> Completer<T> {
    /// Sets the value and wakes the waiters.
    pub fn complete(self, v: T) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
        let _ = self.done.send(true);
    }

    /// Whether nobody waits for the value any more.
    pub fn is_closed(&self) -> bool {
        self.done.is_closed()
    }
}

impl<T> Pending<T> {
    /// Resolves when the value is there (or will never be).
    pub fn ready(&self) -> Ready {
        let mut rx = self.done.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|d| *d).await;
        })
    }

    /// `None` while pending; `Some(None)` when the completer went away without a value.
    pub fn try_take(&mut self) -> Option<Option<T>> {
        if let Some(v) = self.value.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Some(Some(v));
        }
        match self.done.has_changed() {
            Err(_) => Some(None),
            Ok(_) => None,
        }
    }
}

/// A limit on an incoming body: past `max` bytes the body fails and `exceeded` is set.
#[derive(Clone)]
pub struct BodyLimit {
    /// The most bytes allowed.
    pub max: u64,
    /// Set when the body went past `max`.
    pub exceeded: Arc<AtomicBool>,
}

type Trailers = std::result::Result<Option<HeaderMap>, ErrorCode>;

/// The host side of an `incoming-body`.
pub struct IncomingBody {
    chunks: Option<mpsc::Receiver<std::result::Result<Bytes, ErrorCode>>>,
    trailers: Pending<Trailers>,
}

impl IncomingBody {
    /// Starts reading `body` ahead of the guest.
    pub fn new(body: HyperBody, limit: Option<BodyLimit>) -> Self {
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        let (done, trailers) = pending();
        spawn(pump(body, tx, done, limit));
        IncomingBody {
            chunks: Some(rx),
            trailers,
        }
    }

    /// The body's stream, once.
    pub fn take_stream(&mut self) -> Option<IncomingBodyStream> {
        self.chunks.take().map(|rx| IncomingBodyStream {
            state: Arc::new(tokio::sync::Mutex::new(StreamState {
                rx,
                buf: Bytes::new(),
                err: None,
                closed: false,
            })),
        })
    }

    /// `finish`: what waits for the trailers.
    pub fn into_trailers(self) -> FutureTrailers {
        FutureTrailers {
            trailers: self.trailers,
            consumed: false,
        }
    }
}

async fn pump(
    mut body: HyperBody,
    tx: mpsc::Sender<std::result::Result<Bytes, ErrorCode>>,
    trailers: Completer<Trailers>,
    limit: Option<BodyLimit>,
) {
    let mut tx = Some(tx);
    let mut total = 0u64;
    loop {
        match body.frame().await {
            None => return trailers.complete(Ok(None)),
            Some(Err(e)) => {
                if let Some(tx) = &tx {
                    let _ = tx.send(Err(e.clone())).await;
                }
                return trailers.complete(Err(e));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    total += data.len() as u64;
                    if let Some(l) = limit.as_ref().filter(|l| total > l.max) {
                        l.exceeded.store(true, Ordering::SeqCst);
                        let e = ErrorCode::HttpRequestBodySize(Some(total));
                        if let Some(tx) = &tx {
                            let _ = tx.send(Err(e.clone())).await;
                        }
                        return trailers.complete(Err(e));
                    }
                    if let Some(t) = &tx {
                        if t.send(Ok(data)).await.is_err() {
                            tx = None;
                        }
                    }
                    if tx.is_none() && trailers.is_closed() {
                        return;
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        return trailers.complete(Ok(Some(t)));
                    }
                }
            },
        }
    }
}

struct StreamState {
    rx: mpsc::Receiver<std::result::Result<Bytes, ErrorCode>>,
    buf: Bytes,
    err: Option<ErrorCode>,
    closed: bool,
}

impl StreamState {
    fn fill(&mut self, item: Option<std::result::Result<Bytes, ErrorCode>>) {
        match item {
            Some(Ok(b)) => self.buf = b,
            Some(Err(e)) => self.err = Some(e),
            None => self.closed = true,
        }
    }
}

/// The `input-stream` of an incoming body.
pub struct IncomingBodyStream {
    state: Arc<tokio::sync::Mutex<StreamState>>,
}

impl HostInputStream for IncomingBodyStream {
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        // Only a readiness future holds the lock, and none runs during a host call.
        let Ok(mut s) = self.state.try_lock() else {
            return Ok(Vec::new());
        };
        loop {
            if !s.buf.is_empty() {
                if size == 0 {
                    return Ok(Vec::new());
                }
                let n = size.min(s.buf.len());
                return Ok(s.buf.split_to(n).to_vec());
            }
            if let Some(e) = s.err.take() {
                s.closed = true;
                return Err(StreamFailure::Failed(e.into_io()));
            }
            if s.closed {
                return Err(StreamFailure::Closed);
            }
            match s.rx.try_recv() {
                Ok(item) => s.fill(Some(item)),
                Err(mpsc::error::TryRecvError::Empty) => return Ok(Vec::new()),
                Err(mpsc::error::TryRecvError::Disconnected) => s.fill(None),
            }
        }
    }

    fn ready(&mut self) -> Ready {
        let state = self.state.clone();
        Box::pin(async move {
            let mut s = state.lock().await;
            if !s.buf.is_empty() || s.err.is_some() || s.closed {
                return;
            }
            let item = s.rx.recv().await;
            s.fill(item);
        })
    }
}

/// A `future-trailers` resource.
pub struct FutureTrailers {
    trailers: Pending<Trailers>,
    consumed: bool,
}

/// What `future-trailers.get` found.
pub enum TrailersState {
    /// Not yet.
    Pending,
    /// Already taken.
    Consumed,
    /// The trailers (none) or the error that ended the body.
    Ready(Trailers),
}

impl FutureTrailers {
    /// Resolves when `get` has an answer.
    pub fn ready(&self) -> Ready {
        if self.consumed {
            return crate::wasi::p2::ready_now();
        }
        self.trailers.ready()
    }

    /// Takes the trailers once they arrived.
    pub fn take(&mut self) -> TrailersState {
        if self.consumed {
            return TrailersState::Consumed;
        }
        match self.trailers.try_take() {
            None => TrailersState::Pending,
            Some(v) => {
                self.consumed = true;
                TrailersState::Ready(v.unwrap_or(Ok(None)))
            }
        }
    }
}

/// Whether a body belongs to a request or a response (for its `body-size` error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyContext {
    /// An outgoing request's body.
    Request,
    /// An outgoing response's body.
    Response,
}

impl BodyContext {
    fn size_error(self, written: u64) -> ErrorCode {
        match self {
            BodyContext::Request => ErrorCode::HttpRequestBodySize(Some(written)),
            BodyContext::Response => ErrorCode::HttpResponseBodySize(Some(written)),
        }
    }
}

enum Finish {
    Done,
    Trailers(HeaderMap),
    Abort,
}

/// Bytes written against a `content-length`.
#[derive(Clone)]
struct Written {
    expected: u64,
    written: Arc<AtomicU64>,
}

/// The host side of an `outgoing-body`.
pub struct OutgoingBody {
    writer: Option<OutgoingBodyStream>,
    written: Option<Written>,
    finish: Option<oneshot::Sender<Finish>>,
    context: BodyContext,
}

impl OutgoingBody {
    /// A body and the hyper side that reads it; `size` is the announced `content-length`.
    pub fn new(context: BodyContext, size: Option<u64>) -> (OutgoingBody, HyperBody) {
        let (tx, rx) = mpsc::channel(2);
        let (finish_tx, finish_rx) = oneshot::channel();
        let written = size.map(|expected| Written {
            expected,
            written: Arc::new(AtomicU64::new(0)),
        });
        let body = OutgoingBody {
            writer: Some(OutgoingBodyStream {
                tx,
                written: written.clone(),
                context,
            }),
            written,
            finish: Some(finish_tx),
            context,
        };
        let rx = OutgoingBodyRx {
            rx,
            finish: Some(finish_rx),
        };
        (body, rx.boxed())
    }

    /// The body's stream, once.
    pub fn take_stream(&mut self) -> Option<OutgoingBodyStream> {
        self.writer.take()
    }

    /// `finish`: ends the body, with trailers; fails when fewer bytes than the
    /// `content-length` were written.
    pub fn finish(mut self, trailers: Option<HeaderMap>) -> std::result::Result<(), ErrorCode> {
        self.writer = None;
        let Some(sender) = self.finish.take() else {
            return Ok(());
        };
        if let Some(w) = &self.written {
            let n = w.written.load(Ordering::SeqCst);
            if n != w.expected {
                let _ = sender.send(Finish::Abort);
                return Err(self.context.size_error(n));
            }
        }
        let _ = sender.send(match trailers {
            Some(t) => Finish::Trailers(t),
            None => Finish::Done,
        });
        Ok(())
    }
}

impl Drop for OutgoingBody {
    /// Dropped without `finish`: the body ends in an error, as wasmtime's `abort`.
    fn drop(&mut self) {
        self.writer = None;
        if let Some(s) = self.finish.take() {
            let _ = s.send(Finish::Abort);
        }
    }
}

/// The `output-stream` of an outgoing body.
pub struct OutgoingBodyStream {
    tx: mpsc::Sender<Bytes>,
    written: Option<Written>,
    context: BodyContext,
}

impl HostOutputStream for OutgoingBodyStream {
    fn check_write(&mut self) -> StreamResult<usize> {
        if self.tx.is_closed() {
            Err(StreamFailure::Closed)
        } else if self.tx.capacity() == 0 {
            Ok(0)
        } else {
            Ok(CHUNK_SIZE)
        }
    }

    fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.tx.try_send(Bytes::copy_from_slice(bytes)) {
            Ok(()) => {
                if let Some(w) = &self.written {
                    let total = w.written.fetch_add(bytes.len() as u64, Ordering::SeqCst)
                        + bytes.len() as u64;
                    if total > w.expected {
                        return Err(StreamFailure::Failed(
                            self.context.size_error(total).into_io(),
                        ));
                    }
                }
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(StreamFailure::Failed(
                std::io::Error::other("write exceeded budget"),
            )),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(StreamFailure::Closed),
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        if self.tx.is_closed() {
            Err(StreamFailure::Closed)
        } else {
            Ok(())
        }
    }

    fn ready(&mut self) -> Ready {
        let tx = self.tx.clone();
        Box::pin(async move {
            let _ = tx.reserve().await;
        })
    }
}

/// The hyper side of an outgoing body.
struct OutgoingBodyRx {
    rx: mpsc::Receiver<Bytes>,
    finish: Option<oneshot::Receiver<Finish>>,
}

impl Body for OutgoingBodyRx {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, ErrorCode>>> {
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(b)) => Poll::Ready(Some(Ok(Frame::data(b)))),
            // Every writer is gone: the body ends as `finish` says.
            Poll::Ready(None) => {
                let Some(mut finish) = self.finish.take() else {
                    return Poll::Ready(None);
                };
                match Pin::new(&mut finish).poll(cx) {
                    Poll::Pending => {
                        self.finish = Some(finish);
                        Poll::Pending
                    }
                    Poll::Ready(Ok(Finish::Done)) | Poll::Ready(Err(_)) => Poll::Ready(None),
                    Poll::Ready(Ok(Finish::Trailers(t))) => {
                        Poll::Ready(Some(Ok(Frame::trailers(t))))
                    }
                    Poll::Ready(Ok(Finish::Abort)) => {
                        Poll::Ready(Some(Err(ErrorCode::HttpProtocolError)))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::block::block_on;
    use http_body_util::Full;

    fn body_with_trailers(data: &'static [u8], trailer: Option<&'static str>) -> HyperBody {
        let trailers = trailer.map(|v| {
            let mut t = HeaderMap::new();
            t.insert("x-t", http::HeaderValue::from_static(v));
            Ok(t)
        });
        Full::new(Bytes::from_static(data))
            .map_err(|never| match never {})
            .with_trailers(async move { trailers })
            .boxed()
    }

    /// Reads a stream to its end (waiting for readiness between reads).
    fn read_all(s: &mut IncomingBodyStream) -> (Vec<u8>, StreamFailure) {
        let mut out = Vec::new();
        loop {
            match s.read(3) {
                Ok(b) if b.is_empty() => block_on(s.ready()),
                Ok(b) => out.extend(b),
                Err(e) => return (out, e),
            }
        }
    }

    #[test]
    fn incoming_body_then_trailers() {
        let mut body = IncomingBody::new(body_with_trailers(b"hello world", Some("v")), None);
        let mut stream = body.take_stream().unwrap();
        assert!(body.take_stream().is_none(), "the stream is taken once");
        let (data, end) = read_all(&mut stream);
        assert_eq!(data, b"hello world");
        assert!(matches!(end, StreamFailure::Closed));
        let mut trailers = body.into_trailers();
        block_on(trailers.ready());
        match trailers.take() {
            TrailersState::Ready(Ok(Some(t))) => assert_eq!(t["x-t"], "v"),
            _ => panic!("no trailers"),
        }
        assert!(matches!(trailers.take(), TrailersState::Consumed));
    }

    #[test]
    fn incoming_body_past_its_limit_fails() {
        let exceeded = Arc::new(AtomicBool::new(false));
        let limit = BodyLimit {
            max: 4,
            exceeded: exceeded.clone(),
        };
        let mut body = IncomingBody::new(body_with_trailers(b"too long", None), Some(limit));
        let (data, end) = read_all(&mut body.take_stream().unwrap());
        assert!(data.is_empty());
        let StreamFailure::Failed(e) = end else {
            panic!("expected a failure")
        };
        assert_eq!(
            ErrorCode::from_io(&e),
            Some(ErrorCode::HttpRequestBodySize(Some(8)))
        );
        assert!(exceeded.load(Ordering::SeqCst));
    }

    #[test]
    fn outgoing_body_with_trailers_and_content_length() {
        // Written in full, then trailers.
        let (mut body, hyper) = OutgoingBody::new(BodyContext::Response, Some(5));
        let mut w = body.take_stream().unwrap();
        assert_eq!(w.check_write().unwrap(), CHUNK_SIZE);
        w.write(b"hel").unwrap();
        w.write(b"lo").unwrap();
        drop(w);
        let mut t = HeaderMap::new();
        t.insert("x-t", http::HeaderValue::from_static("end"));
        body.finish(Some(t)).unwrap();
        let collected = block_on(hyper.collect()).unwrap();
        assert_eq!(collected.trailers().unwrap()["x-t"], "end");
        assert_eq!(collected.to_bytes(), "hello");

        // Fewer bytes than content-length: finish fails and the body ends in an error.
        let (mut body, hyper) = OutgoingBody::new(BodyContext::Request, Some(5));
        body.take_stream().unwrap().write(b"hel").unwrap();
        assert_eq!(
            body.finish(None),
            Err(ErrorCode::HttpRequestBodySize(Some(3)))
        );
        assert!(block_on(hyper.collect()).is_err());

        // More: the write fails.
        let (mut body, _hyper) = OutgoingBody::new(BodyContext::Response, Some(2));
        let mut w = body.take_stream().unwrap();
        let Err(StreamFailure::Failed(e)) = w.write(b"hel") else {
            panic!("expected a failure")
        };
        assert_eq!(
            ErrorCode::from_io(&e),
            Some(ErrorCode::HttpResponseBodySize(Some(3)))
        );

        // Dropped unfinished: an error for hyper.
        let (body, hyper) = OutgoingBody::new(BodyContext::Response, None);
        drop(body);
        assert!(block_on(hyper.collect()).is_err());
    }
}
