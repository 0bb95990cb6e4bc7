//! Decode + validate: turns module bytes into a [`Module`], the immutable header (types,
//! imports, exports, globals, segments) plus function bodies that are validated and translated
//! lazily, on first call, or eagerly if the engine's [`CompilationMode`] says so.

mod const_expr;

pub(crate) use const_expr::{ConstExpr, ConstOp};

use crate::engine::{CompilationMode, Engine};
use crate::error::{Error, Result};
use crate::ir::CompiledFunc;
use crate::types::{
    ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, Mutability, TableType,
    ValType,
};
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use wasmparser::{
    BinaryReader, Encoding, ExternalKind, FuncToValidate, FunctionBody, Parser, Payload, TypeRef,
    ValidPayload, Validator, ValidatorResources,
};

/// A compiled WebAssembly module: cheap to clone, shareable across stores of its engine.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

/// What an import asks for.
#[derive(Debug, Clone)]
pub(crate) struct Import {
    pub module: String,
    pub name: String,
    pub ty: ExternType,
}

/// An exported item's index space and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportIndex {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    Tag(u32),
}

/// Where an element segment goes.
#[derive(Debug, Clone)]
pub(crate) enum SegmentMode {
    Passive,
    Active { index: u32, offset: ConstExpr },
    Declared,
}

#[derive(Debug, Clone)]
pub(crate) struct ElemSegment {
    pub mode: SegmentMode,
    pub items: Vec<ConstExpr>,
}

#[derive(Debug, Clone)]
pub(crate) struct DataSegment {
    pub mode: SegmentMode,
    /// The bytes, as a range of the module's bytes.
    pub range: Range<usize>,
}

/// Why a lazily compiled body failed, kept so that every call reports it.
#[derive(Debug, Clone)]
pub(crate) struct CompileFailure {
    pub offset: Option<usize>,
    pub message: String,
}

/// A body's translation, filled on first use.
pub(crate) type CompiledSlot = OnceLock<Result<Arc<CompiledFunc>, CompileFailure>>;

