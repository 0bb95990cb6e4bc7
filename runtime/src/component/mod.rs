//! The component model on the wasmgate engine: decoding and validating components
//! ([`Component`]), their types ([`types`]), the canonical ABI (`abi`), resources and the
//! per-instance handle tables, and the values components exchange ([`Val`]).
//!
//! The API follows wasmtime's `wasmtime::component`.

// Decoded definitions, the ABI and the instance state are driven by instantiation, which
// lands next; until then parts of them are not called.
#![allow(dead_code, unused_imports)]

pub(crate) mod abi;
mod decode;
mod resource_table;
mod resources;
mod state;
pub mod types;
mod values;

pub use abi::StringEncoding;
pub use decode::Component;
pub use resource_table::{ResourceTable, ResourceTableError};
pub use resources::{Resource, ResourceAny, ResourceType};
pub use values::Val;

use crate::error::Result;
use crate::store::{Func, Store};

/// Calls a core function with raw slots as arguments; its raw results.
pub(crate) fn call_core<T>(store: &mut Store<T>, func: Func, args: &[u64]) -> Result<Vec<u64>> {
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
