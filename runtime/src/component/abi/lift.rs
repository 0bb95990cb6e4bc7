//! Lifting: core values and linear memory into [`Val`]s (`lift_flat`, `load`).

use super::string::load_string;
use super::{aligned, check_range, read, trap, AbiCx, MAX_LIST_BYTE_LENGTH};
use crate::component::types::{Type, VariantInner};
use crate::component::values::Val;
use crate::error::{Result, TrapCode};

/// Flat core values being consumed left to right.
pub(crate) struct FlatSrc<'a> {
    vals: &'a [u64],
    pos: usize,
}

impl<'a> FlatSrc<'a> {
    pub(crate) fn new(vals: &'a [u64]) -> Self {
        FlatSrc { vals, pos: 0 }
    }
    fn next(&mut self) -> u64 {
        // Callers pass exactly the flat values of the types they lift (checked against the
        // core function's type), so running out is a bug in this module.
        let v = self.vals.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v
    }
    fn skip(&mut self, n: usize) {
        self.pos += n;
    }
}

fn canon_f32(bits: u32) -> f32 {
    let f = f32::from_bits(bits);
    if f.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        f
    }
}

fn canon_f64(bits: u64) -> f64 {
    let f = f64::from_bits(bits);
    if f.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        f
    }
}

fn to_char(i: u32) -> Result<char> {
    char::from_u32(i).ok_or_else(|| trap(TrapCode::InvalidChar))
}

/// `lift_flat`: one value of type `ty` from flat core values.
pub(crate) fn lift_flat(cx: &mut dyn AbiCx, ty: &Type, src: &mut FlatSrc<'_>) -> Result<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(src.next() as u32 != 0),
        Type::S8 => Val::S8(src.next() as i8),
        Type::U8 => Val::U8(src.next() as u8),
        Type::S16 => Val::S16(src.next() as i16),
        Type::U16 => Val::U16(src.next() as u16),
        Type::S32 => Val::S32(src.next() as i32),
        Type::U32 => Val::U32(src.next() as u32),
        Type::S64 => Val::S64(src.next() as i64),
        Type::U64 => Val::U64(src.next()),
        Type::Float32 => Val::Float32(canon_f32(src.next() as u32)),
        Type::Float64 => Val::Float64(canon_f64(src.next())),
        Type::Char => Val::Char(to_char(src.next() as u32)?),
        Type::String => {
            let ptr = src.next() as u32;
            let len = src.next() as u32;
            Val::String(load_string(cx, ptr, len)?)
        }
        Type::List(l) => {
            let ptr = src.next() as u32;
            let len = src.next() as u32;
            Val::List(load_list(cx, l.ty(), ptr, len)?)
        }
        Type::Record(r) => {
            let mut fields = Vec::with_capacity(r.fields().len());
            for (name, t) in r.fields() {
                fields.push((name.to_string(), lift_flat(cx, t, src)?));
            }
            Val::Record(fields)
        }
        Type::Tuple(t) => {
            let mut items = Vec::with_capacity(t.types().len());
            for t in t.types() {
                items.push(lift_flat(cx, t, src)?);
            }
            Val::Tuple(items)
        }
        Type::Flags(f) => unpack_flags(src.next() as u32, f.names()),
        Type::Own(r) => Val::Resource(cx.lift_own(*r, src.next() as u32)?),
        Type::Borrow(r) => Val::Resource(cx.lift_borrow(*r, src.next() as u32)?),
        Type::Stream(_) | Type::Future(_) | Type::ErrorContext => {
            cx.lift_handle(ty, src.next() as u32)?
        }
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result(_) => {
            let v = ty.variant_inner().expect("variant-like type");
            let case = src.next() as u32 as usize;
            if case >= v.cases.len() {
                return Err(trap(TrapCode::InvalidDiscriminant));
            }
            let payload_slots = v.layout.flat.len() - 1;
            let payload = match &v.cases[case] {
                Some(t) => {
                    let before = src.pos;
                    let p = lift_flat(cx, t, src)?;
                    let used = src.pos - before;
                    src.skip(payload_slots - used);
                    Some(Box::new(p))
                }
                None => {
                    src.skip(payload_slots);
                    None
                }
            };
            variant_val(ty, v, case, payload)
        }
    })
}

/// Builds the [`Val`] of case `case` of a variant-like type.
fn variant_val(ty: &Type, v: &VariantInner, case: usize, payload: Option<Box<Val>>) -> Val {
    match ty {
        Type::Enum(_) => Val::Enum(v.case_name(case).to_string()),
        Type::Option(_) => Val::Option(payload),
        Type::Result(_) => Val::Result(if case == 0 { Ok(payload) } else { Err(payload) }),
        _ => Val::Variant(v.case_name(case).to_string(), payload),
    }
}

fn unpack_flags<'a>(bits: u32, names: impl Iterator<Item = &'a str>) -> Val {
    Val::Flags(
        names
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| n.to_string())
            .collect(),
    )
}

/// `load_list_from_range`: `len` elements of `elem` at `ptr`, with the checks.
fn load_list(cx: &mut dyn AbiCx, elem: &Type, ptr: u32, len: u32) -> Result<Vec<Val>> {
    let size = elem.size() as u64;
    let bytes = len as u64 * size;
    if bytes > MAX_LIST_BYTE_LENGTH {
        return Err(trap(TrapCode::ListOutOfBounds));
    }
    if !aligned(ptr as u64, elem.align()) {
        return Err(trap(TrapCode::UnalignedPointer));
    }
    check_range(cx, ptr as u64, bytes, TrapCode::ListOutOfBounds)?;
    if let Type::U8 = elem {
        let mem = cx.memory()?;
        return Ok(mem[ptr as usize..(ptr as u64 + bytes) as usize]
            .iter()
            .map(|b| Val::U8(*b))
            .collect());
    }
    let mut items = Vec::with_capacity(len as usize);
    for i in 0..len {
        items.push(load(cx, elem, ptr + i * size as u32)?);
    }
    Ok(items)
}