pub(crate) struct ModuleInner {
    pub engine: Engine,
    pub name: Option<String>,
    pub bytes: Box<[u8]>,
    /// Module type index -> function type (None for non-function types).
    pub types: Vec<Option<FuncType>>,
    /// Module type index -> engine-wide (canonical) type id.
    pub type_ids: Vec<u32>,
    /// Module type index -> whether it is a function type (else a struct or array type).
    pub type_is_func: Vec<bool>,
    /// Module type index -> its canonical type (kind, fields, supertypes).
    pub gc_types: Vec<Arc<crate::typereg::TypeInfo>>,
    /// Every global's exact type, concrete types as canonical ids (import checks).
    pub precise_globals: Vec<wasmparser::ValType>,
    /// Every table's exact element type.
    pub precise_tables: Vec<wasmparser::RefType>,
    /// Every tag's canonical function type id.
    pub tag_ids: Vec<u32>,
    pub imports: Vec<Import>,
    /// Type index of every function (imported first).
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub tables: Vec<TableType>,
    pub table_inits: Vec<Option<ConstExpr>>,
    pub num_imported_tables: u32,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub global_inits: Vec<ConstExpr>,
    pub num_imported_globals: u32,
    /// Type of every tag (imported first).
    pub tags: Vec<FuncType>,
    pub num_imported_tags: u32,
    pub exports: Vec<(String, ExportIndex)>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    /// Body byte range of every defined function.
    pub bodies: Vec<Range<usize>>,
    /// Validator state shared by the lazily validated bodies (None when no code section).
    resources: Option<ValidatorResources>,
    /// Whether bodies still need validation when translated.
    lazy_validation: bool,
    pub compiled: Box<[CompiledSlot]>,
    pub func_names: HashMap<u32, String>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// Compiles a module from binary or WebAssembly text.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        if bytes.starts_with(b"\0asm") {
            return Module::from_binary(engine, bytes);
        }
        let binary = wat::parse_bytes(bytes).map_err(|e| Error::compile(None, e))?;
        Module::from_binary(engine, &binary)
    }

    /// Compiles a module from a file (binary or text); errors name the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::msg(format!("failed to read `{}`: {e}", path.display())))?;
        let result = if bytes.starts_with(b"\0asm") {
            // The module keeps the file's bytes: hand them over instead of copying them, so a
            // large module costs its size once, not twice.
            Module::from_owned_binary(engine, bytes.into_boxed_slice())
        } else {
            match wat::parse_bytes(&bytes) {
                Ok(bin) => Module::from_binary(engine, &bin),
                Err(mut e) => {
                    e.set_path(path);
                    Err(Error::compile(None, e))
                }
            }
        };
        result.map_err(|e| e.context(format!("failed to compile `{}`", path.display())))
    }

    /// Compiles a module from its binary encoding.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        Module::from_owned_binary(engine, bytes.into())
    }

    /// Compiles a module from its binary encoding, keeping `bytes` (no copy).
    fn from_owned_binary(engine: &Engine, bytes: Box<[u8]>) -> Result<Module> {
        let inner = decode(engine, bytes)?;
        let module = Module {
            inner: Arc::new(inner),
        };
        if engine.config().compilation_mode == CompilationMode::Eager {
            for i in 0..module.inner.bodies.len() as u32 {
                module.inner.compiled_func(i)?;
            }
        }
        Ok(module)
    }

    /// Validates bytes without keeping a module.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        let mut validator = Validator::new_with_features(engine.config().features);
        validator.validate_all(bytes)?;
        Ok(())
    }

    /// The engine this module belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType> + '_ {
        self.inner.imports.iter().map(|i| ImportType {
            module: i.module.clone(),
            name: i.name.clone(),
            ty: i.ty.clone(),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType> + '_ {
        self.inner.exports.iter().map(|(name, idx)| ExportType {
            name: name.clone(),
            ty: self.inner.export_type(*idx),
        })
    }

    /// The type of an export by name.
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        self.inner
            .exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, idx)| self.inner.export_type(*idx))
    }
}

impl ModuleInner {
    pub(crate) fn func_type(&self, func_index: u32) -> &FuncType {
        self.types[self.funcs[func_index as usize] as usize]
            .as_ref()
            .expect("validated function has a function type")
    }

    pub(crate) fn export_type(&self, idx: ExportIndex) -> ExternType {
        match idx {
            ExportIndex::Func(i) => ExternType::Func(self.func_type(i).clone()),
            ExportIndex::Table(i) => ExternType::Table(self.tables[i as usize]),
            ExportIndex::Memory(i) => ExternType::Memory(self.memories[i as usize]),
            ExportIndex::Global(i) => ExternType::Global(self.globals[i as usize]),
            ExportIndex::Tag(i) => ExternType::Tag(self.tags[i as usize].clone()),
        }
    }

    /// The translated body of defined function `defined` (index among defined functions),
    /// validating and translating it on first use. Borrowed: bodies live as long as the module.
    #[inline]
    pub(crate) fn compiled_func(&self, defined: u32) -> Result<&CompiledFunc> {
        let cell = &self.compiled[defined as usize];
        match cell.get_or_init(|| self.compile_body(defined)) {
            Ok(f) => Ok(f),
            Err(f) => Err(Error::compile(f.offset, &f.message)),
        }
    }

    fn compile_body(&self, defined: u32) -> Result<Arc<CompiledFunc>, CompileFailure> {
        let range = self.bodies[defined as usize].clone();
        let mut reader = BinaryReader::new(&self.bytes[range.clone()], range.start);
        reader.set_features(self.engine.config().features);
        let body = FunctionBody::new(reader);
        let func_index = self.num_imported_funcs + defined;
        let validator = match (&self.resources, self.lazy_validation) {
            (Some(resources), true) => Some(
                FuncToValidate {
                    resources: resources.clone(),
                    index: func_index,
                    ty: self.funcs[func_index as usize],
                    features: self.engine.config().features,
                }
                .into_validator(Default::default()),
            ),
            _ => None,
        };
        crate::translate::translate_function(self, func_index, &body, validator)
            .map(Arc::new)
            .map_err(|e| CompileFailure {
                offset: Some(e.offset),
                message: format!(
                    "failed to compile function {}: {}",
                    self.func_display_name(func_index),
                    e.message
                ),
            })
    }

