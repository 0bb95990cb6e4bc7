//! Runner stage: any runtime CLI as a runner, described by data (`harness/runners/*.toml`).
//!
//! A runner file names the binary (an environment variable, then names looked up on `PATH`),
//! an argv template with placeholders for the preopened directories, the environment, the
//! guest's arguments and the module file, the WASI versions and proposals the runtime
//! claims (each with the flags it needs), how an HTTP service prints its address, and a
//! timeout. `docs/runners.md` describes the format; the files shipped with the harness are
//! built in, so `--runner wasmtime-cli` works anywhere and `--runner path/to/x.toml` loads
//! another.
//!
//! Each run is one process: the module is written to a private temp dir that is also the
//! process's working directory (so the guest's `argv[0]` is the bare file name, as with the
//! in-process runners), stdin is fed from a thread, stdout and stderr are read to the end.
//! The process gets a cleared environment (plus `PATH`, `HOME`, `TMPDIR` and what the file
//! lists in `pass_env`): the guest's environment only ever comes from the `--env` template.
//! A process that outlives its deadline is killed, and so is one whose [`ChildGuard`] is
//! dropped for any other reason (a panic in the harness): no runtime outlives its test.
//!
//! The execute stage drives most runs live ([`ExternalLive`]): stdin written operation by
//! operation, stdout and stderr read by threads into buffers that a [`Condvar`] watches,
//! signals sent with `kill(2)`, and, for a `wasi:http/service`, the `[http]` command whose
//! address line says where requests go.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::{
    GuestStatus, Invocation, LiveMode, LiveRun, Observed, Runner, ServiceAddress, StreamSnapshot,
};
use crate::suite::spec::{OutputStream, Proposal};
use crate::suite::WasiVersion;

/// The runner files shipped in `harness/runners/`, built into the harness.
const BUILTIN: &[(&str, &str)] = &[
    (
        "wasmtime-cli",
        include_str!("../../runners/wasmtime-cli.toml"),
    ),
    (
        "wasmgate-cli",
        include_str!("../../runners/wasmgate-cli.toml"),
    ),
    ("wamr", include_str!("../../runners/wamr.toml")),
    ("wasmedge", include_str!("../../runners/wasmedge.toml")),
    ("wazero", include_str!("../../runners/wazero.toml")),
    ("iwasm", include_str!("../../runners/iwasm.toml")),
];

/// The most output kept from one stream of one run.
const OUTPUT_CAPACITY: usize = 64 << 20;
/// How long `version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);
/// Variables of the harness's environment every runtime process keeps.
const KEPT_ENV: &[&str] = &["PATH", "HOME", "TMPDIR"];

/// The names of the built-in runner files, in the order they are documented.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// Whether `--runner` names a runner file rather than a built-in name.
pub fn is_runner_file(name_or_path: &str) -> bool {
    name_or_path.ends_with(".toml") || name_or_path.contains(std::path::MAIN_SEPARATOR)
}

/// A world or proposal a runner can claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Claim {
    /// `wasm32-wasip1` core modules.
    P1,
    /// `wasm32-wasip2` components.
    P2,
    /// `wasm32-wasip3` components.
    P3,
    /// `wasi:http` (outgoing requests and the `wasi:http/service` world).
    Http,
    /// `wasi:sockets`.
    Sockets,
}

impl Claim {
    /// The claim a spec's proposal needs.
    pub fn of_proposal(proposal: Proposal) -> Claim {
        match proposal {
            Proposal::Http => Claim::Http,
            Proposal::Sockets => Claim::Sockets,
        }
    }

    /// The claim a WASI version needs.
    pub fn of_version(version: WasiVersion) -> Claim {
        match version {
            WasiVersion::P1 => Claim::P1,
            WasiVersion::P2 => Claim::P2,
            WasiVersion::P3 => Claim::P3,
        }
    }
}

/// Where the binary comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinarySpec {
    /// An environment variable that names the binary; when it is set, nothing else is tried.
    #[serde(default)]
    pub env: Option<String>,
    /// Names looked up on `PATH` (or paths, if they hold a `/`), in order.
    pub names: Vec<String>,
    /// How to install it, shown when it is missing.
    pub install: String,
}

/// The argv templates of a command run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The whole command: `{binary}`, `{module}`, and the list placeholders `{flags}`,
    /// `{dirs}`, `{envs}`, `{args}`, each a word of its own.
    pub argv: Vec<String>,
    /// The words for one preopened directory: `{host}`, `{guest}`.
    pub dir: Vec<String>,
    /// The words for one environment variable: `{name}`, `{value}`.
    pub env: Vec<String>,
}

