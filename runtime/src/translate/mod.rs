//! Translation: one pass over a function body that validates each operator (when the body has
//! not been validated yet) and emits register-machine [`Op`]s.
//!
//! The translator mirrors the operand stack with [`Operand`]s: a value may still be *deferred*
//! (a `local.get` or a constant not yet copied anywhere) or *materialized* in its canonical slot
//! (`locals + depth`). Consumers read deferred locals in place and fold constants into
//! immediates. Everything is materialized at control boundaries (blocks, branches, calls), so
//! every path into a label sees the same slots. Code after an unconditional branch is
//! validated but not emitted.

use crate::ir::{
    Bin, BinImm, BranchTarget, CallIndirect, CmpBr, CmpBrImm, CompiledFunc, Handler, Load,
    MemAccess, MemKind, Op, Reg, Store, Un,
};
use crate::module::ModuleInner;
use wasmparser::{
    BinaryReaderError, BlockType, FuncValidator, FunctionBody, Operator, ValidatorResources,
};

mod gc;
mod simd;

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

/// Where an operand-stack value currently is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operand {
    /// In its canonical slot.
    Slot,
    /// Still in this local (a deferred `local.get`).
    Local(Reg),
    /// A deferred constant (raw slot bits).
    Const(u64),
    /// The high half of the `v128` whose low half is the entry just below: it lives wherever
    /// that one does (its slot + 1, or its local's slot + 1). A `v128` is two entries.
    Hi,
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
    /// Operand depth below the block's parameters.
    height: u32,
    params: u32,
    results: u32,
    /// Loop head, for backward branches.
    loop_pc: u32,
    fixups: Vec<Fixup>,
    /// The `if`'s false edge, patched at `else` or `end`.
    else_fixup: Option<usize>,
    /// A `try_table`'s catch clauses (tag, with ref, `br_tables` index), covering the ops
    /// from `loop_pc` to its `end`.
    catches: Vec<(Option<u32>, bool, u32)>,
    /// The block type (its values' types: a `v128` is pushed as two entries).
    ty: BlockType,
}

struct Translator<'m> {
    module: &'m ModuleInner,
    ops: Vec<Op>,
    br_tables: Vec<BranchTarget>,
    call_indirects: Vec<CallIndirect>,
    mem_accesses: Vec<MemAccess>,
    handlers: Vec<Handler>,
    /// Operands of the GC ops (`Op::Gc`).
    gc_ops: Vec<crate::exec::gc::GcOp>,
    ctrl: Vec<Ctrl>,
    /// The operand stack; entry `i` has canonical slot `locals + i`.
    stack: Vec<Operand>,
    /// Number of locals (params included): the first operand slot.
    locals: u32,
    max_depth: u32,
    /// The function's result count.
    results: u32,
    /// Inside dead code: how many blocks opened since it became dead, plus one.
    dead: u32,
    /// The last op wrote the top operand's slot and nothing has jumped here since:
    /// its destination may be retargeted or its compare fused with a branch.
    last_result: Option<usize>,
    interrupts: bool,
    /// SIMD side tables (see `CompiledFunc`).
    v128_consts: Vec<u128>,
    simd_mems: Vec<crate::ir::SimdMem>,
    /// Where locals live when some are `v128` (two slots each): runs of (first local index,
    /// first slot, is v128), by index. Empty when every local takes one slot (index = slot).
    local_runs: Vec<(u32, u32, bool)>,
}

/// Validates (if `validator` is given) and translates one function body.
pub(crate) fn translate_function(
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
    mut validator: Option<FuncValidator<ValidatorResources>>,
) -> Result<CompiledFunc> {
    let ty = module.func_type(func_index);
    // Counts in slots: a `v128` takes two.
    let num_params = crate::types::slot_count(ty.params()) as u32;
    let num_results = crate::types::slot_count(ty.results()) as u32;
    let mut num_locals: u32 = 0;
    let mut local_runs: Vec<(u32, u32, bool)> = Vec::new();
    let mut wide = false;
    for (i, p) in ty.params().iter().enumerate() {
        let v128 = *p == crate::types::ValType::V128;
        wide |= v128;
        local_runs.push((
            i as u32,
            local_runs.last().map_or(0, |r| r.1 + 1 + r.2 as u32),
            v128,
        ));
    }
    let mut num_local_values = ty.params().len() as u32;
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        let offset = locals.original_position();
        let (count, ty) = locals.read()?;
        if let Some(v) = validator.as_mut() {
            v.define_locals(offset, count, ty)?;
        }
        let v128 = ty == wasmparser::ValType::V128;
        wide |= v128;
        if count > 0 {
            local_runs.push((num_local_values, num_params + num_locals, v128));
        }
        num_local_values = num_local_values.saturating_add(count);
        num_locals = num_locals
            .checked_add(if v128 { count.saturating_mul(2) } else { count })
            .filter(|n| *n < (1 << 26))
            .ok_or_else(|| TranslateError::new("too many locals", offset))?;
    }
    if !wide {
        local_runs = Vec::new();
    }
    let config = module.engine.config();
    let mut t = Translator {
        module,
        ops: Vec::new(),
        br_tables: Vec::new(),
        call_indirects: Vec::new(),
        mem_accesses: Vec::new(),
        handlers: Vec::new(),
        gc_ops: Vec::new(),
        ctrl: vec![Ctrl {
            kind: CtrlKind::Function,
            height: 0,
            params: 0,
            results: num_results,
            loop_pc: 0,
            fixups: Vec::new(),
            else_fixup: None,
            catches: Vec::new(),
            ty: BlockType::Empty,
        }],
        stack: Vec::new(),
        locals: num_params + num_locals,
        max_depth: 0,
        results: num_results,
        dead: 0,
        last_result: None,
        interrupts: config.consume_fuel || config.epoch_interruption,
        v128_consts: Vec::new(),
        simd_mems: Vec::new(),
        local_runs,
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
    let max_height = t.locals as u64 + t.max_depth as u64 + 1;
    if max_height > (1 << 28) {
        return Err(TranslateError::new("function frame too large", 0));
    }
    Ok(CompiledFunc {
        func_index,
        ops: t.ops.into(),
        br_tables: t.br_tables.into(),
        call_indirects: t.call_indirects.into(),
        mem_accesses: t.mem_accesses.into(),
        handlers: t.handlers.into(),
        gc_ops: t.gc_ops.into(),
        v128_consts: t.v128_consts.into(),
        simd_mems: t.simd_mems.into(),
        num_params,
        num_locals,
        max_height: max_height as u32,
    })
}

