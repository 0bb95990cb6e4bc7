//! Execute stage: one `run` … `wait` span driven live, operation by operation, on a runner
//! that offers [`LiveRun`]s.
//!
//! Every operation waits at most until the run's deadline (the runner's, from the start of
//! the process). The first operation that fails stops the run (SIGKILL): what follows in
//! the span would only fail again, later.

use std::time::Instant;

use super::net::{self, Connection};
use super::{check_span, Failure, Prepared, RunRecord, Span, TestContext};
use crate::runner::{LiveMode, LiveRun, Observed};
use crate::suite::spec::{Operation, OutputStream, Request};

/// The state of a span in progress.
struct Live<'a> {
    run: Box<dyn LiveRun>,
    /// Per stream (stdout, stderr): how far operations have consumed it.
    cursor: [usize; 2],
    /// Per stream: what the consumed bytes were (reads, connect lines, the address line).
    consumed: [Vec<u8>; 2],
    /// Per stream: whether the spec reads it (then it is checked in full at `wait`).
    read: [bool; 2],
    /// The service's `host:port`, for `request`.
    service: Option<String>,
    connections: Vec<(String, Connection)>,
    /// `write`s left in the span: stdin is closed after the last one.
    writes_left: usize,
    /// The spec as JSON, to tell an absent response `body` from an empty one.
    raw: &'a serde_json::Value,
}

fn index(stream: OutputStream) -> usize {
    match stream {
        OutputStream::Stdout => 0,
        OutputStream::Stderr => 1,
    }
}

/// The signal number of a spec's signal name.
pub(crate) fn signal_number(name: &str) -> Option<i32> {
    Some(match name {
        "SIGHUP" => libc::SIGHUP,
        "SIGINT" => libc::SIGINT,
        "SIGQUIT" => libc::SIGQUIT,
        "SIGILL" => libc::SIGILL,
        "SIGTRAP" => libc::SIGTRAP,
        "SIGABRT" => libc::SIGABRT,
        "SIGBUS" => libc::SIGBUS,
        "SIGFPE" => libc::SIGFPE,
        "SIGKILL" => libc::SIGKILL,
        "SIGUSR1" => libc::SIGUSR1,
        "SIGSEGV" => libc::SIGSEGV,
        "SIGUSR2" => libc::SIGUSR2,
        "SIGPIPE" => libc::SIGPIPE,
        "SIGALRM" => libc::SIGALRM,
        "SIGTERM" => libc::SIGTERM,
        _ => return None,
    })
}

fn failure(check: &str, message: String) -> Failure {
    Failure {
        check: check.into(),
        message,
        expected: None,
        actual: None,
    }
}

fn quoted(bytes: &[u8]) -> String {
    const LIMIT: usize = 80;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)]);
    let more = if bytes.len() > LIMIT { "..." } else { "" };
    format!("{text:?}{more}")
}

/// Runs `span` (the operations after `run`, through `wait`) live. `first` is the index of
/// the span's first operation in the spec, `run_index` the run's number in the test.
/// Returns the record and whether an operation failed (and stopped the run).
pub(super) fn run_span(
    cx: &TestContext<'_>,
    prepared: Prepared,
    mode: LiveMode,
    span: &[Operation],
    first: usize,
    run_index: usize,
    failures: &mut Vec<Failure>,
) -> (RunRecord, bool) {
    let command = match mode {
        LiveMode::Command => cx.shown_command(&prepared),
        LiveMode::Serve => String::new(),
    };
    let run = match cx.runner.spawn(&prepared.invocation, mode) {
        Ok(run) => run,
        Err(why) => {
            failures.push(failure("setup", why.clone()));
            let record = RunRecord {
                command,
                observed: Observed::status_only(crate::runner::GuestStatus::Failed(why)),
                trees: Vec::new(),
            };
            return (record, true);
        }
    };
    let command = if command.is_empty() {
        shown_live_command(&run.command(), &prepared)
    } else {
        command
    };
    let raw: serde_json::Value =
        serde_json::from_str(&cx.test.spec_text()).unwrap_or(serde_json::Value::Null);
    let mut live = Live {
        run,
        cursor: [0, 0],
        consumed: [Vec::new(), Vec::new()],
        read: [false, false],
        service: None,
        connections: Vec::new(),
        writes_left: span
            .iter()
            .filter(|op| matches!(op, Operation::Write(_)))
            .count(),
        raw: &raw,
    };
    if live.writes_left == 0 {
        live.run.close_stdin();
    }
    let which = if run_index == 0 {
        String::new()
    } else {
        format!(" (run {})", run_index + 1)
    };
    let mut outcome = Ok(());
    if mode == LiveMode::Serve {
        let deadline = live.run.deadline();
        match live.run.address(deadline) {
            Ok(found) => {
                let i = index(found.stream);
                let snapshot = live
                    .run
                    .watch(found.stream, deadline, &mut |b| b.len() >= found.end);
                live.consumed[i] = snapshot.bytes[..found.end.min(snapshot.bytes.len())].to_vec();
                live.cursor[i] = found.end;
                live.service = Some(found.address);
            }
            Err(why) => {
                outcome = Err(failure(
                    "serve",
                    format!("the service did not say where it listens{which}: {why}"),
                ))
            }
        }
    }
    let mut observed = None;
    if outcome.is_ok() {
        for (offset, op) in span.iter().enumerate() {
            let at = format!("operations[{}] ({}){which}", first + offset, op.kind());
            let step = match op {
                Operation::Wait(w) => {
                    let done = live.run.wait(live.run.deadline());
                    let expected = Span {
                        stdout: live.read[0].then(|| live.consumed[0].clone()),
                        stderr: live.read[1].then(|| live.consumed[1].clone()),
                        exit_code: crate::suite::adapt::expected_exit_code(
                            cx.test.adapted,
                            w.exit_code,
                        ),
                    };
                    check_span(&expected, &done, run_index, failures);
                    observed = Some(done);
                    Ok(())
                }
                _ => live.step(op, first + offset, &at),
            };
            if let Err(failed) = step {
                outcome = Err(failed);
                break;
            }
        }
    }
    let stopped = outcome.is_err();
    if let Err(failed) = outcome {
        failures.push(failed);
    }
    let observed = match observed {
        Some(observed) => observed,
        None => live.run.stop("an operation failed"),
    };
    drop(live);
    (
        RunRecord {
            command,
            observed,
            trees: super::trees_of(&prepared.invocation),
        },
        stopped,
    )
}

