//! The canonical ABI (`design/mvp/CanonicalABI.md`): how component values ([`Val`]) are
//! lifted out of and lowered into core wasm values and linear memory, with every check the
//! specification makes trap.
//!
//! Flat core values are `u64` slots as the interpreter holds them (an `i32` zero-extended, a
//! float as its bits), so the variant coercions of `join` are free: a 32-bit payload read
//! from a joined `i64` slot takes its low 32 bits.
//!
//! Everything here works against an [`AbiCx`] (memory, `realloc`, handles), so it can be
//! tested on hand-built memory; the store-backed context lives in `component::func`.

pub(crate) mod lift;
pub(crate) mod lower;
mod string;

pub(crate) use lift::lift_values;
pub(crate) use lower::lower_values;

use super::resources::ResourceAny;
use super::types::{ResourceRef, Type};
use super::values::Val;
use crate::error::{Error, Result, TrapCode};

/// Most flat core parameters before parameters go through memory.
pub(crate) const MAX_FLAT_PARAMS: usize = 16;
/// Most flat core results before the result goes through memory.
pub(crate) const MAX_FLAT_RESULTS: usize = 1;
/// Longest string in bytes that may be lifted.
pub(crate) const MAX_STRING_BYTE_LENGTH: u64 = (1 << 28) - 1;
/// Longest list in bytes that may be lifted.
pub(crate) const MAX_LIST_BYTE_LENGTH: u64 = (1 << 28) - 1;

/// The `string-encoding` canonical option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StringEncoding {
    /// UTF-8 (the default).
    #[default]
    Utf8,
    /// UTF-16, little endian.
    Utf16,
    /// Latin-1 or UTF-16, chosen per string (`latin1+utf16`).
    CompactUtf16,
}

/// What lifting and lowering need from their surroundings: the options' memory and
/// `realloc`, and the handle table of the instance whose values these are.
pub(crate) trait AbiCx {
    /// The `string-encoding` option.
    fn encoding(&self) -> StringEncoding;
    /// The `memory` option's bytes.
    fn memory(&self) -> Result<&[u8]>;
    /// The `memory` option's bytes, mutably.
    fn memory_mut(&mut self) -> Result<&mut [u8]>;
    /// Calls the `realloc` option.
    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32>;
    /// Lifts an `own` handle (removing it from the table).
    fn lift_own(&mut self, ty: ResourceRef, idx: u32) -> Result<ResourceAny>;
    /// Lifts a `borrow` handle (lending it for the call).
    fn lift_borrow(&mut self, ty: ResourceRef, idx: u32) -> Result<ResourceAny>;
    /// Lowers an owned resource: a new handle.
    fn lower_own(&mut self, ty: ResourceRef, r: &ResourceAny) -> Result<u32>;
    /// Lowers a borrowed resource for the duration of the call.
    fn lower_borrow(&mut self, ty: ResourceRef, r: &ResourceAny) -> Result<u32>;
    /// Lifts a `stream`, `future` or `error-context` handle (taking it from the table).
    fn lift_handle(&mut self, ty: &Type, _idx: u32) -> Result<Val> {
        Err(Error::msg(format!("cannot lift a {ty} here")))
    }
    /// Lowers a `stream`, `future` or `error-context`: a new handle.
    fn lower_handle(&mut self, ty: &Type, _v: &Val) -> Result<u32> {
        Err(Error::msg(format!("cannot lower a {ty} here")))
    }
}

pub(crate) fn trap(code: TrapCode) -> Error {
    Error::trap(code)
}

/// Whether `ptr` is a multiple of `align`.
pub(crate) fn aligned(ptr: u64, align: u32) -> bool {
    ptr.is_multiple_of(align as u64)
}

/// `allocate`: calls `realloc(0, 0, align, size)`.
pub(crate) fn allocate(cx: &mut dyn AbiCx, align: u32, size: u32) -> Result<u32> {
    cx.realloc(0, 0, align, size)
}

/// Checks that `[ptr, ptr + len)` is inside memory, or traps with `code`.
pub(crate) fn check_range(cx: &dyn AbiCx, ptr: u64, len: u64, code: TrapCode) -> Result<()> {
    if ptr + len > cx.memory()?.len() as u64 {
        return Err(trap(code));
    }
    Ok(())
}

/// Reads `N` bytes at `ptr` (the caller checked the range).
pub(crate) fn read<const N: usize>(cx: &dyn AbiCx, ptr: u32) -> Result<[u8; N]> {
    let mem = cx.memory()?;
    let start = ptr as usize;
    mem.get(start..start + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| trap(TrapCode::MemoryOutOfBounds))
}

/// Writes bytes at `ptr` (the caller checked the range).
pub(crate) fn write(cx: &mut dyn AbiCx, ptr: u32, bytes: &[u8]) -> Result<()> {
    let mem = cx.memory_mut()?;
    let start = ptr as usize;
    mem.get_mut(start..start + bytes.len())
        .ok_or_else(|| trap(TrapCode::MemoryOutOfBounds))?
        .copy_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
