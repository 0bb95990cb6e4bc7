//! Execute stage: the HTTP servers a spec stands up (`servers`) before its runs, each on
//! 127.0.0.1 at a port of its own, named to the guest as `HTTP_SERVER_<NAME>=127.0.0.1:PORT`.
//!
//! A server answers its endpoints by exact method and path-with-query (anything else is
//! 404): `static` with its response (a body, or `chunks` sent chunked and then `trailers`),
//! `echo-body` with the request's body, `echo-headers` with an empty body and the request
//! reflected in headers: `x-request-method`, `x-request-path`, `x-echo-<name>` for each
//! request header and `x-trailer-<name>` for each request trailer. A `closed` server is an
//! address nothing listens on (a port bound, then released).
//!
//! The HTTP/1.1 server is written here on tokio, with `httparse` for the request head:
//! hyper's server sends response trailers only to a request that says `TE: trailers`, which
//! WASI HTTP clients do not send, and a spec's trailers must reach the guest.

use std::net::TcpListener as StdListener;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::net::runtime;
use crate::suite::spec::{Endpoint, EndpointMode, Server, ServerKind};

/// The largest request head or body a server reads.
const REQUEST_LIMIT: usize = 16 << 20;

/// Servers running for one test; dropping it stops them.
pub(crate) struct Servers {
    /// `HTTP_SERVER_<NAME>` = `127.0.0.1:PORT`, for the guest's environment.
    pub(crate) env: Vec<(String, String)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The environment variable that names server `name`'s address.
pub(crate) fn variable(name: &str) -> String {
    format!("HTTP_SERVER_{}", name.to_ascii_uppercase())
}

/// Starts every server of a spec.
pub(crate) fn start(servers: &[Server]) -> Result<Servers, String> {
    let mut running = Servers {
        env: Vec::new(),
        tasks: Vec::new(),
    };
    for server in servers {
        let listener = StdListener::bind("127.0.0.1:0")
            .map_err(|e| format!("server `{}`: cannot bind 127.0.0.1:0: {e}", server.name))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("server `{}`: {e}", server.name))?;
        running.env.push((
            variable(&server.name),
            format!("127.0.0.1:{}", address.port()),
        ));
        if server.kind == ServerKind::Closed {
            // Released: connections to the port are refused.
            drop(listener);
            continue;
        }
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("server `{}`: {e}", server.name))?;
        let endpoints = Arc::new(server.endpoints.clone().unwrap_or_default());
        let _entered = runtime().enter();
        let listener = TcpListener::from_std(listener)
            .map_err(|e| format!("server `{}`: {e}", server.name))?;
        running.tasks.push(runtime().spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let endpoints = endpoints.clone();
                tokio::spawn(async move {
                    let _ = serve_connection(stream, &endpoints).await;
                });
            }
        }));
    }
    Ok(running)
}

/// A request as the server read it.
struct Incoming {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    trailers: Vec<(String, Vec<u8>)>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn wants_close(&self) -> bool {
        let close = self
            .header("connection")
            .is_some_and(|v| String::from_utf8_lossy(v).eq_ignore_ascii_case("close"));
        close || self.http10
    }
}

