//! Suite stage: the test spec model (`foo.json` beside `foo.wasm`), parsed strictly.
//!
//! Two formats exist upstream. The legacy one is a flat object (`args`, `env`, `root`,
//! `dirs`, `exit_code`, `stdout`, `stderr`); the operation-based one has `proposals`,
//! `world`, `servers` and a list of `operations` (run, wait, read, write, connect, send,
//! recv, request, kill). Both parse into [`FixtureSpec`], where a legacy spec becomes the
//! operations it stands for (`run`, `read stdout`, `read stderr`, `wait`).
//!
//! Unlike the Python runner, which only warns, an unknown key, a value of the wrong type,
//! a mix of the two formats or an impossible sequence of operations is an error that names
//! the file and the key (or the operation) at fault.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Keys of the legacy format.
const LEGACY_KEYS: &[&str] = &[
    "args",
    "env",
    "root",
    "dirs",
    "exit_code",
    "stdout",
    "stderr",
];
/// Keys of the operation-based format.
const OPERATION_KEYS: &[&str] = &["operations", "proposals", "world", "servers"];

/// A parsed, validated test spec.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureSpec {
    /// Which of the two formats the file used.
    pub format: SpecFormat,
    /// Proposals the test needs beyond the base WASI version.
    pub proposals: Vec<Proposal>,
    /// The world the module targets.
    pub world: World,
    /// HTTP servers the runner stands up for the guest.
    pub servers: Vec<Server>,
    /// What to do, in order.
    pub operations: Vec<Operation>,
}

/// Which format a spec file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// No spec file: `run` then `wait` for exit code 0.
    Default,
    /// The flat legacy keys.
    Legacy,
    /// `operations` / `proposals` / `world` / `servers`.
    Operations,
}

impl Default for FixtureSpec {
    fn default() -> Self {
        FixtureSpec {
            format: SpecFormat::Default,
            proposals: Vec::new(),
            world: World::CliCommand,
            servers: Vec::new(),
            operations: vec![
                Operation::Run(Run::default()),
                Operation::Wait(Wait::default()),
            ],
        }
    }
}

/// A WASI proposal a test may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proposal {
    /// `wasi:http`.
    Http,
    /// `wasi:sockets`.
    Sockets,
}

impl Proposal {
    /// The proposal's name as the spec spells it.
    pub fn name(self) -> &'static str {
        match self {
            Proposal::Http => "http",
            Proposal::Sockets => "sockets",
        }
    }
}

/// The world a test module targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum World {
    /// A command: `_start` / `wasi:cli/run`.
    #[default]
    #[serde(rename = "wasi:cli/command")]
    CliCommand,
    /// An HTTP service, driven by requests.
    #[serde(rename = "wasi:http/service")]
    HttpService,
}

/// A list of `(key, value)` pairs that keeps the order of the JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderedMap(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap, A::Error> {
                let mut pairs: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if pairs.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom(format!("duplicate key `{k}`")));
                    }
                    pairs.push((k, v));
                }
                Ok(OrderedMap(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// `run`: start the module.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Arguments after argv[0].
    #[serde(default)]
    pub args: Vec<String>,
    /// The guest's whole environment.
    #[serde(default)]
    pub env: OrderedMap,
    /// A directory (relative to the spec) preopened as `/`.
    #[serde(default)]
    pub root: Option<String>,
    /// Legacy only: directories (relative to the spec) preopened under their own names.
    #[serde(skip)]
    pub dirs: Vec<String>,
}

/// `wait`: the module ends with this exit code.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// Expected exit code (default 0).
    #[serde(default)]
    pub exit_code: i32,
}

/// An output stream of the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    /// fd 1.
    #[default]
    Stdout,
    /// fd 2.
    Stderr,
}

impl OutputStream {
    /// The stream's name.
    pub fn name(self) -> &'static str {
        match self {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        }
    }
}

/// `read`: the next bytes of an output stream are exactly `payload`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Read {
    /// Which stream.
    #[serde(default)]
    pub id: OutputStream,
    /// The expected bytes (UTF-8 text in the spec).
    #[serde(default)]
    pub payload: String,
}

