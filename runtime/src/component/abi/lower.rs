//! Lowering: [`Val`]s into core values and linear memory (`lower_flat`, `store`), checking
//! each value against its type.

use super::string::store_string;
use super::{aligned, allocate, check_range, trap, write, AbiCx};
use crate::component::types::{Flags, Tuple, Type, VariantInner};
use crate::component::values::Val;
use crate::error::{Error, Result, TrapCode};

fn mismatch(ty: &Type, v: &Val) -> Error {
    Error::msg(format!(
        "type mismatch: expected {ty}, found a {}",
        v.desc()
    ))
}

/// The case index and payload of a variant-like value.
fn match_case<'v>(ty: &Type, v: &'v Val) -> Result<(usize, Option<&'v Val>)> {
    let inner = ty.variant_inner().expect("variant-like type");
    let (case, payload) = match (ty, v) {
        (Type::Variant(_), Val::Variant(name, p)) => {
            let i = inner
                .case_index(name)
                .ok_or_else(|| Error::msg(format!("type mismatch: no case `{name}` in {ty}")))?;
            (i, p.as_deref())
        }
        (Type::Enum(_), Val::Enum(name)) => {
            let i = inner
                .case_index(name)
                .ok_or_else(|| Error::msg(format!("type mismatch: no case `{name}` in {ty}")))?;
            (i, None)
        }
        (Type::Option(_), Val::Option(p)) => (usize::from(p.is_some()), p.as_deref()),
        (Type::Result(_), Val::Result(Ok(p))) => (0, p.as_deref()),
        (Type::Result(_), Val::Result(Err(p))) => (1, p.as_deref()),
        _ => return Err(mismatch(ty, v)),
    };
    if inner.cases[case].is_some() != payload.is_some() {
        return Err(Error::msg(format!(
            "type mismatch: case `{}` of {ty} {} a payload",
            inner.case_name(case),
            if payload.is_some() {
                "does not take"
            } else {
                "needs"
            }
        )));
    }
    Ok((case, payload))
}

fn pack_flags(ty: &Type, f: &Flags, v: &Val) -> Result<u32> {
    let Val::Flags(names) = v else {
        return Err(mismatch(ty, v));
    };
    let mut bits = 0u32;
    for n in names {
        let i = f
            .names()
            .position(|x| x == n)
            .ok_or_else(|| Error::msg(format!("type mismatch: no flag `{n}` in {ty}")))?;
        bits |= 1 << i;
    }
    Ok(bits)
}

fn fields<'v>(ty: &Type, v: &'v Val) -> Result<Vec<&'v Val>> {
    match (ty, v) {
        (Type::Record(r), Val::Record(fields)) => {
            if fields.len() != r.fields().len()
                || fields.iter().zip(r.fields()).any(|((a, _), (b, _))| a != b)
            {
                return Err(Error::msg(format!(
                    "type mismatch: record fields differ from {ty}"
                )));
            }
            Ok(fields.iter().map(|(_, v)| v).collect())
        }
        (Type::Tuple(t), Val::Tuple(items)) => {
            if items.len() != t.types().len() {
                return Err(Error::msg(format!(
                    "type mismatch: expected {ty}, found a tuple of {} values",
                    items.len()
                )));
            }
            Ok(items.iter().collect())
        }
        _ => Err(mismatch(ty, v)),
    }
}

fn product_types(ty: &Type) -> Vec<&Type> {
    match ty {
        Type::Record(r) => r.fields().map(|(_, t)| t).collect(),
        Type::Tuple(t) => t.types().iter().collect(),
        _ => Vec::new(),
    }
}

