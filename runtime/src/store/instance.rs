//! Instantiation: checks imports against the module's declared types, allocates the module's
//! functions, tables, memories and globals in the store, applies active segments in order, and
//! runs the start function.

use super::externals::{new_memory, new_table};
use super::func::invoke;
use super::{
    AsContext, AsContextMut, Extern, Func, FuncEntity, Global, GlobalEntity, InstanceEntity,
    Memory, Store, Table, Tag, TypedFunc, WasmParams, WasmResults,
};
use crate::error::{Error, Result, TrapCode};
use crate::module::{ExportIndex, Module, SegmentMode};
use crate::types::{ExternType, MemoryType, Mutability, TableType};
use std::sync::Arc;

/// An instantiated module in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance(pub(crate) u32);

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new(mut store: impl AsContextMut, module: &Module, imports: &[Extern]) -> Result<Self> {
        instantiate(store.as_store_mut(), module, imports)
    }

    /// An export by name.
    pub fn get_export(&self, store: impl AsContext, name: &str) -> Option<Extern> {
        store.as_store().inner.instances[self.0 as usize]
            .exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| *e)
    }
    /// An exported function.
    pub fn get_func(&self, store: impl AsContext, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }
    /// An exported memory.
    pub fn get_memory(&self, store: impl AsContext, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }
    /// An exported table.
    pub fn get_table(&self, store: impl AsContext, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }
    /// An exported global.
    pub fn get_global(&self, store: impl AsContext, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }
    /// An exported function with static types.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let store = store.as_store();
        let f = self
            .get_func(store, name)
            .ok_or_else(|| Error::msg(format!("no exported function named `{name}`")))?;
        f.typed(store)
    }
    /// Every export, in order.
    pub fn exports(&self, store: impl AsContext) -> Vec<(String, Extern)> {
        store.as_store().inner.instances[self.0 as usize]
            .exports
            .clone()
    }
    /// The module this instance was made from.
    pub fn module(&self, store: impl AsContext) -> Module {
        Module {
            inner: store.as_store().inner.instances[self.0 as usize]
                .module
                .clone(),
        }
    }
}

fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match max {
            None => true,
            Some(max) => actual_max.is_some_and(|am| am <= max),
        }
}

/// Where an import's exact expected type is: its index in its module's index space.
#[derive(Default)]
struct ImportCounters {
    funcs: usize,
    tables: usize,
    globals: usize,
    tags: usize,
}

/// Whether `actual` matches the import's type: function types by canonical id with
/// subtyping, globals by their exact value type (subtyping for immutable ones, equality for
/// mutable ones), table element types exactly, tags by canonical id.
fn check_import<T>(
    store: &Store<T>,
    m: &crate::module::ModuleInner,
    at: &mut ImportCounters,
    expected: &ExternType,
    actual: &Extern,
) -> bool {
    let reg = store.inner.engine.types();
    match (expected, actual) {
        (ExternType::Func(_), Extern::Func(f)) => {
            let want = m.type_ids[m.funcs[at.funcs] as usize];
            at.funcs += 1;
            reg.id_sub(store.inner.funcs[f.0 as usize].type_id(), want)
        }
        (ExternType::Table(tt), Extern::Table(t)) => {
            let want = m.precise_tables[at.tables];
            at.tables += 1;
            let a: TableType = t.ty(store);
            let have = store.inner.tables[t.0 as usize].precise;
            let (w, h) = (
                wasmparser::ValType::Ref(want),
                wasmparser::ValType::Ref(have),
            );
            reg.val_sub(h, w)
                && reg.val_sub(w, h)
                && limits_match(a.minimum, a.maximum, tt.minimum, tt.maximum)
        }
        (ExternType::Memory(mt), Extern::Memory(mem)) => {
            let a: MemoryType = mem.ty(store);
            a.memory64 == mt.memory64
                && a.shared == mt.shared
                && limits_match(a.minimum, a.maximum, mt.minimum, mt.maximum)
        }
        (ExternType::Global(gt), Extern::Global(g)) => {
            let want = m.precise_globals[at.globals];
            at.globals += 1;
            let e = &store.inner.globals[g.0 as usize];
            e.ty.mutability == gt.mutability
                && reg.val_sub(e.precise, want)
                && (gt.mutability == Mutability::Const || reg.val_sub(want, e.precise))
        }
        (ExternType::Tag(_), Extern::Tag(t)) => {
            let want = m.tag_ids[at.tags];
            at.tags += 1;
            store.inner.tag_ids[t.0 as usize] == want
        }
        _ => false,
    }
}