/// The immediate form of a constant, if it fits in an `i32` immediate for a 32- or 64-bit op.
fn imm32(v: u64) -> Option<i32> {
    Some(v as u32 as i32)
}
fn imm64(v: u64) -> Option<i32> {
    let i = v as i64;
    (i >= i32::MIN as i64 && i <= i32::MAX as i64).then_some(i as i32)
}

impl Translator<'_> {
    fn pc(&self) -> u32 {
        self.ops.len() as u32
    }

    /// Whether the last emitted op produced the top operand (see `last_result`).
    fn last_is_result(&self) -> bool {
        self.last_result.is_some() && self.last_result == self.ops.len().checked_sub(1)
    }

    fn depth(&self) -> u32 {
        self.stack.len() as u32
    }

    /// The canonical slot of operand entry `i`.
    fn slot(&self, i: u32) -> Reg {
        self.locals + i
    }

    fn emit(&mut self, op: Op) {
        self.ops.push(op);
        self.last_result = None;
    }

    fn push(&mut self, operand: Operand) {
        self.stack.push(operand);
        self.max_depth = self.max_depth.max(self.depth());
    }

    /// Pushes a materialized result written by `op` (whose destination is the new slot).
    fn push_result(&mut self, op: Op) {
        self.ops.push(op);
        self.push(Operand::Slot);
        self.last_result = Some(self.ops.len() - 1);
    }

    /// The slot of the next pushed value.
    fn next_slot(&self) -> Reg {
        self.slot(self.depth())
    }

    /// Writes entry `i` into its canonical slot if it is deferred.
    fn materialize(&mut self, i: usize) {
        let d = self.slot(i as u32);
        match self.stack[i] {
            // A v128's high half moves with its low half.
            Operand::Slot | Operand::Hi => return,
            Operand::Local(s) if self.stack.get(i + 1) == Some(&Operand::Hi) => {
                self.ops.push(Op::Copy { d, s });
                self.ops.push(Op::Copy { d: d + 1, s: s + 1 });
            }
            Operand::Local(s) => self.ops.push(Op::Copy { d, s }),
            Operand::Const(v) => self.ops.push(if v <= u32::MAX as u64 {
                Op::Const32 { d, v: v as u32 }
            } else {
                Op::Const64 { d, v }
            }),
        }
        self.stack[i] = Operand::Slot;
        self.last_result = None;
    }

    fn materialize_all(&mut self) {
        for i in 0..self.stack.len() {
            self.materialize(i);
        }
    }

    /// Pops the top entry as a readable slot (materializing a constant).
    fn pop_reg(&mut self) -> Reg {
        let i = self.stack.len() - 1;
        if let Operand::Const(_) = self.stack[i] {
            self.materialize(i);
        }
        let r = match self.stack[i] {
            Operand::Local(l) => l,
            _ => self.slot(i as u32),
        };
        self.stack.pop();
        r
    }

    fn pop_operand(&mut self) -> (Operand, Reg) {
        let i = self.stack.len() - 1;
        let slot = self.slot(i as u32);
        (self.stack.pop().expect("validated operand"), slot)
    }

    /// Materializes the top `n` entries and pops them; returns the first one's slot.
    fn pop_canonical(&mut self, n: u32) -> Reg {
        let len = self.stack.len();
        for i in len - n as usize..len {
            self.materialize(i);
        }
        self.stack.truncate(len - n as usize);
        self.next_slot()
    }

    /// Parameter and result slot counts of a block type.
    fn block_arity(&self, ty: BlockType) -> (u32, u32) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(t) => (0, 1 + (t == wasmparser::ValType::V128) as u32),
            BlockType::FuncType(idx) => self.type_arity(idx),
        }
    }

    fn open(&mut self, kind: CtrlKind, ty: BlockType) {
        self.materialize_all();
        let (params, results) = self.block_arity(ty);
        let height = self.depth().saturating_sub(params);
        self.ctrl.push(Ctrl {
            kind,
            height,
            params,
            results,
            loop_pc: self.pc(),
            fixups: Vec::new(),
            else_fixup: None,
            catches: Vec::new(),
            ty,
        });
        self.last_result = None;
    }

    /// The branch to label `depth` from the current (materialized) stack.
    fn branch_target(&self, depth: u32) -> (BranchTarget, Option<usize>) {
        let idx = self.ctrl.len() - 1 - depth as usize;
        let label = &self.ctrl[idx];
        let keep = if label.kind == CtrlKind::Loop {
            label.params
        } else {
            label.results
        };
        let pc = if label.kind == CtrlKind::Loop {
            label.loop_pc
        } else {
            u32::MAX
        };
        let target = BranchTarget {
            pc,
            src: self.slot(self.depth().saturating_sub(keep)),
            dst: self.slot(label.height),
            keep,
        };
        (target, (pc == u32::MAX).then_some(idx))
    }

    fn needs_copy(t: &BranchTarget) -> bool {
        t.keep > 0 && t.src != t.dst
    }

    /// Emits an unconditional branch to label `depth`.
    fn emit_br(&mut self, depth: u32) {
        self.materialize_all();
        let (target, forward) = self.branch_target(depth);
        let at = self.ops.len();
        if Self::needs_copy(&target) {
            let t = self.br_tables.len();
            self.br_tables.push(target);
            self.emit(Op::BrCopy(t as u32));
            if let Some(idx) = forward {
                self.ctrl[idx].fixups.push(Fixup::Table(t));
            }
        } else {
            self.emit(Op::Br(target.pc));
            if let Some(idx) = forward {
                self.ctrl[idx].fixups.push(Fixup::Op(at));
            }
        }
    }

    /// Emits a conditional branch to label `depth` taken when the popped condition is
    /// non-zero (`when_true`) or zero.
    fn emit_br_if(&mut self, depth: u32, when_true: bool) {
        let fusable = self.last_is_result();
        let (cond, cond_slot) = self.pop_operand();
        let before = self.ops.len();
        self.materialize_all();
        let (target, forward) = self.branch_target(depth);
        let fused_ok = fusable && self.ops.len() == before && cond == Operand::Slot;
        let at;
        if Self::needs_copy(&target) {
            let c = self.cond_reg(cond, cond_slot);
            let t = self.br_tables.len();
            self.br_tables.push(target);
            self.emit(if when_true {
                Op::BrIfNezCopy { c, t: t as u32 }
            } else {
                Op::BrIfEqzCopy { c, t: t as u32 }
            });
            if let Some(idx) = forward {
                self.ctrl[idx].fixups.push(Fixup::Table(t));
            }
            return;
        }
        let pc = target.pc;
        if fused_ok && self.try_fuse_compare(cond_slot, when_true, pc) {
            at = self.ops.len() - 1;
        } else {
            let c = self.cond_reg(cond, cond_slot);
            at = self.ops.len();
            self.emit(if when_true {
                Op::BrIfNez { c, pc }
            } else {
                Op::BrIfEqz { c, pc }
            });
        }
        self.last_result = None;
        if let Some(idx) = forward {
            self.ctrl[idx].fixups.push(Fixup::Op(at));
        }
    }

    /// Parameter and result counts of function type `type_index`.
    fn type_arity(&self, type_index: u32) -> (u32, u32) {
        match &self.module.types[type_index as usize] {
            Some(f) => (
                crate::types::slot_count(f.params()) as u32,
                crate::types::slot_count(f.results()) as u32,
            ),
            None => (0, 0),
        }
    }

    /// A branch to label `depth` taken when `c` is non-zero (`when_true`) or zero, from the
    /// current (materialized) stack.
    fn emit_cond_branch(&mut self, c: Reg, depth: u32, when_true: bool) {
        let (target, forward) = self.branch_target(depth);
        if Self::needs_copy(&target) {
            let t = self.br_tables.len();
            self.br_tables.push(target);
            self.emit(if when_true {
                Op::BrIfNezCopy { c, t: t as u32 }
            } else {
                Op::BrIfEqzCopy { c, t: t as u32 }
            });
            if let Some(idx) = forward {
                self.ctrl[idx].fixups.push(Fixup::Table(t));
            }
        } else {
            let at = self.ops.len();
            let pc = target.pc;
            self.emit(if when_true {
                Op::BrIfNez { c, pc }
            } else {
                Op::BrIfEqz { c, pc }
            });
            if let Some(idx) = forward {
                self.ctrl[idx].fixups.push(Fixup::Op(at));
            }
        }
    }

    fn cond_reg(&mut self, cond: Operand, slot: Reg) -> Reg {
        match cond {
            Operand::Slot | Operand::Hi => slot,
            Operand::Local(l) => l,
            Operand::Const(v) => {
                self.ops.push(Op::Const32 {
                    d: slot,
                    v: v as u32,
                });
                slot
            }
        }
    }

    /// Replaces the last op, an i32 compare (or `eqz`) writing `cond_slot`, by a fused
    /// compare-and-branch. Returns false if the last op is not such a compare.
    fn try_fuse_compare(&mut self, cond_slot: Reg, when_true: bool, pc: u32) -> bool {
        let last = *self.ops.last().expect("fusable op");
        macro_rules! fuse {
            ($($op:ident => $t:ident / $f:ident),* ; $($imm:ident => $ti:ident / $fi:ident),* ;
             eqz) => {
                match last {
                    $(Op::$op(Bin { d, a, b }) if d == cond_slot => {
                        let br = CmpBr { a, b, pc };
                        if when_true { Op::$t(br) } else { Op::$f(br) }
                    })*
                    $(Op::$imm(BinImm { d, a, imm }) if d == cond_slot => {
                        let br = CmpBrImm { a, imm, pc };
                        if when_true { Op::$ti(br) } else { Op::$fi(br) }
                    })*
                    Op::I32Eqz(Un { d, a }) if d == cond_slot => {
                        if when_true { Op::BrIfEqz { c: a, pc } } else { Op::BrIfNez { c: a, pc } }
                    }
                    _ => return false,
                }
            };
        }
        let fused = fuse!(
            I32Eq => BrI32Eq / BrI32Ne, I32Ne => BrI32Ne / BrI32Eq,
            I32LtS => BrI32LtS / BrI32GeS, I32LtU => BrI32LtU / BrI32GeU,
            I32GtS => BrI32GtS / BrI32LeS, I32GtU => BrI32GtU / BrI32LeU,
            I32LeS => BrI32LeS / BrI32GtS, I32LeU => BrI32LeU / BrI32GtU,
            I32GeS => BrI32GeS / BrI32LtS, I32GeU => BrI32GeU / BrI32LtU;
            I32EqImm => BrI32EqImm / BrI32NeImm, I32NeImm => BrI32NeImm / BrI32EqImm,
            I32LtSImm => BrI32LtSImm / BrI32GeSImm, I32LtUImm => BrI32LtUImm / BrI32GeUImm,
            I32GtSImm => BrI32GtSImm / BrI32LeSImm, I32GtUImm => BrI32GtUImm / BrI32LeUImm,
            I32LeSImm => BrI32LeSImm / BrI32GtSImm, I32LeUImm => BrI32LeUImm / BrI32GtUImm,
            I32GeSImm => BrI32GeSImm / BrI32LtSImm, I32GeUImm => BrI32GeUImm / BrI32LtUImm;
            eqz
        );
        *self.ops.last_mut().expect("fusable op") = fused;
        true
    }

    fn patch(&mut self, fixup: Fixup, pc: u32) {
        match fixup {
            Fixup::Op(at) => match &mut self.ops[at] {
                Op::Br(t) | Op::BrIfNez { pc: t, .. } | Op::BrIfEqz { pc: t, .. } => *t = pc,
                op => {
                    if !patch_cmp_br(op, pc) {
                        unreachable!("fixup points at a branch: {op:?}")
                    }
                }
            },
            Fixup::Table(at) => self.br_tables[at].pc = pc,
        }
    }

    /// Emits the return of the function's results from the current stack.
    fn emit_return(&mut self) {
        let n = self.results;
        match n {
            0 => self.emit(Op::Return0),
            1 => {
                let src = self.pop_reg();
                self.emit(Op::Return1 { src });
                self.push(Operand::Slot);
            }
            _ => {
                let src = self.pop_canonical(n);
                self.emit(Op::ReturnN { src, n });
                for _ in 0..n {
                    self.push(Operand::Slot);
                }
            }
        }
    }

    /// After a tail call: the return a host callee's results take (see `Op::ReturnCall`).
    /// Code after it is dead.
    fn emit_tail_return(&mut self, base: Reg, results: u32) {
        // The host's results land at `base..`: the frame must hold them.
        self.max_depth = self.max_depth.max(self.depth() + results);
        self.emit(match results {
            0 => Op::Return0,
            1 => Op::Return1 { src: base },
            n => Op::ReturnN { src: base, n },
        });
        self.dead = 1;
    }

    fn local_set(&mut self, local: Reg, tee: bool) {
        let (local, v128) = self.local_slot(local);
        if v128 {
            return self.local_set_v128(local, tee);
        }
        let top = self.stack.len() - 1;
        let hazard = self.stack[..top].contains(&Operand::Local(local));
        let fusable = !hazard && self.stack[top] == Operand::Slot && self.last_is_result();
        if fusable {
            let d = self.ops.last_mut().and_then(|op| op.dst_mut());
            if let Some(d) = d {
                *d = local;
                self.stack.pop();
                self.last_result = None;
                if tee {
                    self.push(Operand::Local(local));
                }
                return;
            }
        }
        if hazard {
            for i in 0..top {
                if self.stack[i] == Operand::Local(local) {
                    self.materialize(i);
                }
            }
        }
        let (operand, slot) = self.pop_operand();
        match operand {
            Operand::Slot | Operand::Hi => self.emit(Op::Copy { d: local, s: slot }),
            Operand::Local(s) => {
                if s != local {
                    self.emit(Op::Copy { d: local, s })
                }
            }
            Operand::Const(v) => self.emit(if v <= u32::MAX as u64 {
                Op::Const32 {
                    d: local,
                    v: v as u32,
                }
            } else {
                Op::Const64 { d: local, v }
            }),
        }
        if tee {
            self.push(Operand::Local(local));
        }
    }

    fn unary(&mut self, make: fn(Un) -> Op) {
        let a = self.pop_reg();
        let d = self.next_slot();
        self.push_result(make(Un { d, a }));
    }

    /// A binary op; `imm` is its immediate form (if any), `commutative` lets a constant on the
    /// left move right, `wide` says the immediate is sign-extended to 64 bits.
    fn binary(
        &mut self,
        make: fn(Bin) -> Op,
        imm: Option<fn(BinImm) -> Op>,
        commutative: bool,
        wide: bool,
    ) {
        let fits = |v: u64| if wide { imm64(v) } else { imm32(v) };
        let len = self.stack.len();
        if let Some(make_imm) = imm {
            let (l, r) = (self.stack[len - 2], self.stack[len - 1]);
            let konst = match (l, r) {
                (_, Operand::Const(v)) if fits(v).is_some() => Some((v, false)),
                (Operand::Const(v), _) if commutative && fits(v).is_some() => Some((v, true)),
                _ => None,
            };
            if let Some((v, swapped)) = konst {
                let a = if swapped {
                    let a = self.pop_reg();
                    self.stack.pop();
                    a
                } else {
                    self.stack.pop();
                    self.pop_reg()
                };
                let d = self.next_slot();
                let imm = fits(v).expect("checked above");
                self.push_result(make_imm(BinImm { d, a, imm }));
                return;
            }
        }
        let b = self.pop_reg();
        let a = self.pop_reg();
        let d = self.next_slot();
        self.push_result(make(Bin { d, a, b }));
    }

    /// Whether an access takes the fast path: 32-bit memory 0 and a 32-bit offset.
    fn fast_memory(&self, memarg: &wasmparser::MemArg) -> bool {
        memarg.memory == 0 && memarg.offset <= u32::MAX as u64 && !self.module.memories[0].memory64
    }

    fn load(&mut self, make: fn(Load) -> Op, kind: MemKind, memarg: wasmparser::MemArg) {
        let addr = self.pop_reg();
        let d = self.next_slot();
        if self.fast_memory(&memarg) {
            self.push_result(make(Load {
                d,
                addr,
                offset: memarg.offset as u32,
            }));
        } else {
            let i = self.mem_access(kind, memarg, addr, d);
            self.emit(Op::LoadMem(i));
            self.push(Operand::Slot);
        }
    }

    fn store(&mut self, make: fn(Store) -> Op, kind: MemKind, memarg: wasmparser::MemArg) {
        let v = self.pop_reg();
        let addr = self.pop_reg();
        if self.fast_memory(&memarg) {
            self.emit(make(Store {
                addr,
                v,
                offset: memarg.offset as u32,
            }));
        } else {
            let i = self.mem_access(kind, memarg, addr, v);
            self.emit(Op::StoreMem(i));
        }
    }

    fn mem_access(
        &mut self,
        kind: MemKind,
        memarg: wasmparser::MemArg,
        addr: Reg,
        reg: Reg,
    ) -> u32 {
        self.mem_accesses.push(MemAccess {
            kind,
            mem: memarg.memory,
            addr,
            reg,
            offset: memarg.offset,
        });
        self.mem_accesses.len() as u32 - 1
    }

    /// An op reading `pops` consecutive slots and writing `pushes` (0 or 1) at the first.
    fn canonical(&mut self, pops: u32, pushes: u32, make: impl FnOnce(Reg) -> Op) {
        let at = self.pop_canonical(pops);
        self.emit(make(at));
        for _ in 0..pushes {
            self.push(Operand::Slot);
        }
    }

    fn translate(&mut self, op: Operator<'_>, offset: usize) -> Result<()> {
        if self.dead > 0 {
            match op {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::TryTable { .. } => {
                    self.dead += 1;
                    return Ok(());
                }
                Operator::Else if self.dead == 1 => {
                    self.dead = 0;
                    return self.translate_else(true);
                }
                Operator::End if self.dead == 1 => {
                    self.dead = 0;
                    return self.translate_end(true);
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
                self.emit(Op::Unreachable);
                self.dead = 1;
            }
            O::Nop => {}
            O::Block { blockty } => self.open(CtrlKind::Block, blockty),
            O::Loop { blockty } => {
                self.open(CtrlKind::Loop, blockty);
                if self.interrupts {
                    self.emit(Op::Interrupt);
                }
            }
            O::If { blockty } => {
                // The condition is consumed before the block's stack starts.
                let fusable = self.last_is_result();
                let (cond, cond_slot) = self.pop_operand();
                let before = self.ops.len();
                self.open(CtrlKind::If, blockty);
                let fused = fusable
                    && self.ops.len() == before
                    && cond == Operand::Slot
                    && self.try_fuse_compare(cond_slot, false, u32::MAX);
                if !fused {
                    let c = self.cond_reg(cond, cond_slot);
                    self.emit(Op::BrIfEqz { c, pc: u32::MAX });
                }
                self.last_result = None;
                let at = self.ops.len() - 1;
                self.ctrl.last_mut().expect("if frame").else_fixup = Some(at);
            }
            O::TryTable { try_table } => {
                // Catch labels are relative to the block around the `try_table`.
                self.materialize_all();
                let mut catches = Vec::with_capacity(try_table.catches.len());
                for c in &try_table.catches {
                    use wasmparser::Catch;
                    let (tag, with_ref, label) = match *c {
                        Catch::One { tag, label } => (Some(tag), false, label),
                        Catch::OneRef { tag, label } => (Some(tag), true, label),
                        Catch::All { label } => (None, false, label),
                        Catch::AllRef { label } => (None, true, label),
                    };
                    let (target, forward) = self.branch_target(label);
                    let t = self.br_tables.len();
                    self.br_tables.push(target);
                    if let Some(idx) = forward {
                        self.ctrl[idx].fixups.push(Fixup::Table(t));
                    }
                    catches.push((tag, with_ref, t as u32));
                }
                self.open(CtrlKind::Block, try_table.ty);
                self.ctrl.last_mut().expect("try_table frame").catches = catches;
            }
            O::Throw { tag_index } => {
                let n =
                    crate::types::slot_count(self.module.tags[tag_index as usize].params()) as u32;
                let at = self.pop_canonical(n);
                self.emit(Op::Throw { tag: tag_index, at });
                self.dead = 1;
            }
            O::ThrowRef => {
                let r = self.pop_reg();
                self.emit(Op::ThrowRef { r });
                self.dead = 1;
            }
            O::Else => self.translate_else(false)?,
            O::End => self.translate_end(false)?,
            O::Br { relative_depth } => {
                self.emit_br(relative_depth);
                self.dead = 1;
            }
            O::BrIf { relative_depth } => self.emit_br_if(relative_depth, true),
            O::BrTable { targets } => {
                let index = self.pop_reg();
                self.materialize_all();
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
                self.emit(Op::BrTable {
                    index,
                    start,
                    len: depths.len() as u32,
                });
                self.dead = 1;
            }
            O::Return => {
                self.emit_return();
                self.dead = 1;
            }
            O::Call { function_index } => {
                let module = self.module;
                let ty = module.func_type(function_index);
                let p = crate::types::slot_count(ty.params()) as u32;
                // Only the arguments must sit in slots: the callee's frame starts there.
                let base = self.pop_canonical(p);
                self.emit(Op::Call {
                    func: function_index,
                    base,
                });
                self.push_types(ty.results());
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let (p, _) = self.type_arity(type_index);
                let index = self.pop_reg();
                let base = self.pop_canonical(p);
                let ci = self.call_indirects.len() as u32;
                self.call_indirects.push(CallIndirect {
                    type_id: self.module.type_ids[type_index as usize],
                    table: table_index,
                    index,
                    base,
                    params: p,
                });
                self.emit(Op::CallIndirect(ci));
                self.push_type_results(type_index);
            }
            O::ReturnCall { function_index } => {
                let ty = self.module.func_type(function_index);
                let p = crate::types::slot_count(ty.params()) as u32;
                let r = crate::types::slot_count(ty.results()) as u32;
                let base = self.pop_canonical(p);
                self.emit(Op::ReturnCall {
                    func: function_index,
                    base,
                    params: p,
                });
                self.emit_tail_return(base, r);
            }
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                let (p, r) = self.type_arity(type_index);
                let index = self.pop_reg();
                let base = self.pop_canonical(p);
                let ci = self.call_indirects.len() as u32;
                self.call_indirects.push(CallIndirect {
                    type_id: self.module.type_ids[type_index as usize],
                    table: table_index,
                    index,
                    base,
                    params: p,
                });
                self.emit(Op::ReturnCallIndirect(ci));
                self.emit_tail_return(base, r);
            }
            O::CallRef { type_index } => {
                let (p, _) = self.type_arity(type_index);
                let f = self.pop_reg();
                let base = self.pop_canonical(p);
                self.emit(Op::CallRef { f, base });
                self.push_type_results(type_index);
            }
            O::ReturnCallRef { type_index } => {
                let (p, r) = self.type_arity(type_index);
                let f = self.pop_reg();
                let base = self.pop_canonical(p);
                self.emit(Op::ReturnCallRef { f, base, params: p });
                self.emit_tail_return(base, r);
            }
            O::RefAsNonNull => self.unary(Op::RefAsNonNull),
            O::BrOnNull { relative_depth } => {
                // Branches without the (null) reference; otherwise the reference stays.
                let (operand, slot) = self.pop_operand();
                let c = self.cond_reg(operand, slot);
                self.materialize_all();
                self.emit_cond_branch(c, relative_depth, false);
                self.push(match operand {
                    Operand::Local(l) => Operand::Local(l),
                    _ => Operand::Slot,
                });
            }
            O::BrOnNonNull { relative_depth } => {
                // Branches with the reference as the label's last value; otherwise drops it.
                self.materialize_all();
                let c = self.slot(self.depth() - 1);
                self.emit_cond_branch(c, relative_depth, true);
                self.stack.pop();
            }
            O::Drop => {
                if self.stack.pop() == Some(Operand::Hi) {
                    self.stack.pop();
                }
                self.last_result = None;
            }
            O::Select | O::TypedSelect { .. }
                if self.stack.len() >= 2 && self.stack[self.stack.len() - 2] == Operand::Hi =>
            {
                self.simd_select();
            }
            O::Select | O::TypedSelect { .. } => {
                self.canonical(3, 1, |d| Op::Select { d });
            }
            O::LocalGet { local_index } => {
                let (slot, v128) = self.local_slot(local_index);
                self.push(Operand::Local(slot));
                if v128 {
                    self.push(Operand::Hi);
                }
                self.last_result = None;
            }
            O::LocalSet { local_index } => self.local_set(local_index, false),
            O::LocalTee { local_index } => self.local_set(local_index, true),
            O::GlobalGet { global_index }
                if self.module.globals[global_index as usize].content
                    == crate::types::ValType::V128 =>
            {
                self.simd_global_get(global_index);
            }
            O::GlobalSet { global_index }
                if self.module.globals[global_index as usize].content
                    == crate::types::ValType::V128 =>
            {
                self.simd_global_set(global_index);
            }
            O::GlobalGet { global_index } => {
                let d = self.next_slot();
                self.push_result(Op::GlobalGet { d, g: global_index });
            }
            O::GlobalSet { global_index } => {
                let s = self.pop_reg();
                self.emit(Op::GlobalSet { s, g: global_index });
            }
            O::TableGet { table } => self.canonical(1, 1, |at| Op::TableGet { at, t: table }),
            O::TableSet { table } => self.canonical(2, 0, |at| Op::TableSet { at, t: table }),
            O::TableSize { table } => {
                let d = self.next_slot();
                self.push_result(Op::TableSize { d, t: table });
            }
            O::TableGrow { table } => self.canonical(2, 1, |at| Op::TableGrow { at, t: table }),
            O::TableFill { table } => self.canonical(3, 0, |at| Op::TableFill { at, t: table }),
            O::TableCopy {
                dst_table,
                src_table,
            } => self.canonical(3, 0, |at| Op::TableCopy {
                at,
                dst: dst_table,
                src: src_table,
            }),
            O::TableInit { elem_index, table } => self.canonical(3, 0, |at| Op::TableInit {
                at,
                table,
                elem: elem_index,
            }),
            O::ElemDrop { elem_index } => self.emit(Op::ElemDrop(elem_index)),
            O::RefNull { .. } => {
                self.push(Operand::Const(0));
                self.last_result = None;
            }
            O::RefIsNull => self.unary(Op::RefIsNull),
            O::RefFunc { function_index } => {
                let d = self.next_slot();
                self.push_result(Op::RefFunc {
                    d,
                    f: function_index,
                });
            }
            O::MemorySize { mem } => {
                let d = self.next_slot();
                self.push_result(Op::MemorySize { d, m: mem });
            }
            O::MemoryGrow { mem } => self.canonical(1, 1, |at| Op::MemoryGrow { at, m: mem }),
            O::MemoryFill { mem } => self.canonical(3, 0, |at| Op::MemoryFill { at, m: mem }),
            O::MemoryCopy { dst_mem, src_mem } => self.canonical(3, 0, |at| Op::MemoryCopy {
                at,
                dst: dst_mem,
                src: src_mem,
            }),
            O::MemoryInit { data_index, mem } => self.canonical(3, 0, |at| Op::MemoryInit {
                at,
                mem,
                data: data_index,
            }),
            O::DataDrop { data_index } => self.emit(Op::DataDrop(data_index)),
            O::I32Const { value } => {
                self.push(Operand::Const(value as u32 as u64));
                self.last_result = None;
            }
            O::I64Const { value } => {
                self.push(Operand::Const(value as u64));
                self.last_result = None;
            }
            O::F32Const { value } => {
                self.push(Operand::Const(value.bits() as u64));
                self.last_result = None;
            }
            O::F64Const { value } => {
                self.push(Operand::Const(value.bits()));
                self.last_result = None;
            }
            // Reinterpretations are free: slots hold raw bits. So is zero-extending an i32,
            // which every producer already stores zero-extended.
            O::I32ReinterpretF32
            | O::F32ReinterpretI32
            | O::I64ReinterpretF64
            | O::F64ReinterpretI64
            | O::I64ExtendI32U => {}
            other => return self.translate_plain(other, offset),
        }
        Ok(())
    }

    fn translate_else(&mut self, was_dead: bool) -> Result<()> {
        if !was_dead {
            self.materialize_all();
        }
        let frame = self.ctrl.last().expect("else inside if");
        let height = frame.height;
        // The `then` arm jumps over the `else` arm.
        let at = self.ops.len();
        self.emit(Op::Br(u32::MAX));
        let pc = self.pc();
        let frame = self.ctrl.last_mut().expect("else inside if");
        frame.fixups.push(Fixup::Op(at));
        frame.kind = CtrlKind::Else;
        if let Some(f) = frame.else_fixup.take() {
            self.patch(Fixup::Op(f), pc);
        }
        self.stack.truncate(height as usize);
        let ty = self.ctrl.last().expect("else inside if").ty;
        self.push_block_values(ty, false);
        self.last_result = None;
        Ok(())
    }

    fn translate_end(&mut self, was_dead: bool) -> Result<()> {
        let kind = self.ctrl.last().expect("end closes a frame").kind;
        if kind == CtrlKind::Function {
            let frame = self.ctrl.pop().expect("function frame");
            let results = frame.results;
            if frame.fixups.is_empty() {
                if !was_dead {
                    self.emit_return();
                }
                return Ok(());
            }
            // Forward branches to the function label land on a return of the canonical
            // result slots.
            if !was_dead {
                self.materialize_all();
            }
            let pc = self.pc();
            self.emit(match results {
                0 => Op::Return0,
                1 => Op::Return1 { src: self.slot(0) },
                n => Op::ReturnN {
                    src: self.slot(0),
                    n,
                },
            });
            for f in frame.fixups {
                self.patch(f, pc);
            }
            return Ok(());
        }
        if !was_dead {
            self.materialize_all();
        }
        let frame = self.ctrl.pop().expect("end closes a frame");
        let pc = self.pc();
        for &(tag, with_ref, target) in &frame.catches {
            self.handlers.push(Handler {
                start: frame.loop_pc,
                end: pc,
                tag,
                with_ref,
                target,
            });
        }
        for f in frame.fixups.iter() {
            self.patch(*f, pc);
        }
        if let Some(f) = frame.else_fixup {
            self.patch(Fixup::Op(f), pc);
        }
        self.stack.truncate(frame.height as usize);
        self.push_block_values(frame.ty, true);
        self.last_result = None;
        Ok(())
    }

    /// Numeric, memory-access and conversion instructions.
    fn translate_plain(&mut self, op: Operator<'_>, offset: usize) -> Result<()> {
        use Operator as O;
        match op {
            O::I32Load { memarg } | O::F32Load { memarg } => {
                self.load(Op::I32Load, MemKind::I32Load, memarg)
            }
            O::I64Load { memarg } | O::F64Load { memarg } => {
                self.load(Op::I64Load, MemKind::I64Load, memarg)
            }
            O::I32Load8S { memarg } => self.load(Op::I32Load8S, MemKind::I32Load8S, memarg),
            O::I32Load8U { memarg } => self.load(Op::I32Load8U, MemKind::I32Load8U, memarg),
            O::I32Load16S { memarg } => self.load(Op::I32Load16S, MemKind::I32Load16S, memarg),
            O::I32Load16U { memarg } => self.load(Op::I32Load16U, MemKind::I32Load16U, memarg),
            O::I64Load8S { memarg } => self.load(Op::I64Load8S, MemKind::I64Load8S, memarg),
            O::I64Load8U { memarg } => self.load(Op::I64Load8U, MemKind::I64Load8U, memarg),
            O::I64Load16S { memarg } => self.load(Op::I64Load16S, MemKind::I64Load16S, memarg),
            O::I64Load16U { memarg } => self.load(Op::I64Load16U, MemKind::I64Load16U, memarg),
            O::I64Load32S { memarg } => self.load(Op::I64Load32S, MemKind::I64Load32S, memarg),
            O::I64Load32U { memarg } => self.load(Op::I64Load32U, MemKind::I64Load32U, memarg),
            O::I32Store { memarg } | O::F32Store { memarg } => {
                self.store(Op::I32Store, MemKind::I32Store, memarg)
            }
            O::I64Store { memarg } | O::F64Store { memarg } => {
                self.store(Op::I64Store, MemKind::I64Store, memarg)
            }
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(Op::I32Store8, MemKind::I32Store8, memarg)
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(Op::I32Store16, MemKind::I32Store16, memarg)
            }
            O::I64Store32 { memarg } => self.store(Op::I64Store32, MemKind::I64Store32, memarg),

            O::I32Eqz => self.unary(Op::I32Eqz),
            O::I32Clz => self.unary(Op::I32Clz),
            O::I32Ctz => self.unary(Op::I32Ctz),
            O::I32Popcnt => self.unary(Op::I32Popcnt),
            O::I64Eqz => self.unary(Op::I64Eqz),
            O::I64Clz => self.unary(Op::I64Clz),
            O::I64Ctz => self.unary(Op::I64Ctz),
            O::I64Popcnt => self.unary(Op::I64Popcnt),

            O::I32Eq => self.binary(Op::I32Eq, Some(Op::I32EqImm), true, false),
            O::I32Ne => self.binary(Op::I32Ne, Some(Op::I32NeImm), true, false),
            O::I32LtS => self.binary(Op::I32LtS, Some(Op::I32LtSImm), false, false),
            O::I32LtU => self.binary(Op::I32LtU, Some(Op::I32LtUImm), false, false),
            O::I32GtS => self.binary(Op::I32GtS, Some(Op::I32GtSImm), false, false),
            O::I32GtU => self.binary(Op::I32GtU, Some(Op::I32GtUImm), false, false),
            O::I32LeS => self.binary(Op::I32LeS, Some(Op::I32LeSImm), false, false),
            O::I32LeU => self.binary(Op::I32LeU, Some(Op::I32LeUImm), false, false),
            O::I32GeS => self.binary(Op::I32GeS, Some(Op::I32GeSImm), false, false),
            O::I32GeU => self.binary(Op::I32GeU, Some(Op::I32GeUImm), false, false),
            O::I32Add => self.binary(Op::I32Add, Some(Op::I32AddImm), true, false),
            O::I32Sub => {
                // x - c == x + (-c)
                let top = self.stack.len() - 1;
                if let Operand::Const(v) = self.stack[top] {
                    self.stack[top] = Operand::Const((v as u32).wrapping_neg() as u64);
                    self.binary(Op::I32Add, Some(Op::I32AddImm), false, false)
                } else {
                    self.binary(Op::I32Sub, None, false, false)
                }
            }
            O::I32Mul => self.binary(Op::I32Mul, Some(Op::I32MulImm), true, false),
            O::I32DivS => self.binary(Op::I32DivS, None, false, false),
            O::I32DivU => self.binary(Op::I32DivU, None, false, false),
            O::I32RemS => self.binary(Op::I32RemS, None, false, false),
            O::I32RemU => self.binary(Op::I32RemU, None, false, false),
            O::I32And => self.binary(Op::I32And, Some(Op::I32AndImm), true, false),
            O::I32Or => self.binary(Op::I32Or, Some(Op::I32OrImm), true, false),
            O::I32Xor => self.binary(Op::I32Xor, Some(Op::I32XorImm), true, false),
            O::I32Shl => self.binary(Op::I32Shl, Some(Op::I32ShlImm), false, false),
            O::I32ShrS => self.binary(Op::I32ShrS, Some(Op::I32ShrSImm), false, false),
            O::I32ShrU => self.binary(Op::I32ShrU, Some(Op::I32ShrUImm), false, false),
            O::I32Rotl => self.binary(Op::I32Rotl, Some(Op::I32RotlImm), false, false),
            O::I32Rotr => self.binary(Op::I32Rotr, Some(Op::I32RotrImm), false, false),

            O::I64Eq => self.binary(Op::I64Eq, Some(Op::I64EqImm), true, true),
            O::I64Ne => self.binary(Op::I64Ne, Some(Op::I64NeImm), true, true),
            O::I64LtS => self.binary(Op::I64LtS, Some(Op::I64LtSImm), false, true),
            O::I64LtU => self.binary(Op::I64LtU, Some(Op::I64LtUImm), false, true),
            O::I64GtS => self.binary(Op::I64GtS, Some(Op::I64GtSImm), false, true),
            O::I64GtU => self.binary(Op::I64GtU, Some(Op::I64GtUImm), false, true),
            O::I64LeS => self.binary(Op::I64LeS, Some(Op::I64LeSImm), false, true),
            O::I64LeU => self.binary(Op::I64LeU, Some(Op::I64LeUImm), false, true),
            O::I64GeS => self.binary(Op::I64GeS, Some(Op::I64GeSImm), false, true),
            O::I64GeU => self.binary(Op::I64GeU, Some(Op::I64GeUImm), false, true),
            O::I64Add => self.binary(Op::I64Add, Some(Op::I64AddImm), true, true),
            O::I64Sub => {
                let top = self.stack.len() - 1;
                match self.stack[top] {
                    Operand::Const(v) if v != i64::MIN as u64 => {
                        self.stack[top] = Operand::Const(v.wrapping_neg());
                        self.binary(Op::I64Add, Some(Op::I64AddImm), false, true)
                    }
                    _ => self.binary(Op::I64Sub, None, false, true),
                }
            }
            O::I64Mul => self.binary(Op::I64Mul, Some(Op::I64MulImm), true, true),
            O::I64DivS => self.binary(Op::I64DivS, None, false, true),
            O::I64DivU => self.binary(Op::I64DivU, None, false, true),
            O::I64RemS => self.binary(Op::I64RemS, None, false, true),
            O::I64RemU => self.binary(Op::I64RemU, None, false, true),
            O::I64And => self.binary(Op::I64And, Some(Op::I64AndImm), true, true),
            O::I64Or => self.binary(Op::I64Or, Some(Op::I64OrImm), true, true),
            O::I64Xor => self.binary(Op::I64Xor, Some(Op::I64XorImm), true, true),
            O::I64Shl => self.binary(Op::I64Shl, Some(Op::I64ShlImm), false, true),
            O::I64ShrS => self.binary(Op::I64ShrS, Some(Op::I64ShrSImm), false, true),
            O::I64ShrU => self.binary(Op::I64ShrU, Some(Op::I64ShrUImm), false, true),
            O::I64Rotl => self.binary(Op::I64Rotl, Some(Op::I64RotlImm), false, true),
            O::I64Rotr => self.binary(Op::I64Rotr, Some(Op::I64RotrImm), false, true),

            O::F32Eq => self.binary(Op::F32Eq, None, false, false),
            O::F32Ne => self.binary(Op::F32Ne, None, false, false),
            O::F32Lt => self.binary(Op::F32Lt, None, false, false),
            O::F32Gt => self.binary(Op::F32Gt, None, false, false),
            O::F32Le => self.binary(Op::F32Le, None, false, false),
            O::F32Ge => self.binary(Op::F32Ge, None, false, false),
            O::F32Abs => self.unary(Op::F32Abs),
            O::F32Neg => self.unary(Op::F32Neg),
            O::F32Ceil => self.unary(Op::F32Ceil),
            O::F32Floor => self.unary(Op::F32Floor),
            O::F32Trunc => self.unary(Op::F32Trunc),
            O::F32Nearest => self.unary(Op::F32Nearest),
            O::F32Sqrt => self.unary(Op::F32Sqrt),
            O::F32Add => self.binary(Op::F32Add, None, false, false),
            O::F32Sub => self.binary(Op::F32Sub, None, false, false),
            O::F32Mul => self.binary(Op::F32Mul, None, false, false),
            O::F32Div => self.binary(Op::F32Div, None, false, false),
            O::F32Min => self.binary(Op::F32Min, None, false, false),
            O::F32Max => self.binary(Op::F32Max, None, false, false),
            O::F32Copysign => self.binary(Op::F32Copysign, None, false, false),

            O::F64Eq => self.binary(Op::F64Eq, None, false, false),
            O::F64Ne => self.binary(Op::F64Ne, None, false, false),
            O::F64Lt => self.binary(Op::F64Lt, None, false, false),
            O::F64Gt => self.binary(Op::F64Gt, None, false, false),
            O::F64Le => self.binary(Op::F64Le, None, false, false),
            O::F64Ge => self.binary(Op::F64Ge, None, false, false),
            O::F64Abs => self.unary(Op::F64Abs),
            O::F64Neg => self.unary(Op::F64Neg),
            O::F64Ceil => self.unary(Op::F64Ceil),
            O::F64Floor => self.unary(Op::F64Floor),
            O::F64Trunc => self.unary(Op::F64Trunc),
            O::F64Nearest => self.unary(Op::F64Nearest),
            O::F64Sqrt => self.unary(Op::F64Sqrt),
            O::F64Add => self.binary(Op::F64Add, None, false, false),
            O::F64Sub => self.binary(Op::F64Sub, None, false, false),
            O::F64Mul => self.binary(Op::F64Mul, None, false, false),
            O::F64Div => self.binary(Op::F64Div, None, false, false),
            O::F64Min => self.binary(Op::F64Min, None, false, false),
            O::F64Max => self.binary(Op::F64Max, None, false, false),
            O::F64Copysign => self.binary(Op::F64Copysign, None, false, false),

            O::I32WrapI64 => self.unary(Op::I32WrapI64),
            O::I32TruncF32S => self.unary(Op::I32TruncF32S),
            O::I32TruncF32U => self.unary(Op::I32TruncF32U),
            O::I32TruncF64S => self.unary(Op::I32TruncF64S),
            O::I32TruncF64U => self.unary(Op::I32TruncF64U),
            O::I64ExtendI32S => self.unary(Op::I64ExtendI32S),
            O::I64TruncF32S => self.unary(Op::I64TruncF32S),
            O::I64TruncF32U => self.unary(Op::I64TruncF32U),
            O::I64TruncF64S => self.unary(Op::I64TruncF64S),
            O::I64TruncF64U => self.unary(Op::I64TruncF64U),
            O::F32ConvertI32S => self.unary(Op::F32ConvertI32S),
            O::F32ConvertI32U => self.unary(Op::F32ConvertI32U),
            O::F32ConvertI64S => self.unary(Op::F32ConvertI64S),
            O::F32ConvertI64U => self.unary(Op::F32ConvertI64U),
            O::F32DemoteF64 => self.unary(Op::F32DemoteF64),
            O::F64ConvertI32S => self.unary(Op::F64ConvertI32S),
            O::F64ConvertI32U => self.unary(Op::F64ConvertI32U),
            O::F64ConvertI64S => self.unary(Op::F64ConvertI64S),
            O::F64ConvertI64U => self.unary(Op::F64ConvertI64U),
            O::F64PromoteF32 => self.unary(Op::F64PromoteF32),
            O::I32Extend8S => self.unary(Op::I32Extend8S),
            O::I32Extend16S => self.unary(Op::I32Extend16S),
            O::I64Extend8S => self.unary(Op::I64Extend8S),
            O::I64Extend16S => self.unary(Op::I64Extend16S),
            O::I64Extend32S => self.unary(Op::I64Extend32S),
            O::I32TruncSatF32S => self.unary(Op::I32TruncSatF32S),
            O::I32TruncSatF32U => self.unary(Op::I32TruncSatF32U),
            O::I32TruncSatF64S => self.unary(Op::I32TruncSatF64S),
            O::I32TruncSatF64U => self.unary(Op::I32TruncSatF64U),
            O::I64TruncSatF32S => self.unary(Op::I64TruncSatF32S),
            O::I64TruncSatF32U => self.unary(Op::I64TruncSatF32U),
            O::I64TruncSatF64S => self.unary(Op::I64TruncSatF64S),
            O::I64TruncSatF64U => self.unary(Op::I64TruncSatF64U),
            other => {
                if self.translate_simd(&other) {
                    return Ok(());
                }
                return self.translate_gc(other, offset);
            }
        }
        Ok(())
    }
}

/// Sets the target of a fused compare-and-branch.
fn patch_cmp_br(op: &mut Op, pc: u32) -> bool {
    macro_rules! patch {
        ($($r:ident),*; $($i:ident),*) => {
            match op {
                $(Op::$r(CmpBr { pc: t, .. }) => *t = pc,)*
                $(Op::$i(CmpBrImm { pc: t, .. }) => *t = pc,)*
                _ => return false,
            }
        };
    }
    patch!(
        BrI32Eq, BrI32Ne, BrI32LtS, BrI32LtU, BrI32GtS, BrI32GtU, BrI32LeS, BrI32LeU, BrI32GeS,
        BrI32GeU;
        BrI32EqImm, BrI32NeImm, BrI32LtSImm, BrI32LtUImm, BrI32GtSImm, BrI32GtUImm,
        BrI32LeSImm, BrI32LeUImm, BrI32GeSImm, BrI32GeUImm
    );
    true
}
