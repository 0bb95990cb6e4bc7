//! Constant expressions (global initialisers, segment offsets, element items), decoded once
//! into a small op list and evaluated at instantiation.

use crate::error::{Error, Result};
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
                Operator::RefNull { .. } => ConstOp::RefNull,
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
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

    /// Evaluates to a raw slot. `global` reads a global's raw value, `func` turns a function
    /// index into a funcref handle.
    pub(crate) fn eval(
        &self,
        global: &dyn Fn(u32) -> u64,
        func: &mut dyn FnMut(u32) -> u64,
    ) -> u64 {
        let mut stack: Vec<u64> = Vec::with_capacity(2);
        for op in self.0.iter() {
            let v = match *op {
                ConstOp::Const32(v) => v as u64,
                ConstOp::Const64(v) => v,
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(f) => func(f),
                ConstOp::GlobalGet(g) => global(g),
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
        stack.pop().unwrap_or(0)
    }
}
