//! Translation: one pass over a function body that validates each operator (when the body has
//! not been validated yet) and emits the interpreter's [`Op`]s, resolving branch targets and
//! stack fix-ups as it goes. Code after an unconditional branch is validated but not emitted.

use crate::ir::{BranchTarget, CompiledFunc, Op};
use crate::module::ModuleInner;
use wasmparser::{
    BinaryReaderError, BlockType, FuncValidator, FunctionBody, Operator, ValidatorResources,
};

type Result<T> = std::result::Result<T, TranslateError>;

/// Why a body could not be translated: invalid, or using an unsupported feature.
#[derive(Debug)]
pub(crate) struct TranslateError {
    pub offset: usize,
    pub message: String,
}

impl TranslateError {
    fn new(message: impl Into<String>, offset: usize) -> Self {
        TranslateError {
            offset,
            message: message.into(),
        }
    }
}

impl From<BinaryReaderError> for TranslateError {
    fn from(e: BinaryReaderError) -> Self {
        TranslateError::new(e.message(), e.offset())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CtrlKind {
    Block,
    Loop,
    If,
    Else,
    Function,
}

/// Where a forward branch's target index must be written once known.
#[derive(Debug, Clone, Copy)]
enum Fixup {
    Op(usize),
    Table(usize),
}

#[derive(Debug)]
struct Ctrl {
    kind: CtrlKind,
    /// Operand height below the block's parameters.
    height: u32,
    params: u32,
    results: u32,
    /// Loop head, for backward branches.
    loop_pc: u32,
    fixups: Vec<Fixup>,
    /// The `if`'s false edge, patched at `else` or `end`.
    else_fixup: Option<usize>,
}

struct Translator<'m> {
    module: &'m ModuleInner,
    ops: Vec<Op>,
    br_tables: Vec<BranchTarget>,
    ctrl: Vec<Ctrl>,
    /// Current operand stack height (slots above the locals).
    height: u32,
    max_height: u32,
    /// Inside dead code: how many blocks opened since it became dead, plus one.
    dead: u32,
    interrupts: bool,
}

/// Validates (if `validator` is given) and translates one function body.
pub(crate) fn translate_function(
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
    mut validator: Option<FuncValidator<ValidatorResources>>,
) -> Result<CompiledFunc> {
    let ty = module.func_type(func_index);
    let num_params = ty.params().len() as u32;
    let num_results = ty.results().len() as u32;
    let mut num_locals: u32 = 0;
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        let offset = locals.original_position();
        let (count, ty) = locals.read()?;
        if let Some(v) = validator.as_mut() {
            v.define_locals(offset, count, ty)?;
        }
        num_locals = num_locals
            .checked_add(count)
            .ok_or_else(|| TranslateError::new("too many locals", offset))?;
    }
    let config = module.engine.config();
    let mut t = Translator {
        module,
        ops: Vec::new(),
        br_tables: Vec::new(),
        ctrl: vec![Ctrl {
            kind: CtrlKind::Function,
            height: 0,
            params: 0,
            results: num_results,
            loop_pc: 0,
            fixups: Vec::new(),
            else_fixup: None,
        }],
        height: 0,
        max_height: 0,
        dead: 0,
        interrupts: config.consume_fuel || config.epoch_interruption,
    };
    if t.interrupts {
        t.ops.push(Op::Interrupt);
    }
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset()?;
        if let Some(v) = validator.as_mut() {
            v.op(offset, &op)?;
        }
        t.translate(op, offset)?;
    }
    reader.finish()?;
    let total_locals = num_params as u64 + num_locals as u64;
    let max_height = total_locals + t.max_height as u64;
    if max_height > u32::MAX as u64 / 2 {
        return Err(TranslateError::new("function frame too large", 0));
    }
    Ok(CompiledFunc {
        func_index,
        ops: t.ops.into(),
        br_tables: t.br_tables.into(),
        num_params,
        num_locals,
        num_results,
        max_height: max_height as u32,
    })
}