/// `load`: one value of type `ty` at `ptr` (aligned and in bounds, checked by the caller).
pub(crate) fn load(cx: &mut dyn AbiCx, ty: &Type, ptr: u32) -> Result<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(read::<1>(cx, ptr)?[0] != 0),
        Type::S8 => Val::S8(read::<1>(cx, ptr)?[0] as i8),
        Type::U8 => Val::U8(read::<1>(cx, ptr)?[0]),
        Type::S16 => Val::S16(i16::from_le_bytes(read(cx, ptr)?)),
        Type::U16 => Val::U16(u16::from_le_bytes(read(cx, ptr)?)),
        Type::S32 => Val::S32(i32::from_le_bytes(read(cx, ptr)?)),
        Type::U32 => Val::U32(u32::from_le_bytes(read(cx, ptr)?)),
        Type::S64 => Val::S64(i64::from_le_bytes(read(cx, ptr)?)),
        Type::U64 => Val::U64(u64::from_le_bytes(read(cx, ptr)?)),
        Type::Float32 => Val::Float32(canon_f32(u32::from_le_bytes(read(cx, ptr)?))),
        Type::Float64 => Val::Float64(canon_f64(u64::from_le_bytes(read(cx, ptr)?))),
        Type::Char => Val::Char(to_char(u32::from_le_bytes(read(cx, ptr)?))?),
        Type::String => {
            let begin = u32::from_le_bytes(read(cx, ptr)?);
            let len = u32::from_le_bytes(read(cx, ptr + 4)?);
            Val::String(load_string(cx, begin, len)?)
        }
        Type::List(l) => {
            let begin = u32::from_le_bytes(read(cx, ptr)?);
            let len = u32::from_le_bytes(read(cx, ptr + 4)?);
            Val::List(load_list(cx, l.ty(), begin, len)?)
        }
        Type::Record(r) => {
            let mut fields = Vec::with_capacity(r.fields().len());
            let mut at = ptr;
            for (name, t) in r.fields() {
                at = at.next_multiple_of(t.align());
                fields.push((name.to_string(), load(cx, t, at)?));
                at += t.size();
            }
            Val::Record(fields)
        }
        Type::Tuple(t) => {
            let mut items = Vec::with_capacity(t.types().len());
            let mut at = ptr;
            for t in t.types() {
                at = at.next_multiple_of(t.align());
                items.push(load(cx, t, at)?);
                at += t.size();
            }
            Val::Tuple(items)
        }
        Type::Flags(f) => {
            let bits = match f.size() {
                1 => read::<1>(cx, ptr)?[0] as u32,
                2 => u16::from_le_bytes(read(cx, ptr)?) as u32,
                _ => u32::from_le_bytes(read(cx, ptr)?),
            };
            unpack_flags(bits, f.names())
        }
        Type::Own(r) => {
            let idx = u32::from_le_bytes(read(cx, ptr)?);
            Val::Resource(cx.lift_own(*r, idx)?)
        }
        Type::Borrow(r) => {
            let idx = u32::from_le_bytes(read(cx, ptr)?);
            Val::Resource(cx.lift_borrow(*r, idx)?)
        }
        Type::Stream(_) | Type::Future(_) | Type::ErrorContext => {
            let idx = u32::from_le_bytes(read(cx, ptr)?);
            cx.lift_handle(ty, idx)?
        }
        Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result(_) => {
            let v = ty.variant_inner().expect("variant-like type");
            let case = match v.disc_size {
                1 => read::<1>(cx, ptr)?[0] as usize,
                2 => u16::from_le_bytes(read(cx, ptr)?) as usize,
                _ => u32::from_le_bytes(read(cx, ptr)?) as usize,
            };
            if case >= v.cases.len() {
                return Err(trap(TrapCode::InvalidDiscriminant));
            }
            let payload = match &v.cases[case] {
                Some(t) => Some(Box::new(load(cx, t, ptr + v.payload_offset)?)),
                None => None,
            };
            variant_val(ty, v, case, payload)
        }
    })
}

/// `lift_flat_values`: the values of `types` from a function's flat core values; through
/// memory when they flatten to more than `max_flat` values.
pub(crate) fn lift_values(
    cx: &mut dyn AbiCx,
    types: &[Type],
    tuple: &crate::component::types::Tuple,
    flat_count: usize,
    max_flat: usize,
    flat: &[u64],
) -> Result<Vec<Val>> {
    if flat_count > max_flat {
        let ptr = flat.first().copied().unwrap_or(0) as u32;
        let tuple = Type::Tuple(tuple.clone());
        if !aligned(ptr as u64, tuple.align()) {
            return Err(trap(TrapCode::UnalignedPointer));
        }
        check_range(
            cx,
            ptr as u64,
            tuple.size() as u64,
            TrapCode::MemoryOutOfBounds,
        )?;
        match load(cx, &tuple, ptr)? {
            Val::Tuple(items) => Ok(items),
            _ => unreachable!("a tuple loads as a tuple"),
        }
    } else {
        let mut src = FlatSrc::new(flat);
        types.iter().map(|t| lift_flat(cx, t, &mut src)).collect()
    }
}