    /// `name` (from the name section) or `#index`.
    pub(crate) fn func_display_name(&self, func_index: u32) -> String {
        match self.func_names.get(&func_index) {
            Some(n) => format!("`{n}`"),
            None => format!("#{func_index}"),
        }
    }
}

fn decode(engine: &Engine, owned: Box<[u8]>) -> Result<ModuleInner> {
    let bytes: &[u8] = &owned;
    let features = engine.config().features;
    let mut validator = Validator::new_with_features(features);
    let mut m = ModuleInner {
        engine: engine.clone(),
        name: None,
        bytes: Box::default(),
        types: Vec::new(),
        type_ids: Vec::new(),
        type_is_func: Vec::new(),
        gc_types: Vec::new(),
        precise_globals: Vec::new(),
        precise_tables: Vec::new(),
        tag_ids: Vec::new(),
        imports: Vec::new(),
        funcs: Vec::new(),
        num_imported_funcs: 0,
        tables: Vec::new(),
        table_inits: Vec::new(),
        num_imported_tables: 0,
        memories: Vec::new(),
        num_imported_memories: 0,
        globals: Vec::new(),
        global_inits: Vec::new(),
        num_imported_globals: 0,
        tags: Vec::new(),
        num_imported_tags: 0,
        exports: Vec::new(),
        start: None,
        elems: Vec::new(),
        datas: Vec::new(),
        bodies: Vec::new(),
        resources: None,
        lazy_validation: true,
        compiled: Box::new([]),
        func_names: HashMap::new(),
    };
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(bytes) {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Func(func, body) => {
                if m.resources.is_none() {
                    m.resources = Some(func.resources);
                }
                m.bodies.push(body.range());
                continue;
            }
            ValidPayload::Parser(_) => {
                return Err(Error::compile(None, "nested modules are not supported"));
            }
            ValidPayload::Ok | ValidPayload::End(_) => {}
        }
        decode_payload(&mut m, payload, bytes.as_ptr() as usize)?;
    }
    m.compiled = (0..m.bodies.len()).map(|_| OnceLock::new()).collect();
    // The module is valid: canonicalize its types engine-wide.
    let canon = engine.types().canonicalize(bytes)?;
    m.type_ids = canon.types.iter().map(|t| t.id).collect();
    m.gc_types = canon.types;
    m.precise_globals = canon.globals;
    m.precise_tables = canon.tables;
    m.tag_ids = canon.tags;
    m.bytes = owned;
    Ok(m)
}

fn unsupported(offset: usize, what: &str) -> Error {
    Error::compile(Some(offset), format!("{what} is not supported"))
}

fn val_type(m: &ModuleInner, ty: wasmparser::ValType, offset: usize) -> Result<ValType> {
    let is_func = |i: u32| m.type_is_func.get(i as usize).copied().unwrap_or(true);
    ValType::from_wasm(ty, &is_func).ok_or_else(|| unsupported(offset, &format!("value type {ty}")))
}

fn convert_func_type(
    m: &ModuleInner,
    ty: &wasmparser::FuncType,
    offset: usize,
) -> Result<FuncType> {
    let params = ty
        .params()
        .iter()
        .map(|t| val_type(m, *t, offset))
        .collect::<Result<Vec<_>>>()?;
    let results = ty
        .results()
        .iter()
        .map(|t| val_type(m, *t, offset))
        .collect::<Result<Vec<_>>>()?;
    Ok(FuncType::new(params, results))
}

