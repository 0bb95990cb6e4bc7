//! The GC heap (GC proposal): structs and arrays live in the store as [`GcObject`]s, indexed by
//! handle; a reference's raw slot is the handle + 1 (see `values::AnyRef` for the unboxed
//! `i31` and internalized `externref` forms).
//!
//! Collection: none yet. Objects are never freed before the store drops (like externrefs and
//! thrown exceptions), which is correct but lets a long-running allocating guest grow without
//! bound; a tracing collector over the stacks, globals, tables and objects is future work.

use crate::error::TrapCode;
use crate::typereg::TypeInfo;
use std::sync::Arc;

/// The most fields (summed over all live objects) a store may hold: 2^28 slots (2 GiB).
const MAX_SLOTS: usize = 1 << 28;

/// A struct or an array: its canonical type and its fields (struct) or elements (array), one
/// raw slot each (packed `i8`/`i16` kept truncated).
pub(crate) struct GcObject {
    pub ty: Arc<TypeInfo>,
    pub fields: Box<[u64]>,
}

/// Every heap object of a store.
#[derive(Default)]
pub(crate) struct GcHeap {
    pub objects: Vec<GcObject>,
    slots: usize,
}

impl GcHeap {
    /// Allocates an object; returns its raw reference (handle + 1).
    pub(crate) fn alloc(&mut self, ty: Arc<TypeInfo>, fields: Box<[u64]>) -> Result<u64, TrapCode> {
        self.slots = self
            .slots
            .checked_add(fields.len())
            .filter(|n| *n <= MAX_SLOTS)
            .ok_or(TrapCode::AllocationTooLarge)?;
        self.objects.push(GcObject { ty, fields });
        Ok(self.objects.len() as u64)
    }

    /// Whether an array of `n` elements may be allocated (checked before building it).
    pub(crate) fn check_len(&self, n: u64) -> Result<usize, TrapCode> {
        usize::try_from(n)
            .ok()
            .filter(|n| self.slots.saturating_add(*n) <= MAX_SLOTS)
            .ok_or(TrapCode::AllocationTooLarge)
    }

    /// The object of a non-null, non-i31 raw reference.
    #[inline]
    pub(crate) fn get(&self, raw: u64) -> &GcObject {
        &self.objects[raw as usize - 1]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, raw: u64) -> &mut GcObject {
        &mut self.objects[raw as usize - 1]
    }
}

/// The payload of an `externref` made by `extern.convert_any` from a heap object or an `i31`
/// (the raw `any` reference), so `any.convert_extern` gives the same reference back.
pub(crate) struct Externalized(pub u64);

impl super::StoreInner {
    /// `extern.convert_any`: an internalized host reference becomes itself again; any other
    /// non-null reference is wrapped in a new `externref`.
    pub(crate) fn externalize(&mut self, any: u64) -> u64 {
        use crate::values::{HOST_TAG, I31_TAG};
        if any == 0 {
            0
        } else if any & (I31_TAG | HOST_TAG) == HOST_TAG {
            any & !HOST_TAG
        } else {
            self.externrefs.push(Box::new(Externalized(any)));
            self.externrefs.len() as u64
        }
    }

    /// `any.convert_extern`: the inverse of [`externalize`](Self::externalize); a host
    /// reference is tagged (no allocation).
    pub(crate) fn internalize(&self, ext: u64) -> u64 {
        if ext == 0 {
            return 0;
        }
        match self.externrefs[ext as usize - 1].downcast_ref::<Externalized>() {
            Some(Externalized(any)) => *any,
            None => crate::values::HOST_TAG | ext,
        }
    }
}