/// How an HTTP service is started and says where it listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// The command that serves the module (the placeholders of [`CommandSpec::argv`]).
    pub argv: Vec<String>,
    /// The stream the address is printed on.
    pub address_stream: OutputStream,
    /// The line that carries the address, with `{address}` where `host:port` stands.
    pub address_line: String,
}

/// A runner file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerFile {
    /// The runner's name (`wasmtime-cli`): test ids, skiplists and reports use it.
    pub name: String,
    /// One sentence on what it runs.
    pub about: String,
    /// The binary.
    pub binary: BinarySpec,
    /// The command that prints the version (its first line of stdout is kept).
    pub version: Vec<String>,
    /// Seconds one process may live, compilation included (the harness's `--timeout`
    /// lowers it).
    pub timeout_s: f64,
    /// Variables of the harness's environment passed to the process besides `PATH`, `HOME`
    /// and `TMPDIR`.
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// The argv templates.
    pub command: CommandSpec,
    /// What the runtime claims, each with the flags it needs (`{flags}`).
    pub claims: BTreeMap<Claim, Vec<String>>,
    /// The HTTP service command, if the runtime can serve one.
    #[serde(default)]
    pub http: Option<HttpSpec>,
}

/// One piece of a template word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(String),
}

/// Splits a template word into text and `{placeholder}`s.
fn pieces(word: &str) -> std::result::Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("`{word}`: a `{{` without its `}}`"))?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(format!("`{word}`: `{{{name}}}` is not a placeholder"));
        }
        out.push(Piece::Slot(name.to_owned()));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_owned()));
    }
    Ok(out)
}

/// Placeholders that stand for a list of words and must be a word of their own.
const LIST_SLOTS: &[&str] = &["flags", "dirs", "envs", "args"];

/// Checks a template: only `scalars` and `lists` may appear; lists only as whole words;
/// each of `required` at least once.
fn check_template(
    what: &str,
    template: &[String],
    scalars: &[&str],
    lists: &[&str],
    required: &[&str],
) -> Result<()> {
    let mut seen = Vec::new();
    for word in template {
        let parts = pieces(word).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        for part in &parts {
            let Piece::Slot(name) = part else { continue };
            if lists.contains(&name.as_str()) {
                if parts.len() != 1 {
                    bail!("{what}: `{{{name}}}` stands for several words and must be a word of its own, not part of `{word}`");
                }
            } else if !scalars.contains(&name.as_str()) {
                let mut known: Vec<&str> = scalars.iter().chain(lists).copied().collect();
                known.sort();
                bail!(
                    "{what}: unknown placeholder `{{{name}}}` in `{word}` (known here: {})",
                    known
                        .iter()
                        .map(|k| format!("{{{k}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            seen.push(name.clone());
        }
    }
    for name in required {
        if !seen.iter().any(|s| s == name) {
            bail!("{what}: `{{{name}}}` is missing");
        }
    }
    Ok(())
}

/// Values for a template's placeholders.
struct Values<'a> {
    scalars: &'a [(&'a str, String)],
    lists: &'a [(&'a str, Vec<String>)],
}

/// Fills a checked template in one pass (a value is never scanned for placeholders).
fn fill(template: &[String], values: &Values<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for word in template {
        let parts = pieces(word).expect("templates are checked when loaded");
        if let [Piece::Slot(name)] = parts.as_slice() {
            if let Some((_, list)) = values.lists.iter().find(|(n, _)| n == name) {
                out.extend(list.iter().cloned());
                continue;
            }
        }
        let mut text = String::new();
        for part in parts {
            match part {
                Piece::Text(t) => text.push_str(&t),
                Piece::Slot(name) => {
                    if let Some((_, v)) = values.scalars.iter().find(|(n, _)| *n == name) {
                        text.push_str(v);
                    }
                }
            }
        }
        out.push(text);
    }
    out
}

