//! Sending an outgoing request with hyper's HTTP/1.1 client over a tokio TCP stream (plain
//! `http` only), with the `request-options` timeouts; errors as wasmtime-wasi-http maps them.

use super::body::HyperBody;
use super::values::ErrorCode;
use hyper::rt::{Read, ReadBufCursor, Write};
use std::error::Error as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's I/O traits over a tokio stream. Reads go through a small buffer of its own (hyper's
/// cursor can only be filled safely by copying).
pub struct TokioIo<T> {
    inner: T,
    scratch: Box<[u8]>,
}

impl<T> TokioIo<T> {
    /// Wraps a stream.
    pub fn new(inner: T) -> Self {
        TokioIo {
            inner,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }
}

impl<T: AsyncRead + Unpin> Read for TokioIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let n = buf.remaining().min(this.scratch.len());
        let mut rb = ReadBuf::new(&mut this.scratch[..n]);
        match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                buf.put_slice(rb.filled());
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> Write for TokioIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A `request-options` resource.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOptions {
    /// `connect-timeout`
    pub connect_timeout: Option<Duration>,
    /// `first-byte-timeout`
    pub first_byte_timeout: Option<Duration>,
    /// `between-bytes-timeout`
    pub between_bytes_timeout: Option<Duration>,
}

/// wasmtime's default for every timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// A hyper error as an `error-code`.
pub fn hyper_error(e: &hyper::Error) -> ErrorCode {
    if e.is_timeout() {
        return ErrorCode::HttpResponseTimeout;
    }
    if let Some(code) = e.source().and_then(|s| s.downcast_ref::<ErrorCode>()) {
        return code.clone();
    }
    ErrorCode::HttpProtocolError
}

fn connect_error(e: &std::io::Error) -> ErrorCode {
    if e.kind() == std::io::ErrorKind::AddrNotAvailable
        || e.to_string()
            .starts_with("failed to lookup address information")
    {
        return ErrorCode::DnsError {
            rcode: Some("address not available".to_string()),
            info_code: None,
        };
    }
    ErrorCode::ConnectionRefused
}

/// Sends `req` (its URI absolute: scheme and authority) and waits for the response head.
pub async fn send(
    mut req: http::Request<HyperBody>,
    options: RequestOptions,
) -> Result<http::Response<HyperBody>, ErrorCode> {
    let uri = req.uri().clone();
    let authority = uri.authority().ok_or(ErrorCode::HttpRequestUriInvalid)?;
    if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
        return Err(ErrorCode::internal(
            "https is not supported by wasmgate's wasi:http client yet",
        ));
    }
    let addr = match authority.port() {
        Some(_) => authority.to_string(),
        None => format!("{authority}:80"),
    };
    let connect_timeout = options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let first_byte_timeout = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);

    let stream = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(&addr))
        .await
        .map_err(|_| ErrorCode::ConnectionTimeout)?
        .map_err(|e| connect_error(&e))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| ErrorCode::ConnectionTimeout)?
    .map_err(|e| hyper_error(&e))?;
    // The connection runs on its own until the response body is read to its end.
    super::body::spawn(async move {
        let _ = conn.await;
    });

    // On the wire the request line carries the path only (no proxy).
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    *req.uri_mut() = http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;

    let resp = tokio::time::timeout(first_byte_timeout, sender.send_request(req))
        .await
        .map_err(|_| ErrorCode::ConnectionReadTimeout)?
        .map_err(|e| hyper_error(&e))?;
    Ok(resp.map(|b| {
        use http_body_util::BodyExt;
        b.map_err(|e| hyper_error(&e)).boxed()
    }))
}
