//! Memories, tables, globals and external references as handles into a store, and [`Extern`],
//! anything an instance can import or export.

use super::{
    AsContext, AsContextMut, Func, GlobalEntity, MemoryEntity, Store, TableEntity, PAGE_SIZE,
};
use crate::error::{Error, Result};
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, Mutability, TableType};
use crate::values::Val;
use std::any::Any;
use std::fmt;

/// A linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory(pub(crate) u32);

/// A table of references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table(pub(crate) u32);

/// A global variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global(pub(crate) u32);

/// An exception tag (exception handling): its type is the payload's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(pub(crate) u32);

impl Tag {
    /// The tag's type.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        store.as_store().inner.tags[self.0 as usize].clone()
    }
}

/// A reference to a host value, passed to wasm as `externref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternRef(pub(crate) u32);

/// An access outside a memory's bounds from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryAccessError;

impl fmt::Display for MemoryAccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of bounds memory access")
    }
}
impl std::error::Error for MemoryAccessError {}

impl Memory {
    /// A new memory of this type.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        new_memory(&mut store.as_store_mut().inner, ty)
    }
    /// The memory's type (minimum = current size).
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let m = &store.as_store().inner.memories[self.0 as usize];
        MemoryType {
            minimum: m.pages(),
            ..m.ty
        }
    }
    /// The contents.
    pub fn data<'a, T: 'a>(&self, store: impl Into<StoreRef<'a, T>>) -> &'a [u8] {
        &store.into().0.inner.memories[self.0 as usize].data
    }
    /// The contents, mutably.
    pub fn data_mut<'a, T: 'a>(&self, store: impl Into<StoreMut<'a, T>>) -> &'a mut [u8] {
        &mut store.into().0.inner.memories[self.0 as usize].data
    }
    /// The contents and the store's data at once (for host functions).
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<StoreMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let store = store.into().0;
        let data = &mut store.inner.memories[self.0 as usize].data;
        (data, &mut store.data)
    }
    /// Size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        store.as_store().inner.memories[self.0 as usize].pages()
    }
    /// Size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        store.as_store().inner.memories[self.0 as usize].data.len()
    }
    /// Grows by `delta` pages; returns the old size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        store
            .as_store_mut()
            .inner
            .grow_memory(self.0 as usize, delta)
            .ok_or_else(|| Error::msg("failed to grow memory"))
    }
    /// Copies memory at `offset` into `buf`.
    pub fn read(
        &self,
        store: impl AsContext,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), MemoryAccessError> {
        let data = &store.as_store().inner.memories[self.0 as usize].data;
        let end = offset.checked_add(buf.len()).ok_or(MemoryAccessError)?;
        buf.copy_from_slice(data.get(offset..end).ok_or(MemoryAccessError)?);
        Ok(())
    }
    /// Copies `buf` into memory at `offset`.
    pub fn write(
        &self,
        mut store: impl AsContextMut,
        offset: usize,
        buf: &[u8],
    ) -> Result<(), MemoryAccessError> {
        let data = &mut store.as_store_mut().inner.memories[self.0 as usize].data;
        let end = offset.checked_add(buf.len()).ok_or(MemoryAccessError)?;
        data.get_mut(offset..end)
            .ok_or(MemoryAccessError)?
            .copy_from_slice(buf);
        Ok(())
    }
}

/// A shared borrow of a store, from `&Store`, `&mut Store` or `&Caller`.
pub struct StoreRef<'a, T>(&'a Store<T>);
/// An exclusive borrow of a store, from `&mut Store` or `&mut Caller`.
pub struct StoreMut<'a, T>(&'a mut Store<T>);

impl<'a, T> From<&'a Store<T>> for StoreRef<'a, T> {
    fn from(s: &'a Store<T>) -> Self {
        StoreRef(s)
    }
}
impl<'a, T> From<&'a mut Store<T>> for StoreRef<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreRef(s)
    }
}
impl<'a, 'b, T> From<&'a super::Caller<'b, T>> for StoreRef<'a, T> {
    fn from(c: &'a super::Caller<'b, T>) -> Self {
        StoreRef(c.store)
    }
}
impl<'a, 'b, T> From<&'a mut super::Caller<'b, T>> for StoreRef<'a, T> {
    fn from(c: &'a mut super::Caller<'b, T>) -> Self {
        StoreRef(c.store)
    }
}
impl<'a, T> From<&'a mut Store<T>> for StoreMut<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreMut(s)
    }
}
impl<'a, 'b, T> From<&'a mut super::Caller<'b, T>> for StoreMut<'a, T> {
    fn from(c: &'a mut super::Caller<'b, T>) -> Self {
        StoreMut(c.store)
    }
}

pub(crate) fn new_memory(store: &mut super::StoreInner, ty: MemoryType) -> Result<Memory> {
    let bytes = usize::try_from(ty.minimum)
        .ok()
        .and_then(|p| p.checked_mul(PAGE_SIZE))
        .filter(|b| store.limits.memory_size.is_none_or(|l| *b <= l))
        .ok_or_else(|| Error::msg(format!("memory of {} pages is too large", ty.minimum)))?;
    let mut data = Vec::new();
    data.try_reserve_exact(bytes)
        .map_err(|_| Error::msg(format!("cannot allocate memory of {bytes} bytes")))?;
    data.resize(bytes, 0);
    let idx = store.memories.len() as u32;
    store.memories.push(MemoryEntity { data, ty });
    Ok(Memory(idx))
}