impl RunnerFile {
    /// Parses and checks runner-file text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RunnerFile> {
        let file: RunnerFile =
            toml::from_str(text).with_context(|| format!("runner file {origin}"))?;
        file.check()
            .with_context(|| format!("runner file {origin}"))?;
        Ok(file)
    }

    fn check(&self) -> Result<()> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !name_ok {
            bail!(
                "`name = {:?}`: use letters, digits, `-`, `_` and `.`",
                self.name
            );
        }
        if ["wasmgate", "wasmtime"].contains(&self.name.as_str()) {
            bail!(
                "`name = {:?}` is an in-process runner's name; pick another",
                self.name
            );
        }
        if self.binary.names.is_empty() && self.binary.env.is_none() {
            bail!("[binary] needs `names` or `env`");
        }
        if !(self.timeout_s > 0.0 && self.timeout_s.is_finite()) {
            bail!("`timeout_s` must be a positive number of seconds");
        }
        if self.claims.is_empty() {
            bail!("[claims] claims nothing: list at least `p1`");
        }
        check_template("version", &self.version, &["binary"], &[], &["binary"])?;
        check_template(
            "command.argv",
            &self.command.argv,
            &["binary", "module"],
            LIST_SLOTS,
            &["binary", "module", "dirs", "envs", "args"],
        )?;
        check_template(
            "command.dir",
            &self.command.dir,
            &["host", "guest"],
            &[],
            &["host", "guest"],
        )?;
        check_template(
            "command.env",
            &self.command.env,
            &["name", "value"],
            &[],
            &["name", "value"],
        )?;
        for (claim, flags) in &self.claims {
            check_template(&format!("claims.{claim:?}"), flags, &[], &[], &[])?;
        }
        if let Some(http) = &self.http {
            if !self.claims.contains_key(&Claim::Http) {
                bail!("[http] is given but `http` is not claimed");
            }
            check_template(
                "http.argv",
                &http.argv,
                &["binary", "module"],
                LIST_SLOTS,
                &["binary", "module"],
            )?;
            if http.address_line.matches("{address}").count() != 1 {
                bail!("http.address_line must hold `{{address}}` once");
            }
        }
        Ok(())
    }
}

/// A runtime CLI described by a [`RunnerFile`].
#[derive(Debug)]
pub struct ExternalRunner {
    file: RunnerFile,
    name: &'static str,
    origin: String,
    binary: std::result::Result<PathBuf, String>,
    version: OnceLock<String>,
}

