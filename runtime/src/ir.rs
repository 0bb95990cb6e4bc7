//! The interpreter's own instruction set: a register machine over frame slots.
//!
//! Every value is a 64-bit slot (an `i32` stored zero-extended, floats as their bits, references
//! as handle + 1 with 0 = null). A frame is `slots[base..base + max_height]`: the locals first,
//! then one slot per operand-stack position, whose index the translator knows statically. An
//! instruction therefore names its operands and its destination as frame slots ([`Reg`]):
//! `local.get` costs nothing (the consumer reads the local's slot), a result can be written
//! straight into the local a following `local.set` names, and a compare feeding `br_if` or `if`
//! becomes one fused compare-and-branch. Branch targets are instruction indices resolved at
//! translation time; a branch that must move values does so with a [`BranchTarget`].

/// A frame-relative slot index.
pub(crate) type Reg = u32;

/// A resolved branch that moves `keep` values from `src..` to `dst..` before jumping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BranchTarget {
    pub pc: u32,
    pub src: Reg,
    pub dst: Reg,
    pub keep: u32,
}

/// `d = op(a)`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Un {
    pub d: Reg,
    pub a: Reg,
}
/// `d = op(a, b)`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bin {
    pub d: Reg,
    pub a: Reg,
    pub b: Reg,
}
/// `d = op(a, imm)` (the immediate is sign-extended for 64-bit operations)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BinImm {
    pub d: Reg,
    pub a: Reg,
    pub imm: i32,
}
/// `d = load(mem0[addr + offset])`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Load {
    pub d: Reg,
    pub addr: Reg,
    pub offset: u32,
}
/// `mem0[addr + offset] = v`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Store {
    pub addr: Reg,
    pub v: Reg,
    pub offset: u32,
}
/// Branch to `pc` if `cmp(a, b)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CmpBr {
    pub a: Reg,
    pub b: Reg,
    pub pc: u32,
}
/// Branch to `pc` if `cmp(a, imm)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CmpBrImm {
    pub a: Reg,
    pub imm: i32,
    pub pc: u32,
}

/// Operands of `call_indirect`, kept in a side table to hold `Op` at 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallIndirect {
    pub type_id: u32,
    pub table: u32,
    pub index: Reg,
    /// Where the arguments start; the callee's frame begins here.
    pub base: Reg,
    /// The callee's parameter count (moved to the frame's start by `return_call_indirect`).
    pub params: u32,
}

/// Which access a [`MemAccess`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemKind {
    I32Load,
    I64Load,
    I32Load8S,
    I32Load8U,
    I32Load16S,
    I32Load16U,
    I64Load8S,
    I64Load8U,
    I64Load16S,
    I64Load16U,
    I64Load32S,
    I64Load32U,
    I32Store,
    I64Store,
    I32Store8,
    I32Store16,
    I64Store32,
}

impl MemKind {
    /// Bytes accessed.
    pub(crate) fn size(self) -> usize {
        use MemKind::*;
        match self {
            I32Load8S | I32Load8U | I64Load8S | I64Load8U | I32Store8 => 1,
            I32Load16S | I32Load16U | I64Load16S | I64Load16U | I32Store16 => 2,
            I32Load | I64Load32S | I64Load32U | I32Store | I64Store32 => 4,
            I64Load | I64Store => 8,
        }
    }
}

/// A load or store off the fast path (`Op::LoadMem` / `Op::StoreMem`): a memory other than
/// memory 0, or a 64-bit memory (i64 address, 64-bit offset). Kept in a side table; the fast
/// ops for 32-bit memory 0 are unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemAccess {
    pub kind: MemKind,
    /// Memory index in the instance.
    pub mem: u32,
    pub addr: Reg,
    /// The destination of a load, the value of a store.
    pub reg: Reg,
    pub offset: u64,
}