fn table_type(m: &ModuleInner, t: wasmparser::TableType, offset: usize) -> Result<TableType> {
    let is_func = |i: u32| m.type_is_func.get(i as usize).copied().unwrap_or(true);
    let element = ValType::from_ref(t.element_type, &is_func)
        .ok_or_else(|| unsupported(offset, &format!("table element type {}", t.element_type)))?;
    if t.table64 {
        return Err(unsupported(offset, "a 64-bit table"));
    }
    Ok(TableType {
        element,
        minimum: t.initial,
        maximum: t.maximum,
    })
}

fn global_type(m: &ModuleInner, t: wasmparser::GlobalType, offset: usize) -> Result<GlobalType> {
    Ok(GlobalType {
        content: val_type(m, t.content_type, offset)?,
        mutability: if t.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        },
    })
}

/// `base` is the address of the bytes being parsed, to turn data slices into ranges.
fn decode_payload(m: &mut ModuleInner, payload: Payload<'_>, base: usize) -> Result<()> {
    match payload {
        Payload::Version {
            encoding: Encoding::Component,
            range,
            ..
        } => {
            return Err(Error::compile(
                Some(range.start),
                "this is a component, not a core module",
            ));
        }
        Payload::TypeSection(reader) => {
            for rec in reader.into_iter_with_offsets() {
                let (offset, rec) = rec?;
                // A rec group's members may refer to each other: know their kinds first.
                let subs: Vec<_> = rec.into_types().collect();
                for sub in &subs {
                    let is_func = matches!(
                        sub.composite_type.inner,
                        wasmparser::CompositeInnerType::Func(_)
                    );
                    m.type_is_func.push(is_func);
                }
                for sub in &subs {
                    let ty = match &sub.composite_type.inner {
                        wasmparser::CompositeInnerType::Func(f) => {
                            Some(convert_func_type(m, f, offset)?)
                        }
                        wasmparser::CompositeInnerType::Struct(_)
                        | wasmparser::CompositeInnerType::Array(_) => None,
                        wasmparser::CompositeInnerType::Cont(_) => {
                            return Err(unsupported(offset, "a continuation type"))
                        }
                    };
                    m.types.push(ty);
                }
            }
        }
        Payload::ImportSection(reader) => {
            for import in reader.into_imports_with_offsets() {
                let (offset, import) = import?;
                let ty =
                    match import.ty {
                        TypeRef::Func(idx) | TypeRef::FuncExact(idx) => {
                            m.funcs.push(idx);
                            m.num_imported_funcs += 1;
                            ExternType::Func(m.types[idx as usize].clone().ok_or_else(|| {
                                unsupported(offset, "importing a non-function type")
                            })?)
                        }
                        TypeRef::Table(t) => {
                            let t = table_type(m, t, offset)?;
                            m.tables.push(t);
                            m.num_imported_tables += 1;
                            ExternType::Table(t)
                        }
                        TypeRef::Memory(t) => {
                            let t = MemoryType::from_wasm(t);
                            m.memories.push(t);
                            m.num_imported_memories += 1;
                            ExternType::Memory(t)
                        }
                        TypeRef::Global(t) => {
                            let t = global_type(m, t, offset)?;
                            m.globals.push(t);
                            m.num_imported_globals += 1;
                            ExternType::Global(t)
                        }
                        TypeRef::Tag(t) => {
                            let ty = tag_type(m, t, offset)?;
                            m.tags.push(ty.clone());
                            m.num_imported_tags += 1;
                            ExternType::Tag(ty)
                        }
                    };
                m.imports.push(Import {
                    module: import.module.to_string(),
                    name: import.name.to_string(),
                    ty,
                });
            }
        }
        Payload::FunctionSection(reader) => {
            for ty in reader {
                m.funcs.push(ty?);
            }
        }
        Payload::TableSection(reader) => {
            for table in reader.into_iter_with_offsets() {
                let (offset, table) = table?;
                let t = table_type(m, table.ty, offset)?;
                m.tables.push(t);
                m.table_inits.push(match table.init {
                    wasmparser::TableInit::RefNull => None,
                    wasmparser::TableInit::Expr(e) => Some(ConstExpr::decode(&e)?),
                });
            }
        }
        Payload::MemorySection(reader) => {
            for mem in reader.into_iter_with_offsets() {
                let (offset, mem) = mem?;
                if mem.page_size_log2.is_some() {
                    return Err(unsupported(offset, "a custom page size"));
                }
                m.memories.push(MemoryType::from_wasm(mem));
            }
        }
        Payload::GlobalSection(reader) => {
            for g in reader.into_iter_with_offsets() {
                let (offset, g) = g?;
                let t = global_type(m, g.ty, offset)?;
                m.globals.push(t);
                m.global_inits.push(ConstExpr::decode(&g.init_expr)?);
            }
        }
        Payload::ExportSection(reader) => {
            for e in reader {
                let e = e?;
                let idx = match e.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => ExportIndex::Func(e.index),
                    ExternalKind::Table => ExportIndex::Table(e.index),
                    ExternalKind::Memory => ExportIndex::Memory(e.index),
                    ExternalKind::Global => ExportIndex::Global(e.index),
                    ExternalKind::Tag => ExportIndex::Tag(e.index),
                };
                m.exports.push((e.name.to_string(), idx));
            }
        }
        Payload::StartSection { func, .. } => m.start = Some(func),
        Payload::ElementSection(reader) => {
            for elem in reader {
                let elem = elem?;
                let mode = match elem.kind {
                    wasmparser::ElementKind::Passive => SegmentMode::Passive,
                    wasmparser::ElementKind::Declared => SegmentMode::Declared,
                    wasmparser::ElementKind::Active {
                        table_index,
                        offset_expr,
                    } => SegmentMode::Active {
                        index: table_index.unwrap_or(0),
                        offset: ConstExpr::decode(&offset_expr)?,
                    },
                };
                let items = match elem.items {
                    wasmparser::ElementItems::Functions(funcs) => funcs
                        .into_iter()
                        .map(|f| Ok(ConstExpr::from_op(ConstOp::RefFunc(f?))))
                        .collect::<Result<Vec<_>>>()?,
                    wasmparser::ElementItems::Expressions(_, exprs) => exprs
                        .into_iter()
                        .map(|e| ConstExpr::decode(&e?))
                        .collect::<Result<Vec<_>>>()?,
                };
                m.elems.push(ElemSegment { mode, items });
            }
        }
        Payload::DataSection(reader) => {
            for data in reader {
                let data = data?;
                let mode = match data.kind {
                    wasmparser::DataKind::Passive => SegmentMode::Passive,
                    wasmparser::DataKind::Active {
                        memory_index,
                        offset_expr,
                    } => SegmentMode::Active {
                        index: memory_index,
                        offset: ConstExpr::decode(&offset_expr)?,
                    },
                };
                let start = data.data.as_ptr() as usize - base;
                m.datas.push(DataSegment {
                    mode,
                    range: start..start + data.data.len(),
                });
            }
        }
        Payload::CustomSection(reader) if reader.name() == "name" => {
            // A malformed name section is not an error (custom sections are advisory).
            let _ = decode_names(m, reader.data(), reader.data_offset());
        }
        Payload::TagSection(reader) => {
            for t in reader.into_iter_with_offsets() {
                let (offset, t) = t?;
                let ty = tag_type(m, t, offset)?;
                m.tags.push(ty);
            }
        }
        _ => {}
    }
    Ok(())
}

/// A tag's type: the function type it names (validation checked it has no results).
fn tag_type(m: &ModuleInner, t: wasmparser::TagType, offset: usize) -> Result<FuncType> {
    m.types
        .get(t.func_type_idx as usize)
        .cloned()
        .flatten()
        .ok_or_else(|| unsupported(offset, "a tag of a non-function type"))
}

fn decode_names(m: &mut ModuleInner, data: &[u8], offset: usize) -> Result<()> {
    let reader = wasmparser::NameSectionReader::new(BinaryReader::new(data, offset));
    for name in reader {
        match name? {
            wasmparser::Name::Module { name, .. } => m.name = Some(name.to_string()),
            wasmparser::Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    m.func_names.insert(naming.index, naming.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}