impl ExternalRunner {
    /// A built-in runner file by name (`wasmtime-cli`), or a runner file by path.
    pub fn load(name_or_path: &str) -> Result<ExternalRunner> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::from_text(text, &format!("harness/runners/{name_or_path}.toml"));
        }
        if !is_runner_file(name_or_path) {
            let mut known = super::runner_names();
            known.extend(builtin_names());
            bail!(
                "unknown runner `{name_or_path}` (known: {}; or a path to a runner file, x.toml)",
                known.join(", ")
            );
        }
        let path = Path::new(name_or_path);
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read runner file {}", path.display()))?;
        Self::from_text(&text, &path.display().to_string())
    }

    /// A runner from runner-file text; `origin` names it in messages.
    pub fn from_text(text: &str, origin: &str) -> Result<ExternalRunner> {
        let file = RunnerFile::parse(text, origin)?;
        let binary = resolve_binary(&file.binary);
        // One leaked name per runner loaded: `Runner::name` hands out `&'static str`.
        let name: &'static str = Box::leak(file.name.clone().into_boxed_str());
        Ok(ExternalRunner {
            file,
            name,
            origin: origin.to_owned(),
            binary,
            version: OnceLock::new(),
        })
    }

    /// The parsed runner file.
    pub fn file(&self) -> &RunnerFile {
        &self.file
    }

    /// Where the runner file came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Uses `path` as the runtime binary (when the runner file's lookup found none).
    pub fn set_binary(&mut self, path: PathBuf) {
        self.binary = Ok(path);
    }

    /// The binary, or why it cannot be used (not found, not executable), with how to
    /// install it.
    pub fn binary(&self) -> std::result::Result<&Path, &str> {
        match &self.binary {
            Ok(path) => Ok(path),
            Err(why) => Err(why),
        }
    }

    /// Whether the runtime claims `claim`.
    pub fn claims(&self, claim: Claim) -> bool {
        self.file.claims.contains_key(&claim)
    }

    /// The argv of one run: `module` is the module's path as the process sees it.
    pub fn argv(&self, binary: &Path, module: &str, invocation: &Invocation) -> Vec<String> {
        self.argv_for(binary, module, invocation, LiveMode::Command)
    }

    /// The argv of one run as a command or (with `[http]`) as a served HTTP service.
    pub fn argv_for(
        &self,
        binary: &Path,
        module: &str,
        invocation: &Invocation,
        mode: LiveMode,
    ) -> Vec<String> {
        let mut dirs = Vec::new();
        for preopen in &invocation.preopens {
            let scalars = [
                ("host", preopen.host.display().to_string()),
                ("guest", preopen.guest.clone()),
            ];
            dirs.extend(fill(
                &self.file.command.dir,
                &Values {
                    scalars: &scalars,
                    lists: &[],
                },
            ));
        }
        let mut envs = Vec::new();
        for (name, value) in &invocation.env {
            let scalars = [("name", name.clone()), ("value", value.clone())];
            envs.extend(fill(
                &self.file.command.env,
                &Values {
                    scalars: &scalars,
                    lists: &[],
                },
            ));
        }
        let mut flags = self
            .file
            .claims
            .get(&Claim::of_version(invocation.version))
            .cloned()
            .unwrap_or_default();
        for proposal in &invocation.proposals {
            for flag in self
                .file
                .claims
                .get(&Claim::of_proposal(*proposal))
                .into_iter()
                .flatten()
            {
                if !flags.contains(flag) {
                    flags.push(flag.clone());
                }
            }
        }
        let scalars = [
            ("binary", binary.display().to_string()),
            ("module", module.to_owned()),
        ];
        let lists = [
            ("flags", flags),
            ("dirs", dirs),
            ("envs", envs),
            ("args", invocation.argv.iter().skip(1).cloned().collect()),
        ];
        let template = match (mode, &self.file.http) {
            (LiveMode::Serve, Some(http)) => &http.argv,
            _ => &self.file.command.argv,
        };
        fill(
            template,
            &Values {
                scalars: &scalars,
                lists: &lists,
            },
        )
    }

    fn query_version(&self) -> String {
        let Ok(binary) = self.binary() else {
            return "unavailable".to_owned();
        };
        let argv = fill(
            &self.file.version,
            &Values {
                scalars: &[("binary", binary.display().to_string())],
                lists: &[],
            },
        );
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        match run_process(command, &[], VERSION_TIMEOUT, self.pass_env()) {
            Ok(done) if !done.timed_out => String::from_utf8_lossy(&done.stdout)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("unknown")
                .to_owned(),
            Ok(_) => "unknown (the version command timed out)".to_owned(),
            Err(e) => format!("unknown ({e})"),
        }
    }

    fn pass_env(&self) -> Vec<(String, String)> {
        KEPT_ENV
            .iter()
            .copied()
            .chain(self.file.pass_env.iter().map(String::as_str))
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_owned(), v)))
            .collect()
    }

    /// The deadline of one run: the file's `timeout_s`, lowered by the harness's timeout.
    fn deadline(&self, invocation: &Invocation) -> Duration {
        Duration::from_secs_f64(self.file.timeout_s).min(invocation.timeout)
    }
}

/// Finds the binary: the variable first (when set, it decides), then each name on `PATH`.
fn resolve_binary(spec: &BinarySpec) -> std::result::Result<PathBuf, String> {
    let how = format!("install: {}", spec.install);
    if let Some(var) = &spec.env {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            // Tests run in their own directories: a relative path is made absolute here.
            let path = std::path::absolute(PathBuf::from(&value))
                .unwrap_or_else(|_| PathBuf::from(&value));
            return check_executable(&path)
                .map(|()| path.clone())
                .map_err(|e| format!("{var}={}: {e} ({how})", path.display()));
        }
    }
    let mut tried = Vec::new();
    for name in &spec.names {
        let candidates: Vec<PathBuf> = if name.contains('/') {
            vec![PathBuf::from(name)]
        } else {
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
                .unwrap_or_default()
        };
        for candidate in candidates {
            if !candidate.is_file() {
                continue;
            }
            match check_executable(&candidate) {
                Ok(()) => return Ok(candidate),
                Err(e) => tried.push(format!("{}: {e}", candidate.display())),
            }
        }
    }
    let mut places = Vec::new();
    if let Some(var) = &spec.env {
        places.push(format!("${var} is not set"));
    }
    if !spec.names.is_empty() {
        places.push(format!("no {} on PATH", spec.names.join(" or ")));
    }
    let mut why = format!("binary not found: {}", places.join(", "));
    if !tried.is_empty() {
        why.push_str(&format!(" ({})", tried.join("; ")));
    }
    Err(format!("{why} ({how})"))
}

fn check_executable(path: &Path) -> std::result::Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{e}"))?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(format!(
                "not executable (chmod +x {}); pip installs some binaries without the bit",
                path.display()
            ));
        }
    }
    Ok(())
}

