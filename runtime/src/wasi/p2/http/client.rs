//! Sending an outgoing request with hyper's HTTP/1.1 client over a tokio TCP stream (plain
//! `http` only), with the `request-options` timeouts; errors as wasmtime-wasi-http maps them.

use super::body::HyperBody;
use super::values::ErrorCode;
use hyper::rt::{Read, ReadBufCursor, Write};
use std::error::Error as _;
use std::future::Future;
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
    let between = options
        .between_bytes_timeout
        .unwrap_or(DEFAULT_TIMEOUT)
        .max(Duration::from_nanos(1));
    Ok(resp.map(|b| {
        use http_body_util::BodyExt;
        BetweenBytes::new(b.map_err(|e| hyper_error(&e)).boxed(), between).boxed()
    }))
}

/// A response body that fails with `connection-read-timeout` when no frame arrives for the
/// `between-bytes-timeout`.
struct BetweenBytes {
    inner: HyperBody,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl BetweenBytes {
    fn new(inner: HyperBody, timeout: Duration) -> Self {
        BetweenBytes {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl http_body::Body for BetweenBytes {
    type Data = bytes::Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, ErrorCode>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(ErrorCode::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that sends a response head and part of its body, then stalls.
    async fn stalling_server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\nx-a: b\r\n\r\nhello")
                .await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        addr
    }

    fn get(addr: std::net::SocketAddr, path: &str) -> http::Request<HyperBody> {
        http::Request::builder()
            .uri(format!("http://{addr}{path}"))
            .body(super::super::empty_body())
            .unwrap()
    }

    #[test]
    fn timeouts_and_errors() {
        crate::wasi::block::block_on(async {
            let addr = stalling_server().await;
            let options = RequestOptions {
                between_bytes_timeout: Some(Duration::from_millis(100)),
                ..RequestOptions::default()
            };
            let resp = send(get(addr, "/"), options).await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["x-a"], "b");
            let mut body = resp.into_body();
            let first = body.frame().await.unwrap().unwrap();
            assert_eq!(first.into_data().unwrap(), "hello");
            assert_eq!(
                body.frame().await.unwrap().unwrap_err(),
                ErrorCode::ConnectionReadTimeout
            );

            // First byte: the server reads the request and answers nothing.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let silent = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let (_s, _) = listener.accept().await.unwrap();
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
            let options = RequestOptions {
                first_byte_timeout: Some(Duration::from_millis(100)),
                ..RequestOptions::default()
            };
            let err = send(get(silent, "/"), options).await.unwrap_err();
            assert_eq!(err, ErrorCode::ConnectionReadTimeout);

            // Nobody listening.
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let err = send(get(closed, "/"), RequestOptions::default())
                .await
                .unwrap_err();
            assert_eq!(err, ErrorCode::ConnectionRefused);
        });
    }
}
