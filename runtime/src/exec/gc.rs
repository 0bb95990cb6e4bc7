//! GC instructions (structs, arrays, i31, casts, extern conversions), executed out of line:
//! the run loop has one arm, `Op::Gc(i)`, which calls [`exec`] with `gc_ops[i]`, so the scalar
//! arms keep their code layout. Every GC op reads its operands from consecutive frame slots
//! starting at `at` and writes its result (if any) to `at`, like the table and bulk ops.
//! `br_on_cast(_fail)` is a [`GcKind::RefTest`] into a scratch slot followed by an ordinary
//! conditional branch. `ref.eq` is `i64.eq` on the raw slots (see `values::AnyRef`).

use crate::error::TrapCode;
use crate::ir::Reg;
use crate::store::StoreInner;
use crate::typereg::{Kind, Storage, TypeInfo};
use crate::values::{HOST_TAG, I31_TAG};
use std::sync::Arc;
use wasmparser::types::TypeIdentifier;

/// How a packed field or element is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ext {
    /// A full slot.
    None,
    S8,
    U8,
    S16,
    U16,
}

impl Ext {
    /// The read of a field of storage `s`, signed or not (only matters when packed).
    pub(crate) fn of(s: Storage, signed: bool) -> Ext {
        match (s, signed) {
            (Storage::Val, _) => Ext::None,
            (Storage::I8, true) => Ext::S8,
            (Storage::I8, false) => Ext::U8,
            (Storage::I16, true) => Ext::S16,
            (Storage::I16, false) => Ext::U16,
        }
    }
    #[inline]
    fn apply(self, v: u64) -> u64 {
        match self {
            Ext::None => v,
            Ext::S8 => v as u8 as i8 as i32 as u32 as u64,
            Ext::U8 => v as u8 as u64,
            Ext::S16 => v as u16 as i16 as i32 as u32 as u64,
            Ext::U16 => v as u16 as u64,
        }
    }
}

/// The heap type a cast or test checks against.
#[derive(Debug, Clone)]
pub(crate) enum CastHeap {
    /// Any non-null value of the hierarchy (`any`, `func`, `extern`, `exn`).
    Top,
    /// No non-null value (`none`, `nofunc`, `noextern`, `noexn`).
    Bottom,
    Eq,
    I31,
    Struct,
    Array,
    Concrete(Arc<TypeInfo>),
}

/// A cast or test target: a heap type and whether null passes.
#[derive(Debug, Clone)]
pub(crate) struct CastTarget {
    pub nullable: bool,
    pub heap: CastHeap,
}

/// One GC instruction's operation (its slots: see the module docs).
#[derive(Debug, Clone)]
pub(crate) enum GcKind {
    StructNew(Arc<TypeInfo>),
    StructNewDefault(Arc<TypeInfo>),
    StructGet {
        field: u32,
        ext: Ext,
    },
    StructSet {
        field: u32,
        storage: Storage,
    },
    ArrayNew(Arc<TypeInfo>),
    ArrayNewDefault(Arc<TypeInfo>),
    ArrayNewFixed(Arc<TypeInfo>, u32),
    ArrayNewData(Arc<TypeInfo>, u32),
    ArrayNewElem(Arc<TypeInfo>, u32),
    ArrayGet(Ext),
    ArraySet(Storage),
    ArrayLen,
    ArrayFill(Storage),
    ArrayCopy,
    ArrayInitData(Arc<TypeInfo>, u32),
    ArrayInitElem(u32),
    RefI31,
    I31Get {
        signed: bool,
    },
    /// Writes 1 if the reference matches, else 0.
    RefTest(CastTarget),
    /// Leaves the reference in place or traps.
    RefCast(CastTarget),
    AnyConvertExtern,
    ExternConvertAny,
}

#[derive(Debug, Clone)]
pub(crate) struct GcOp {
    pub kind: GcKind,
    pub at: Reg,
}

/// The cast target of an exact (canonicalized) reference type.
pub(crate) fn target_of(reg: &crate::typereg::Registry, r: wasmparser::RefType) -> CastTarget {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    let heap = match r.heap_type() {
        H::Abstract { ty, .. } => match ty {
            A::Any | A::Func | A::Extern | A::Exn | A::Cont => CastHeap::Top,
            A::None | A::NoFunc | A::NoExtern | A::NoExn | A::NoCont => CastHeap::Bottom,
            A::Eq => CastHeap::Eq,
            A::I31 => CastHeap::I31,
            A::Struct => CastHeap::Struct,
            A::Array => CastHeap::Array,
        },
        H::Concrete(i) | H::Exact(i) => match i.as_core_type_id() {
            Some(id) => CastHeap::Concrete(reg.info(id.index() as u32)),
            None => CastHeap::Top,
        },
    };
    CastTarget {
        nullable: r.is_nullable(),
        heap,
    }
}

#[inline]
fn is_object(raw: u64) -> bool {
    raw != 0 && raw & (I31_TAG | HOST_TAG) == 0
}

