//! WASI 0.2 HTTP through the `wasmgate` binary, with the hand-written components of
//! `fixtures/p2/http`:
//!
//! - `http-outgoing.wat` (`wasmgate run`) sends a GET and a POST to a hyper server started
//!   here and prints what came back;
//! - `http-serve.wat` (`wasmgate serve`) answers requests sent here with a hyper client:
//!   keep-alive, chunked request bodies, trailers, the 413 / 431 limits and 503 on a trap.
//!
//! With `WASMTIME_CLI` set (as in CI), the same checks run on `wasmtime run -S http` and
//! `wasmtime serve -S cli`, so both runtimes are seen to behave alike.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll};
use wasmgate::wasi::p2::http::TokioIo;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/p2/http")
        .join(name)
}

fn wasmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasmgate"))
}

/// The wasmtime CLI, when the environment names one.
fn wasmtime() -> Option<Command> {
    let path = std::env::var_os("WASMTIME_CLI")?;
    Some(Command::new(path))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A request body sent as the given frames (no length: chunked on the wire).
struct Frames(VecDeque<Frame<Bytes>>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

fn chunked(chunks: &[&[u8]], trailers: Option<(&str, &str)>) -> Body {
    let mut frames: VecDeque<Frame<Bytes>> = chunks
        .iter()
        .map(|c| Frame::data(Bytes::copy_from_slice(c)))
        .collect();
    if let Some((k, v)) = trailers {
        let mut t = http::HeaderMap::new();
        t.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
        frames.push_back(Frame::trailers(t));
    }
    Frames(frames).boxed()
}

/// A connection to a server.
struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Body>,
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
    trailers: Option<http::HeaderMap>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Conn { sender }
    }

    async fn send(&mut self, req: http::Request<Body>) -> Result<Answer, hyper::Error> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let collected = resp.into_body().collect().await?;
        let trailers = collected.trailers().cloned();
        let body = String::from_utf8_lossy(&collected.to_bytes()).to_string();
        Ok(Answer {
            status,
            headers,
            body,
            trailers,
        })
    }
}

fn request(method: &str, path: &str) -> http::request::Builder {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
}

/// A running `serve`: killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` (a `serve` command line without the address) on a free port; waits for its
/// "Serving HTTP on http://ADDR/" line on stderr.
fn start(mut cmd: Command, port: u16) -> Server {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start the server");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("Serving HTTP on http://") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(rest.trim_end_matches('/').to_string());
                }
            }
            log2.lock().unwrap().push_str(&line);
            log2.lock().unwrap().push('\n');
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the server did not start: {}", log.lock().unwrap()));
    let addr: SocketAddr = addr.parse().unwrap();
    assert_eq!(addr.port(), port, "listening on the port asked for");
    Server {
        child,
        addr,
        stderr: log,
    }
}

/// A port that was free a moment ago (wasmtime does not print the port of `:0`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wasmgate_serve(extra: &[&str]) -> Server {
    let port = free_port();
    let mut cmd = wasmgate();
    cmd.arg("serve")
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .arg(fixture("http-serve.wat"));
    start(cmd, port)
}

fn wasmtime_serve() -> Option<Server> {
    let mut cmd = wasmtime()?;
    let port = free_port();
    cmd.arg("serve")
        .arg("-S")
        .arg("cli")
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg(fixture("http-serve.wat"));
    Some(start(cmd, port))
}

