//! The store: owner of every runtime object (functions, memories, tables, globals, instances,
//! external references) and of the embedder's data `T`. Handles such as [`Func`] are indices
//! into one store.

mod externals;
mod func;
pub(crate) mod gc;
mod instance;
mod linker;

pub use externals::{Extern, ExternRef, Global, Memory, MemoryAccessError, Table, Tag};
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use instance::Instance;
pub use linker::Linker;

use crate::engine::Engine;
use crate::error::{Error, Result, TrapCode};
use crate::exec::Stack;
use crate::module::ModuleInner;
use crate::types::{FuncType, GlobalType, MemoryType, TableType};
use std::any::Any;
use std::sync::Arc;

pub(crate) const PAGE_SIZE: usize = 65536;

/// Host function in raw form: arguments in `slots[..params]`, results written to
/// `slots[..results]`.
pub(crate) type HostFn<T> =
    Arc<dyn Fn(Caller<'_, T>, &mut [u64]) -> Result<()> + Send + Sync + 'static>;

pub(crate) enum FuncEntity {
    Wasm {
        instance: u32,
        /// Index in the module's function index space.
        index: u32,
        type_id: u32,
    },
    Host {
        /// Index into `Store::host_funcs`.
        host: u32,
        type_id: u32,
        ty: FuncType,
    },
}

impl FuncEntity {
    pub(crate) fn type_id(&self) -> u32 {
        match self {
            FuncEntity::Wasm { type_id, .. } | FuncEntity::Host { type_id, .. } => *type_id,
        }
    }
}

pub(crate) struct MemoryEntity {
    pub data: Vec<u8>,
    pub ty: MemoryType,
}

impl MemoryEntity {
    pub(crate) fn pages(&self) -> u64 {
        (self.data.len() / PAGE_SIZE) as u64
    }
}

pub(crate) struct TableEntity {
    pub elems: Vec<u64>,
    pub ty: TableType,
    /// The exact element type (concrete types as canonical ids), for import checks.
    pub precise: wasmparser::RefType,
}

pub(crate) struct GlobalEntity {
    pub value: u64,
    /// The high 64 bits of a `v128` global (0 for every other type).
    pub hi: u64,
    pub ty: GlobalType,
    /// The exact value type (concrete types as canonical ids), for import checks.
    pub precise: wasmparser::ValType,
}

/// A thrown exception.
pub(crate) struct ExnEntity {
    pub tag: u32,
    pub payload: Box<[u64]>,
}

pub(crate) struct InstanceEntity {
    pub module: Arc<ModuleInner>,
    /// Store indices of the instance's functions, tables, memories and globals.
    pub funcs: Vec<u32>,
    pub tables: Vec<u32>,
    pub memories: Vec<u32>,
    pub globals: Vec<u32>,
    /// Store tag index of every tag (imported first).
    pub tags: Vec<u32>,
    /// Element segments as raw references; dropped segments are empty.
    pub elems: Vec<Arc<[u64]>>,
    pub datas_dropped: Vec<bool>,
    pub exports: Vec<(String, Extern)>,
}

/// Limits an embedder puts on a store's memories and tables.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
}

/// Builds [`StoreLimits`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No limits.
    pub fn new() -> Self {
        Self::default()
    }
    /// The most bytes any one memory may grow to.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }
    /// The most elements any one table may grow to.
    pub fn table_elements(mut self, n: usize) -> Self {
        self.0.table_elements = Some(n);
        self
    }
    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

pub(crate) struct StoreInner {
    pub engine: Engine,
    pub funcs: Vec<FuncEntity>,
    pub memories: Vec<MemoryEntity>,
    pub tables: Vec<TableEntity>,
    pub globals: Vec<GlobalEntity>,
    pub instances: Vec<InstanceEntity>,
    pub externrefs: Vec<Box<dyn Any + Send + Sync>>,
    /// Exception tags: each one's type; identity is the index.
    pub tags: Vec<crate::types::FuncType>,
    /// Each tag's canonical function type id (import checks).
    pub tag_ids: Vec<u32>,
    /// GC heap objects (structs and arrays).
    pub gc: gc::GcHeap,
    /// Thrown exceptions: store tag index and payload (kept for the store's lifetime, as
    /// externrefs are).
    pub exns: Vec<ExnEntity>,
    pub fuel: u64,
    pub epoch_deadline: u64,
    pub limits: StoreLimits,
    /// Spare stacks, reused across calls from the host.
    pub stacks: Vec<Stack>,
    /// Host -> wasm re-entries currently active.
    pub depth: usize,
    /// Copies of the engine's limits, read on every call.
    pub max_call_depth: usize,
    pub max_stack_slots: usize,
}