macro_rules! define_ops {
    (
        un: [$($un:ident),* $(,)?],
        bin: [$($bin:ident),* $(,)?],
        bin_imm: [$($bin_imm:ident),* $(,)?],
        load: [$($load:ident),* $(,)?],
        store: [$($store:ident),* $(,)?],
        cmp_br: [$($cmp_br:ident),* $(,)?],
        cmp_br_imm: [$($cmp_br_imm:ident),* $(,)?],
    ) => {
        /// One instruction (16 bytes).
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub(crate) enum Op {
            Unreachable,
            /// Jump.
            Br(u32),
            /// Jump with a value move: index into `br_tables`.
            BrCopy(u32),
            BrIfNez { c: Reg, pc: u32 },
            BrIfEqz { c: Reg, pc: u32 },
            /// Conditional jump with a value move: index into `br_tables`.
            BrIfNezCopy { c: Reg, t: u32 },
            BrIfEqzCopy { c: Reg, t: u32 },
            /// Jump through `br_tables[start + min(index, len - 1)]`.
            BrTable { index: Reg, start: u32, len: u32 },
            Return0,
            Return1 { src: Reg },
            ReturnN { src: Reg, n: u32 },
            /// Calls function `func` of the current instance; its frame starts at `base`.
            Call { func: u32, base: Reg },
            /// Index into `call_indirects`.
            CallIndirect(u32),
            /// Tail call of function `func` of the current instance: its `params` arguments at
            /// `base` replace the current frame. A host callee is called normally instead, and
            /// the next op (always a return of the callee's results from `base`) returns them.
            ReturnCall { func: u32, base: Reg, params: u32 },
            /// Tail call through `call_indirects[i]` (a host callee as for `ReturnCall`).
            ReturnCallIndirect(u32),
            /// Calls the function reference in `f` (traps on null); its frame starts at `base`.
            CallRef { f: Reg, base: Reg },
            /// Tail call of the function reference in `f` (as `ReturnCall`).
            ReturnCallRef { f: Reg, base: Reg, params: u32 },
            /// `d = a`, trapping if `a` is null.
            RefAsNonNull(Un),
            /// A load through `mem_accesses[i]` (another memory or a 64-bit one).
            LoadMem(u32),
            /// A store through `mem_accesses[i]`.
            StoreMem(u32),
            /// Fuel / epoch check (loop heads and function entries; only when configured).
            Interrupt,
            Copy { d: Reg, s: Reg },
            Const32 { d: Reg, v: u32 },
            Const64 { d: Reg, v: u64 },
            /// `d = c(d+2) != 0 ? d : d+1`
            Select { d: Reg },
            GlobalGet { d: Reg, g: u32 },
            GlobalSet { s: Reg, g: u32 },
            // Reference and bulk operations read their operands from consecutive slots
            // starting at `at` and write their result (if any) to `at`.
            TableGet { at: Reg, t: u32 },
            TableSet { at: Reg, t: u32 },
            TableSize { d: Reg, t: u32 },
            TableGrow { at: Reg, t: u32 },
            TableFill { at: Reg, t: u32 },
            TableCopy { at: Reg, dst: u32, src: u32 },
            TableInit { at: Reg, table: u32, elem: u32 },
            ElemDrop(u32),
            RefIsNull(Un),
            RefFunc { d: Reg, f: u32 },
            MemorySize { d: Reg, m: u32 },
            MemoryGrow { at: Reg, m: u32 },
            MemoryFill { at: Reg, m: u32 },
            MemoryCopy { at: Reg, dst: u32, src: u32 },
            MemoryInit { at: Reg, mem: u32, data: u32 },
            DataDrop(u32),
            /// Throws a new exception of tag `tag` (instance index) whose payload is in the
            /// slots from `at`; the driver finds the handler (`CompiledFunc::handlers`).
            Throw { tag: u32, at: Reg },
            /// Rethrows the exception referenced by `r` (traps on null).
            ThrowRef { r: Reg },
            /// A GC instruction: `gc_ops[i]`, executed out of line (`exec::gc`).
            Gc(u32),
            /// A SIMD instruction (`exec::simd`): v128 operands occupy two consecutive slots
            /// (low half first); what `d`, `a`, `b` and `lane` mean depends on `op` (see
            /// [`SimdOp`]). One rarely-dispatched variant keeps the scalar ops untouched.
            Simd { op: SimdOp, lane: u8, d: Reg, a: Reg, b: Reg },
            $($un(Un),)*
            $($bin(Bin),)*
            $($bin_imm(BinImm),)*
            $($load(Load),)*
            $($store(Store),)*
            $($cmp_br(CmpBr),)*
            $($cmp_br_imm(CmpBrImm),)*
        }

        impl Op {
            /// The destination slot of an instruction that writes exactly one value to a slot
            /// it alone decides, so the translator may retarget it.
            pub(crate) fn dst_mut(&mut self) -> Option<&mut Reg> {
                match self {
                    Op::Const32 { d, .. } | Op::Const64 { d, .. } | Op::GlobalGet { d, .. }
                    | Op::RefFunc { d, .. } | Op::MemorySize { d, .. }
                    | Op::TableSize { d, .. } | Op::RefIsNull(Un { d, .. }) => Some(d),
                    // Only ops pushed as results are ever retargeted, and those read their
                    // inputs from `a`/`b` before writing `d` (stores are emitted, not pushed).
                    Op::Simd { d, .. } => Some(d),
                    $(Op::$un(Un { d, .. }) => Some(d),)*
                    $(Op::$bin(Bin { d, .. }) => Some(d),)*
                    $(Op::$bin_imm(BinImm { d, .. }) => Some(d),)*
                    $(Op::$load(Load { d, .. }) => Some(d),)*
                    _ => None,
                }
            }
        }
    };
}