/// Whether raw reference `raw` (of the target's hierarchy) matches `t`.
pub(crate) fn ref_test(store: &StoreInner, raw: u64, t: &CastTarget) -> bool {
    if raw == 0 {
        return t.nullable;
    }
    match &t.heap {
        CastHeap::Top => true,
        CastHeap::Bottom => false,
        CastHeap::Eq => raw & I31_TAG != 0 || raw & HOST_TAG == 0,
        CastHeap::I31 => raw & I31_TAG != 0,
        CastHeap::Struct => is_object(raw) && store.gc.get(raw).ty.kind == Kind::Struct,
        CastHeap::Array => is_object(raw) && store.gc.get(raw).ty.kind == Kind::Array,
        CastHeap::Concrete(ti) => match ti.kind {
            Kind::Func => {
                let id = store.funcs[raw as usize - 1].type_id();
                id == ti.id || store.engine.types().id_sub(id, ti.id)
            }
            Kind::Struct | Kind::Array => is_object(raw) && store.gc.get(raw).ty.is_subtype_of(ti),
        },
    }
}

/// Bounds check of `n` elements at `i` in a sequence of `len`.
#[inline]
fn range(i: u64, n: u64, len: usize, trap: TrapCode) -> Result<(usize, usize), TrapCode> {
    match i.checked_add(n) {
        Some(end) if end <= len as u64 => Ok((i as usize, end as usize)),
        _ => Err(trap),
    }
}

/// Reads `n` elements of `size` bytes from data segment `data` of instance `inst` at byte
/// offset `s`.
fn data_elems(
    store: &StoreInner,
    inst: usize,
    data: u32,
    s: u64,
    n: u64,
    size: usize,
) -> Result<Vec<u64>, TrapCode> {
    let i = &store.instances[inst];
    let bytes: &[u8] = if i.datas_dropped[data as usize] {
        &[]
    } else {
        &i.module.bytes[i.module.datas[data as usize].range.clone()]
    };
    let total = n
        .checked_mul(size as u64)
        .ok_or(TrapCode::MemoryOutOfBounds)?;
    let (start, end) = range(s, total, bytes.len(), TrapCode::MemoryOutOfBounds)?;
    Ok(bytes[start..end]
        .chunks_exact(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size.min(8)].copy_from_slice(&c[..size.min(8)]);
            u64::from_le_bytes(b)
        })
        .collect())
}