pub(crate) fn new_table(
    store: &mut super::StoreInner,
    ty: TableType,
    precise: wasmparser::RefType,
    init: u64,
) -> Result<Table> {
    let n = usize::try_from(ty.minimum)
        .ok()
        .filter(|n| store.limits.table_elements.is_none_or(|l| *n <= l))
        .filter(|n| *n <= 10_000_000)
        .ok_or_else(|| Error::msg(format!("table of {} elements is too large", ty.minimum)))?;
    let idx = store.tables.len() as u32;
    store.tables.push(TableEntity {
        elems: vec![init; n],
        ty,
        precise,
    });
    Ok(Table(idx))
}

fn check_val(store_ty: crate::ValType, v: &Val) -> Result<()> {
    if v.ty() != store_ty {
        return Err(Error::msg(format!(
            "value of type {} where {store_ty} is expected",
            v.ty()
        )));
    }
    Ok(())
}

impl Table {
    /// A new table filled with `init`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        check_val(ty.element, &init)?;
        let precise = match crate::typereg::precise_of(ty.element) {
            wasmparser::ValType::Ref(r) => r,
            _ => {
                return Err(Error::msg(
                    "a table's element type must be a reference type",
                ))
            }
        };
        new_table(&mut store.as_store_mut().inner, ty, precise, init.to_raw())
    }
    /// The table's type (minimum = current size).
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let t = &store.as_store().inner.tables[self.0 as usize];
        TableType {
            minimum: t.elems.len() as u64,
            ..t.ty
        }
    }
    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        store.as_store().inner.tables[self.0 as usize].elems.len() as u64
    }
    /// Element `i`, or None out of bounds.
    pub fn get(&self, store: impl AsContext, i: u64) -> Option<Val> {
        let t = &store.as_store().inner.tables[self.0 as usize];
        let raw = *t.elems.get(usize::try_from(i).ok()?)?;
        Some(Val::from_raw(raw, t.ty.element))
    }
    /// Sets element `i`.
    pub fn set(&self, mut store: impl AsContextMut, i: u64, v: Val) -> Result<()> {
        let t = &mut store.as_store_mut().inner.tables[self.0 as usize];
        check_val(t.ty.element, &v)?;
        let slot = usize::try_from(i)
            .ok()
            .and_then(|i| t.elems.get_mut(i))
            .ok_or_else(|| Error::msg("table index out of bounds"))?;
        *slot = v.to_raw();
        Ok(())
    }
    /// Grows by `delta` elements set to `init`; returns the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let inner = &mut store.as_store_mut().inner;
        check_val(inner.tables[self.0 as usize].ty.element, &init)?;
        inner
            .grow_table(self.0 as usize, delta, init.to_raw())
            .ok_or_else(|| Error::msg("failed to grow table"))
    }
}

impl Global {
    /// A new global.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, v: Val) -> Result<Global> {
        check_val(ty.content, &v)?;
        let inner = &mut store.as_store_mut().inner;
        let idx = inner.globals.len() as u32;
        inner.globals.push(GlobalEntity {
            value: v.to_raw(),
            hi: v.raw_hi(),
            ty,
            precise: crate::typereg::precise_of(ty.content),
        });
        Ok(Global(idx))
    }
    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        store.as_store().inner.globals[self.0 as usize].ty
    }
    /// The current value.
    pub fn get(&self, store: impl AsContext) -> Val {
        let g = &store.as_store().inner.globals[self.0 as usize];
        Val::from_raw_pair(g.value, g.hi, g.ty.content)
    }
    /// Sets the value (the global must be mutable).
    pub fn set(&self, mut store: impl AsContextMut, v: Val) -> Result<()> {
        let g = &mut store.as_store_mut().inner.globals[self.0 as usize];
        if g.ty.mutability == Mutability::Const {
            return Err(Error::msg("cannot set an immutable global"));
        }
        check_val(g.ty.content, &v)?;
        g.value = v.to_raw();
        g.hi = v.raw_hi();
        Ok(())
    }
}

impl ExternRef {
    /// Wraps a host value.
    pub fn new(mut store: impl AsContextMut, value: impl Any + Send + Sync) -> ExternRef {
        let inner = &mut store.as_store_mut().inner;
        let idx = inner.externrefs.len() as u32;
        inner.externrefs.push(Box::new(value));
        ExternRef(idx)
    }
    /// The wrapped host value.
    pub fn data<'a, T: 'a>(
        &self,
        store: impl Into<StoreRef<'a, T>>,
    ) -> &'a (dyn Any + Send + Sync) {
        &*store.into().0.inner.externrefs[self.0 as usize]
    }
}

/// Anything that can be imported or exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }
    /// Its type.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(store)),
            Extern::Table(t) => ExternType::Table(t.ty(store)),
            Extern::Memory(m) => ExternType::Memory(m.ty(store)),
            Extern::Global(g) => ExternType::Global(g.ty(store)),
            Extern::Tag(t) => ExternType::Tag(t.ty(store)),
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Self {
        Extern::Func(f)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Self {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Self {
        Extern::Memory(m)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Self {
        Extern::Global(g)
    }
}