/// Everything a guest owns at run time, plus the embedder's data.
pub struct Store<T> {
    pub(crate) inner: StoreInner,
    pub(crate) host_funcs: Vec<HostFn<T>>,
    data: T,
}

impl<T> Store<T> {
    /// A store for `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        Store {
            inner: StoreInner {
                engine: engine.clone(),
                funcs: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                instances: Vec::new(),
                externrefs: Vec::new(),
                tags: Vec::new(),
                tag_ids: Vec::new(),
                gc: gc::GcHeap::default(),
                exns: Vec::new(),
                fuel: 0,
                epoch_deadline: 0,
                limits: StoreLimits::default(),
                stacks: Vec::new(),
                depth: 0,
                max_call_depth: engine.config().max_call_depth,
                max_stack_slots: engine.config().max_stack_slots,
            },
            host_funcs: Vec::new(),
            data,
        }
    }
    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.data
    }
    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }
    /// Consumes the store, returning its data.
    pub fn into_data(self) -> T {
        self.data
    }
    /// Sets the remaining fuel (requires `Config::consume_fuel`).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        if !self.inner.engine.config().consume_fuel {
            return Err(Error::msg("fuel is not enabled in this engine's Config"));
        }
        self.inner.fuel = fuel;
        Ok(())
    }
    /// The remaining fuel.
    pub fn get_fuel(&self) -> Result<u64> {
        if !self.inner.engine.config().consume_fuel {
            return Err(Error::msg("fuel is not enabled in this engine's Config"));
        }
        Ok(self.inner.fuel)
    }
    /// Traps the guest once the engine's epoch is `ticks` past the current one
    /// (requires `Config::epoch_interruption`).
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.inner.epoch_deadline = self.inner.engine.current_epoch().saturating_add(ticks);
    }
    /// Sets memory and table limits.
    pub fn limiter(&mut self, limits: StoreLimits) {
        self.inner.limits = limits;
    }
}

impl StoreInner {
    /// Fuel and epoch checks at loop heads and function entries.
    pub(crate) fn check_interrupt(&mut self) -> Result<(), TrapCode> {
        let config = self.engine.config();
        if config.consume_fuel {
            if self.fuel == 0 {
                return Err(TrapCode::OutOfFuel);
            }
            self.fuel -= 1;
        }
        if config.epoch_interruption && self.engine.current_epoch() >= self.epoch_deadline {
            return Err(TrapCode::Interrupt);
        }
        Ok(())
    }

    /// Grows memory `m` by `delta` pages; the old size in pages, or None.
    pub(crate) fn grow_memory(&mut self, m: usize, delta: u64) -> Option<u64> {
        let limit = self.limits.memory_size;
        let mem = &mut self.memories[m];
        let old = mem.pages();
        let new = old.checked_add(delta)?;
        let max = mem
            .ty
            .maximum
            .unwrap_or(u64::MAX)
            .min(mem.ty.absolute_max_pages());
        if new > max {
            return None;
        }
        let bytes = usize::try_from(new).ok()?.checked_mul(PAGE_SIZE)?;
        if limit.is_some_and(|l| bytes > l) {
            return None;
        }
        if mem.data.try_reserve_exact(bytes - mem.data.len()).is_err() {
            return None;
        }
        mem.data.resize(bytes, 0);
        Some(old)
    }

    /// Grows table `t` by `delta` elements set to `init`; the old size, or None.
    pub(crate) fn grow_table(&mut self, t: usize, delta: u64, init: u64) -> Option<u64> {
        let limit = self.limits.table_elements;
        let table = &mut self.tables[t];
        let old = table.elems.len() as u64;
        let new = old.checked_add(delta)?;
        if new > table.ty.maximum.unwrap_or(u32::MAX as u64) {
            return None;
        }
        if limit.is_some_and(|l| new > l as u64) {
            return None;
        }
        let new = usize::try_from(new).ok()?;
        if table
            .elems
            .try_reserve_exact(new - table.elems.len())
            .is_err()
        {
            return None;
        }
        table.elems.resize(new, init);
        Some(old)
    }