/// Executes one GC op on frame `fr` of a function of instance `inst`.
#[inline(never)]
pub(crate) fn exec(
    store: &mut StoreInner,
    inst: usize,
    fr: &mut [u64],
    op: &GcOp,
) -> Result<(), TrapCode> {
    let at = op.at as usize;
    match &op.kind {
        GcKind::StructNew(ty) => {
            let n = ty.fields.len();
            let fields = fr[at..at + n]
                .iter()
                .zip(ty.fields.iter())
                .map(|(v, s)| s.pack(*v))
                .collect();
            fr[at] = store.gc.alloc(ty.clone(), fields)?;
        }
        GcKind::StructNewDefault(ty) => {
            fr[at] = store
                .gc
                .alloc(ty.clone(), vec![0; ty.fields.len()].into())?;
        }
        GcKind::StructGet { field, ext } => {
            let r = fr[at];
            if r == 0 {
                return Err(TrapCode::NullStructReference);
            }
            fr[at] = ext.apply(store.gc.get(r).fields[*field as usize]);
        }
        GcKind::StructSet { field, storage } => {
            let r = fr[at];
            if r == 0 {
                return Err(TrapCode::NullStructReference);
            }
            store.gc.get_mut(r).fields[*field as usize] = storage.pack(fr[at + 1]);
        }
        GcKind::ArrayNew(ty) => {
            let v = ty.fields[0].pack(fr[at]);
            let n = store.gc.check_len(fr[at + 1])?;
            fr[at] = store.gc.alloc(ty.clone(), vec![v; n].into())?;
        }
        GcKind::ArrayNewDefault(ty) => {
            let n = store.gc.check_len(fr[at])?;
            fr[at] = store.gc.alloc(ty.clone(), vec![0; n].into())?;
        }
        GcKind::ArrayNewFixed(ty, n) => {
            let s = ty.fields[0];
            let elems = fr[at..at + *n as usize]
                .iter()
                .map(|v| s.pack(*v))
                .collect();
            fr[at] = store.gc.alloc(ty.clone(), elems)?;
        }
        GcKind::ArrayNewData(ty, data) => {
            // The segment bounds the length: its check comes first.
            let (s, n) = (fr[at], fr[at + 1]);
            let elems = data_elems(store, inst, *data, s, n, ty.elem_bytes)?;
            fr[at] = store.gc.alloc(ty.clone(), elems.into())?;
        }
        GcKind::ArrayNewElem(ty, elem) => {
            let (s, n) = (fr[at], fr[at + 1]);
            let seg = &store.instances[inst].elems[*elem as usize];
            let (start, end) = range(s, n, seg.len(), TrapCode::TableOutOfBounds)?;
            let elems: Box<[u64]> = seg[start..end].into();
            fr[at] = store.gc.alloc(ty.clone(), elems)?;
        }
        GcKind::ArrayGet(ext) => {
            let (r, i) = (fr[at], fr[at + 1] as u32 as usize);
            if r == 0 {
                return Err(TrapCode::NullArrayReference);
            }
            match store.gc.get(r).fields.get(i) {
                Some(v) => fr[at] = ext.apply(*v),
                None => return Err(TrapCode::ArrayOutOfBounds),
            }
        }
        GcKind::ArraySet(s) => {
            let (r, i, v) = (fr[at], fr[at + 1] as u32 as usize, fr[at + 2]);
            if r == 0 {
                return Err(TrapCode::NullArrayReference);
            }
            match store.gc.get_mut(r).fields.get_mut(i) {
                Some(slot) => *slot = s.pack(v),
                None => return Err(TrapCode::ArrayOutOfBounds),
            }
        }
        GcKind::ArrayLen => {
            let r = fr[at];
            if r == 0 {
                return Err(TrapCode::NullArrayReference);
            }
            fr[at] = store.gc.get(r).fields.len() as u64;
        }
        GcKind::ArrayFill(s) => {
            let (r, i, v, n) = (fr[at], fr[at + 1] as u32, fr[at + 2], fr[at + 3] as u32);
            if r == 0 {
                return Err(TrapCode::NullArrayReference);
            }
            let fields = &mut store.gc.get_mut(r).fields;
            let (start, end) = range(i.into(), n.into(), fields.len(), TrapCode::ArrayOutOfBounds)?;
            fields[start..end].fill(s.pack(v));
        }
        GcKind::ArrayCopy => {
            let (dr, di, sr, si, n) = (
                fr[at],
                fr[at + 1] as u32,
                fr[at + 2],
                fr[at + 3] as u32,
                fr[at + 4] as u32,
            );
            if dr == 0 || sr == 0 {
                return Err(TrapCode::NullArrayReference);
            }
            let dlen = store.gc.get(dr).fields.len();
            let slen = store.gc.get(sr).fields.len();
            let (ds, _) = range(di.into(), n.into(), dlen, TrapCode::ArrayOutOfBounds)?;
            let (ss, se) = range(si.into(), n.into(), slen, TrapCode::ArrayOutOfBounds)?;
            if dr == sr {
                store.gc.get_mut(dr).fields.copy_within(ss..se, ds);
            } else {
                let src: Vec<u64> = store.gc.get(sr).fields[ss..se].to_vec();
                store.gc.get_mut(dr).fields[ds..ds + src.len()].copy_from_slice(&src);
            }
        }
        GcKind::ArrayInitData(ty, data) => {
            let (r, d, s, n) = (
                fr[at],
                fr[at + 1] as u32,
                fr[at + 2] as u32,
                fr[at + 3] as u32,
            );
            if r == 0 {
                return Err(TrapCode::NullArrayReference);
            }
            let len = store.gc.get(r).fields.len();
            let (ds, de) = range(d.into(), n.into(), len, TrapCode::ArrayOutOfBounds)?;
            let elems = data_elems(store, inst, *data, s.into(), n.into(), ty.elem_bytes)?;
            store.gc.get_mut(r).fields[ds..de].copy_from_slice(&elems);
        }
        GcKind::ArrayInitElem(elem) => {
            let (r, d, s, n) = (
                fr[at],
                fr[at + 1] as u32,
                fr[at + 2] as u32,
                fr[at + 3] as u32,
            );
            if r == 0 {
                return Err(TrapCode::NullArrayReference);
            }
            let len = store.gc.get(r).fields.len();
            let (ds, de) = range(d.into(), n.into(), len, TrapCode::ArrayOutOfBounds)?;
            let seg = store.instances[inst].elems[*elem as usize].clone();
            let (ss, se) = range(s.into(), n.into(), seg.len(), TrapCode::TableOutOfBounds)?;
            store.gc.get_mut(r).fields[ds..de].copy_from_slice(&seg[ss..se]);
        }
        GcKind::RefI31 => fr[at] = I31_TAG | (fr[at] & 0x7fff_ffff),
        GcKind::I31Get { signed } => {
            let r = fr[at];
            if r == 0 {
                return Err(TrapCode::NullI31Reference);
            }
            let v = r as u32 & 0x7fff_ffff;
            fr[at] = if *signed {
                (((v << 1) as i32) >> 1) as u32 as u64
            } else {
                v as u64
            };
        }
        GcKind::RefTest(t) => fr[at] = ref_test(store, fr[at], t) as u64,
        GcKind::RefCast(t) => {
            if !ref_test(store, fr[at], t) {
                return Err(TrapCode::CastFailure);
            }
        }
        GcKind::AnyConvertExtern => fr[at] = store.internalize(fr[at]),
        GcKind::ExternConvertAny => fr[at] = store.externalize(fr[at]),
    }
    Ok(())
}