define_ops! {
    un: [
        I32Eqz, I32Clz, I32Ctz, I32Popcnt, I64Eqz, I64Clz, I64Ctz, I64Popcnt,
        F32Abs, F32Neg, F32Ceil, F32Floor, F32Trunc, F32Nearest, F32Sqrt,
        F64Abs, F64Neg, F64Ceil, F64Floor, F64Trunc, F64Nearest, F64Sqrt,
        I32WrapI64, I32TruncF32S, I32TruncF32U, I32TruncF64S, I32TruncF64U,
        I64ExtendI32S, I64TruncF32S, I64TruncF32U, I64TruncF64S, I64TruncF64U,
        F32ConvertI32S, F32ConvertI32U, F32ConvertI64S, F32ConvertI64U, F32DemoteF64,
        F64ConvertI32S, F64ConvertI32U, F64ConvertI64S, F64ConvertI64U, F64PromoteF32,
        I32Extend8S, I32Extend16S, I64Extend8S, I64Extend16S, I64Extend32S,
        I32TruncSatF32S, I32TruncSatF32U, I32TruncSatF64S, I32TruncSatF64U,
        I64TruncSatF32S, I64TruncSatF32U, I64TruncSatF64S, I64TruncSatF64U,
    ],
    bin: [
        I32Eq, I32Ne, I32LtS, I32LtU, I32GtS, I32GtU, I32LeS, I32LeU, I32GeS, I32GeU,
        I32Add, I32Sub, I32Mul, I32DivS, I32DivU, I32RemS, I32RemU,
        I32And, I32Or, I32Xor, I32Shl, I32ShrS, I32ShrU, I32Rotl, I32Rotr,
        I64Eq, I64Ne, I64LtS, I64LtU, I64GtS, I64GtU, I64LeS, I64LeU, I64GeS, I64GeU,
        I64Add, I64Sub, I64Mul, I64DivS, I64DivU, I64RemS, I64RemU,
        I64And, I64Or, I64Xor, I64Shl, I64ShrS, I64ShrU, I64Rotl, I64Rotr,
        F32Eq, F32Ne, F32Lt, F32Gt, F32Le, F32Ge,
        F32Add, F32Sub, F32Mul, F32Div, F32Min, F32Max, F32Copysign,
        F64Eq, F64Ne, F64Lt, F64Gt, F64Le, F64Ge,
        F64Add, F64Sub, F64Mul, F64Div, F64Min, F64Max, F64Copysign,
    ],
    bin_imm: [
        I32EqImm, I32NeImm, I32LtSImm, I32LtUImm, I32GtSImm, I32GtUImm, I32LeSImm, I32LeUImm,
        I32GeSImm, I32GeUImm, I32AddImm, I32MulImm, I32AndImm, I32OrImm, I32XorImm,
        I32ShlImm, I32ShrSImm, I32ShrUImm, I32RotlImm, I32RotrImm,
        I64EqImm, I64NeImm, I64LtSImm, I64LtUImm, I64GtSImm, I64GtUImm, I64LeSImm, I64LeUImm,
        I64GeSImm, I64GeUImm, I64AddImm, I64MulImm, I64AndImm, I64OrImm, I64XorImm,
        I64ShlImm, I64ShrSImm, I64ShrUImm, I64RotlImm, I64RotrImm,
    ],
    load: [
        I32Load, I64Load, I32Load8S, I32Load8U, I32Load16S, I32Load16U,
        I64Load8S, I64Load8U, I64Load16S, I64Load16U, I64Load32S, I64Load32U,
    ],
    store: [I32Store, I64Store, I32Store8, I32Store16, I64Store32],
    cmp_br: [
        BrI32Eq, BrI32Ne, BrI32LtS, BrI32LtU, BrI32GtS, BrI32GtU, BrI32LeS, BrI32LeU,
        BrI32GeS, BrI32GeU,
    ],
    cmp_br_imm: [
        BrI32EqImm, BrI32NeImm, BrI32LtSImm, BrI32LtUImm, BrI32GtSImm, BrI32GtUImm,
        BrI32LeSImm, BrI32LeUImm, BrI32GeSImm, BrI32GeUImm,
    ],
}