/// The guest's input stream (the only writable one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputStream {
    /// fd 0.
    #[default]
    Stdin,
}

/// `write`: send `payload` to the guest's stdin.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    /// Which stream (`stdin`).
    #[serde(default)]
    pub id: InputStream,
    /// The bytes to send.
    #[serde(default)]
    pub payload: String,
}

/// Transport of a `connect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the only one the upstream runner implements).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// HTTP.
    Http,
}

fn default_connection_id() -> String {
    "server".to_owned()
}

/// `connect`: connect to the address the guest printed on stdout.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    /// Name of the connection for `send` / `recv`.
    #[serde(default = "default_connection_id")]
    pub id: String,
    /// Transport.
    #[serde(default)]
    pub protocol_type: Protocol,
}

/// `send` / `recv`: bytes over a connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The connection's `id` (required).
    pub id: String,
    /// The bytes.
    #[serde(default)]
    pub payload: String,
}

/// HTTP methods a spec may name.
const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

fn default_method() -> String {
    "GET".to_owned()
}

fn default_path() -> String {
    "/".to_owned()
}

fn default_status() -> u16 {
    200
}

/// The response a `request` expects.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedResponse {
    /// Status code (default 200).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Headers that must be present with these values.
    #[serde(default)]
    pub headers: OrderedMap,
    /// The whole body.
    #[serde(default)]
    pub body: String,
}

impl Default for ExpectedResponse {
    fn default() -> Self {
        ExpectedResponse {
            status: 200,
            headers: OrderedMap::default(),
            body: String::new(),
        }
    }
}

/// `request`: an HTTP request to the guest's service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Method (default GET).
    #[serde(default = "default_method")]
    pub method: String,
    /// Path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// Request headers.
    #[serde(default)]
    pub headers: OrderedMap,
    /// Request body.
    #[serde(default)]
    pub body: String,
    /// What must come back.
    #[serde(default)]
    pub response: ExpectedResponse,
}

fn default_signal() -> String {
    "SIGTERM".to_owned()
}

/// Signals a `kill` may name.
const SIGNALS: &[&str] = &[
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
];

/// `kill`: send a signal to the running guest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kill {
    /// Signal name (default SIGTERM).
    #[serde(default = "default_signal")]
    pub signal: String,
}

/// One step of a test.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Operation {
    /// Start the module.
    Run(Run),
    /// Wait for it to end.
    Wait(Wait),
    /// Check output.
    Read(Read),
    /// Feed input.
    Write(Write),
    /// Connect to the guest's server.
    Connect(Connect),
    /// Send on a connection.
    Send(Transfer),
    /// Receive on a connection.
    Recv(Transfer),
    /// HTTP request to the guest's service.
    Request(Request),
    /// Signal the guest.
    Kill(Kill),
}

impl Operation {
    /// The operation's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Operation::Run(_) => "run",
            Operation::Wait(_) => "wait",
            Operation::Read(_) => "read",
            Operation::Write(_) => "write",
            Operation::Connect(_) => "connect",
            Operation::Send(_) => "send",
            Operation::Recv(_) => "recv",
            Operation::Request(_) => "request",
            Operation::Kill(_) => "kill",
        }
    }
}

/// Whether a server listens or is a refused address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    /// A listening HTTP server.
    #[default]
    Listening,
    /// An address nothing listens on.
    Closed,
}

/// How an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointMode {
    /// With its configured `response`.
    #[default]
    Static,
    /// With the request body.
    EchoBody,
    /// With the request line and headers as response headers.
    EchoHeaders,
}

/// A static endpoint's response: a string (the body) or an object.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: OrderedMap,
    /// Body (exclusive with `chunks`).
    pub body: Option<String>,
    /// Chunked body.
    pub chunks: Option<Vec<String>>,
    /// Trailers (need `chunks`).
    pub trailers: OrderedMap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointResponseObject {
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default)]
    headers: OrderedMap,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    chunks: Option<Vec<String>>,
    #[serde(default)]
    trailers: OrderedMap,
}

