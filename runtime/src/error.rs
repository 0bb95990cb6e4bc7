//! Errors and traps: the one root [`Error`] every fallible API returns, and the [`Trap`] a
//! guest raises while running.

use std::fmt;

/// Why a guest stopped abnormally, as the WebAssembly spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrapCode {
    /// `unreachable` was executed.
    Unreachable,
    /// A load, store or bulk memory operation went out of bounds.
    MemoryOutOfBounds,
    /// A table access or bulk table operation went out of bounds.
    TableOutOfBounds,
    /// `call_indirect` found a null entry.
    IndirectCallToNull,
    /// `call_indirect` found a function of another type.
    BadSignature,
    /// Signed division overflow or a float-to-int conversion out of range.
    IntegerOverflow,
    /// Division or remainder by zero.
    IntegerDivisionByZero,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger,
    /// The value stack or call depth limit was reached.
    StackOverflow,
    /// Fuel ran out (see `Config::consume_fuel`).
    OutOfFuel,
    /// The epoch deadline passed (see `Config::epoch_interruption`).
    Interrupt,
    /// A null reference was dereferenced.
    NullReference,
    /// `call_ref` / `return_call_ref` of a null function reference.
    NullFunctionReference,
    /// `throw_ref` of a null exception reference.
    NullExnReference,
    /// A table entry read by `call_indirect` is uninitialised.
    UninitializedElement,
    /// An element index beyond the table's size in `call_indirect`.
    UndefinedElement,
    /// A host function was called whose import could not be resolved (`unknown-imports-trap`).
    UnknownImport,
    /// A call would re-enter a component instance that may not be entered now (the component
    /// model's reentrance rule).
    CannotEnterComponent,
    /// A component instance called an import or built-in while it may not leave (during
    /// `post-return` or `realloc`).
    CannotLeaveComponent,
    /// The canonical ABI lifted a `char` that is not a Unicode scalar value.
    InvalidChar,
    /// The canonical ABI read or wrote a string past the end of memory.
    StringOutOfBounds,
    /// The canonical ABI read or wrote a list past the end of memory.
    ListOutOfBounds,
    /// The canonical ABI lifted a variant, enum, option or result with an unknown case.
    InvalidDiscriminant,
    /// The canonical ABI was given a pointer that is not aligned for its type.
    UnalignedPointer,
    /// `ref.cast` of a reference that is not of the target type (GC).
    CastFailure,
    /// A struct access through a null reference (GC).
    NullStructReference,
    /// An array access through a null reference (GC).
    NullArrayReference,
    /// `i31.get_s` / `i31.get_u` of a null reference (GC).
    NullI31Reference,
    /// An array access or bulk array operation went out of bounds (GC).
    ArrayOutOfBounds,
    /// An array allocation larger than the engine allows (GC).
    AllocationTooLarge,
}

impl TrapCode {
    /// The message the spec tests use for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::Interrupt => "interrupt",
            TrapCode::NullReference => "null reference",
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::NullExnReference => "null exception reference",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UnknownImport => "called an unknown import",
            TrapCode::CannotEnterComponent => "cannot enter component instance",
            TrapCode::CannotLeaveComponent => "cannot leave component instance",
            TrapCode::InvalidChar => "invalid `char` bit pattern",
            TrapCode::StringOutOfBounds => "string content out-of-bounds",
            TrapCode::ListOutOfBounds => "list content out-of-bounds",
            TrapCode::InvalidDiscriminant => "invalid variant discriminant",
            TrapCode::UnalignedPointer => "unaligned pointer",
            TrapCode::CastFailure => "cast failure",
            TrapCode::NullStructReference => "null structure reference",
            TrapCode::NullArrayReference => "null array reference",
            TrapCode::NullI31Reference => "null i31 reference",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::AllocationTooLarge => "allocation size too large",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// One wasm frame of a trap's backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The module's name (from its name section), if any.
    pub module_name: Option<String>,
    /// The function's index in its module's function index space.
    pub func_index: u32,
    /// The function's name from the name section, if any.
    pub func_name: Option<String>,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.module_name.as_deref().unwrap_or("<unknown>");
        match &self.func_name {
            Some(name) => write!(f, "{module}!{name}"),
            None => write!(f, "{module}!<wasm function {}>", self.func_index),
        }
    }
}

/// A trap raised by a running guest, with the wasm frames active when it happened
/// (innermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    code: TrapCode,
    trace: Vec<FrameInfo>,
}