/// The behaviour both runtimes share: echo, keep-alive, chunked request bodies, trailers;
/// a trap is a 5xx (wasmgate 503, wasmtime 500).
async fn check_serve(server: &Server, who: &str) {
    let mut conn = Conn::open(server.addr).await;
    // Three requests on one connection: keep-alive.
    let a = conn
        .send(request("GET", "/hello?x=1").body(full("")).unwrap())
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{who}: {a:?}");
    assert_eq!(a.body, "GET /hello?x=1\n", "{who}");
    assert_eq!(a.headers["x-served-by"], "http-serve", "{who}");
    assert_eq!(a.headers["content-type"], "text/plain", "{who}");
    assert!(a.headers.get("connection").is_none(), "{who}: {a:?}");

    let b = conn
        .send(
            request("POST", "/echo")
                .body(full("a body of known length"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(b.body, "POST /echo\na body of known length", "{who}");

    // A chunked request body with trailers, asking for response trailers.
    let c = conn
        .send(
            request("PUT", "/chunks")
                .header("te", "trailers")
                .body(chunked(
                    &[b"one,", b"two,", &[b'x'; 70_000], b",three"],
                    Some(("x-request-trailer", "1")),
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(c.status, 200, "{who}");
    let expected = format!("PUT /chunks\none,two,{},three", "x".repeat(70_000));
    assert_eq!(c.body.len(), expected.len(), "{who}");
    assert!(
        c.body == expected,
        "{who}: the chunked body came back changed"
    );
    assert_eq!(
        c.trailers.as_ref().map(|t| t["x-trailer"].clone()),
        Some(http::HeaderValue::from_static("end")),
        "{who}: {c:?}"
    );

    // Other methods.
    let d = conn
        .send(request("PURGE", "/x").body(full("")).unwrap())
        .await
        .unwrap();
    assert_eq!(d.body, "PURGE /x\n", "{who}");

    // A trap before the response: a server error, and the server lives on.
    let mut conn2 = Conn::open(server.addr).await;
    let t = conn2
        .send(request("GET", "/trap").body(full("")).unwrap())
        .await
        .unwrap();
    assert!(t.status >= 500, "{who}: {t:?}");
    let mut conn3 = Conn::open(server.addr).await;
    let again = conn3
        .send(request("GET", "/after").body(full("")).unwrap())
        .await
        .unwrap();
    assert_eq!(again.body, "GET /after\n", "{who}");
}

#[test]
fn serve_answers_like_wasmtime() {
    let rt = runtime();
    let server = wasmgate_serve(&[]);
    rt.block_on(check_serve(&server, "wasmgate"));
    // A trap is 503 on wasmgate, and reported on stderr.
    rt.block_on(async {
        let mut conn = Conn::open(server.addr).await;
        let t = conn
            .send(request("GET", "/trap").body(full("")).unwrap())
            .await
            .unwrap();
        assert_eq!(t.status, 503);
    });
    // The 503 may reach us before the reader thread has the server's trap report: wait
    // for it (at most 10 s) instead of looking once.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.stderr.lock().unwrap().contains("unreachable")
        && std::time::Instant::now() < until
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        server.stderr.lock().unwrap().contains("unreachable"),
        "{}",
        server.stderr.lock().unwrap()
    );
    if let Some(server) = wasmtime_serve() {
        rt.block_on(check_serve(&server, "wasmtime"));
    }
}

#[test]
fn serve_limits_headers_and_bodies() {
    let rt = runtime();
    let server = wasmgate_serve(&["--max-body-size", "1000", "--max-header-size", "16384"]);
    rt.block_on(async {
        let mut conn = Conn::open(server.addr).await;
        // Within the limits.
        let ok = conn
            .send(
                request("POST", "/small")
                    .body(full(vec![b'a'; 1000]))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(ok.status, 200);
        // A content-length past the limit: 413 before the guest runs.
        let big = conn
            .send(
                request("POST", "/big")
                    .body(full(vec![b'a'; 1001]))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(big.status, 413, "{big:?}");
        // A chunked body past the limit: 413 when the guest reads past it.
        let mut conn = Conn::open(server.addr).await;
        let chunks = conn
            .send(
                request("POST", "/chunks")
                    .body(chunked(&[&[b'a'; 600], &[b'b'; 600]], None))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(chunks.status, 413, "{chunks:?}");
        // A head past the limit: 431.
        let mut conn = Conn::open(server.addr).await;
        let head = conn
            .send(
                request("GET", "/")
                    .header("x-big", "h".repeat(20_000))
                    .body(full(""))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(head.status, 431, "{head:?}");
    });
}

/// A hyper server for `http-outgoing`: `x-server: test-server`, 200 for GET and 201 for
/// POST, and a body that tells what it received.
async fn test_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let method = req.method().clone();
                        let path = req.uri().to_string();
                        let fixture = req
                            .headers()
                            .get("x-fixture")
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default();
                        let host = req.headers().contains_key("host");
                        let body = req.into_body().collect().await?.to_bytes();
                        let text = format!(
                        "you sent {method} {path} (x-fixture: {fixture}, host header: {host}): {}",
                        String::from_utf8_lossy(&body)
                    );
                        let status = if method == http::Method::POST {
                            201
                        } else {
                            200
                        };
                        Ok::<_, hyper::Error>(
                            http::Response::builder()
                                .status(status)
                                .header("x-server", "test-server")
                                .body(Full::new(Bytes::from(text)))
                                .unwrap(),
                        )
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn run_outgoing(mut cmd: Command, server: &str, who: &str) -> (Option<i32>, String) {
    let out = cmd
        .arg("--env")
        .arg(format!("HTTP_SERVER={server}"))
        .arg(fixture("http-outgoing.wat"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("{who}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), stdout)
}

#[test]
fn outgoing_requests_like_wasmtime() {
    let rt = runtime();
    let addr = rt.block_on(test_server()).to_string();
    let expected = "\
GET 200 x-server=test-server
you sent GET /get?q=1 (x-fixture: http-outgoing, host header: true): 
POST 201 x-server=test-server
you sent POST /post (x-fixture: http-outgoing, host header: true): ping from wasm
";
    let mut run = wasmgate();
    run.arg("run");
    let got = run_outgoing(run, &addr, "wasmgate");
    assert_eq!(got, (Some(0), expected.to_string()));
    if let Some(mut wasmtime) = wasmtime() {
        wasmtime.args(["run", "-S", "http"]);
        assert_eq!(run_outgoing(wasmtime, &addr, "wasmtime"), got);
    }

    // Nobody listening: `connection-refused` (case 6) for both requests, and `run` fails.
    let closed = format!("127.0.0.1:{}", free_port());
    let refused = "request failed: error-code case 6\n".repeat(2);
    let mut run = wasmgate();
    run.arg("run");
    let got = run_outgoing(run, &closed, "wasmgate");
    assert_eq!(got, (Some(1), refused));
    if let Some(mut wasmtime) = wasmtime() {
        wasmtime.args(["run", "-S", "http"]);
        assert_eq!(run_outgoing(wasmtime, &closed, "wasmtime"), got);
    }
}
