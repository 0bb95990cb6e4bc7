//! A fake WASI runtime for the harness's own tests (`tests/operations.rs`): a CLI that the
//! runner file `tests/operations/fake-runtime.toml` describes, and that does what the
//! module's file name says instead of running it: echo stdin, print an address and echo a
//! TCP or UDP connection, serve HTTP, call the harness's HTTP servers, hang, handle SIGINT.
//! Some behaviours are deliberately wrong, so that the harness must report them.
//!
//! `fake-runtime run [--net] [--http] [--dir H::G].. [--env K=V].. MODULE ARGS..`
//! `fake-runtime serve [flags] [--env K=V].. MODULE`

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn handle_sigint() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

fn wait_for_sigint() -> ! {
    while !INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::process::exit(0)
}

fn out(text: &str) {
    let mut stdout = std::io::stdout();
    stdout.write_all(text.as_bytes()).unwrap();
    stdout.flush().unwrap();
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--version") {
        println!("fake-runtime 1.0");
        return;
    }
    let serve = argv.first().map(String::as_str) == Some("serve");
    let mut env: Vec<(String, String)> = Vec::new();
    let mut rest = argv.iter().skip(1);
    let module = loop {
        match rest.next().map(String::as_str) {
            Some("--env") => {
                let kv = rest.next().expect("--env K=V");
                let (k, v) = kv.split_once('=').expect("K=V");
                env.push((k.to_owned(), v.to_owned()));
            }
            Some("--dir") => {
                rest.next();
            }
            Some(flag) if flag.starts_with("--") => {}
            Some(module) => break module.to_owned(),
            None => panic!("no module"),
        }
    };
    let args: Vec<String> = rest.cloned().collect();
    let stem = module.rsplit_once('.').map_or(module.as_str(), |(s, _)| s);
    if serve {
        return service(stem);
    }
    let var = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} is not set"))
    };
    match stem {
        "echo_stdin" | "echo_stdin_wrong" => {
            // Line by line, as it arrives: the harness writes, reads, writes again.
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let line = line.unwrap();
                if stem == "echo_stdin_wrong" {
                    out(&format!("{}\n", line.to_uppercase()));
                } else {
                    out(&format!("{line}\n"));
                }
            }
        }
        "ready_then_stdin" => {
            out("READY");
            let mut byte = [0u8; 1];
            std::io::stdin().read_exact(&mut byte).unwrap();
            assert_eq!(&byte, b"x");
            eprint!("got x");
        }
        "wrong_bytes" => out("hellO"),
        "missing_bytes" => out("hel"),
        "extra_output" => out("hello world"),
        _ if stem.starts_with("hang") => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        "tcp_echo" | "tcp_wrong" => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            out(&format!("{}\n", listener.local_addr().unwrap()));
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 100];
            let n = conn.read(&mut buf).unwrap();
            let mut reply = buf[..n].to_vec();
            if stem == "tcp_wrong" {
                reply.reverse();
            }
            conn.write_all(&reply).unwrap();
        }
        "udp_echo" => {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            out(&format!("{}\n", socket.local_addr().unwrap()));
            let mut buf = [0u8; 100];
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            socket.send_to(&buf[..n], from).unwrap();
        }
        "refused" => {
            // A port that was free a moment ago: nothing listens there.
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            out(&format!("127.0.0.1:{port}\n"));
            std::thread::sleep(Duration::from_secs(60));
        }
        "sigint_exit0" => {
            handle_sigint();
            out("waiting\n");
            wait_for_sigint();
        }
        "sigint_dies" => {
            out("waiting\n");
            std::thread::sleep(Duration::from_secs(60));
        }
        "flaky" => {
            // Wrong the first time in a harness process, right the second.
            let marker = std::env::temp_dir().join(format!(
                "wasmgate-fake-runtime-flaky-{}",
                std::os::unix::process::parent_id()
            ));
            if marker.exists() {
                let _ = std::fs::remove_file(&marker);
                out("second");
            } else {
                std::fs::write(&marker, b"").unwrap();
                out("first");
            }
        }
        _ if stem.starts_with("client") => {
            client(&var(&format!("HTTP_SERVER_{}", args[0])), &args[1..])
        }
        other => panic!("the fake runtime has no behaviour `{other}`"),
    }
}

/// `client`: one HTTP/1.1 request to a harness server; the raw response goes to stdout.
/// Args: METHOD PATH, then `H:name: value` headers, `B:body`, `T:name: value` trailers
/// (the body is then sent chunked).
fn client(address: &str, args: &[String]) {
    let mut conn = match TcpStream::connect(address) {
        Ok(conn) => conn,
        Err(e) => {
            out(&format!("connect failed: {:?}\n", e.kind()));
            std::process::exit(1);
        }
    };
    // A fixed Host, so that an echo of it is the same in every run.
    let mut request = format!("{} {} HTTP/1.1\r\nhost: harness-test\r\n", args[0], args[1]);
    let mut body = String::new();
    let mut trailers = Vec::new();
    for arg in &args[2..] {
        if let Some(h) = arg.strip_prefix("H:") {
            request.push_str(&format!("{h}\r\n"));
        } else if let Some(b) = arg.strip_prefix("B:") {
            body = b.to_owned();
        } else if let Some(t) = arg.strip_prefix("T:") {
            trailers.push(t.to_owned());
        }
    }
    request.push_str("connection: close\r\n");
    if trailers.is_empty() {
        request.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    } else {
        request.push_str("transfer-encoding: chunked\r\n\r\n");
        request.push_str(&format!("{:x}\r\n{body}\r\n0\r\n", body.len()));
        for t in &trailers {
            request.push_str(&format!("{t}\r\n"));
        }
        request.push_str("\r\n");
    }
    conn.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).unwrap();
    std::io::stdout().write_all(&response).unwrap();
}

/// `serve`: an HTTP service on 127.0.0.1:0 that prints its address on stderr, until SIGINT.
/// GET / is `hey\n` (text/plain), POST /echo echoes the body, GET /reflect echoes the
/// `x-echo` header as `x-echoed`; anything else is 404. `service_slow` never answers.
fn service(stem: &str) {
    handle_sigint();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    eprintln!("Serving HTTP on http://{}/", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            std::process::exit(0);
        }
        let conn = match listener.accept() {
            Ok((conn, _)) => conn,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        conn.set_nonblocking(false).unwrap();
        if stem == "service_slow" {
            std::mem::forget(conn);
            continue;
        }
        answer(conn);
    }
}

fn answer(conn: TcpStream) {
    let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut length = 0;
    let mut echo = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "x-echo" => echo = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let (status, headers, body) = match (method.as_str(), path.as_str()) {
        ("GET", "/") => (
            200,
            "content-type: text/plain\r\n".to_owned(),
            b"hey\n".to_vec(),
        ),
        ("POST", "/echo") => (200, String::new(), body),
        ("GET", "/reflect") => (
            200,
            format!("x-echoed: {}\r\n", echo.unwrap_or_default()),
            Vec::new(),
        ),
        _ => (404, String::new(), Vec::new()),
    };
    let mut conn = conn;
    let head = format!(
        "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body);
}