// ---------------------------------------------------------------------------------------------
// SIMD (fixed-width and relaxed): `Op::Simd`'s sub-opcodes and side tables.
// ---------------------------------------------------------------------------------------------

/// How a SIMD instruction uses its operands; the translator emits each shape one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SimdShape {
    /// `d = op(a)`, v128 -> v128.
    Un,
    /// `d = op(a, b)`, v128 x v128 -> v128.
    Bin,
    /// `d = op(a, a + 2, a + 4)`: three v128 in consecutive slots (`d == a` when emitted).
    Tern,
    /// `d = op(a)`, v128 -> scalar (`any_true`, `all_true`, `bitmask`).
    Test,
    /// `d = op(a)`, scalar -> v128.
    Splat,
    /// `d = op(a, b)`, v128 x i32 -> v128.
    Shift,
    /// `d = a[lane]`, v128 -> scalar.
    Extract,
    /// `d = a` with `a[lane] = b`, v128 x scalar -> v128.
    Replace,
    /// `d = load(mem[a + offset])`; `b` indexes `simd_mems`.
    Load,
    /// `d = a + 1` (a v128) with lane `lane` loaded from `mem[a + offset]` (address in slot
    /// `a`); `b` indexes `simd_mems`.
    LoadLane,
    /// `mem[a + offset] = b` (a v128); `d` indexes `simd_mems`.
    Store,
    /// `mem[a + offset] = b[lane]`; `d` indexes `simd_mems`.
    StoreLane,
}

/// The memory and offset of a SIMD load or store (all go through the checked 64-bit path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SimdMem {
    pub mem: u32,
    pub offset: u64,
}