impl Runner for ExternalRunner {
    fn name(&self) -> &'static str {
        self.name
    }

    fn version(&self) -> String {
        self.version.get_or_init(|| self.query_version()).clone()
    }

    fn supports(&self, version: WasiVersion) -> bool {
        self.claims(Claim::of_version(version))
    }

    fn command(&self, module: &Path, invocation: &Invocation) -> Option<Vec<String>> {
        let binary = match self.binary() {
            Ok(path) => path.display().to_string(),
            Err(_) => self
                .file
                .binary
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| self.name.to_owned()),
        };
        Some(self.argv(
            Path::new(&binary),
            &module.display().to_string(),
            invocation,
        ))
    }

    fn grants(&self, proposal: Proposal) -> bool {
        self.claims(Claim::of_proposal(proposal))
    }

    fn live(&self, mode: LiveMode) -> bool {
        match mode {
            LiveMode::Command => true,
            LiveMode::Serve => self.file.http.is_some(),
        }
    }

    fn spawn(&self, invocation: &Invocation, mode: LiveMode) -> Result<Box<dyn LiveRun>, String> {
        let (work, argv) = self.prepare(invocation, mode)?;
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(work.path())
            .env_clear()
            .envs(self.pass_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let timeout = self.deadline(invocation);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
        let address = match (mode, &self.file.http) {
            (LiveMode::Serve, Some(http)) => Some((http.address_stream, http.address_line.clone())),
            _ => None,
        };
        Ok(Box::new(ExternalLive::start(
            child, work, argv, timeout, address,
        )))
    }

    fn run(&self, invocation: &Invocation, started: &dyn Fn()) -> Observed {
        let (work, argv) = match self.prepare(invocation, LiveMode::Command) {
            Ok(prepared) => prepared,
            Err(why) => return Observed::status_only(GuestStatus::Failed(why)),
        };
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]).current_dir(work.path());
        started();
        let deadline = self.deadline(invocation);
        match run_process(command, &invocation.stdin, deadline, self.pass_env()) {
            Ok(done) => {
                let status = if done.timed_out {
                    GuestStatus::TimedOut(deadline)
                } else {
                    status_of(done.status)
                };
                Observed {
                    status,
                    stdout: done.stdout,
                    stderr: done.stderr,
                }
            }
            Err(e) => Observed::status_only(GuestStatus::Failed(format!(
                "cannot start {}: {e}",
                argv[0]
            ))),
        }
    }
}

impl ExternalRunner {
    /// The binary, a private working directory holding the module, and the argv.
    fn prepare(
        &self,
        invocation: &Invocation,
        mode: LiveMode,
    ) -> std::result::Result<(tempfile::TempDir, Vec<String>), String> {
        let binary = self
            .binary()
            .map_err(|why| format!("the {} runner cannot run: {why}", self.name))?
            .to_path_buf();
        let work = tempfile::Builder::new()
            .prefix("wasmgate-external-")
            .tempdir()
            .map_err(|e| format!("cannot make a temp dir: {e}"))?;
        let file_name = module_file_name(invocation);
        std::fs::write(work.path().join(&file_name), invocation.module.as_slice())
            .map_err(|e| format!("cannot write the module: {e}"))?;
        let argv = self.argv_for(&binary, &file_name, invocation, mode);
        Ok((work, argv))
    }
}

/// Output buffers of a live process, filled by reader threads.
#[derive(Default)]
struct Streams {
    bytes: [Vec<u8>; 2],
    closed: [bool; 2],
}

type Shared = Arc<(Mutex<Streams>, Condvar)>;

fn stream_index(stream: OutputStream) -> usize {
    match stream {
        OutputStream::Stdout => 0,
        OutputStream::Stderr => 1,
    }
}

/// Reads `from` into the shared buffer `index` until end-of-file, waking watchers.
fn pump(mut from: impl Read + Send + 'static, shared: Shared, index: usize) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            };
            let (lock, changed) = &*shared;
            let mut streams = lock.lock().unwrap_or_else(|p| p.into_inner());
            if n == 0 {
                streams.closed[index] = true;
                changed.notify_all();
                return;
            }
            let room = OUTPUT_CAPACITY.saturating_sub(streams.bytes[index].len());
            streams.bytes[index].extend_from_slice(&buf[..n.min(room)]);
            changed.notify_all();
        }
    });
}