/// Buffered reading from a connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Reads more bytes; `false` at end-of-file.
    async fn more(&mut self) -> std::io::Result<bool> {
        if self.buf.len() > REQUEST_LIMIT {
            return Err(std::io::Error::other("request too large"));
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    async fn take(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.more().await? {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.drain(..at + 2).take(at).collect();
                return Ok(line);
            }
            if !self.more().await? {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// The next request; `None` when the client closed the connection between requests.
    async fn request(&mut self) -> std::io::Result<Option<Incoming>> {
        let (head_len, method, target, http10, headers) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 128];
            let mut parsed = httparse::Request::new(&mut slots);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => {
                    break (
                        n,
                        parsed.method.unwrap_or("").to_owned(),
                        parsed.path.unwrap_or("").to_owned(),
                        parsed.version == Some(0),
                        parsed
                            .headers
                            .iter()
                            .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
                            .collect::<Vec<_>>(),
                    );
                }
                Ok(httparse::Status::Partial) => {
                    if !self.more().await? {
                        if self.buf.is_empty() {
                            return Ok(None);
                        }
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        };
        self.buf.drain(..head_len);
        let mut incoming = Incoming {
            method,
            target,
            http10,
            headers,
            body: Vec::new(),
            trailers: Vec::new(),
        };
        let chunked = incoming.header("transfer-encoding").is_some_and(|v| {
            String::from_utf8_lossy(v)
                .to_ascii_lowercase()
                .contains("chunked")
        });
        if chunked {
            loop {
                let line = self.line().await?;
                let line = String::from_utf8_lossy(&line);
                let size = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| std::io::Error::other(format!("bad chunk size `{size}`")))?;
                if size == 0 {
                    loop {
                        let line = self.line().await?;
                        if line.is_empty() {
                            break;
                        }
                        if let Some(colon) = line.iter().position(|b| *b == b':') {
                            let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
                            let value = line[colon + 1..].trim_ascii().to_vec();
                            incoming.trailers.push((name.to_ascii_lowercase(), value));
                        }
                    }
                    break;
                }
                if incoming.body.len() + size > REQUEST_LIMIT {
                    return Err(std::io::Error::other("request body too large"));
                }
                let data = self.take(size).await?;
                incoming.body.extend_from_slice(&data);
                self.take(2).await?;
            }
        } else if let Some(length) = incoming.header("content-length") {
            let length: usize = String::from_utf8_lossy(length)
                .trim()
                .parse()
                .map_err(|_| std::io::Error::other("bad content-length"))?;
            if length > REQUEST_LIMIT {
                return Err(std::io::Error::other("request body too large"));
            }
            incoming.body = self.take(length).await?;
        }
        Ok(Some(incoming))
    }
}

/// A response to write.
struct Outgoing {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    chunks: Option<Vec<Vec<u8>>>,
    trailers: Vec<(String, Vec<u8>)>,
}

fn respond(endpoints: &[Endpoint], request: &Incoming) -> Outgoing {
    let mut out = Outgoing {
        status: 404,
        headers: Vec::new(),
        body: Vec::new(),
        chunks: None,
        trailers: Vec::new(),
    };
    let Some(endpoint) = endpoints
        .iter()
        .find(|e| e.method.eq_ignore_ascii_case(&request.method) && e.path == request.target)
    else {
        return out;
    };
    out.status = 200;
    match endpoint.mode {
        EndpointMode::Static => {
            if let Some(response) = &endpoint.response {
                out.status = response.status;
                out.headers = response
                    .headers
                    .0
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect();
                out.body = response.body.clone().unwrap_or_default().into_bytes();
                out.chunks = response
                    .chunks
                    .as_ref()
                    .map(|c| c.iter().map(|s| s.clone().into_bytes()).collect());
                out.trailers = response
                    .trailers
                    .0
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect();
            }
        }
        EndpointMode::EchoBody => {
            out.headers
                .push(("content-type".into(), b"application/octet-stream".to_vec()));
            out.body = request.body.clone();
        }
        EndpointMode::EchoHeaders => {
            out.headers.push((
                "x-request-method".into(),
                request.method.clone().into_bytes(),
            ));
            out.headers
                .push(("x-request-path".into(), request.target.clone().into_bytes()));
            for (name, value) in &request.headers {
                out.headers.push((format!("x-echo-{name}"), value.clone()));
            }
            for (name, value) in &request.trailers {
                out.headers
                    .push((format!("x-trailer-{name}"), value.clone()));
            }
        }
    }
    out
}

fn encode(response: &Outgoing, head_only: bool, close: bool) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(response.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Status");
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", response.status).into_bytes();
    let mut header = |name: &str, value: &[u8]| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    for (name, value) in &response.headers {
        header(name, value);
    }
    if close {
        header("connection", b"close");
    }
    let body_allowed = !(100..200).contains(&response.status) && response.status != 204;
    match &response.chunks {
        Some(_) if body_allowed => {
            header("transfer-encoding", b"chunked");
            if !response.trailers.is_empty() {
                let names: Vec<&str> = response.trailers.iter().map(|(n, _)| n.as_str()).collect();
                header("trailer", names.join(", ").as_bytes());
            }
        }
        _ if body_allowed => {
            header("content-length", response.body.len().to_string().as_bytes());
        }
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
    if head_only || !body_allowed {
        return out;
    }
    match &response.chunks {
        Some(chunks) => {
            for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            for (name, value) in &response.trailers {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(&response.body),
    }
    out
}

async fn serve_connection(stream: TcpStream, endpoints: &[Endpoint]) -> std::io::Result<()> {
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
    };
    while let Some(request) = conn.request().await? {
        let response = respond(endpoints, &request);
        let close = request.wants_close();
        let bytes = encode(
            &response,
            request.method.eq_ignore_ascii_case("HEAD"),
            close,
        );
        conn.stream.write_all(&bytes).await?;
        conn.stream.flush().await?;
        if close {
            break;
        }
    }
    let _ = conn.stream.shutdown().await;
    Ok(())
}
