//! Translation of SIMD instructions and of `v128` values through the generic ones (locals,
//! globals, `select`, block and call results). A `v128` is two operand-stack entries (its low
//! half, then [`Operand::Hi`]) and two consecutive slots wherever it lives, so every count the
//! translator keeps (block arity, call arguments, branch moves) is a count of slots.

use super::{Operand, Translator};
use crate::ir::{Op, Reg, SimdInstr, SimdMem, SimdOp, SimdShape};
use crate::types::ValType;
use wasmparser::{BlockType, Operator};

impl Translator<'_> {
    /// The slot of local `index`, and whether it is a `v128` (two slots).
    pub(super) fn local_slot(&self, index: u32) -> (Reg, bool) {
        if self.local_runs.is_empty() {
            return (index, false);
        }
        let i = self.local_runs.partition_point(|r| r.0 <= index) - 1;
        let (first, slot, v128) = self.local_runs[i];
        (slot + (index - first) * (1 + v128 as u32), v128)
    }

    /// Pushes materialized values of these types.
    pub(super) fn push_types(&mut self, tys: &[ValType]) {
        for t in tys {
            self.push(Operand::Slot);
            if *t == ValType::V128 {
                self.push(Operand::Hi);
            }
        }
    }

    /// Pushes the (materialized) results of function type `type_index`.
    pub(super) fn push_type_results(&mut self, type_index: u32) {
        let module = self.module;
        if let Some(f) = &module.types[type_index as usize] {
            self.push_types(f.results());
        }
    }

    /// Pushes a block's results (or, for `else`, its parameters), materialized.
    pub(super) fn push_block_values(&mut self, ty: BlockType, results: bool) {
        match ty {
            BlockType::Empty => {}
            BlockType::Type(t) => {
                if results {
                    self.push(Operand::Slot);
                    if t == wasmparser::ValType::V128 {
                        self.push(Operand::Hi);
                    }
                }
            }
            BlockType::FuncType(idx) => {
                let module = self.module;
                if let Some(f) = &module.types[idx as usize] {
                    self.push_types(if results { f.results() } else { f.params() });
                }
            }
        }
    }

    /// Pops a `v128` operand as the first of its two slots (a local's, or its canonical ones).
    fn pop_v128(&mut self) -> Reg {
        let i = self.stack.len() - 2;
        debug_assert_eq!(self.stack[i + 1], Operand::Hi);
        let r = match self.stack[i] {
            Operand::Local(l) => l,
            _ => self.slot(i as u32),
        };
        self.stack.truncate(i);
        r
    }

    /// Pushes a `v128` result written by `op` to the next two slots.
    fn push_v128_result(&mut self, op: Op) {
        self.ops.push(op);
        self.push(Operand::Slot);
        self.push(Operand::Hi);
        self.last_result = Some(self.ops.len() - 1);
    }

    fn simd(op: SimdOp, lane: u8, d: Reg, a: Reg, b: Reg) -> Op {
        Op::Simd { op, lane, d, a, b }
    }

    /// `local.set` / `local.tee` of a `v128` local at slot `local`.
    pub(super) fn local_set_v128(&mut self, local: Reg, tee: bool) {
        let lo = self.stack.len() - 2;
        let hazard = self.stack[..lo].contains(&Operand::Local(local));
        let fusable = !hazard && self.stack[lo] == Operand::Slot && self.last_is_result();
        let retarget = fusable
            && matches!(self.ops.last(), Some(Op::Simd { .. }))
            && self.ops.last_mut().and_then(|op| op.dst_mut()).is_some();
        if retarget {
            if let Some(d) = self.ops.last_mut().and_then(|op| op.dst_mut()) {
                *d = local;
            }
            self.stack.truncate(lo);
            self.last_result = None;
        } else {
            if hazard {
                for i in 0..lo {
                    if self.stack[i] == Operand::Local(local) {
                        self.materialize(i);
                    }
                }
            }
            let s = self.pop_v128();
            if s != local {
                self.emit(Op::Copy { d: local, s });
                self.emit(Op::Copy {
                    d: local + 1,
                    s: s + 1,
                });
            }
        }
        if tee {
            self.push(Operand::Local(local));
            self.push(Operand::Hi);
        }
    }

    /// `select` of two `v128`s: materialized as `a, b, cond` from the first canonical slot.
    pub(super) fn simd_select(&mut self) {
        let at = self.pop_canonical(5);
        self.push_v128_result(Self::simd(SimdOp::V128Select, 0, at, at, 0));
    }

    pub(super) fn simd_global_get(&mut self, g: u32) {
        let d = self.next_slot();
        self.push_v128_result(Self::simd(SimdOp::V128GlobalGet, 0, d, g, 0));
    }

    pub(super) fn simd_global_set(&mut self, g: u32) {
        let a = self.pop_v128();
        self.emit(Self::simd(SimdOp::V128GlobalSet, 0, 0, a, g));
    }

    fn simd_mem(&mut self, memarg: wasmparser::MemArg) -> u32 {
        self.simd_mems.push(SimdMem {
            mem: memarg.memory,
            offset: memarg.offset,
        });
        self.simd_mems.len() as u32 - 1
    }

    /// Translates a SIMD instruction; false if `op` is none.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> bool {
        match *op {
            Operator::V128Const { value } => {
                let i = self.v128_consts.len() as u32;
                self.v128_consts.push(value.i128() as u128);
                let d = self.next_slot();
                self.push_v128_result(Self::simd(SimdOp::V128ConstOp, 0, d, i, 0));
                return true;
            }
            Operator::I8x16Shuffle { lanes } => {
                let i = self.v128_consts.len() as u32;
                self.v128_consts.push(u128::from_le_bytes(lanes));
                let at = self.pop_canonical(4);
                self.push_v128_result(Self::simd(SimdOp::V128Shuffle, 0, at, at, i));
                return true;
            }
            _ => {}
        }
        let Some(SimdInstr {
            op,
            shape,
            lane,
            memarg,
        }) = SimdInstr::decode(op)
        else {
            return false;
        };
        let simd = Self::simd;
        match shape {
            SimdShape::Un => {
                let a = self.pop_v128();
                let d = self.next_slot();
                self.push_v128_result(simd(op, lane, d, a, a));
            }
            SimdShape::Bin => {
                let b = self.pop_v128();
                let a = self.pop_v128();
                let d = self.next_slot();
                self.push_v128_result(simd(op, lane, d, a, b));
            }
            SimdShape::Tern => {
                let at = self.pop_canonical(6);
                self.push_v128_result(simd(op, lane, at, at, 0));
            }
            SimdShape::Test | SimdShape::Extract => {
                let a = self.pop_v128();
                let d = self.next_slot();
                self.push_result(simd(op, lane, d, a, 0));
            }
            SimdShape::Splat => {
                let a = self.pop_reg();
                let d = self.next_slot();
                self.push_v128_result(simd(op, lane, d, a, 0));
            }
            SimdShape::Shift | SimdShape::Replace => {
                let b = self.pop_reg();
                let a = self.pop_v128();
                let d = self.next_slot();
                self.push_v128_result(simd(op, lane, d, a, b));
            }
            SimdShape::Load => {
                let i = self.simd_mem(memarg.expect("a load has a memarg"));
                let a = self.pop_reg();
                let d = self.next_slot();
                self.push_v128_result(simd(op, lane, d, a, i));
            }
            SimdShape::LoadLane => {
                let i = self.simd_mem(memarg.expect("a load has a memarg"));
                let at = self.pop_canonical(3);
                self.push_v128_result(simd(op, lane, at, at, i));
            }
            SimdShape::Store | SimdShape::StoreLane => {
                let i = self.simd_mem(memarg.expect("a store has a memarg"));
                let b = self.pop_v128();
                let a = self.pop_reg();
                self.emit(simd(op, lane, i, a, b));
            }
        }
        true
    }
}
