//! The interpreter's own instruction set. Function bodies are translated into a flat `[Op]`
//! with every branch target already resolved to an index, and every local addressed by its slot
//! in the frame. Values are untyped 64-bit slots (an `i32` is stored zero-extended, floats as
//! their bits, references as handles with 0 for null).
//!
//! Branches carry `drop`/`keep`: on a taken branch the top `keep` slots move down over `drop`
//! slots, so the operand stack matches the target label's height. Most branches drop nothing
//! and use the short forms.

/// A resolved branch: where to go and how to fix the operand stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BranchTarget {
    /// Index of the target instruction.
    pub pc: u32,
    /// Slots to remove below the kept ones.
    pub drop: u32,
    /// Slots (the label's arity) to keep on top.
    pub keep: u32,
}

/// One instruction. Kept at 16 bytes: operands that do not fit live in side tables.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(missing_docs)]
pub(crate) enum Op {
    // ---- control ----
    Unreachable,
    /// Unconditional jump, no stack fix-up.
    Br(u32),
    /// Unconditional jump with a stack fix-up.
    BrDrop(BranchTarget),
    /// Pops an i32; jumps if it is non-zero.
    BrIfNez(u32),
    /// Pops an i32; jumps (with fix-up) if it is non-zero.
    BrIfNezDrop(BranchTarget),
    /// Pops an i32; jumps if it is zero (the `if` instruction's false edge).
    BrIfEqz(u32),
    /// Pops an i32 index into `br_tables[start..start+len]`; the last entry is the default.
    BrTable {
        start: u32,
        len: u32,
    },
    /// Returns the function's results.
    Return,
    /// Calls function `0` of the current instance.
    Call(u32),
    /// Pops a table index; calls the function there if its type id matches.
    CallIndirect {
        type_id: u32,
        table: u32,
    },
    /// Charges fuel (loop heads and function entries) and checks the epoch deadline.
    Interrupt,

    // ---- parametric ----
    Drop,
    Select,

    // ---- variables ----
    LocalGet(u32),
    LocalSet(u32),
    LocalTee(u32),
    GlobalGet(u32),
    GlobalSet(u32),

    // ---- tables & references ----
    TableGet(u32),
    TableSet(u32),
    TableSize(u32),
    TableGrow(u32),
    TableFill(u32),
    TableCopy {
        dst: u32,
        src: u32,
    },
    TableInit {
        table: u32,
        elem: u32,
    },
    ElemDrop(u32),
    RefNull,
    RefIsNull,
    RefFunc(u32),

    // ---- memory (memory 0, 32-bit offsets) ----
    I32Load(u32),
    I64Load(u32),
    F32Load(u32),
    F64Load(u32),
    I32Load8S(u32),
    I32Load8U(u32),
    I32Load16S(u32),
    I32Load16U(u32),
    I64Load8S(u32),
    I64Load8U(u32),
    I64Load16S(u32),
    I64Load16U(u32),
    I64Load32S(u32),
    I64Load32U(u32),
    I32Store(u32),
    I64Store(u32),
    F32Store(u32),
    F64Store(u32),
    I32Store8(u32),
    I32Store16(u32),
    I64Store8(u32),
    I64Store16(u32),
    I64Store32(u32),
    MemorySize(u32),
    MemoryGrow(u32),
    MemoryFill(u32),
    MemoryCopy {
        dst: u32,
        src: u32,
    },
    MemoryInit {
        mem: u32,
        data: u32,
    },
    DataDrop(u32),

    // ---- constants ----
    Const32(u32),
    Const64(u64),

    // ---- i32 ----
    I32Eqz,
    I32Eq,
    I32Ne,
    I32LtS,
    I32LtU,
    I32GtS,
    I32GtU,
    I32LeS,
    I32LeU,
    I32GeS,
    I32GeU,
    I32Clz,
    I32Ctz,
    I32Popcnt,
    I32Add,
    I32Sub,
    I32Mul,
    I32DivS,
    I32DivU,
    I32RemS,
    I32RemU,
    I32And,
    I32Or,
    I32Xor,
    I32Shl,
    I32ShrS,
    I32ShrU,
    I32Rotl,
    I32Rotr,

    // ---- i64 ----
    I64Eqz,
    I64Eq,
    I64Ne,
    I64LtS,
    I64LtU,
    I64GtS,
    I64GtU,
    I64LeS,
    I64LeU,
    I64GeS,
    I64GeU,
    I64Clz,
    I64Ctz,
    I64Popcnt,
    I64Add,
    I64Sub,
    I64Mul,
    I64DivS,
    I64DivU,
    I64RemS,
    I64RemU,
    I64And,
    I64Or,
    I64Xor,
    I64Shl,
    I64ShrS,
    I64ShrU,
    I64Rotl,
    I64Rotr,

    // ---- f32 ----
    F32Eq,
    F32Ne,
    F32Lt,
    F32Gt,
    F32Le,
    F32Ge,
    F32Abs,
    F32Neg,
    F32Ceil,
    F32Floor,
    F32Trunc,
    F32Nearest,
    F32Sqrt,
    F32Add,
    F32Sub,
    F32Mul,
    F32Div,
    F32Min,
    F32Max,
    F32Copysign,

    // ---- f64 ----
    F64Eq,
    F64Ne,
    F64Lt,
    F64Gt,
    F64Le,
    F64Ge,
    F64Abs,
    F64Neg,
    F64Ceil,
    F64Floor,
    F64Trunc,
    F64Nearest,
    F64Sqrt,
    F64Add,
    F64Sub,
    F64Mul,
    F64Div,
    F64Min,
    F64Max,
    F64Copysign,

    // ---- conversions ----
    I32WrapI64,
    I32TruncF32S,
    I32TruncF32U,
    I32TruncF64S,
    I32TruncF64U,
    I64ExtendI32S,
    I64ExtendI32U,
    I64TruncF32S,
    I64TruncF32U,
    I64TruncF64S,
    I64TruncF64U,
    F32ConvertI32S,
    F32ConvertI32U,
    F32ConvertI64S,
    F32ConvertI64U,
    F32DemoteF64,
    F64ConvertI32S,
    F64ConvertI32U,
    F64ConvertI64S,
    F64ConvertI64U,
    F64PromoteF32,
    I32Extend8S,
    I32Extend16S,
    I64Extend8S,
    I64Extend16S,
    I64Extend32S,
    I32TruncSatF32S,
    I32TruncSatF32U,
    I32TruncSatF64S,
    I32TruncSatF64U,
    I64TruncSatF32S,
    I64TruncSatF32U,
    I64TruncSatF64S,
    I64TruncSatF64U,
}

/// A translated function body, ready to run.
#[derive(Debug)]
pub(crate) struct CompiledFunc {
    /// Index in the module's function index space (for backtraces).
    pub func_index: u32,
    pub ops: Box<[Op]>,
    pub br_tables: Box<[BranchTarget]>,
    /// Slots taken by parameters (they are the first locals).
    pub num_params: u32,
    /// Slots of declared locals after the parameters (zeroed on entry).
    pub num_locals: u32,
    /// Slots of results.
    pub num_results: u32,
    /// Most slots the frame uses: params + locals + deepest operand stack.
    pub max_height: u32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn op_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Op>(), 16);
    }
}
