//! Runtime values: [`Val`] as the API sees them, and their raw 64-bit slot form inside the
//! interpreter (i32 zero-extended, floats as bits, references as handle + 1 with 0 = null).

use crate::store::{ExternRef, Func};
use crate::types::ValType;
use std::fmt;

/// A WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    /// 32-bit integer.
    I32(i32),
    /// 64-bit integer.
    I64(i64),
    /// 32-bit float, as its bits (so NaN payloads survive).
    F32(u32),
    /// 64-bit float, as its bits.
    F64(u64),
    /// 128-bit vector.
    V128(u128),
    /// A function reference, or null.
    FuncRef(Option<Func>),
    /// An external reference, or null.
    ExternRef(Option<ExternRef>),
    /// An exception reference, or null (exception handling).
    ExnRef(Option<Exn>),
    /// A reference of the `any` hierarchy (GC): an i31, a struct, an array, or an internalized
    /// external reference; or null.
    AnyRef(Option<AnyRef>),
}

/// A non-null reference of the `any` hierarchy, in its raw slot form: an `i31` is the value
/// with [`I31_TAG`] set (no allocation), an internalized host `externref` is its raw form with
/// [`HOST_TAG`] set, anything else is a heap object's handle + 1 (see `store::gc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyRef(pub(crate) u64);

/// Tag bit of an unboxed `i31` in a raw `any` slot.
pub(crate) const I31_TAG: u64 = 1 << 63;
/// Tag bit of an internalized host `externref` in a raw `any` slot (`any.convert_extern`).
pub(crate) const HOST_TAG: u64 = 1 << 62;

impl AnyRef {
    /// An `i31` reference holding the low 31 bits of `v`.
    pub fn from_i31(v: u32) -> AnyRef {
        AnyRef(I31_TAG | (v & 0x7fff_ffff) as u64)
    }
    /// The `i31` value (its 31 bits, zero-extended), if this is an `i31`.
    pub fn as_i31(&self) -> Option<u32> {
        (self.0 & I31_TAG != 0).then_some(self.0 as u32 & 0x7fff_ffff)
    }
    /// An external reference internalized into the `any` hierarchy (`any.convert_extern`).
    pub fn from_extern(e: ExternRef) -> AnyRef {
        AnyRef(HOST_TAG | (e.0 as u64 + 1))
    }
    /// The external reference this one internalizes, if it is one.
    pub fn as_extern(&self) -> Option<ExternRef> {
        (self.0 & (I31_TAG | HOST_TAG) == HOST_TAG)
            .then(|| ExternRef((self.0 & !HOST_TAG) as u32 - 1))
    }
    /// Whether this is a struct (a heap object of a struct type).
    pub fn is_struct(&self, store: impl crate::AsContext) -> bool {
        self.heap_kind(store) == Some(crate::typereg::Kind::Struct)
    }
    /// Whether this is an array.
    pub fn is_array(&self, store: impl crate::AsContext) -> bool {
        self.heap_kind(store) == Some(crate::typereg::Kind::Array)
    }
    fn heap_kind(&self, store: impl crate::AsContext) -> Option<crate::typereg::Kind> {
        if self.0 & (I31_TAG | HOST_TAG) != 0 {
            return None;
        }
        let store = store.as_store();
        store
            .inner
            .gc
            .objects
            .get(self.0 as usize - 1)
            .map(|o| o.ty.kind)
    }
}

/// A caught or thrown exception in a store: its tag and payload live there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exn(pub(crate) u32);

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::ExnRef,
            Val::AnyRef(_) => ValType::AnyRef,
        }
    }
    /// The zero / null value of a type.
    pub fn default_for(ty: ValType) -> Val {
        Val::from_raw(0, ty)
    }
    /// The i32, if this is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }
    /// The i64, if this is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }
    /// The f32, if this is one.
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(v) => Some(f32::from_bits(*v)),
            _ => None,
        }
    }
    /// The f64, if this is one.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(v) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }
    /// The i32; panics otherwise.
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("expected i32")
    }
    /// The i64; panics otherwise.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("expected i64")
    }
    /// The f32; panics otherwise.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("expected f32")
    }
    /// The f64; panics otherwise.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("expected f64")
    }

    pub(crate) fn to_raw(self) -> u64 {
        match self {
            Val::I32(v) => v as u32 as u64,
            Val::I64(v) => v as u64,
            Val::F32(v) => v as u64,
            Val::F64(v) => v,
            Val::V128(v) => v as u64,
            Val::FuncRef(f) => f.map_or(0, |f| f.0 as u64 + 1),
            Val::ExternRef(e) => e.map_or(0, |e| e.0 as u64 + 1),
            Val::ExnRef(e) => e.map_or(0, |e| e.0 as u64 + 1),
            Val::AnyRef(r) => r.map_or(0, |r| r.0),
        }
    }

    /// The high 64 bits of a `v128` (0 for every other value).
    pub(crate) fn raw_hi(self) -> u64 {
        match self {
            Val::V128(v) => (v >> 64) as u64,
            _ => 0,
        }
    }

    /// A value from its low and high raw halves (`hi` only matters for `v128`).
    pub(crate) fn from_raw_pair(lo: u64, hi: u64, ty: ValType) -> Val {
        match ty {
            ValType::V128 => Val::V128(lo as u128 | (hi as u128) << 64),
            _ => Val::from_raw(lo, ty),
        }
    }

    /// Writes the value's slots (two for a `v128`) to `out`; returns how many.
    pub(crate) fn write_slots(self, out: &mut [u64]) -> usize {
        out[0] = self.to_raw();
        if let Val::V128(v) = self {
            out[1] = (v >> 64) as u64;
            2
        } else {
            1
        }
    }

    /// Reads values of types `tys` from consecutive slots.
    pub(crate) fn read_slots(raw: &[u64], tys: &[ValType]) -> Vec<Val> {
        let mut at = 0;
        tys.iter()
            .map(|t| {
                let hi = if *t == ValType::V128 { raw[at + 1] } else { 0 };
                let v = Val::from_raw_pair(raw[at], hi, *t);
                at += crate::types::slots_of(*t);
                v
            })
            .collect()
    }

    pub(crate) fn from_raw(raw: u64, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw),
            ValType::V128 => Val::V128(raw as u128),
            ValType::FuncRef => Val::FuncRef(raw.checked_sub(1).map(|i| Func(i as u32))),
            ValType::ExternRef => Val::ExternRef(raw.checked_sub(1).map(|i| ExternRef(i as u32))),
            ValType::ExnRef => Val::ExnRef(raw.checked_sub(1).map(|i| Exn(i as u32))),
            ValType::AnyRef => Val::AnyRef((raw != 0).then_some(AnyRef(raw))),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::I32(v) => write!(f, "{v}"),
            Val::I64(v) => write!(f, "{v}"),
            Val::F32(v) => write!(f, "{}", f32::from_bits(*v)),
            Val::F64(v) => write!(f, "{}", f64::from_bits(*v)),
            Val::V128(v) => write!(f, "{v:#034x}"),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
                write!(f, "null")
            }
            Val::AnyRef(Some(r)) => match r.as_i31() {
                Some(v) => write!(f, "<i31 {v}>"),
                None => write!(f, "<anyref>"),
            },
            Val::ExnRef(Some(_)) => write!(f, "<exnref>"),
            Val::FuncRef(Some(_)) => write!(f, "<funcref>"),
            Val::ExternRef(Some(_)) => write!(f, "<externref>"),
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}