/// How long to wait for the output pipes to close once the process is gone (a grandchild
/// may hold them open).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// A live run of a runtime process: its stdio piped, stdout and stderr read by threads into
/// shared buffers (a [`Condvar`] wakes whoever watches them). Dropping it kills the process.
pub struct ExternalLive {
    guard: ChildGuard,
    stdin: Option<std::process::ChildStdin>,
    shared: Shared,
    argv: Vec<String>,
    timeout: Duration,
    deadline: Instant,
    address: Option<(OutputStream, String)>,
    status: Option<GuestStatus>,
    drained: bool,
    // The working directory (the module file) lives as long as the process.
    _work: tempfile::TempDir,
}

impl ExternalLive {
    fn start(
        mut child: Child,
        work: tempfile::TempDir,
        argv: Vec<String>,
        timeout: Duration,
        address: Option<(OutputStream, String)>,
    ) -> ExternalLive {
        let shared: Shared = Arc::new((Mutex::new(Streams::default()), Condvar::new()));
        let stdin = child.stdin.take();
        if let Some(out) = child.stdout.take() {
            pump(out, shared.clone(), 0);
        } else {
            shared.0.lock().unwrap_or_else(|p| p.into_inner()).closed[0] = true;
        }
        if let Some(err) = child.stderr.take() {
            pump(err, shared.clone(), 1);
        } else {
            shared.0.lock().unwrap_or_else(|p| p.into_inner()).closed[1] = true;
        }
        ExternalLive {
            guard: ChildGuard::new(child),
            stdin,
            shared,
            argv,
            timeout,
            deadline: Instant::now() + timeout,
            address,
            status: None,
            drained: false,
            _work: work,
        }
    }

    fn snapshot(&self) -> (Vec<u8>, Vec<u8>) {
        let streams = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        (streams.bytes[0].clone(), streams.bytes[1].clone())
    }
}