macro_rules! define_simd_ops {
    ($($shape:ident: [$($name:ident),* $(,)?],)* ; internal: [$($internal:ident),* $(,)?] $(,)?) => {
        /// A SIMD sub-opcode of [`Op::Simd`]: the wasmparser operator of the same name, plus
        /// the internal ones (`V128Const`: `d = v128_consts[a]`; `V128Shuffle`: `d = a` and
        /// `a + 2` shuffled by the lanes in `v128_consts[b]`; `V128Select`: `d = a + 4 != 0 ?
        /// a : a + 2`; `V128GlobalGet`: `d = global a`; `V128GlobalSet`: `global b = a`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u16)]
        pub(crate) enum SimdOp {
            $($($name,)*)*
            $($internal,)*
        }

        /// A decoded SIMD operator: its sub-opcode, shape, lane and memory argument.
        pub(crate) struct SimdInstr {
            pub op: SimdOp,
            pub shape: SimdShape,
            pub lane: u8,
            pub memarg: Option<wasmparser::MemArg>,
        }

        impl SimdInstr {
            /// The SIMD operators of a fixed shape (not `v128.const` or `i8x16.shuffle`).
            pub(crate) fn decode(op: &wasmparser::Operator<'_>) -> Option<SimdInstr> {
                use wasmparser::Operator as O;
                let (op, shape, lane, memarg) = match *op {
                    $($(O::$name { .. } => {
                        let (lane, memarg) = simd_imm(op);
                        (SimdOp::$name, SimdShape::$shape, lane, memarg)
                    })*)*
                    _ => return None,
                };
                Some(SimdInstr { op, shape, lane, memarg })
            }
        }
    };
}