    pub(crate) fn copy_table(
        &mut self,
        dst: usize,
        di: usize,
        src: usize,
        si: usize,
        n: usize,
    ) -> Result<(), TrapCode> {
        let oob = TrapCode::TableOutOfBounds;
        let src_len = self.tables[src].elems.len();
        let dst_len = self.tables[dst].elems.len();
        if si.checked_add(n).is_none_or(|e| e > src_len)
            || di.checked_add(n).is_none_or(|e| e > dst_len)
        {
            return Err(oob);
        }
        if dst == src {
            self.tables[dst].elems.copy_within(si..si + n, di);
        } else {
            let items: Vec<u64> = self.tables[src].elems[si..si + n].to_vec();
            self.tables[dst].elems[di..di + n].copy_from_slice(&items);
        }
        Ok(())
    }

    pub(crate) fn init_table(
        &mut self,
        inst: usize,
        table: usize,
        elem: usize,
        di: usize,
        si: usize,
        n: usize,
    ) -> Result<(), TrapCode> {
        let seg = self.instances[inst].elems[elem].clone();
        let elems = &mut self.tables[table].elems;
        if si.checked_add(n).is_none_or(|e| e > seg.len())
            || di.checked_add(n).is_none_or(|e| e > elems.len())
        {
            return Err(TrapCode::TableOutOfBounds);
        }
        elems[di..di + n].copy_from_slice(&seg[si..si + n]);
        Ok(())
    }

    pub(crate) fn copy_memory(
        &mut self,
        dst: usize,
        di: usize,
        src: usize,
        si: usize,
        n: usize,
    ) -> Result<(), TrapCode> {
        let oob = TrapCode::MemoryOutOfBounds;
        let src_len = self.memories[src].data.len();
        let dst_len = self.memories[dst].data.len();
        if si.checked_add(n).is_none_or(|e| e > src_len)
            || di.checked_add(n).is_none_or(|e| e > dst_len)
        {
            return Err(oob);
        }
        if dst == src {
            self.memories[dst].data.copy_within(si..si + n, di);
        } else {
            let bytes = self.memories[src].data[si..si + n].to_vec();
            self.memories[dst].data[di..di + n].copy_from_slice(&bytes);
        }
        Ok(())
    }

    pub(crate) fn init_memory(
        &mut self,
        inst: usize,
        mem: usize,
        data: usize,
        di: usize,
        si: usize,
        n: usize,
    ) -> Result<(), TrapCode> {
        let instance = &self.instances[inst];
        let seg: &[u8] = if instance.datas_dropped[data] {
            &[]
        } else {
            &instance.module.bytes[instance.module.datas[data].range.clone()]
        };
        let memory = &mut self.memories[mem].data;
        if si.checked_add(n).is_none_or(|e| e > seg.len())
            || di.checked_add(n).is_none_or(|e| e > memory.len())
        {
            return Err(TrapCode::MemoryOutOfBounds);
        }
        memory[di..di + n].copy_from_slice(&seg[si..si + n]);
        Ok(())
    }
}

/// Read access to a store: implemented by `Store`, `&Store`, `&mut Store` and `Caller`.
pub trait AsContext {
    /// The store's data type.
    type Data;
    #[doc(hidden)]
    fn as_store(&self) -> &Store<Self::Data>;
}

/// Write access to a store.
pub trait AsContextMut: AsContext {
    #[doc(hidden)]
    fn as_store_mut(&mut self) -> &mut Store<Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_store(&self) -> &Store<T> {
        self
    }
}
impl<T> AsContextMut for Store<T> {
    fn as_store_mut(&mut self) -> &mut Store<T> {
        self
    }
}
impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_store(&self) -> &Store<C::Data> {
        (**self).as_store()
    }
}
impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_store(&self) -> &Store<C::Data> {
        (**self).as_store()
    }
}
impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_store_mut(&mut self) -> &mut Store<C::Data> {
        (**self).as_store_mut()
    }
}