/// The command a live run ran, shown with the spec's source directories in place of the
/// private copies.
fn shown_live_command(argv: &[String], prepared: &Prepared) -> String {
    argv.iter()
        .map(|word| {
            let mut word = word.clone();
            for (preopen, (source, _)) in prepared.invocation.preopens.iter().zip(&prepared.sources)
            {
                let copy = preopen.host.display().to_string();
                if word.contains(&copy) {
                    word = word.replace(&copy, &source.display().to_string());
                }
            }
            super::shell_quote(&word)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Live<'_> {
    fn deadline(&self) -> Instant {
        self.run.deadline()
    }

    fn step(&mut self, op: &Operation, op_index: usize, at: &str) -> Result<(), Failure> {
        match op {
            Operation::Write(w) => {
                // A guest that ended without reading its stdin closed the pipe; what it
                // wrote and its exit code still decide.
                let _ = self.run.write_stdin(w.payload.as_bytes());
                self.writes_left -= 1;
                if self.writes_left == 0 {
                    self.run.close_stdin();
                }
                Ok(())
            }
            Operation::Read(r) => self.read(r.id, r.payload.as_bytes(), at),
            Operation::Connect(c) => {
                let line = self.line(OutputStream::Stdout, at)?;
                let address = net::parse_address(&String::from_utf8_lossy(&line))
                    .map_err(|e| failure("connect", format!("{at}: the guest printed {e}")))?;
                let connection = Connection::open(c.protocol_type, address, self.deadline())
                    .map_err(|e| failure("connect", format!("{at}: {e}")))?;
                self.connections.push((c.id.clone(), connection));
                Ok(())
            }
            Operation::Send(t) => {
                let deadline = self.deadline();
                let connection = self.connection(&t.id, at)?;
                connection
                    .send(t.payload.as_bytes(), deadline)
                    .map_err(|e| failure("send", format!("{at}: {e}")))
            }
            Operation::Recv(t) => {
                let deadline = self.deadline();
                let connection = self.connection(&t.id, at)?;
                let want = t.payload.as_bytes();
                let got = connection
                    .recv(want.len(), deadline)
                    .map_err(|e| failure("recv", format!("{at}: {e}")))?;
                if got == want {
                    return Ok(());
                }
                Err(Failure {
                    check: "recv".into(),
                    message: format!(
                        "{at}: expected {} bytes on `{}`, got {}{}",
                        want.len(),
                        t.id,
                        got.len(),
                        if got.len() < want.len() {
                            " (the connection closed or the deadline passed)"
                        } else {
                            ""
                        }
                    ),
                    expected: Some(want.to_vec()),
                    actual: Some(got),
                })
            }
            Operation::Request(r) => self.request(r, op_index, at),
            Operation::Kill(k) => {
                let signal = super::live::signal_number(&k.signal)
                    .ok_or_else(|| failure("kill", format!("{at}: unknown signal {}", k.signal)))?;
                self.run
                    .signal(signal)
                    .map_err(|e| failure("kill", format!("{at}: {} not sent: {e}", k.signal)))
            }
            Operation::Run(_) | Operation::Wait(_) => {
                unreachable!("validated: spans hold no run, and wait is handled by the caller")
            }
        }
    }

    fn connection(&mut self, id: &str, at: &str) -> Result<&mut Connection, Failure> {
        self.connections
            .iter_mut()
            .find(|(name, _)| name == id)
            .map(|(_, c)| c)
            .ok_or_else(|| failure("connect", format!("{at}: no connection `{id}`")))
    }

    /// `read`: the next bytes of `stream` are exactly `payload`.
    fn read(&mut self, stream: OutputStream, payload: &[u8], at: &str) -> Result<(), Failure> {
        let i = index(stream);
        self.read[i] = true;
        let from = self.cursor[i];
        let deadline = self.deadline();
        let snapshot = self.run.watch(stream, deadline, &mut |bytes| {
            let got = &bytes[from.min(bytes.len())..];
            let n = got.len().min(payload.len());
            got[..n] != payload[..n] || got.len() >= payload.len()
        });
        let available = &snapshot.bytes[from.min(snapshot.bytes.len())..];
        let got = &available[..available.len().min(payload.len())];
        if got == payload {
            self.cursor[i] += payload.len();
            self.consumed[i].extend_from_slice(payload);
            return Ok(());
        }
        let why = if got.len() == payload.len() || got != &payload[..got.len()] {
            String::new()
        } else if snapshot.closed {
            " before the stream ended".to_owned()
        } else {
            " before the deadline".to_owned()
        };
        let mut expected = self.consumed[i].clone();
        expected.extend_from_slice(payload);
        Err(Failure {
            check: stream.name().into(),
            message: format!(
                "{} differs at {at}: expected {} bytes {}, got {}{why}",
                stream.name(),
                payload.len(),
                quoted(payload),
                got.len()
            ),
            expected: Some(expected),
            actual: Some(snapshot.bytes[..(from + got.len()).min(snapshot.bytes.len())].to_vec()),
        })
    }

    /// The next line of `stream` (without its newline), consumed.
    fn line(&mut self, stream: OutputStream, at: &str) -> Result<Vec<u8>, Failure> {
        let i = index(stream);
        let from = self.cursor[i];
        let deadline = self.deadline();
        let snapshot = self.run.watch(stream, deadline, &mut |bytes| {
            bytes.len() > from && bytes[from..].contains(&b'\n')
        });
        let available = &snapshot.bytes[from.min(snapshot.bytes.len())..];
        let Some(nl) = available.iter().position(|b| *b == b'\n') else {
            return Err(failure(
                "connect",
                format!(
                    "{at}: the guest printed no address line on {} {} (got {})",
                    stream.name(),
                    if snapshot.closed {
                        "before the stream ended"
                    } else {
                        "before the deadline"
                    },
                    quoted(available)
                ),
            ));
        };
        let line = available[..nl].to_vec();
        self.consumed[i].extend_from_slice(&available[..=nl]);
        self.cursor[i] += nl + 1;
        Ok(line)
    }

    fn request(&mut self, r: &Request, op_index: usize, at: &str) -> Result<(), Failure> {
        let Some(address) = self.service.clone() else {
            return Err(failure(
                "request",
                format!("{at}: no service address (the spec's world is not wasi:http/service)"),
            ));
        };
        let response = net::send_request(&address, r, self.deadline())
            .map_err(|e| failure("request", format!("{at}: {e}")))?;
        let what = format!("{at}: {} {}", r.method.to_ascii_uppercase(), r.path);
        if response.status != r.response.status {
            return Err(Failure {
                check: "request".into(),
                message: format!(
                    "{what}: expected status {}, got {}",
                    r.response.status, response.status
                ),
                expected: None,
                actual: (!response.body.is_empty()).then(|| response.body.clone()),
            });
        }
        for (name, value) in &r.response.headers.0 {
            let values: Vec<String> = response
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            if !values.iter().any(|v| v == value) {
                return Err(failure(
                    "request",
                    format!(
                        "{what}: expected header `{name}: {value}`, got {}",
                        if values.is_empty() {
                            "no such header".to_owned()
                        } else {
                            values
                                .iter()
                                .map(|v| format!("`{name}: {v}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ));
            }
        }
        let body_given = self.raw["operations"][op_index]["response"]
            .get("body")
            .is_some();
        if body_given && response.body != r.response.body.as_bytes() {
            return Err(Failure {
                check: "request".into(),
                message: format!(
                    "{what}: body differs: expected {} bytes, got {}",
                    r.response.body.len(),
                    response.body.len()
                ),
                expected: Some(r.response.body.clone().into_bytes()),
                actual: Some(response.body),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(signal_number("SIGINT"), Some(libc::SIGINT));
        assert_eq!(signal_number("SIGKILL"), Some(libc::SIGKILL));
        assert_eq!(signal_number("SIGNOPE"), None);
    }
}