impl Translator<'_> {
    fn pc(&self) -> u32 {
        self.ops.len() as u32
    }

    fn push(&mut self, n: u32) {
        self.height += n;
        self.max_height = self.max_height.max(self.height);
    }

    fn pop(&mut self, n: u32) {
        // Validation guarantees the operands exist; saturate to stay panic-free regardless.
        self.height = self.height.saturating_sub(n);
    }

    /// Emits `op`, which pops `pops` slots and pushes `pushes`.
    fn emit(&mut self, op: Op, pops: u32, pushes: u32) {
        self.pop(pops);
        self.push(pushes);
        self.ops.push(op);
    }

    fn block_arity(&self, ty: BlockType) -> (u32, u32) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(idx) => match &self.module.types[idx as usize] {
                Some(f) => (f.params().len() as u32, f.results().len() as u32),
                None => (0, 0),
            },
        }
    }

    fn open(&mut self, kind: CtrlKind, ty: BlockType) {
        let (params, results) = self.block_arity(ty);
        let height = self.height.saturating_sub(params);
        self.ctrl.push(Ctrl {
            kind,
            height,
            params,
            results,
            loop_pc: self.pc(),
            fixups: Vec::new(),
            else_fixup: None,
        });
    }

    /// The branch to label `depth` from the current height, with its fix-up.
    fn branch_target(&mut self, depth: u32) -> (BranchTarget, Option<usize>) {
        let idx = self.ctrl.len() - 1 - depth as usize;
        let label = &self.ctrl[idx];
        let keep = if label.kind == CtrlKind::Loop {
            label.params
        } else {
            label.results
        };
        let drop = self
            .height
            .saturating_sub(keep)
            .saturating_sub(label.height);
        let pc = if label.kind == CtrlKind::Loop {
            label.loop_pc
        } else {
            u32::MAX
        };
        (
            BranchTarget { pc, drop, keep },
            (pc == u32::MAX).then_some(idx),
        )
    }

    fn emit_branch(&mut self, depth: u32, conditional: bool) {
        let (target, forward) = self.branch_target(depth);
        let op = match (conditional, target.drop) {
            (false, 0) => Op::Br(target.pc),
            (false, _) => Op::BrDrop(target),
            (true, 0) => Op::BrIfNez(target.pc),
            (true, _) => Op::BrIfNezDrop(target),
        };
        let at = self.ops.len();
        self.ops.push(op);
        if let Some(idx) = forward {
            self.ctrl[idx].fixups.push(Fixup::Op(at));
        }
    }

    fn patch(&mut self, fixup: Fixup, pc: u32) {
        match fixup {
            Fixup::Op(at) => match &mut self.ops[at] {
                Op::Br(t) | Op::BrIfNez(t) | Op::BrIfEqz(t) => *t = pc,
                Op::BrDrop(t) | Op::BrIfNezDrop(t) => t.pc = pc,
                _ => unreachable!("fixup points at a branch"),
            },
            Fixup::Table(at) => self.br_tables[at].pc = pc,
        }
    }

    fn translate(&mut self, op: Operator<'_>, offset: usize) -> Result<()> {
        if self.dead > 0 {
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.dead += 1;
                    return Ok(());
                }
                Operator::Else if self.dead == 1 => {
                    self.dead = 0;
                    return self.translate_else();
                }
                Operator::End if self.dead == 1 => {
                    self.dead = 0;
                    return self.translate_end();
                }
                Operator::End => {
                    self.dead -= 1;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
        use Operator as O;
        match op {
            O::Unreachable => {
                self.ops.push(Op::Unreachable);
                self.dead = 1;
            }
            O::Nop => {}
            O::Block { blockty } => self.open(CtrlKind::Block, blockty),
            O::Loop { blockty } => {
                self.open(CtrlKind::Loop, blockty);
                if self.interrupts {
                    self.ops.push(Op::Interrupt);
                }
            }
            O::If { blockty } => {
                self.pop(1);
                self.open(CtrlKind::If, blockty);
                let at = self.ops.len();
                self.ops.push(Op::BrIfEqz(u32::MAX));
                self.ctrl.last_mut().expect("if frame").else_fixup = Some(at);
            }
            O::Else => self.translate_else()?,
            O::End => self.translate_end()?,
            O::Br { relative_depth } => {
                self.emit_branch(relative_depth, false);
                self.dead = 1;
            }
            O::BrIf { relative_depth } => {
                self.pop(1);
                self.emit_branch(relative_depth, true);
            }
            O::BrTable { targets } => {
                self.pop(1);
                let start = self.br_tables.len() as u32;
                let mut depths = Vec::with_capacity(targets.len() as usize + 1);
                for t in targets.targets() {
                    depths.push(t?);
                }
                depths.push(targets.default());
                for depth in depths.iter() {
                    let (target, forward) = self.branch_target(*depth);
                    let at = self.br_tables.len();
                    self.br_tables.push(target);
                    if let Some(idx) = forward {
                        self.ctrl[idx].fixups.push(Fixup::Table(at));
                    }
                }
                self.ops.push(Op::BrTable {
                    start,
                    len: depths.len() as u32,
                });
                self.dead = 1;
            }
            O::Return => {
                self.ops.push(Op::Return);
                self.dead = 1;
            }
            O::Call { function_index } => {
                let ty = self.module.func_type(function_index);
                let (p, r) = (ty.params().len() as u32, ty.results().len() as u32);
                self.emit(Op::Call(function_index), p, r);
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let (p, r) = match &self.module.types[type_index as usize] {
                    Some(f) => (f.params().len() as u32, f.results().len() as u32),
                    None => (0, 0),
                };
                let type_id = self.module.type_ids[type_index as usize];
                self.emit(
                    Op::CallIndirect {
                        type_id,
                        table: table_index,
                    },
                    p + 1,
                    r,
                );
            }
            O::Drop => self.emit(Op::Drop, 1, 0),
            O::Select | O::TypedSelect { .. } => self.emit(Op::Select, 3, 1),
            O::LocalGet { local_index } => self.emit(Op::LocalGet(local_index), 0, 1),
            O::LocalSet { local_index } => self.emit(Op::LocalSet(local_index), 1, 0),
            O::LocalTee { local_index } => self.emit(Op::LocalTee(local_index), 1, 1),
            O::GlobalGet { global_index } => self.emit(Op::GlobalGet(global_index), 0, 1),
            O::GlobalSet { global_index } => self.emit(Op::GlobalSet(global_index), 1, 0),
            O::TableGet { table } => self.emit(Op::TableGet(table), 1, 1),
            O::TableSet { table } => self.emit(Op::TableSet(table), 2, 0),
            O::TableSize { table } => self.emit(Op::TableSize(table), 0, 1),
            O::TableGrow { table } => self.emit(Op::TableGrow(table), 2, 1),
            O::TableFill { table } => self.emit(Op::TableFill(table), 3, 0),
            O::TableCopy {
                dst_table,
                src_table,
            } => self.emit(
                Op::TableCopy {
                    dst: dst_table,
                    src: src_table,
                },
                3,
                0,
            ),
            O::TableInit { elem_index, table } => self.emit(
                Op::TableInit {
                    table,
                    elem: elem_index,
                },
                3,
                0,
            ),
            O::ElemDrop { elem_index } => self.emit(Op::ElemDrop(elem_index), 0, 0),
            O::RefNull { .. } => self.emit(Op::RefNull, 0, 1),
            O::RefIsNull => self.emit(Op::RefIsNull, 1, 1),
            O::RefFunc { function_index } => self.emit(Op::RefFunc(function_index), 0, 1),
            O::MemorySize { mem } => self.emit(Op::MemorySize(mem), 0, 1),
            O::MemoryGrow { mem } => self.emit(Op::MemoryGrow(mem), 1, 1),
            O::MemoryFill { mem } => self.emit(Op::MemoryFill(mem), 3, 0),
            O::MemoryCopy { dst_mem, src_mem } => self.emit(
                Op::MemoryCopy {
                    dst: dst_mem,
                    src: src_mem,
                },
                3,
                0,
            ),
            O::MemoryInit { data_index, mem } => self.emit(
                Op::MemoryInit {
                    mem,
                    data: data_index,
                },
                3,
                0,
            ),
            O::DataDrop { data_index } => self.emit(Op::DataDrop(data_index), 0, 0),
            O::I32Const { value } => self.emit(Op::Const32(value as u32), 0, 1),
            O::I64Const { value } => self.emit(Op::Const64(value as u64), 0, 1),
            O::F32Const { value } => self.emit(Op::Const32(value.bits()), 0, 1),
            O::F64Const { value } => self.emit(Op::Const64(value.bits()), 0, 1),
            // Reinterpretations are free: slots hold raw bits.
            O::I32ReinterpretF32
            | O::F32ReinterpretI32
            | O::I64ReinterpretF64
            | O::F64ReinterpretI64 => {}
            other => return self.translate_plain(other, offset),
        }
        Ok(())
    }

    fn translate_else(&mut self) -> Result<()> {
        let frame = self.ctrl.last().expect("else inside if");
        let (height, params) = (frame.height, frame.params);
        // The `then` arm jumps over the `else` arm.
        let at = self.ops.len();
        self.ops.push(Op::Br(u32::MAX));
        let pc = self.pc();
        let frame = self.ctrl.last_mut().expect("else inside if");
        frame.fixups.push(Fixup::Op(at));
        frame.kind = CtrlKind::Else;
        if let Some(f) = frame.else_fixup.take() {
            self.patch(Fixup::Op(f), pc);
        }
        self.height = height + params;
        Ok(())
    }

    fn translate_end(&mut self) -> Result<()> {
        let frame = self.ctrl.pop().expect("end closes a frame");
        if frame.kind == CtrlKind::Function {
            // Forward branches to the function label land on this return.
            let pc = self.pc();
            self.ops.push(Op::Return);
            for f in frame.fixups {
                self.patch(f, pc);
            }
            return Ok(());
        }
        let pc = self.pc();
        for f in frame.fixups.iter() {
            self.patch(*f, pc);
        }
        if let Some(f) = frame.else_fixup {
            self.patch(Fixup::Op(f), pc);
        }
        self.height = frame.height + frame.results;
        self.max_height = self.max_height.max(self.height);
        Ok(())
    }

    /// Numeric, memory-access and conversion instructions with a fixed stack effect.
    fn translate_plain(&mut self, op: Operator<'_>, offset: usize) -> Result<()> {
        use Operator as O;
        macro_rules! mem {
            ($memarg:expr, $op:ident, $pops:expr, $pushes:expr) => {{
                let memarg = $memarg;
                if memarg.memory != 0 || memarg.offset > u32::MAX as u64 {
                    return Err(TranslateError::new(
                        "multi-memory and memory64 accesses are not supported yet",
                        offset,
                    ));
                }
                (Op::$op(memarg.offset as u32), $pops, $pushes)
            }};
        }
        let (op, pops, pushes) = match op {
            O::I32Load { memarg } => mem!(memarg, I32Load, 1, 1),
            O::I64Load { memarg } => mem!(memarg, I64Load, 1, 1),
            O::F32Load { memarg } => mem!(memarg, F32Load, 1, 1),
            O::F64Load { memarg } => mem!(memarg, F64Load, 1, 1),
            O::I32Load8S { memarg } => mem!(memarg, I32Load8S, 1, 1),
            O::I32Load8U { memarg } => mem!(memarg, I32Load8U, 1, 1),
            O::I32Load16S { memarg } => mem!(memarg, I32Load16S, 1, 1),
            O::I32Load16U { memarg } => mem!(memarg, I32Load16U, 1, 1),
            O::I64Load8S { memarg } => mem!(memarg, I64Load8S, 1, 1),
            O::I64Load8U { memarg } => mem!(memarg, I64Load8U, 1, 1),
            O::I64Load16S { memarg } => mem!(memarg, I64Load16S, 1, 1),
            O::I64Load16U { memarg } => mem!(memarg, I64Load16U, 1, 1),
            O::I64Load32S { memarg } => mem!(memarg, I64Load32S, 1, 1),
            O::I64Load32U { memarg } => mem!(memarg, I64Load32U, 1, 1),
            O::I32Store { memarg } => mem!(memarg, I32Store, 2, 0),
            O::I64Store { memarg } => mem!(memarg, I64Store, 2, 0),
            O::F32Store { memarg } => mem!(memarg, F32Store, 2, 0),
            O::F64Store { memarg } => mem!(memarg, F64Store, 2, 0),
            O::I32Store8 { memarg } => mem!(memarg, I32Store8, 2, 0),
            O::I32Store16 { memarg } => mem!(memarg, I32Store16, 2, 0),
            O::I64Store8 { memarg } => mem!(memarg, I64Store8, 2, 0),
            O::I64Store16 { memarg } => mem!(memarg, I64Store16, 2, 0),
            O::I64Store32 { memarg } => mem!(memarg, I64Store32, 2, 0),

            O::I32Eqz => (Op::I32Eqz, 1, 1),
            O::I32Eq => (Op::I32Eq, 2, 1),
            O::I32Ne => (Op::I32Ne, 2, 1),
            O::I32LtS => (Op::I32LtS, 2, 1),
            O::I32LtU => (Op::I32LtU, 2, 1),
            O::I32GtS => (Op::I32GtS, 2, 1),
            O::I32GtU => (Op::I32GtU, 2, 1),
            O::I32LeS => (Op::I32LeS, 2, 1),
            O::I32LeU => (Op::I32LeU, 2, 1),
            O::I32GeS => (Op::I32GeS, 2, 1),
            O::I32GeU => (Op::I32GeU, 2, 1),
            O::I32Clz => (Op::I32Clz, 1, 1),
            O::I32Ctz => (Op::I32Ctz, 1, 1),
            O::I32Popcnt => (Op::I32Popcnt, 1, 1),
            O::I32Add => (Op::I32Add, 2, 1),
            O::I32Sub => (Op::I32Sub, 2, 1),
            O::I32Mul => (Op::I32Mul, 2, 1),
            O::I32DivS => (Op::I32DivS, 2, 1),
            O::I32DivU => (Op::I32DivU, 2, 1),
            O::I32RemS => (Op::I32RemS, 2, 1),
            O::I32RemU => (Op::I32RemU, 2, 1),
            O::I32And => (Op::I32And, 2, 1),
            O::I32Or => (Op::I32Or, 2, 1),
            O::I32Xor => (Op::I32Xor, 2, 1),
            O::I32Shl => (Op::I32Shl, 2, 1),
            O::I32ShrS => (Op::I32ShrS, 2, 1),
            O::I32ShrU => (Op::I32ShrU, 2, 1),
            O::I32Rotl => (Op::I32Rotl, 2, 1),
            O::I32Rotr => (Op::I32Rotr, 2, 1),

            O::I64Eqz => (Op::I64Eqz, 1, 1),
            O::I64Eq => (Op::I64Eq, 2, 1),
            O::I64Ne => (Op::I64Ne, 2, 1),
            O::I64LtS => (Op::I64LtS, 2, 1),
            O::I64LtU => (Op::I64LtU, 2, 1),
            O::I64GtS => (Op::I64GtS, 2, 1),
            O::I64GtU => (Op::I64GtU, 2, 1),
            O::I64LeS => (Op::I64LeS, 2, 1),
            O::I64LeU => (Op::I64LeU, 2, 1),
            O::I64GeS => (Op::I64GeS, 2, 1),
            O::I64GeU => (Op::I64GeU, 2, 1),
            O::I64Clz => (Op::I64Clz, 1, 1),
            O::I64Ctz => (Op::I64Ctz, 1, 1),
            O::I64Popcnt => (Op::I64Popcnt, 1, 1),
            O::I64Add => (Op::I64Add, 2, 1),
            O::I64Sub => (Op::I64Sub, 2, 1),
            O::I64Mul => (Op::I64Mul, 2, 1),
            O::I64DivS => (Op::I64DivS, 2, 1),
            O::I64DivU => (Op::I64DivU, 2, 1),
            O::I64RemS => (Op::I64RemS, 2, 1),
            O::I64RemU => (Op::I64RemU, 2, 1),
            O::I64And => (Op::I64And, 2, 1),
            O::I64Or => (Op::I64Or, 2, 1),
            O::I64Xor => (Op::I64Xor, 2, 1),
            O::I64Shl => (Op::I64Shl, 2, 1),
            O::I64ShrS => (Op::I64ShrS, 2, 1),
            O::I64ShrU => (Op::I64ShrU, 2, 1),
            O::I64Rotl => (Op::I64Rotl, 2, 1),
            O::I64Rotr => (Op::I64Rotr, 2, 1),

            O::F32Eq => (Op::F32Eq, 2, 1),
            O::F32Ne => (Op::F32Ne, 2, 1),
            O::F32Lt => (Op::F32Lt, 2, 1),
            O::F32Gt => (Op::F32Gt, 2, 1),
            O::F32Le => (Op::F32Le, 2, 1),
            O::F32Ge => (Op::F32Ge, 2, 1),
            O::F32Abs => (Op::F32Abs, 1, 1),
            O::F32Neg => (Op::F32Neg, 1, 1),
            O::F32Ceil => (Op::F32Ceil, 1, 1),
            O::F32Floor => (Op::F32Floor, 1, 1),
            O::F32Trunc => (Op::F32Trunc, 1, 1),
            O::F32Nearest => (Op::F32Nearest, 1, 1),
            O::F32Sqrt => (Op::F32Sqrt, 1, 1),
            O::F32Add => (Op::F32Add, 2, 1),
            O::F32Sub => (Op::F32Sub, 2, 1),
            O::F32Mul => (Op::F32Mul, 2, 1),
            O::F32Div => (Op::F32Div, 2, 1),
            O::F32Min => (Op::F32Min, 2, 1),
            O::F32Max => (Op::F32Max, 2, 1),
            O::F32Copysign => (Op::F32Copysign, 2, 1),

            O::F64Eq => (Op::F64Eq, 2, 1),
            O::F64Ne => (Op::F64Ne, 2, 1),
            O::F64Lt => (Op::F64Lt, 2, 1),
            O::F64Gt => (Op::F64Gt, 2, 1),
            O::F64Le => (Op::F64Le, 2, 1),
            O::F64Ge => (Op::F64Ge, 2, 1),
            O::F64Abs => (Op::F64Abs, 1, 1),
            O::F64Neg => (Op::F64Neg, 1, 1),
            O::F64Ceil => (Op::F64Ceil, 1, 1),
            O::F64Floor => (Op::F64Floor, 1, 1),
            O::F64Trunc => (Op::F64Trunc, 1, 1),
            O::F64Nearest => (Op::F64Nearest, 1, 1),
            O::F64Sqrt => (Op::F64Sqrt, 1, 1),
            O::F64Add => (Op::F64Add, 2, 1),
            O::F64Sub => (Op::F64Sub, 2, 1),
            O::F64Mul => (Op::F64Mul, 2, 1),
            O::F64Div => (Op::F64Div, 2, 1),
            O::F64Min => (Op::F64Min, 2, 1),
            O::F64Max => (Op::F64Max, 2, 1),
            O::F64Copysign => (Op::F64Copysign, 2, 1),

            O::I32WrapI64 => (Op::I32WrapI64, 1, 1),
            O::I32TruncF32S => (Op::I32TruncF32S, 1, 1),
            O::I32TruncF32U => (Op::I32TruncF32U, 1, 1),
            O::I32TruncF64S => (Op::I32TruncF64S, 1, 1),
            O::I32TruncF64U => (Op::I32TruncF64U, 1, 1),
            O::I64ExtendI32S => (Op::I64ExtendI32S, 1, 1),
            O::I64ExtendI32U => (Op::I64ExtendI32U, 1, 1),
            O::I64TruncF32S => (Op::I64TruncF32S, 1, 1),
            O::I64TruncF32U => (Op::I64TruncF32U, 1, 1),
            O::I64TruncF64S => (Op::I64TruncF64S, 1, 1),
            O::I64TruncF64U => (Op::I64TruncF64U, 1, 1),
            O::F32ConvertI32S => (Op::F32ConvertI32S, 1, 1),
            O::F32ConvertI32U => (Op::F32ConvertI32U, 1, 1),
            O::F32ConvertI64S => (Op::F32ConvertI64S, 1, 1),
            O::F32ConvertI64U => (Op::F32ConvertI64U, 1, 1),
            O::F32DemoteF64 => (Op::F32DemoteF64, 1, 1),
            O::F64ConvertI32S => (Op::F64ConvertI32S, 1, 1),
            O::F64ConvertI32U => (Op::F64ConvertI32U, 1, 1),
            O::F64ConvertI64S => (Op::F64ConvertI64S, 1, 1),
            O::F64ConvertI64U => (Op::F64ConvertI64U, 1, 1),
            O::F64PromoteF32 => (Op::F64PromoteF32, 1, 1),
            O::I32Extend8S => (Op::I32Extend8S, 1, 1),
            O::I32Extend16S => (Op::I32Extend16S, 1, 1),
            O::I64Extend8S => (Op::I64Extend8S, 1, 1),
            O::I64Extend16S => (Op::I64Extend16S, 1, 1),
            O::I64Extend32S => (Op::I64Extend32S, 1, 1),
            O::I32TruncSatF32S => (Op::I32TruncSatF32S, 1, 1),
            O::I32TruncSatF32U => (Op::I32TruncSatF32U, 1, 1),
            O::I32TruncSatF64S => (Op::I32TruncSatF64S, 1, 1),
            O::I32TruncSatF64U => (Op::I32TruncSatF64U, 1, 1),
            O::I64TruncSatF32S => (Op::I64TruncSatF32S, 1, 1),
            O::I64TruncSatF32U => (Op::I64TruncSatF32U, 1, 1),
            O::I64TruncSatF64S => (Op::I64TruncSatF64S, 1, 1),
            O::I64TruncSatF64U => (Op::I64TruncSatF64U, 1, 1),
            other => {
                return Err(TranslateError::new(
                    format!("instruction {other:?} is not supported yet"),
                    offset,
                ))
            }
        };
        self.emit(op, pops, pushes);
        Ok(())
    }
}