pub(crate) fn instantiate<T>(
    store: &mut Store<T>,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    let m = module.inner.clone();
    if !crate::Engine::same(&m.engine, &store.inner.engine) {
        return Err(Error::link("the module belongs to another engine"));
    }
    if imports.len() != m.imports.len() {
        return Err(Error::link(format!(
            "expected {} imports, got {}",
            m.imports.len(),
            imports.len()
        )));
    }
    let mut funcs = Vec::with_capacity(m.funcs.len());
    let mut tables = Vec::with_capacity(m.tables.len());
    let mut memories = Vec::with_capacity(m.memories.len());
    let mut globals = Vec::with_capacity(m.globals.len());
    let mut tags = Vec::with_capacity(m.tags.len());
    let mut at = ImportCounters::default();
    for (import, actual) in m.imports.iter().zip(imports) {
        if !check_import(store, &m, &mut at, &import.ty, actual) {
            return Err(Error::link(format!(
                "incompatible import type for `{}::{}`: expected {}, found {}",
                import.module,
                import.name,
                import.ty,
                actual.ty(&*store)
            )));
        }
        match actual {
            Extern::Func(f) => funcs.push(f.0),
            Extern::Table(t) => tables.push(t.0),
            Extern::Memory(mem) => memories.push(mem.0),
            Extern::Global(g) => globals.push(g.0),
            Extern::Tag(t) => tags.push(t.0),
        }
    }
    let inst_idx = store.inner.instances.len() as u32;
    let inner = &mut store.inner;
    for index in m.num_imported_funcs..m.funcs.len() as u32 {
        let type_id = m.type_ids[m.funcs[index as usize] as usize];
        funcs.push(inner.funcs.len() as u32);
        inner.funcs.push(FuncEntity::Wasm {
            instance: inst_idx,
            index,
            type_id,
        });
    }
    for (i, ty) in m.tags.iter().enumerate().skip(m.num_imported_tags as usize) {
        tags.push(inner.tags.len() as u32);
        inner.tags.push(ty.clone());
        inner.tag_ids.push(m.tag_ids[i]);
    }
    for (i, ty) in m
        .memories
        .iter()
        .enumerate()
        .skip(m.num_imported_memories as usize)
    {
        let _ = i;
        memories.push(new_memory(inner, *ty)?.0);
    }
    let types = &m.gc_types;
    // Globals in order: an initialiser may read any earlier global.
    for (i, init) in m.global_inits.iter().enumerate() {
        let ty = m.globals[m.num_imported_globals as usize + i];
        let value = init
            .eval(inner, &globals, &funcs, types)
            .map_err(Error::trap)?;
        // A v128 initialiser is `v128.const` or `global.get` of a v128 global.
        let hi = match init.v128_const() {
            Some(v) => (v >> 64) as u64,
            None if ty.content == crate::types::ValType::V128 => init
                .global_index()
                .map_or(0, |g| inner.globals[globals[g as usize] as usize].hi),
            None => 0,
        };
        globals.push(inner.globals.len() as u32);
        inner.globals.push(GlobalEntity {
            value,
            hi,
            ty,
            precise: m.precise_globals[m.num_imported_globals as usize + i],
        });
    }
    for (i, init) in m.table_inits.iter().enumerate() {
        let ty = m.tables[m.num_imported_tables as usize + i];
        let init = match init {
            Some(e) => e
                .eval(inner, &globals, &funcs, types)
                .map_err(Error::trap)?,
            None => 0,
        };
        let precise = m.precise_tables[m.num_imported_tables as usize + i];
        tables.push(new_table(inner, ty, precise, init)?.0);
    }
    let mut elems: Vec<Arc<[u64]>> = Vec::with_capacity(m.elems.len());
    for seg in &m.elems {
        elems.push(match seg.mode {
            SegmentMode::Declared => Arc::from([]),
            _ => seg
                .items
                .iter()
                .map(|e| e.eval(inner, &globals, &funcs, types))
                .collect::<Result<Arc<[u64]>, TrapCode>>()
                .map_err(Error::trap)?,
        });
    }
    let exports = m
        .exports
        .iter()
        .map(|(name, idx)| {
            let e = match *idx {
                ExportIndex::Func(i) => Extern::Func(Func(funcs[i as usize])),
                ExportIndex::Table(i) => Extern::Table(Table(tables[i as usize])),
                ExportIndex::Memory(i) => Extern::Memory(Memory(memories[i as usize])),
                ExportIndex::Global(i) => Extern::Global(Global(globals[i as usize])),
                ExportIndex::Tag(i) => Extern::Tag(Tag(tags[i as usize])),
            };
            (name.clone(), e)
        })
        .collect();
    // Offsets are evaluated before any segment is applied.
    let mut elem_offsets: Vec<Option<(u32, u64)>> = Vec::with_capacity(m.elems.len());
    for seg in &m.elems {
        elem_offsets.push(match &seg.mode {
            SegmentMode::Active { index, offset } => Some((
                *index,
                offset
                    .eval(inner, &globals, &funcs, types)
                    .map_err(Error::trap)?,
            )),
            _ => None,
        });
    }
    let mut data_offsets: Vec<Option<(u32, u64)>> = Vec::with_capacity(m.datas.len());
    for seg in &m.datas {
        data_offsets.push(match &seg.mode {
            SegmentMode::Active { index, offset } => Some((
                *index,
                offset
                    .eval(inner, &globals, &funcs, types)
                    .map_err(Error::trap)?,
            )),
            _ => None,
        });
    }
    inner.instances.push(InstanceEntity {
        module: m.clone(),
        funcs,
        tables,
        memories,
        globals,
        tags,
        elems,
        datas_dropped: vec![false; m.datas.len()],
        exports,
    });
    let inst = inst_idx as usize;
    for (i, target) in elem_offsets.iter().enumerate() {
        if let Some((table, offset)) = *target {
            let t = inner.instances[inst].tables[table as usize] as usize;
            let n = inner.instances[inst].elems[i].len();
            inner
                .init_table(inst, t, i, host_index(offset), 0, n)
                .map_err(Error::trap)?;
            inner.instances[inst].elems[i] = Arc::from([]);
        } else if matches!(m.elems[i].mode, SegmentMode::Declared) {
            inner.instances[inst].elems[i] = Arc::from([]);
        }
    }
    for (i, target) in data_offsets.iter().enumerate() {
        if let Some((mem, offset)) = *target {
            let mi = inner.instances[inst].memories[mem as usize] as usize;
            let n = m.datas[i].range.len();
            inner
                .init_memory(inst, mi, i, host_index(offset), 0, n)
                .map_err(|c: TrapCode| Error::trap(c))?;
            inner.instances[inst].datas_dropped[i] = true;
        }
    }
    if let Some(start) = m.start {
        let f = inner.instances[inst].funcs[start as usize];
        invoke(store, f, &mut [])?;
    }
    Ok(Instance(inst_idx))
}

/// A segment offset as a host index. An i32 offset is zero-extended in its slot, so this also
/// reads i64 offsets (memory64, table64); an unrepresentable one saturates and fails the
/// bounds check.
fn host_index(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}