impl<'de> Deserialize<'de> for EndpointResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::String(body) => Ok(EndpointResponse {
                status: 200,
                headers: OrderedMap::default(),
                body: Some(body),
                chunks: None,
                trailers: OrderedMap::default(),
            }),
            serde_json::Value::Object(_) => {
                let o: EndpointResponseObject =
                    serde_json::from_value(value).map_err(de::Error::custom)?;
                if o.body.is_some() && o.chunks.is_some() {
                    return Err(de::Error::custom(
                        "a response takes `body` or `chunks`, not both",
                    ));
                }
                if !o.trailers.0.is_empty() && o.chunks.is_none() {
                    return Err(de::Error::custom("`trailers` require `chunks`"));
                }
                Ok(EndpointResponse {
                    status: o.status,
                    headers: o.headers,
                    body: o.body,
                    chunks: o.chunks,
                    trailers: o.trailers,
                })
            }
            _ => Err(de::Error::custom(
                "an endpoint response is a string or an object",
            )),
        }
    }
}

/// One route of a server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Method (default GET).
    #[serde(default = "default_method")]
    pub method: String,
    /// Path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// How it answers.
    #[serde(default)]
    pub mode: EndpointMode,
    /// Static mode only.
    #[serde(default)]
    pub response: Option<EndpointResponse>,
}

/// An HTTP server the runner stands up (its address reaches the guest as
/// `HTTP_SERVER_<NAME>`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// `[A-Za-z0-9_]+`.
    pub name: String,
    /// Listening or closed.
    #[serde(default)]
    pub kind: ServerKind,
    /// Routes (listening servers only).
    #[serde(default)]
    pub endpoints: Option<Vec<Endpoint>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacySpec {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: OrderedMap,
    #[serde(default)]
    root: Option<String>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    stdout: Option<String>,
    #[serde(default)]
    stderr: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationSpec {
    #[serde(default)]
    proposals: Vec<Proposal>,
    #[serde(default)]
    world: World,
    #[serde(default)]
    servers: Vec<Server>,
    #[serde(default)]
    operations: Option<Vec<Operation>>,
}

/// Why a spec file was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file.
    pub file: String,
    /// What is wrong, naming the key or operation.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for SpecError {}

/// Reads and validates the spec file at `path`.
pub fn load_spec(path: &Path) -> Result<FixtureSpec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    parse_spec(&text).map_err(|message| SpecError {
        file: path.display().to_string(),
        message,
    })
}

/// Parses and validates spec text; the error names the key or operation at fault.
pub fn parse_spec(text: &str) -> Result<FixtureSpec, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let object = value.as_object().ok_or("a spec is a JSON object")?;
    let legacy: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| LEGACY_KEYS.contains(k))
        .collect();
    let modern: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| OPERATION_KEYS.contains(k))
        .collect();
    if !legacy.is_empty() && !modern.is_empty() {
        return Err(format!(
            "mixes the legacy key `{}` with the operation-based key `{}`",
            legacy[0], modern[0]
        ));
    }
    let spec = if modern.is_empty() {
        let l: LegacySpec = serde_json::from_str(text).map_err(|e| describe(&e))?;
        let mut operations = vec![Operation::Run(Run {
            args: l.args,
            env: l.env,
            root: l.root,
            dirs: l.dirs,
        })];
        if let Some(payload) = l.stdout {
            operations.push(Operation::Read(Read {
                id: OutputStream::Stdout,
                payload,
            }));
        }
        if let Some(payload) = l.stderr {
            operations.push(Operation::Read(Read {
                id: OutputStream::Stderr,
                payload,
            }));
        }
        operations.push(Operation::Wait(Wait {
            exit_code: l.exit_code,
        }));
        FixtureSpec {
            format: SpecFormat::Legacy,
            proposals: Vec::new(),
            world: World::CliCommand,
            servers: Vec::new(),
            operations,
        }
    } else {
        let o: OperationSpec = serde_json::from_str(text).map_err(|e| describe(&e))?;
        FixtureSpec {
            format: SpecFormat::Operations,
            proposals: o.proposals,
            world: o.world,
            servers: o.servers,
            operations: o
                .operations
                .unwrap_or_else(|| FixtureSpec::default().operations),
        }
    };
    validate(&spec)?;
    Ok(spec)
}