impl LiveRun for ExternalLive {
    fn write_stdin(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.stdin {
            Some(pipe) => {
                pipe.write_all(bytes)?;
                pipe.flush()
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "stdin is closed",
            )),
        }
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn watch(
        &mut self,
        stream: OutputStream,
        deadline: Instant,
        until: &mut dyn FnMut(&[u8]) -> bool,
    ) -> StreamSnapshot {
        let index = stream_index(stream);
        let (lock, changed) = &*self.shared;
        let mut streams = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if until(&streams.bytes[index]) || streams.closed[index] {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            streams = changed
                .wait_timeout(streams, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        StreamSnapshot {
            bytes: streams.bytes[index].clone(),
            closed: streams.closed[index],
        }
    }

    fn signal(&mut self, signal: i32) -> std::io::Result<()> {
        if self.guard.reaped {
            return Err(std::io::Error::other("the process has already ended"));
        }
        let pid = self.guard.id() as libc::pid_t;
        // SAFETY: `kill` has no memory effects; the pid is our unreaped child's.
        if unsafe { libc::kill(pid, signal) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    fn stop(&mut self, why: &str) -> Observed {
        if self.status.is_none() {
            let ended = matches!(self.guard.child.try_wait(), Ok(Some(_)));
            if !ended {
                self.guard.kill();
                self.status = Some(GuestStatus::Stopped(why.to_owned()));
            }
        }
        self.wait(Instant::now())
    }

    fn wait(&mut self, deadline: Instant) -> Observed {
        self.stdin = None;
        if self.status.is_none() {
            let status = match self.guard.wait_until(deadline) {
                Ok(Some(status)) => status_of(Some(status)),
                Ok(None) => {
                    self.guard.kill();
                    GuestStatus::TimedOut(self.timeout)
                }
                Err(e) => {
                    self.guard.kill();
                    GuestStatus::Crashed(format!("the process could not be waited for: {e}"))
                }
            };
            self.status = Some(status);
        }
        if !self.drained {
            self.drained = true;
            // The pipes close with the process; wait a little for the readers to drain them.
            let drained = Instant::now() + DRAIN_GRACE;
            let _ = self.watch(OutputStream::Stdout, drained, &mut |_| false);
            let _ = self.watch(OutputStream::Stderr, drained, &mut |_| false);
        }
        let (stdout, stderr) = self.snapshot();
        Observed {
            status: self.status.clone().expect("set above"),
            stdout,
            stderr,
        }
    }

    fn address(&mut self, deadline: Instant) -> std::result::Result<ServiceAddress, String> {
        let Some((stream, line)) = self.address.clone() else {
            return Err("this run is not an HTTP service".into());
        };
        let (before, after) = line
            .split_once("{address}")
            .expect("checked when the runner file loads");
        let mut found = None;
        let snapshot = self.watch(stream, deadline, &mut |bytes| {
            found = find_address(bytes, before, after);
            found.is_some()
        });
        match found {
            Some((address, end)) => Ok(ServiceAddress {
                address,
                stream,
                end,
            }),
            None => Err(format!(
                "no `{line}` line on {} {} ({} bytes: {:?})",
                stream.name(),
                if snapshot.closed {
                    "before it ended"
                } else {
                    "before the deadline"
                },
                snapshot.bytes.len(),
                String::from_utf8_lossy(&snapshot.bytes[..snapshot.bytes.len().min(400)])
            )),
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn command(&self) -> Vec<String> {
        self.argv.clone()
    }
}

/// Finds a complete line `<before>ADDRESS<after>` in `bytes`: the address and the offset
/// just past the line's end.
fn find_address(bytes: &[u8], before: &str, after: &str) -> Option<(String, usize)> {
    let mut start = 0;
    while let Some(nl) = bytes[start..].iter().position(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(&bytes[start..start + nl]);
        let line = line.trim_end_matches('\r');
        if let Some(at) = line.find(before) {
            let rest = &line[at + before.len()..];
            let address = if after.is_empty() {
                Some(rest.trim())
            } else {
                rest.find(after).map(|end| &rest[..end])
            };
            if let Some(address) = address.filter(|a| !a.is_empty()) {
                return Some((address.to_owned(), start + nl + 1));
            }
        }
        start += nl + 1;
    }
    None
}

/// The module's file name: the guest's `argv[0]`, made safe as a file name.
fn module_file_name(invocation: &Invocation) -> String {
    let name: String = invocation
        .argv
        .first()
        .map(String::as_str)
        .unwrap_or("module.wasm")
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        "module.wasm".to_owned()
    } else {
        name
    }
}

/// How a process ended, as a guest status: an exit code is the guest's (a CLI turns a trap
/// into 134, an error into 1); a signal is a crash of the runtime.
fn status_of(status: Option<ExitStatus>) -> GuestStatus {
    let Some(status) = status else {
        return GuestStatus::Crashed("the process could not be waited for".into());
    };
    if let Some(code) = status.code() {
        return GuestStatus::Exited(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return GuestStatus::Crashed(format!("the runtime was killed by signal {signal}"));
        }
    }
    GuestStatus::Crashed(format!("the runtime ended with {status}"))
}

/// A child process that is killed and reaped when the guard goes, unless it was reaped.
pub struct ChildGuard {
    child: Child,
    reaped: bool,
}

impl ChildGuard {
    /// Guards `child`.
    pub fn new(child: Child) -> Self {
        ChildGuard {
            child,
            reaped: false,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process until `deadline`; `None` if it is still running then.
    fn wait_until(&mut self, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.reaped = true;
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.reaped = true;
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a finished process left.
struct Finished {
    /// `None` when it was killed at the deadline.
    status: Option<ExitStatus>,
    timed_out: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn read_all(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = OUTPUT_CAPACITY.saturating_sub(out.len());
                    out.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        out
    })
}

/// Runs `command` with `stdin`, a cleared environment plus `env`, and a deadline.
fn run_process(
    mut command: Command,
    stdin: &[u8],
    timeout: Duration,
    env: Vec<(String, String)>,
) -> std::io::Result<Finished> {
    command
        .env_clear()
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let deadline = Instant::now() + timeout;
    let mut guard = ChildGuard::new(command.spawn()?);
    let input = guard.child.stdin.take();
    let stdout = guard.child.stdout.take().map(read_all);
    let stderr = guard.child.stderr.take().map(read_all);
    let feeder = input.map(|mut pipe| {
        let bytes = stdin.to_vec();
        // A guest that exits without reading stdin closes the pipe: the error is expected.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let status = guard.wait_until(deadline)?;
    let timed_out = status.is_none();
    // Killing also closes the pipes, so the readers below end.
    guard.kill();
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let stdout = stdout
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    let stderr = stderr
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    Ok(Finished {
        status,
        timed_out,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_file_parses() {
        for name in builtin_names() {
            let runner = ExternalRunner::load(name).unwrap_or_else(|e| panic!("{e:#}"));
            assert_eq!(runner.name(), name);
            assert!(runner.claims(Claim::P1), "{name} claims p1");
        }
    }

    fn minimal(extra: &str, argv: &str) -> String {
        format!(
            r#"{extra}
name = "x"
about = "a test runner"
version = ["{{binary}}", "--version"]
timeout_s = 5
[binary]
names = ["no-such-binary-anywhere"]
install = "nowhere"
[command]
argv = {argv}
dir = ["--dir", "{{host}}::{{guest}}"]
env = ["--env", "{{name}}={{value}}"]
[claims]
p1 = []
"#
        )
    }

    const ARGV: &str =
        r#"["{binary}", "run", "{flags}", "{dirs}", "{envs}", "{module}", "{args}"]"#;

    #[test]
    fn templates_are_checked() {
        assert!(RunnerFile::parse(&minimal("", ARGV), "t").is_ok());
        let err = |text: String| format!("{:#}", RunnerFile::parse(&text, "t").unwrap_err());
        let e = err(minimal(
            "",
            r#"["{binary}", "{dirs}", "{envs}", "{module}", "{args}", "{nope}"]"#,
        ));
        assert!(e.contains("unknown placeholder `{nope}`"), "{e}");
        let e = err(minimal(
            "",
            r#"["{binary}", "x{dirs}", "{envs}", "{module}", "{args}"]"#,
        ));
        assert!(e.contains("a word of its own"), "{e}");
        let e = err(minimal("", r#"["{binary}", "{dirs}", "{envs}", "{args}"]"#));
        assert!(e.contains("`{module}` is missing"), "{e}");
        let e = err(minimal("surprise = 1", ARGV));
        assert!(e.contains("unknown field `surprise`"), "{e}");
        let e = err(minimal("", ARGV).replace("p1 = []", "p4 = []"));
        assert!(e.contains("p4"), "{e}");
    }

    #[test]
    fn argv_is_filled_in_one_pass() {
        let runner = ExternalRunner::from_text(&minimal("", ARGV), "t").unwrap();
        let invocation = Invocation {
            module: Default::default(),
            argv: vec!["t.wasm".into(), "a b".into(), "{module}".into()],
            env: vec![("K".into(), "{guest}".into())],
            preopens: vec![super::super::Preopen {
                host: PathBuf::from("/tmp/x"),
                guest: "/".into(),
            }],
            stdin: Vec::new(),
            timeout: Duration::from_secs(1),
            version: WasiVersion::P1,
            proposals: Vec::new(),
        };
        assert_eq!(
            runner.argv(Path::new("/bin/rt"), "t.wasm", &invocation),
            [
                "/bin/rt",
                "run",
                "--dir",
                "/tmp/x::/",
                "--env",
                "K={guest}",
                "t.wasm",
                "a b",
                "{module}"
            ]
        );
    }

    #[test]
    fn a_missing_binary_says_how_to_install_it() {
        let runner = ExternalRunner::from_text(&minimal("", ARGV), "t").unwrap();
        let why = runner.binary().unwrap_err();
        assert!(
            why.contains("no-such-binary-anywhere") && why.contains("install: nowhere"),
            "{why}"
        );
        assert_eq!(runner.version(), "unavailable");
    }

    #[cfg(unix)]
    #[test]
    fn a_process_is_killed_at_its_deadline() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo started; exec sleep 30"]);
        let begun = Instant::now();
        let done = run_process(command, b"", Duration::from_millis(300), Vec::new()).unwrap();
        assert!(done.timed_out);
        assert_eq!(done.stdout, b"started\n");
        assert!(begun.elapsed() < Duration::from_secs(10));
    }

    #[cfg(unix)]
    #[test]
    fn stdin_is_fed_and_the_environment_is_cleared() {
        let mut command = Command::new("sh");
        command.args(["-c", "cat; echo \"[$HARNESS_SECRET]\" >&2; exit 3"]);
        std::env::set_var("HARNESS_SECRET", "leaked");
        let done = run_process(
            command,
            b"input",
            Duration::from_secs(10),
            vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        )
        .unwrap();
        assert_eq!(status_of(done.status), GuestStatus::Exited(3));
        assert_eq!(done.stdout, b"input");
        assert_eq!(done.stderr, b"[]\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_dropped_guard_kills_its_process() {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        drop(ChildGuard::new(child));
        // Reaped: the pid no longer names our child.
        assert!(
            !Path::new(&format!("/proc/{pid}/cmdline")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .map(|c| !c.starts_with("sleep"))
                    .unwrap_or(true)
        );
    }
}
