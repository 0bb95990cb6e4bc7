//! wasmgate: a lean WebAssembly interpreter with WASI.
//!
//! The pipeline: [`Module`] decodes and validates bytes with wasmparser (`module`), function
//! bodies are translated lazily into the interpreter's instruction set (`translate`, `ir`),
//! [`Instance`]s live in a [`Store`] (`store`), and the interpreter (`exec`) runs them with
//! frames on the heap. The API is named after wasmtime's.

#![warn(missing_docs, rust_2018_idioms)]

pub mod component;
mod engine;
mod error;
mod exec;
mod ir;
mod module;
pub mod serve;
mod store;
mod translate;
mod typereg;
mod types;
mod values;
pub mod wasi;

pub use engine::{CompilationMode, Config, Engine};
pub use error::{Error, ErrorKind, FrameInfo, Result, Trap, TrapCode};
pub use module::Module;
pub use store::{
    AsContext, AsContextMut, Caller, Extern, ExternRef, Func, Global, Instance, IntoFunc, Linker,
    Memory, MemoryAccessError, Store, StoreLimits, StoreLimitsBuilder, Table, Tag, TypedFunc,
    WasmParams, WasmResults, WasmTy,
};
pub use types::{
    ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, Mutability, RefType,
    TableType, ValType,
};
pub use values::{AnyRef, Exn, Val};
pub use wasmparser::WasmFeatures;