/// `lower_flat`: one value of type `ty` as flat core values appended to `out`.
pub(crate) fn lower_flat(cx: &mut dyn AbiCx, ty: &Type, v: &Val, out: &mut Vec<u64>) -> Result<()> {
    match (ty, v) {
        (Type::Bool, Val::Bool(b)) => out.push(*b as u64),
        (Type::S8, Val::S8(i)) => out.push(*i as i32 as u32 as u64),
        (Type::U8, Val::U8(i)) => out.push(*i as u64),
        (Type::S16, Val::S16(i)) => out.push(*i as i32 as u32 as u64),
        (Type::U16, Val::U16(i)) => out.push(*i as u64),
        (Type::S32, Val::S32(i)) => out.push(*i as u32 as u64),
        (Type::U32, Val::U32(i)) => out.push(*i as u64),
        (Type::S64, Val::S64(i)) => out.push(*i as u64),
        (Type::U64, Val::U64(i)) => out.push(*i),
        (Type::Float32, Val::Float32(f)) => out.push(f.to_bits() as u64),
        (Type::Float64, Val::Float64(f)) => out.push(f.to_bits()),
        (Type::Char, Val::Char(c)) => out.push(*c as u64),
        (Type::String, Val::String(s)) => {
            let (ptr, len) = store_string(cx, s)?;
            out.extend([ptr as u64, len as u64]);
        }
        (Type::List(l), Val::List(items)) => {
            let (ptr, len) = store_list(cx, l.ty(), items)?;
            out.extend([ptr as u64, len as u64]);
        }
        (Type::Record(_) | Type::Tuple(_), _) => {
            for (t, v) in product_types(ty).into_iter().zip(fields(ty, v)?) {
                lower_flat(cx, t, v, out)?;
            }
        }
        (Type::Flags(f), _) => out.push(pack_flags(ty, f, v)? as u64),
        (Type::Own(r), Val::Resource(res)) => out.push(cx.lower_own(*r, res)? as u64),
        (Type::Borrow(r), Val::Resource(res)) => out.push(cx.lower_borrow(*r, res)? as u64),
        (Type::Stream(_), Val::Stream(_))
        | (Type::Future(_), Val::Future(_))
        | (Type::ErrorContext, Val::ErrorContext(_)) => out.push(cx.lower_handle(ty, v)? as u64),
        (Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result(_), _) => {
            let inner: &VariantInner = ty.variant_inner().expect("variant-like type");
            let (case, payload) = match_case(ty, v)?;
            out.push(case as u64);
            let start = out.len();
            if let (Some(t), Some(p)) = (&inner.cases[case], payload) {
                lower_flat(cx, t, p, out)?;
            }
            // Pad to the joined payload width (the coercions are free on 64-bit slots).
            out.resize(start + inner.layout.flat.len() - 1, 0);
        }
        _ => return Err(mismatch(ty, v)),
    }
    Ok(())
}

/// `store_list_into_range`: allocates and stores the elements; the pointer and length.
fn store_list(cx: &mut dyn AbiCx, elem: &Type, items: &[Val]) -> Result<(u32, u32)> {
    let size = elem.size();
    let bytes = items.len() as u64 * size as u64;
    let bytes32 = u32::try_from(bytes).map_err(|_| Error::msg("list too long to lower"))?;
    let ptr = allocate(cx, elem.align(), bytes32)?;
    if !aligned(ptr as u64, elem.align()) {
        return Err(trap(TrapCode::UnalignedPointer));
    }
    check_range(cx, ptr as u64, bytes, TrapCode::ListOutOfBounds)?;
    if let Type::U8 = elem {
        let mut buf = Vec::with_capacity(items.len());
        for v in items {
            match v {
                Val::U8(b) => buf.push(*b),
                _ => return Err(mismatch(elem, v)),
            }
        }
        write(cx, ptr, &buf)?;
    } else {
        for (i, v) in items.iter().enumerate() {
            store(cx, elem, v, ptr + i as u32 * size)?;
        }
    }
    Ok((ptr, items.len() as u32))
}

