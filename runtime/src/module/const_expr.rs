//! Constant expressions (global initialisers, segment offsets, element items), decoded once
//! into a small op list and evaluated at instantiation.

use crate::error::{Error, Result, TrapCode};
use crate::store::StoreInner;
use crate::typereg::TypeInfo;
use std::sync::Arc;
use wasmparser::Operator;

/// One operation of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ConstOp {
    Const32(u32),
    Const64(u64),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    // GC (extended constant expressions of Wasm 3.0); type operands are module type indices.
    StructNew(u32),
    StructNewDefault(u32),
    ArrayNew(u32),
    ArrayNewDefault(u32),
    ArrayNewFixed(u32, u32),
    RefI31,
    AnyConvertExtern,
    ExternConvertAny,
    /// `v128.const` (only ever alone: no constant instruction combines v128 values).
    V128(u128),
}

/// A decoded constant expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConstExpr(Box<[ConstOp]>);

impl ConstExpr {
    pub(crate) fn from_op(op: ConstOp) -> Self {
        ConstExpr(Box::new([op]))
    }

    pub(crate) fn decode(expr: &wasmparser::ConstExpr<'_>) -> Result<Self> {
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        loop {
            let (op, offset) = reader.read_with_offset()?;
            ops.push(match op {
                Operator::End => break,
                Operator::I32Const { value } => ConstOp::Const32(value as u32),
                Operator::I64Const { value } => ConstOp::Const64(value as u64),
                Operator::F32Const { value } => ConstOp::Const32(value.bits()),
                Operator::F64Const { value } => ConstOp::Const64(value.bits()),
                Operator::V128Const { value } => ConstOp::V128(value.i128() as u128),
                Operator::RefNull { .. } => ConstOp::RefNull,
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                Operator::RefI31 => ConstOp::RefI31,
                Operator::AnyConvertExtern => ConstOp::AnyConvertExtern,
                Operator::ExternConvertAny => ConstOp::ExternConvertAny,
                other => {
                    return Err(Error::compile(
                        Some(offset),
                        format!("unsupported constant instruction {other:?}"),
                    ))
                }
            });
        }
        Ok(ConstExpr(ops.into()))
    }

    /// The value of a lone `v128.const`.
    pub(crate) fn v128_const(&self) -> Option<u128> {
        match *self.0 {
            [ConstOp::V128(v)] => Some(v),
            _ => None,
        }
    }

    /// The global a lone `global.get` reads.
    pub(crate) fn global_index(&self) -> Option<u32> {
        match *self.0 {
            [ConstOp::GlobalGet(g)] => Some(g),
            _ => None,
        }
    }

    /// Evaluates to a raw slot (the low half of a `v128`, see [`ConstExpr::v128_const`]) in an
    /// instance whose globals and functions have these store indices (`types`: the module's
    /// canonical types, for GC allocations).
    pub(crate) fn eval(
        &self,
        store: &mut StoreInner,
        globals: &[u32],
        funcs: &[u32],
        types: &[Arc<TypeInfo>],
    ) -> Result<u64, TrapCode> {
        let mut stack: Vec<u64> = Vec::with_capacity(2);
        for op in self.0.iter() {
            let v = match *op {
                ConstOp::Const32(v) => v as u64,
                ConstOp::Const64(v) => v,
                ConstOp::V128(v) => v as u64,
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(f) => funcs[f as usize] as u64 + 1,
                ConstOp::GlobalGet(g) => store.globals[globals[g as usize] as usize].value,
                ConstOp::StructNew(t) => {
                    let ty = &types[t as usize];
                    let n = ty.fields.len();
                    let fields = stack.split_off(stack.len() - n);
                    let fields = fields
                        .iter()
                        .zip(ty.fields.iter())
                        .map(|(v, s)| s.pack(*v))
                        .collect();
                    store.gc.alloc(ty.clone(), fields)?
                }
                ConstOp::StructNewDefault(t) => {
                    let ty = &types[t as usize];
                    store
                        .gc
                        .alloc(ty.clone(), vec![0; ty.fields.len()].into())?
                }
                ConstOp::ArrayNew(t) => {
                    let n = stack.pop().unwrap_or(0);
                    let v = stack.pop().unwrap_or(0);
                    let ty = &types[t as usize];
                    let n = store.gc.check_len(n)?;
                    store
                        .gc
                        .alloc(ty.clone(), vec![ty.fields[0].pack(v); n].into())?
                }
                ConstOp::ArrayNewDefault(t) => {
                    let n = stack.pop().unwrap_or(0);
                    let n = store.gc.check_len(n)?;
                    store
                        .gc
                        .alloc(types[t as usize].clone(), vec![0; n].into())?
                }
                ConstOp::ArrayNewFixed(t, n) => {
                    let ty = &types[t as usize];
                    let elems = stack.split_off(stack.len() - n as usize);
                    let elems = elems.iter().map(|v| ty.fields[0].pack(*v)).collect();
                    store.gc.alloc(ty.clone(), elems)?
                }
                ConstOp::RefI31 => {
                    let v = stack.pop().unwrap_or(0);
                    crate::values::I31_TAG | (v & 0x7fff_ffff)
                }
                ConstOp::AnyConvertExtern => {
                    let v = stack.pop().unwrap_or(0);
                    store.internalize(v)
                }
                ConstOp::ExternConvertAny => {
                    let v = stack.pop().unwrap_or(0);
                    store.externalize(v)
                }
                bin => {
                    let b = stack.pop().unwrap_or(0);
                    let a = stack.pop().unwrap_or(0);
                    match bin {
                        ConstOp::I32Add => (a as u32).wrapping_add(b as u32) as u64,
                        ConstOp::I32Sub => (a as u32).wrapping_sub(b as u32) as u64,
                        ConstOp::I32Mul => (a as u32).wrapping_mul(b as u32) as u64,
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    }
                }
            };
            stack.push(v);
        }
        Ok(stack.pop().unwrap_or(0))
    }
}