fn describe(e: &serde_json::Error) -> String {
    // serde names the unknown key or the bad value; add where it is.
    e.to_string()
}

fn is_relative_inside(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.is_relative()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Checks what serde cannot: the order of operations, names, methods, signals.
fn validate(spec: &FixtureSpec) -> Result<(), String> {
    let mut running = false;
    let mut connections: Vec<&str> = Vec::new();
    for (i, op) in spec.operations.iter().enumerate() {
        let at = format!("operations[{i}] ({})", op.kind());
        let need_process = |running: bool| {
            if running {
                Ok(())
            } else {
                Err(format!(
                    "{at}: no process is running (it needs a `run` before it)"
                ))
            }
        };
        match op {
            Operation::Run(run) => {
                if running {
                    return Err(format!("{at}: the previous `run` has no `wait`"));
                }
                for dir in run.root.iter().chain(run.dirs.iter()) {
                    if !is_relative_inside(dir) {
                        return Err(format!(
                            "{at}: directory `{dir}` must be a relative path inside the suite"
                        ));
                    }
                }
                running = true;
                connections.clear();
            }
            Operation::Wait(_) => {
                need_process(running)?;
                running = false;
            }
            Operation::Read(_)
            | Operation::Write(_)
            | Operation::Request(_)
            | Operation::Kill(_) => {
                need_process(running)?;
            }
            Operation::Connect(c) => {
                need_process(running)?;
                if c.protocol_type == Protocol::Http {
                    return Err(format!(
                        "{at}: protocol_type {:?} is not supported",
                        c.protocol_type
                    ));
                }
                if connections.contains(&c.id.as_str()) {
                    return Err(format!("{at}: connection id `{}` is already used", c.id));
                }
                connections.push(&c.id);
            }
            Operation::Send(t) | Operation::Recv(t) => {
                need_process(running)?;
                if !connections.contains(&t.id.as_str()) {
                    return Err(format!(
                        "{at}: no `connect` defined connection id `{}`",
                        t.id
                    ));
                }
            }
        }
        if let Operation::Request(r) = op {
            check_method(&r.method).map_err(|e| format!("{at}: {e}"))?;
        }
        if let Operation::Kill(k) = op {
            if !SIGNALS.contains(&k.signal.as_str()) {
                return Err(format!("{at}: unknown signal `{}`", k.signal));
            }
        }
    }
    if running {
        return Err("the last `run` has no `wait`".to_owned());
    }
    let mut names: Vec<String> = Vec::new();
    for (i, server) in spec.servers.iter().enumerate() {
        let at = format!("servers[{i}]");
        if server.name.is_empty()
            || !server
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "{at}: name `{}` must match [A-Za-z0-9_]+",
                server.name
            ));
        }
        let upper = server.name.to_ascii_uppercase();
        if names.contains(&upper) {
            return Err(format!("{at}: duplicate server name `{}`", server.name));
        }
        names.push(upper);
        if server.kind == ServerKind::Closed && server.endpoints.is_some() {
            return Err(format!(
                "{at}: a server of kind `closed` takes no `endpoints`"
            ));
        }
        for (j, endpoint) in server.endpoints.iter().flatten().enumerate() {
            let at = format!("{at}.endpoints[{j}]");
            check_method(&endpoint.method).map_err(|e| format!("{at}: {e}"))?;
            if endpoint.mode != EndpointMode::Static && endpoint.response.is_some() {
                return Err(format!(
                    "{at}: an endpoint in mode {:?} takes no `response`",
                    endpoint.mode
                ));
            }
        }
    }
    Ok(())
}

fn check_method(method: &str) -> Result<(), String> {
    if HTTP_METHODS.contains(&method.to_ascii_uppercase().as_str()) {
        Ok(())
    } else {
        Err(format!("unknown HTTP method `{method}`"))
    }
}