/// `store`: one value of type `ty` at `ptr` (aligned and in bounds, checked by the caller).
pub(crate) fn store(cx: &mut dyn AbiCx, ty: &Type, v: &Val, ptr: u32) -> Result<()> {
    match (ty, v) {
        (Type::Bool, Val::Bool(b)) => write(cx, ptr, &[*b as u8]),
        (Type::S8, Val::S8(i)) => write(cx, ptr, &i.to_le_bytes()),
        (Type::U8, Val::U8(i)) => write(cx, ptr, &[*i]),
        (Type::S16, Val::S16(i)) => write(cx, ptr, &i.to_le_bytes()),
        (Type::U16, Val::U16(i)) => write(cx, ptr, &i.to_le_bytes()),
        (Type::S32, Val::S32(i)) => write(cx, ptr, &i.to_le_bytes()),
        (Type::U32, Val::U32(i)) => write(cx, ptr, &i.to_le_bytes()),
        (Type::S64, Val::S64(i)) => write(cx, ptr, &i.to_le_bytes()),
        (Type::U64, Val::U64(i)) => write(cx, ptr, &i.to_le_bytes()),
        (Type::Float32, Val::Float32(f)) => write(cx, ptr, &f.to_bits().to_le_bytes()),
        (Type::Float64, Val::Float64(f)) => write(cx, ptr, &f.to_bits().to_le_bytes()),
        (Type::Char, Val::Char(c)) => write(cx, ptr, &(*c as u32).to_le_bytes()),
        (Type::String, Val::String(s)) => {
            let (begin, len) = store_string(cx, s)?;
            write(cx, ptr, &begin.to_le_bytes())?;
            write(cx, ptr + 4, &len.to_le_bytes())
        }
        (Type::List(l), Val::List(items)) => {
            let (begin, len) = store_list(cx, l.ty(), items)?;
            write(cx, ptr, &begin.to_le_bytes())?;
            write(cx, ptr + 4, &len.to_le_bytes())
        }
        (Type::Record(_) | Type::Tuple(_), _) => {
            let mut at = ptr;
            for (t, v) in product_types(ty).into_iter().zip(fields(ty, v)?) {
                at = at.next_multiple_of(t.align());
                store(cx, t, v, at)?;
                at += t.size();
            }
            Ok(())
        }
        (Type::Flags(f), _) => {
            let bits = pack_flags(ty, f, v)?;
            match f.size() {
                1 => write(cx, ptr, &[bits as u8]),
                2 => write(cx, ptr, &(bits as u16).to_le_bytes()),
                _ => write(cx, ptr, &bits.to_le_bytes()),
            }
        }
        (Type::Own(r), Val::Resource(res)) => {
            let idx = cx.lower_own(*r, res)?;
            write(cx, ptr, &idx.to_le_bytes())
        }
        (Type::Borrow(r), Val::Resource(res)) => {
            let idx = cx.lower_borrow(*r, res)?;
            write(cx, ptr, &idx.to_le_bytes())
        }
        (Type::Stream(_), Val::Stream(_))
        | (Type::Future(_), Val::Future(_))
        | (Type::ErrorContext, Val::ErrorContext(_)) => {
            let idx = cx.lower_handle(ty, v)?;
            write(cx, ptr, &idx.to_le_bytes())
        }
        (Type::Variant(_) | Type::Enum(_) | Type::Option(_) | Type::Result(_), _) => {
            let inner = ty.variant_inner().expect("variant-like type");
            let (case, payload) = match_case(ty, v)?;
            match inner.disc_size {
                1 => write(cx, ptr, &[case as u8])?,
                2 => write(cx, ptr, &(case as u16).to_le_bytes())?,
                _ => write(cx, ptr, &(case as u32).to_le_bytes())?,
            }
            if let (Some(t), Some(p)) = (&inner.cases[case], payload) {
                store(cx, t, p, ptr + inner.payload_offset)?;
            }
            Ok(())
        }
        _ => Err(mismatch(ty, v)),
    }
}

/// `lower_flat_values`: the values of `types` as a function's flat core values; through
/// memory when they flatten to more than `max_flat` values, either at a fresh allocation
/// (whose pointer is the one flat value) or at the caller's `out_param`.
pub(crate) fn lower_values(
    cx: &mut dyn AbiCx,
    types: &[Type],
    tuple: &Tuple,
    flat_count: usize,
    max_flat: usize,
    vals: &[Val],
    out_param: Option<u32>,
) -> Result<Vec<u64>> {
    if vals.len() != types.len() {
        return Err(Error::msg(format!(
            "expected {} values, got {}",
            types.len(),
            vals.len()
        )));
    }
    if flat_count > max_flat {
        let tuple = Type::Tuple(tuple.clone());
        let (ptr, flat) = match out_param {
            Some(p) => (p, Vec::new()),
            None => {
                let p = allocate(cx, tuple.align(), tuple.size())?;
                (p, vec![p as u64])
            }
        };
        if !aligned(ptr as u64, tuple.align()) {
            return Err(trap(TrapCode::UnalignedPointer));
        }
        check_range(
            cx,
            ptr as u64,
            tuple.size() as u64,
            TrapCode::MemoryOutOfBounds,
        )?;
        let mut at = ptr;
        for (t, v) in types.iter().zip(vals) {
            at = at.next_multiple_of(t.align());
            store(cx, t, v, at)?;
            at += t.size();
        }
        Ok(flat)
    } else {
        let mut out = Vec::with_capacity(flat_count);
        for (t, v) in types.iter().zip(vals) {
            lower_flat(cx, t, v, &mut out)?;
        }
        Ok(out)
    }
}
