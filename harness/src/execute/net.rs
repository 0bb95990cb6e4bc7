//! Execute stage: the network side of a live run: the tokio runtime every test shares,
//! `request` (an HTTP/1.1 request to the guest's service, with hyper), and the TCP / UDP
//! connections of `connect` / `send` / `recv`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::suite::spec::{Protocol, Request};

/// The one tokio runtime of the harness: servers, requests (two workers; tests share it).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("harness-net")
            .enable_all()
            .build()
            .expect("a tokio runtime starts")
    })
}

/// The time left until `deadline` (at least a millisecond, so that a timeout fires rather
/// than blocking forever).
pub(crate) fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// What came back from a `request`.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// Sends `request` to the service at `address` (`host:port`) over a fresh HTTP/1.1
/// connection and reads the whole response, by `deadline`.
pub(crate) fn send_request(
    address: &str,
    request: &Request,
    deadline: Instant,
) -> Result<Response, String> {
    let address = address.to_owned();
    let method = request.method.to_ascii_uppercase();
    let path = request.path.clone();
    let headers = request.headers.0.clone();
    let body = request.body.clone().into_bytes();
    let exchange = async move {
        let stream = tokio::net::TcpStream::connect(&address)
            .await
            .map_err(|e| format!("cannot connect to the service at {address}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {address}: {e}"))?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut builder = http::Request::builder()
            .method(method.as_str())
            .uri(path.as_str());
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            builder = builder.header(http::header::HOST, address.as_str());
        }
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let outgoing = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let response = sender
            .send_request(outgoing)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let (parts, incoming) = response.into_parts();
        let body = incoming
            .collect()
            .await
            .map_err(|e| format!("{method} {path}: reading the body: {e}"))?
            .to_bytes()
            .to_vec();
        driver.abort();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    };
    runtime().block_on(async move {
        match tokio::time::timeout(remaining(deadline), exchange).await {
            Ok(result) => result,
            Err(_) => Err("no response before the deadline".to_owned()),
        }
    })
}

/// One `connect`ion to the guest.
pub(crate) enum Connection {
    /// A TCP stream.
    Tcp(TcpStream),
    /// A UDP socket connected to the guest's address.
    Udp(UdpSocket),
}

/// Parses what the guest printed (`127.0.0.1:PORT`, `[::1]:PORT`, `localhost:PORT`).
pub(crate) fn parse_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    text.to_socket_addrs()
        .ok()
        .and_then(|mut all| all.next())
        .ok_or_else(|| format!("`{text}` is not a host:port address"))
}

impl Connection {
    /// Connects to `address` by `deadline`.
    pub(crate) fn open(
        protocol: Protocol,
        address: SocketAddr,
        deadline: Instant,
    ) -> Result<Connection, String> {
        match protocol {
            Protocol::Tcp | Protocol::Http => {
                TcpStream::connect_timeout(&address, remaining(deadline))
                    .map(Connection::Tcp)
                    .map_err(|e| format!("cannot connect (tcp) to {address}: {e}"))
            }
            Protocol::Udp => {
                let local: SocketAddr = if address.is_ipv4() {
                    "0.0.0.0:0".parse().expect("an address")
                } else {
                    "[::]:0".parse().expect("an address")
                };
                let socket =
                    UdpSocket::bind(local).map_err(|e| format!("cannot bind a UDP socket: {e}"))?;
                socket
                    .connect(address)
                    .map_err(|e| format!("cannot connect (udp) to {address}: {e}"))?;
                Ok(Connection::Udp(socket))
            }
        }
    }

    /// Sends `payload` (one datagram over UDP).
    pub(crate) fn send(&mut self, payload: &[u8], deadline: Instant) -> Result<(), String> {
        match self {
            Connection::Tcp(stream) => {
                let _ = stream.set_write_timeout(Some(remaining(deadline)));
                stream.write_all(payload).map_err(|e| e.to_string())
            }
            Connection::Udp(socket) => match socket.send(payload) {
                Ok(n) if n == payload.len() => Ok(()),
                Ok(n) => Err(format!("sent {n} of {} bytes", payload.len())),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    /// Receives `want` bytes over TCP (fewer when the peer closes or the deadline passes),
    /// or one datagram over UDP.
    pub(crate) fn recv(&mut self, want: usize, deadline: Instant) -> Result<Vec<u8>, String> {
        match self {
            Connection::Tcp(stream) => {
                let mut got = Vec::with_capacity(want);
                let mut buf = vec![0u8; want.max(1)];
                while got.len() < want {
                    let _ = stream.set_read_timeout(Some(remaining(deadline)));
                    match stream.read(&mut buf[..want - got.len()]) {
                        Ok(0) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) =>
                        {
                            break
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) if got.is_empty() => return Err(e.to_string()),
                        Err(_) => break,
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                Ok(got)
            }
            Connection::Udp(socket) => {
                let _ = socket.set_read_timeout(Some(remaining(deadline)));
                let mut buf = vec![0u8; 65536];
                match socket.recv(&mut buf) {
                    Ok(n) => Ok(buf[..n].to_vec()),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        Ok(Vec::new())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}