impl FixtureSpec {
    /// What the test needs beyond run/wait/read/write, if anything: `Some("http")`,
    /// `Some("sockets")` or `Some("signals")` (a `kill` of an in-process guest).
    pub fn network_need(&self) -> Option<&'static str> {
        let http = self.world == World::HttpService
            || !self.servers.is_empty()
            || self.proposals.contains(&Proposal::Http)
            || self
                .operations
                .iter()
                .any(|op| matches!(op, Operation::Request(_)));
        if http {
            return Some("http");
        }
        let sockets = self.proposals.contains(&Proposal::Sockets)
            || self.operations.iter().any(|op| {
                matches!(
                    op,
                    Operation::Connect(_) | Operation::Send(_) | Operation::Recv(_)
                )
            });
        if sockets {
            return Some("sockets");
        }
        let signals = self
            .operations
            .iter()
            .any(|op| matches!(op, Operation::Kill(_)));
        signals.then_some("signals")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_becomes_operations() {
        let spec = parse_spec(
            r#"{"args": ["a"], "env": {"b": "1", "a": "2"}, "stdout": "hi", "exit_code": 3}"#,
        )
        .unwrap();
        assert_eq!(spec.format, SpecFormat::Legacy);
        assert_eq!(spec.operations.len(), 3);
        let Operation::Run(run) = &spec.operations[0] else {
            panic!()
        };
        assert_eq!(
            run.env.0,
            vec![("b".into(), "1".into()), ("a".into(), "2".into())]
        );
        assert_eq!(spec.operations[2], Operation::Wait(Wait { exit_code: 3 }));
    }

    #[test]
    fn unknown_legacy_key_is_named() {
        let err = parse_spec(r#"{"args": [], "exitcode": 1}"#).unwrap_err();
        assert!(err.contains("unknown field `exitcode`"), "{err}");
    }

    #[test]
    fn unknown_operation_key_is_named() {
        let err = parse_spec(r#"{"operations": [{"type": "run", "argz": []}, {"type": "wait"}]}"#)
            .unwrap_err();
        assert!(err.contains("unknown field `argz`"), "{err}");
        let err = parse_spec(r#"{"operations": [{"type": "launch"}]}"#).unwrap_err();
        assert!(err.contains("unknown variant `launch`"), "{err}");
    }

    #[test]
    fn mixing_formats_is_an_error() {
        let err = parse_spec(r#"{"args": [], "operations": []}"#).unwrap_err();
        assert!(
            err.contains("`args`") && err.contains("`operations`"),
            "{err}"
        );
    }

    #[test]
    fn sequences_are_checked() {
        assert!(parse_spec(r#"{"operations": [{"type": "run"}]}"#)
            .unwrap_err()
            .contains("no `wait`"));
        assert!(parse_spec(r#"{"operations": [{"type": "read"}]}"#)
            .unwrap_err()
            .contains("operations[0]"));
        let err = parse_spec(
            r#"{"operations": [{"type": "run"}, {"type": "send", "id": "x"}, {"type": "wait"}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("operations[1] (send)"), "{err}");
        assert!(parse_spec(r#"{"root": "../escape"}"#)
            .unwrap_err()
            .contains("relative path"));
    }

    #[test]
    fn network_tests_declare_their_need() {
        let spec = parse_spec(
            r#"{"proposals": ["sockets"], "operations": [{"type": "run"}, {"type": "connect"}, {"type": "wait"}]}"#,
        )
        .unwrap();
        assert_eq!(spec.network_need(), Some("sockets"));
        let spec = parse_spec(r#"{"world": "wasi:http/service"}"#).unwrap();
        assert_eq!(spec.network_need(), Some("http"));
        assert_eq!(FixtureSpec::default().network_need(), None);
    }

    #[test]
    fn endpoint_responses() {
        let spec = parse_spec(
            r#"{"servers": [{"name": "main", "endpoints": [
                {"path": "/a", "response": "text"},
                {"path": "/b", "response": {"status": 201, "chunks": ["x"], "trailers": {"t": "v"}}},
                {"method": "POST", "path": "/c", "mode": "echo-body"}]}]}"#,
        )
        .unwrap();
        assert_eq!(spec.servers[0].endpoints.as_ref().unwrap().len(), 3);
        let err =
            parse_spec(r#"{"servers": [{"name": "m", "endpoints": [{"response": {"stat": 1}}]}]}"#)
                .unwrap_err();
        assert!(err.contains("unknown field `stat`"), "{err}");
    }
}