impl Trap {
    /// A trap with no backtrace yet.
    pub fn new(code: TrapCode) -> Self {
        Trap {
            code,
            trace: Vec::new(),
        }
    }
    /// What went wrong.
    pub fn code(&self) -> TrapCode {
        self.code
    }
    /// The wasm frames active at the trap, innermost first.
    pub fn trace(&self) -> &[FrameInfo] {
        &self.trace
    }
    pub(crate) fn set_trace(&mut self, trace: Vec<FrameInfo>) {
        self.trace = trace;
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.code)?;
        if !self.trace.is_empty() {
            write!(f, "\nwasm backtrace:")?;
            for (i, frame) in self.trace.iter().enumerate() {
                write!(f, "\n  {i:>3}: {frame}")?;
            }
        }
        Ok(())
    }
}

/// What kind of failure an [`Error`] is.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The guest trapped.
    Trap(Trap),
    /// The guest asked to exit with this status (e.g. WASI `proc_exit`).
    Exit(i32),
    /// The bytes are not a valid module: malformed or failing validation.
    Compile {
        /// Byte offset in the module where the problem was found.
        offset: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// An import could not be satisfied or has the wrong type.
    Link(String),
    /// Instantiation failed before any code ran (e.g. a segment out of bounds is a Trap).
    Instantiate(String),
    /// A wasm exception no handler caught (exception handling); the exception stays in the
    /// store.
    UncaughtException(crate::values::Exn),
    /// An error from host code.
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// Any other failure, described.
    Message(String),
}

/// The root error of the crate: a small boxed [`ErrorKind`] plus context lines.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    context: Vec<String>,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of this kind.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                context: Vec::new(),
            }),
        }
    }
    /// An error with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Message(message.to_string()))
    }
    /// The guest exits with `code` (unwinds out of the guest like a trap).
    pub fn exit(code: i32) -> Self {
        Error::new(ErrorKind::Exit(code))
    }
    /// A trap with this code.
    pub fn trap(code: TrapCode) -> Self {
        Error::new(ErrorKind::Trap(Trap::new(code)))
    }
    /// Wraps a host error.
    pub fn host(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::new(ErrorKind::Host(Box::new(err)))
    }
    pub(crate) fn compile(offset: Option<usize>, message: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Compile {
            offset,
            message: message.to_string(),
        })
    }
    pub(crate) fn link(message: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Link(message.to_string()))
    }
    /// The kind of failure.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }
    /// The trap, if this error is one.
    pub fn as_trap(&self) -> Option<&Trap> {
        match &self.inner.kind {
            ErrorKind::Trap(t) => Some(t),
            _ => None,
        }
    }
    pub(crate) fn as_trap_mut(&mut self) -> Option<&mut Trap> {
        match &mut self.inner.kind {
            ErrorKind::Trap(t) => Some(t),
            _ => None,
        }
    }
    /// The exit status, if this error is a guest exit.
    pub fn exit_code(&self) -> Option<i32> {
        match &self.inner.kind {
            ErrorKind::Exit(c) => Some(*c),
            _ => None,
        }
    }
    /// Adds a line of context (outermost last), e.g. the file being loaded.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.inner.context.push(context.to_string());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.inner.context.iter().rev() {
            write!(f, "{c}: ")?;
        }
        match &self.inner.kind {
            ErrorKind::Trap(t) => write!(f, "{t}"),
            ErrorKind::Exit(c) => write!(f, "guest exited with status {c}"),
            ErrorKind::Compile {
                offset: Some(o),
                message,
            } => write!(f, "{message} (at offset {o:#x})"),
            ErrorKind::Compile {
                offset: None,
                message,
            } => write!(f, "{message}"),
            ErrorKind::Link(m) | ErrorKind::Instantiate(m) | ErrorKind::Message(m) => {
                f.write_str(m)
            }
            ErrorKind::Host(e) => write!(f, "{e}"),
            ErrorKind::UncaughtException(_) => write!(f, "uncaught wasm exception"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

impl From<Trap> for Error {
    fn from(t: Trap) -> Self {
        Error::new(ErrorKind::Trap(t))
    }
}

impl From<TrapCode> for Error {
    fn from(c: TrapCode) -> Self {
        Error::trap(c)
    }
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error::compile(Some(e.offset()), e.message())
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<Error>() {
            Ok(e) => e,
            Err(e) => Error::new(ErrorKind::Host(e.into())),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::host(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_includes_context_and_offset() {
        let e = Error::compile(Some(0x1f), "type mismatch").context("foo.wasm");
        assert_eq!(e.to_string(), "foo.wasm: type mismatch (at offset 0x1f)");
    }
}