/// The lane and memory argument of a SIMD operator (0 and `None` when it has none).
fn simd_imm(op: &wasmparser::Operator<'_>) -> (u8, Option<wasmparser::MemArg>) {
    use wasmparser::Operator as O;
    match *op {
        O::V128Load { memarg }
        | O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load8Splat { memarg }
        | O::V128Load16Splat { memarg }
        | O::V128Load32Splat { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load32Zero { memarg }
        | O::V128Load64Zero { memarg }
        | O::V128Store { memarg } => (0, Some(memarg)),
        O::V128Load8Lane { memarg, lane }
        | O::V128Load16Lane { memarg, lane }
        | O::V128Load32Lane { memarg, lane }
        | O::V128Load64Lane { memarg, lane }
        | O::V128Store8Lane { memarg, lane }
        | O::V128Store16Lane { memarg, lane }
        | O::V128Store32Lane { memarg, lane }
        | O::V128Store64Lane { memarg, lane } => (lane, Some(memarg)),
        O::I8x16ExtractLaneS { lane }
        | O::I8x16ExtractLaneU { lane }
        | O::I8x16ReplaceLane { lane }
        | O::I16x8ExtractLaneS { lane }
        | O::I16x8ExtractLaneU { lane }
        | O::I16x8ReplaceLane { lane }
        | O::I32x4ExtractLane { lane }
        | O::I32x4ReplaceLane { lane }
        | O::I64x2ExtractLane { lane }
        | O::I64x2ReplaceLane { lane }
        | O::F32x4ExtractLane { lane }
        | O::F32x4ReplaceLane { lane }
        | O::F64x2ExtractLane { lane }
        | O::F64x2ReplaceLane { lane } => (lane, None),
        _ => (0, None),
    }
}

define_simd_ops! {
    Un: [
        V128Not, I8x16Abs, I8x16Neg, I8x16Popcnt,
        I16x8ExtAddPairwiseI8x16S, I16x8ExtAddPairwiseI8x16U, I16x8Abs, I16x8Neg,
        I16x8ExtendLowI8x16S, I16x8ExtendHighI8x16S, I16x8ExtendLowI8x16U, I16x8ExtendHighI8x16U,
        I32x4ExtAddPairwiseI16x8S, I32x4ExtAddPairwiseI16x8U, I32x4Abs, I32x4Neg,
        I32x4ExtendLowI16x8S, I32x4ExtendHighI16x8S, I32x4ExtendLowI16x8U, I32x4ExtendHighI16x8U,
        I64x2Abs, I64x2Neg,
        I64x2ExtendLowI32x4S, I64x2ExtendHighI32x4S, I64x2ExtendLowI32x4U, I64x2ExtendHighI32x4U,
        F32x4Ceil, F32x4Floor, F32x4Trunc, F32x4Nearest, F32x4Abs, F32x4Neg, F32x4Sqrt,
        F64x2Ceil, F64x2Floor, F64x2Trunc, F64x2Nearest, F64x2Abs, F64x2Neg, F64x2Sqrt,
        I32x4TruncSatF32x4S, I32x4TruncSatF32x4U, F32x4ConvertI32x4S, F32x4ConvertI32x4U,
        I32x4TruncSatF64x2SZero, I32x4TruncSatF64x2UZero, F64x2ConvertLowI32x4S,
        F64x2ConvertLowI32x4U, F32x4DemoteF64x2Zero, F64x2PromoteLowF32x4,
        I32x4RelaxedTruncF32x4S, I32x4RelaxedTruncF32x4U, I32x4RelaxedTruncF64x2SZero,
        I32x4RelaxedTruncF64x2UZero,
    ],
    Bin: [
        I8x16Swizzle,
        I8x16Eq, I8x16Ne, I8x16LtS, I8x16LtU, I8x16GtS, I8x16GtU, I8x16LeS, I8x16LeU,
        I8x16GeS, I8x16GeU,
        I16x8Eq, I16x8Ne, I16x8LtS, I16x8LtU, I16x8GtS, I16x8GtU, I16x8LeS, I16x8LeU,
        I16x8GeS, I16x8GeU,
        I32x4Eq, I32x4Ne, I32x4LtS, I32x4LtU, I32x4GtS, I32x4GtU, I32x4LeS, I32x4LeU,
        I32x4GeS, I32x4GeU,
        I64x2Eq, I64x2Ne, I64x2LtS, I64x2GtS, I64x2LeS, I64x2GeS,
        F32x4Eq, F32x4Ne, F32x4Lt, F32x4Gt, F32x4Le, F32x4Ge,
        F64x2Eq, F64x2Ne, F64x2Lt, F64x2Gt, F64x2Le, F64x2Ge,
        V128And, V128AndNot, V128Or, V128Xor,
        I8x16NarrowI16x8S, I8x16NarrowI16x8U, I8x16Add, I8x16AddSatS, I8x16AddSatU, I8x16Sub,
        I8x16SubSatS, I8x16SubSatU, I8x16MinS, I8x16MinU, I8x16MaxS, I8x16MaxU, I8x16AvgrU,
        I16x8Q15MulrSatS, I16x8NarrowI32x4S, I16x8NarrowI32x4U, I16x8Add, I16x8AddSatS,
        I16x8AddSatU, I16x8Sub, I16x8SubSatS, I16x8SubSatU, I16x8Mul, I16x8MinS, I16x8MinU,
        I16x8MaxS, I16x8MaxU, I16x8AvgrU, I16x8ExtMulLowI8x16S, I16x8ExtMulHighI8x16S,
        I16x8ExtMulLowI8x16U, I16x8ExtMulHighI8x16U,
        I32x4Add, I32x4Sub, I32x4Mul, I32x4MinS, I32x4MinU, I32x4MaxS, I32x4MaxU,
        I32x4DotI16x8S, I32x4ExtMulLowI16x8S, I32x4ExtMulHighI16x8S, I32x4ExtMulLowI16x8U,
        I32x4ExtMulHighI16x8U,
        I64x2Add, I64x2Sub, I64x2Mul, I64x2ExtMulLowI32x4S, I64x2ExtMulHighI32x4S,
        I64x2ExtMulLowI32x4U, I64x2ExtMulHighI32x4U,
        F32x4Add, F32x4Sub, F32x4Mul, F32x4Div, F32x4Min, F32x4Max, F32x4PMin, F32x4PMax,
        F64x2Add, F64x2Sub, F64x2Mul, F64x2Div, F64x2Min, F64x2Max, F64x2PMin, F64x2PMax,
        I8x16RelaxedSwizzle, F32x4RelaxedMin, F32x4RelaxedMax, F64x2RelaxedMin,
        F64x2RelaxedMax, I16x8RelaxedQ15mulrS, I16x8RelaxedDotI8x16I7x16S,
    ],
    Tern: [
        V128Bitselect, F32x4RelaxedMadd, F32x4RelaxedNmadd, F64x2RelaxedMadd,
        F64x2RelaxedNmadd, I8x16RelaxedLaneselect, I16x8RelaxedLaneselect,
        I32x4RelaxedLaneselect, I64x2RelaxedLaneselect, I32x4RelaxedDotI8x16I7x16AddS,
    ],
    Test: [
        V128AnyTrue, I8x16AllTrue, I8x16Bitmask, I16x8AllTrue, I16x8Bitmask, I32x4AllTrue,
        I32x4Bitmask, I64x2AllTrue, I64x2Bitmask,
    ],
    Splat: [I8x16Splat, I16x8Splat, I32x4Splat, I64x2Splat, F32x4Splat, F64x2Splat],
    Shift: [
        I8x16Shl, I8x16ShrS, I8x16ShrU, I16x8Shl, I16x8ShrS, I16x8ShrU, I32x4Shl, I32x4ShrS,
        I32x4ShrU, I64x2Shl, I64x2ShrS, I64x2ShrU,
    ],
    Extract: [
        I8x16ExtractLaneS, I8x16ExtractLaneU, I16x8ExtractLaneS, I16x8ExtractLaneU,
        I32x4ExtractLane, I64x2ExtractLane, F32x4ExtractLane, F64x2ExtractLane,
    ],
    Replace: [
        I8x16ReplaceLane, I16x8ReplaceLane, I32x4ReplaceLane, I64x2ReplaceLane,
        F32x4ReplaceLane, F64x2ReplaceLane,
    ],
    Load: [
        V128Load, V128Load8x8S, V128Load8x8U, V128Load16x4S, V128Load16x4U, V128Load32x2S,
        V128Load32x2U, V128Load8Splat, V128Load16Splat, V128Load32Splat, V128Load64Splat,
        V128Load32Zero, V128Load64Zero,
    ],
    LoadLane: [V128Load8Lane, V128Load16Lane, V128Load32Lane, V128Load64Lane],
    Store: [V128Store],
    StoreLane: [V128Store8Lane, V128Store16Lane, V128Store32Lane, V128Store64Lane],
    ;
    internal: [V128ConstOp, V128Shuffle, V128Select, V128GlobalGet, V128GlobalSet],
}

/// One `catch` clause of a `try_table` covering the ops `start..end`. A function's handlers
/// are ordered innermost first, so the first match for a throwing pc is the right one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handler {
    pub start: u32,
    pub end: u32,
    /// The tag (instance index), or `None` for `catch_all(_ref)`.
    pub tag: Option<u32>,
    /// Whether the exception reference is passed after the payload (`catch_ref`).
    pub with_ref: bool,
    /// Index into `br_tables`: the label's pc and its first slot (`dst`).
    pub target: u32,
}

/// A translated function body, ready to run.
#[derive(Debug)]
pub(crate) struct CompiledFunc {
    /// Index in the module's function index space (for backtraces).
    pub func_index: u32,
    pub ops: Box<[Op]>,
    pub br_tables: Box<[BranchTarget]>,
    pub call_indirects: Box<[CallIndirect]>,
    pub mem_accesses: Box<[MemAccess]>,
    /// `try_table` catch clauses, innermost first.
    pub handlers: Box<[Handler]>,
    /// Operands of `Op::Gc` (GC instructions).
    pub gc_ops: Box<[crate::exec::gc::GcOp]>,
    /// SIMD side tables: v128 constants and shuffle lanes, memory arguments.
    pub v128_consts: Box<[u128]>,
    pub simd_mems: Box<[SimdMem]>,
    /// Slots taken by parameters (they are the first locals).
    pub num_params: u32,
    /// Slots of declared locals after the parameters (zeroed on entry).
    pub num_locals: u32,
    /// Slots the frame uses: params + locals + deepest operand stack.
    pub max_height: u32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn op_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Op>(), 16);
    }
}
