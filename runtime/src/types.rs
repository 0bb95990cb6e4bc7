//! Type descriptions shared by the API and the engine: value, function, memory, table, global
//! and extern types, converted from wasmparser's at decode time.

use std::fmt;
use std::sync::Arc;

/// The type of a WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// Nullable function reference.
    FuncRef,
    /// Nullable external reference.
    ExternRef,
    /// Nullable exception reference (exception handling).
    ExnRef,
    /// Nullable reference of the GC proposal's `any` hierarchy (`anyref`, `eqref`, `i31ref`,
    /// `structref`, `arrayref`, concrete struct and array types).
    AnyRef,
}

/// The element type of a table.
pub type RefType = ValType;

impl ValType {
    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(
            self,
            ValType::FuncRef | ValType::ExternRef | ValType::ExnRef | ValType::AnyRef
        )
    }

    /// The value type of a wasmparser type; `func_kind(i)` tells whether module type `i` (a
    /// concrete heap type) is a function type (else a struct or array type).
    pub(crate) fn from_wasm(
        ty: wasmparser::ValType,
        func_kind: &dyn Fn(u32) -> bool,
    ) -> Option<ValType> {
        use wasmparser::ValType as W;
        Some(match ty {
            W::I32 => ValType::I32,
            W::I64 => ValType::I64,
            W::F32 => ValType::F32,
            W::F64 => ValType::F64,
            W::V128 => ValType::V128,
            W::Ref(r) => Self::from_ref(r, func_kind)?,
        })
    }

    /// The top type of a reference type's hierarchy (see [`ValType::from_wasm`]).
    pub(crate) fn from_ref(
        r: wasmparser::RefType,
        func_kind: &dyn Fn(u32) -> bool,
    ) -> Option<ValType> {
        use wasmparser::{AbstractHeapType as A, HeapType as H};
        Some(match r.heap_type() {
            H::Abstract { shared: true, .. } => return None,
            H::Abstract { ty, .. } => match ty {
                A::Func | A::NoFunc => ValType::FuncRef,
                A::Extern | A::NoExtern => ValType::ExternRef,
                A::Exn | A::NoExn => ValType::ExnRef,
                A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None => ValType::AnyRef,
                A::Cont | A::NoCont => return None,
            },
            H::Concrete(i) | H::Exact(i) => {
                let is_func = match i.as_module_index() {
                    Some(m) => func_kind(m),
                    None => return None,
                };
                if is_func {
                    ValType::FuncRef
                } else {
                    ValType::AnyRef
                }
            }
        })
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::ExnRef => "exnref",
            ValType::AnyRef => "anyref",
        })
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Arc<[ValType]>,
    results: Arc<[ValType]>,
}

impl FuncType {
    /// A signature from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }
    /// Parameter types.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }
    /// Result types.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(func")?;
        if !self.params.is_empty() {
            write!(f, " (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            write!(f, ")")?;
        }
        if !self.results.is_empty() {
            write!(f, " (result")?;
            for p in self.results.iter() {
                write!(f, " {p}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ")")
    }
}

/// Size limits of a memory, in 64 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Initial size in pages.
    pub minimum: u64,
    /// Maximum size in pages, if bounded.
    pub maximum: Option<u64>,
    /// Whether addresses are 64-bit (memory64).
    pub memory64: bool,
    /// Whether the memory is shared (threads).
    pub shared: bool,
}

impl MemoryType {
    /// A 32-bit memory type.
    pub fn new(minimum: u32, maximum: Option<u32>) -> Self {
        MemoryType {
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
            memory64: false,
            shared: false,
        }
    }
    /// The largest number of pages this memory's index type can address.
    pub fn absolute_max_pages(&self) -> u64 {
        if self.memory64 {
            1 << 48
        } else {
            1 << 16
        }
    }
    pub(crate) fn from_wasm(t: wasmparser::MemoryType) -> Self {
        MemoryType {
            minimum: t.initial,
            maximum: t.maximum,
            memory64: t.memory64,
            shared: t.shared,
        }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(memory {}", self.minimum)?;
        if let Some(m) = self.maximum {
            write!(f, " {m}")?;
        }
        write!(f, ")")
    }
}

/// A table's element type and size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    /// The element type.
    pub element: RefType,
    /// Initial number of elements.
    pub minimum: u64,
    /// Maximum number of elements, if bounded.
    pub maximum: Option<u64>,
}

impl TableType {
    /// A table type.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> Self {
        TableType {
            element,
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
        }
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(table {}", self.minimum)?;
        if let Some(m) = self.maximum {
            write!(f, " {m}")?;
        }
        write!(f, " {})", self.element)
    }
}

/// Whether a global can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// A global's value type and mutability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// The value type.
    pub content: ValType,
    /// Whether it is mutable.
    pub mutability: Mutability,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        GlobalType {
            content,
            mutability,
        }
    }
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mutability {
            Mutability::Const => write!(f, "(global {})", self.content),
            Mutability::Var => write!(f, "(global (mut {}))", self.content),
        }
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// An exception tag (exception handling).
    Tag(FuncType),
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(t) => write!(f, "{t}"),
            ExternType::Table(t) => write!(f, "{t}"),
            ExternType::Memory(t) => write!(f, "{t}"),
            ExternType::Global(t) => write!(f, "{t}"),
            ExternType::Tag(t) => write!(f, "(tag {t})"),
        }
    }
}

/// One import of a module.
#[derive(Debug, Clone)]
pub struct ImportType {
    pub(crate) module: String,
    pub(crate) name: String,
    pub(crate) ty: ExternType,
}

impl ImportType {
    /// The module name of the import.
    pub fn module(&self) -> &str {
        &self.module
    }
    /// The field name of the import.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What kind of item is expected.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module.
#[derive(Debug, Clone)]
pub struct ExportType {
    pub(crate) name: String,
    pub(crate) ty: ExternType,
}

impl ExportType {
    /// The export's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What kind of item it is.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// Frame slots taken by values of these types: a `v128` takes two (low half first), every
/// other type one.
pub(crate) fn slot_count(tys: &[ValType]) -> usize {
    tys.iter().map(|t| slots_of(*t)).sum()
}

/// Frame slots taken by one value of type `ty`.
pub(crate) fn slots_of(ty: ValType) -> usize {
    if ty == ValType::V128 {
        2
    } else {
        1
    }
}
