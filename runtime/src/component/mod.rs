//! The component model on the wasmgate engine: decoding and validating components
//! ([`Component`]), their types ([`types`]), the canonical ABI (`abi`), resources and the
//! per-instance handle tables, and the values components exchange ([`Val`]).
//!
//! The API follows wasmtime's `wasmtime::component`.

pub(crate) mod abi;
mod builtins;
mod concurrent;
mod decode;
mod func;
mod instance;
mod linker;
mod resource_table;
mod resources;
mod state;
mod typed;
pub mod types;
mod values;

pub use abi::StringEncoding;
pub use concurrent::{
    ErrorContextAny, FutureAny, FutureWriter, HostCall, HostFutureDataReader, HostFutureReader,
    HostSink, HostSource, StreamAny, ValueMaker,
};
pub use decode::Component;
pub use func::Func;
pub use instance::{ComponentExportIndex, Instance, InstanceExportLookup};
pub use linker::{Linker, LinkerInstance};
pub use resource_table::{ResourceTable, ResourceTableError};
pub use resources::{Resource, ResourceAny, ResourceType};
pub use typed::{ComponentNamedList, ComponentType, Lift, LiftList, Lower, LowerList, TypedFunc};
pub use values::Val;

use crate::engine::Engine;
use crate::error::Result;
use crate::store::{AsContext, AsContextMut, Func as CoreFunc, Store};

/// Exclusive access to a store, as host functions receive it.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut Store<T>);

impl<T> StoreContextMut<'_, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        self.0.data()
    }
    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.0.data_mut()
    }
    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.0.engine()
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_store(&self) -> &Store<T> {
        self.0
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_store_mut(&mut self) -> &mut Store<T> {
        self.0
    }
}

/// Calls a core function with raw slots as arguments; its raw results.
pub(crate) fn call_core<T>(store: &mut Store<T>, func: CoreFunc, args: &[u64]) -> Result<Vec<u64>> {
    let ty = func.ty(&*store);
    let params: Vec<crate::Val> = ty
        .params()
        .iter()
        .zip(args)
        .map(|(t, r)| crate::Val::from_raw(*r, *t))
        .collect();
    let mut results: Vec<crate::Val> = ty
        .results()
        .iter()
        .map(|t| crate::Val::default_for(*t))
        .collect();
    func.call(&mut *store, &params, &mut results)?;
    Ok(results.iter().map(|v| v.to_raw()).collect())
}
