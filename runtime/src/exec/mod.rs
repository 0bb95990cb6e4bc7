//! The interpreter: frames and the value stack live on the heap (never the Rust stack), so
//! guest recursion is bounded by limits, and a running guest can be suspended at a host call
//! and resumed. [`run`] executes until the outermost frame returns or a host function must be
//! called; the generic driver in `store::func` performs host calls and resumes.

mod numeric;

use crate::error::{Error, TrapCode};
use crate::ir::{BranchTarget, CompiledFunc, Op};
use crate::store::{FuncEntity, StoreInner};
use numeric::*;
use std::sync::Arc;

/// One activation of a wasm function.
pub(crate) struct Frame {
    pub code: Arc<CompiledFunc>,
    /// Next instruction (saved while a callee runs).
    pub pc: u32,
    /// Slot index of local 0.
    pub base: u32,
    /// Store index of the instance the function belongs to.
    pub instance: u32,
}

/// A value stack plus call stack; one per active entry from the host.
#[derive(Default)]
pub(crate) struct Stack {
    pub slots: Vec<u64>,
    pub frames: Vec<Frame>,
    /// Stack pointer: the first free slot.
    pub sp: usize,
}

/// Why [`run`] stopped.
pub(crate) enum Exit {
    /// The outermost frame returned; its results are at `slots[..n]`.
    Returned,
    /// A host function must be called with the top `params` slots as arguments.
    HostCall { func: u32 },
}

/// Pushes a frame for wasm function `func` (store index) whose arguments are on top of the
/// stack. Checks the stack and depth limits.
pub(crate) fn push_frame(
    store: &StoreInner,
    stack: &mut Stack,
    code: Arc<CompiledFunc>,
    instance: u32,
) -> Result<(), TrapCode> {
    let config = store.engine.config();
    if stack.frames.len() >= config.max_call_depth {
        return Err(TrapCode::StackOverflow);
    }
    let base = stack.sp - code.num_params as usize;
    let needed = base + code.max_height as usize;
    if needed > stack.slots.len() {
        if needed > config.max_stack_slots {
            return Err(TrapCode::StackOverflow);
        }
        let new_len = needed
            .max(stack.slots.len() * 2)
            .min(config.max_stack_slots)
            .max(1024);
        stack.slots.resize(new_len, 0);
    }
    let locals = code.num_locals as usize;
    stack.slots[stack.sp..stack.sp + locals].fill(0);
    stack.sp += locals;
    stack.frames.push(Frame {
        code,
        pc: 0,
        base: base as u32,
        instance,
    });
    Ok(())
}

#[inline(always)]
fn f32_of(v: u64) -> f32 {
    f32::from_bits(v as u32)
}
#[inline(always)]
fn f64_of(v: u64) -> f64 {
    f64::from_bits(v)
}
#[inline(always)]
fn of_f32(v: f32) -> u64 {
    v.to_bits() as u64
}
#[inline(always)]
fn of_f64(v: f64) -> u64 {
    v.to_bits()
}
/// Rounding results: a NaN input must come out as a quiet (arithmetic) NaN.
#[inline(always)]
fn quiet32(v: f32) -> u64 {
    let bits = v.to_bits();
    (if v.is_nan() { bits | 0x0040_0000 } else { bits }) as u64
}
#[inline(always)]
fn quiet64(v: f64) -> u64 {
    let bits = v.to_bits();
    if v.is_nan() {
        bits | 0x0008_0000_0000_0000
    } else {
        bits
    }
}
#[inline(always)]
fn of_bool(b: bool) -> u64 {
    b as u64
}

/// Effective address of an access of `len` bytes, or a trap.
#[inline(always)]
fn ea(mem_len: usize, addr: u64, offset: u32, len: usize) -> Result<usize, TrapCode> {
    let start = (addr as u32 as u64) + offset as u64;
    let end = start + len as u64;
    if end > mem_len as u64 {
        Err(TrapCode::MemoryOutOfBounds)
    } else {
        Ok(start as usize)
    }
}

/// Runs the frames on `stack` from the innermost one, until the frame that was innermost at
/// entry (depth `entry_depth`) returns or a host call is needed.
pub(crate) fn run(
    store: &mut StoreInner,
    stack: &mut Stack,
    entry_depth: usize,
) -> Result<Exit, Error> {
    'frames: loop {
        let frame = stack.frames.last().expect("a frame to run");
        let code = frame.code.clone();
        let ops: &[Op] = &code.ops;
        let mut pc = frame.pc as usize;
        let base = frame.base as usize;
        let inst = frame.instance as usize;
        let mem0 = store.instances[inst]
            .memories
            .first()
            .map_or(usize::MAX, |m| *m as usize);
        let mut sp = stack.sp;
        let s: &mut [u64] = &mut stack.slots;

        macro_rules! un {
            (|$a:ident| $e:expr) => {{
                let $a = s[sp - 1];
                s[sp - 1] = $e;
            }};
        }
        macro_rules! bin {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = s[sp - 1];
                let $a = s[sp - 2];
                s[sp - 2] = $e;
                sp -= 1;
            }};
        }
        macro_rules! trap_with_state {
            ($code:expr) => {{
                if let Some(f) = stack.frames.last_mut() {
                    f.pc = pc as u32;
                }
                stack.sp = sp;
                return Err(Error::from($code));
            }};
        }
        macro_rules! tri {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(code) => trap_with_state!(code),
                }
            };
        }
        macro_rules! load {
            ($off:expr, $n:expr, |$b:ident| $conv:expr) => {{
                let mem = &store.memories[mem0].data;
                let at = tri!(ea(mem.len(), s[sp - 1], $off, $n));
                let $b: [u8; $n] = mem[at..at + $n].try_into().expect("length checked");
                s[sp - 1] = $conv;
            }};
        }
        macro_rules! store {
            ($off:expr, $n:expr, |$v:ident| $bytes:expr) => {{
                let $v = s[sp - 1];
                let addr = s[sp - 2];
                sp -= 2;
                let mem = &mut store.memories[mem0].data;
                let at = tri!(ea(mem.len(), addr, $off, $n));
                mem[at..at + $n].copy_from_slice(&$bytes);
            }};
        }
        macro_rules! branch {
            ($t:expr) => {{
                let t: BranchTarget = $t;
                let keep = t.keep as usize;
                let drop = t.drop as usize;
                if drop > 0 {
                    s.copy_within(sp - keep..sp, sp - keep - drop);
                    sp -= drop;
                }
                pc = t.pc as usize;
            }};
        }

        loop {
            let op = ops[pc];
            pc += 1;
            match op {
                Op::Unreachable => trap_with_state!(TrapCode::Unreachable),
                Op::Br(t) => pc = t as usize,
                Op::BrDrop(t) => branch!(t),
                Op::BrIfNez(t) => {
                    sp -= 1;
                    if s[sp] as u32 != 0 {
                        pc = t as usize;
                    }
                }
                Op::BrIfNezDrop(t) => {
                    sp -= 1;
                    if s[sp] as u32 != 0 {
                        branch!(t);
                    }
                }
                Op::BrIfEqz(t) => {
                    sp -= 1;
                    if s[sp] as u32 == 0 {
                        pc = t as usize;
                    }
                }
                Op::BrTable { start, len } => {
                    sp -= 1;
                    let i = (s[sp] as u32).min(len - 1);
                    branch!(code.br_tables[(start + i) as usize]);
                }
                Op::Return => {
                    let n = code.num_results as usize;
                    s.copy_within(sp - n..sp, base);
                    stack.sp = base + n;
                    stack.frames.pop();
                    if stack.frames.len() == entry_depth {
                        return Ok(Exit::Returned);
                    }
                    continue 'frames;
                }
                Op::Call(index) => {
                    let func = store.instances[inst].funcs[index as usize];
                    stack.frames.last_mut().expect("current frame").pc = pc as u32;
                    stack.sp = sp;
                    call(store, stack, func)?;
                    match store.funcs[func as usize] {
                        FuncEntity::Host { .. } => return Ok(Exit::HostCall { func }),
                        FuncEntity::Wasm { .. } => continue 'frames,
                    }
                }
                Op::CallIndirect { type_id, table } => {
                    let i = s[sp - 1] as u32;
                    sp -= 1;
                    let t = store.instances[inst].tables[table as usize] as usize;
                    let elems = &store.tables[t].elems;
                    let Some(&r) = elems.get(i as usize) else {
                        trap_with_state!(TrapCode::UndefinedElement)
                    };
                    if r == 0 {
                        trap_with_state!(TrapCode::UninitializedElement)
                    }
                    let func = (r - 1) as u32;
                    if store.funcs[func as usize].type_id() != type_id {
                        trap_with_state!(TrapCode::BadSignature)
                    }
                    stack.frames.last_mut().expect("current frame").pc = pc as u32;
                    stack.sp = sp;
                    call(store, stack, func)?;
                    match store.funcs[func as usize] {
                        FuncEntity::Host { .. } => return Ok(Exit::HostCall { func }),
                        FuncEntity::Wasm { .. } => continue 'frames,
                    }
                }
                Op::Interrupt => {
                    if let Err(code) = store.check_interrupt() {
                        trap_with_state!(code)
                    }
                }
                Op::Drop => sp -= 1,
                Op::Select => {
                    let c = s[sp - 1] as u32;
                    sp -= 2;
                    if c == 0 {
                        s[sp - 1] = s[sp];
                    }
                }
                Op::LocalGet(i) => {
                    s[sp] = s[base + i as usize];
                    sp += 1;
                }
                Op::LocalSet(i) => {
                    sp -= 1;
                    s[base + i as usize] = s[sp];
                }
                Op::LocalTee(i) => s[base + i as usize] = s[sp - 1],
                Op::GlobalGet(i) => {
                    let g = store.instances[inst].globals[i as usize] as usize;
                    s[sp] = store.globals[g].value;
                    sp += 1;
                }
                Op::GlobalSet(i) => {
                    let g = store.instances[inst].globals[i as usize] as usize;
                    sp -= 1;
                    store.globals[g].value = s[sp];
                }
                Op::TableGet(t) => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let i = s[sp - 1] as u32 as usize;
                    match store.tables[t].elems.get(i) {
                        Some(v) => s[sp - 1] = *v,
                        None => trap_with_state!(TrapCode::TableOutOfBounds),
                    }
                }
                Op::TableSet(t) => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let v = s[sp - 1];
                    let i = s[sp - 2] as u32 as usize;
                    sp -= 2;
                    match store.tables[t].elems.get_mut(i) {
                        Some(slot) => *slot = v,
                        None => trap_with_state!(TrapCode::TableOutOfBounds),
                    }
                }
                Op::TableSize(t) => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    s[sp] = store.tables[t].elems.len() as u64;
                    sp += 1;
                }
                Op::TableGrow(t) => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let delta = s[sp - 1] as u32;
                    let init = s[sp - 2];
                    sp -= 1;
                    s[sp - 1] = match store.grow_table(t, delta as u64, init) {
                        Some(old) => old as u32 as u64,
                        None => u32::MAX as u64,
                    };
                }
                Op::TableFill(t) => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let n = s[sp - 1] as u32 as usize;
                    let v = s[sp - 2];
                    let i = s[sp - 3] as u32 as usize;
                    sp -= 3;
                    let elems = &mut store.tables[t].elems;
                    match i.checked_add(n).filter(|end| *end <= elems.len()) {
                        Some(end) => elems[i..end].fill(v),
                        None => trap_with_state!(TrapCode::TableOutOfBounds),
                    }
                }
                Op::TableCopy { dst, src } => {
                    let d = store.instances[inst].tables[dst as usize] as usize;
                    let sr = store.instances[inst].tables[src as usize] as usize;
                    let n = s[sp - 1] as u32 as usize;
                    let si = s[sp - 2] as u32 as usize;
                    let di = s[sp - 3] as u32 as usize;
                    sp -= 3;
                    tri!(store.copy_table(d, di, sr, si, n));
                }
                Op::TableInit { table, elem } => {
                    let t = store.instances[inst].tables[table as usize] as usize;
                    let n = s[sp - 1] as u32 as usize;
                    let si = s[sp - 2] as u32 as usize;
                    let di = s[sp - 3] as u32 as usize;
                    sp -= 3;
                    tri!(store.init_table(inst, t, elem as usize, di, si, n));
                }
                Op::ElemDrop(e) => {
                    store.instances[inst].elems[e as usize] = Arc::from([]);
                }
                Op::RefNull => {
                    s[sp] = 0;
                    sp += 1;
                }
                Op::RefIsNull => un!(|a| of_bool(a == 0)),
                Op::RefFunc(f) => {
                    s[sp] = store.instances[inst].funcs[f as usize] as u64 + 1;
                    sp += 1;
                }

                Op::I32Load(o) => load!(o, 4, |b| u32::from_le_bytes(b) as u64),
                Op::I64Load(o) => load!(o, 8, |b| u64::from_le_bytes(b)),
                Op::F32Load(o) => load!(o, 4, |b| u32::from_le_bytes(b) as u64),
                Op::F64Load(o) => load!(o, 8, |b| u64::from_le_bytes(b)),
                Op::I32Load8S(o) => load!(o, 1, |b| b[0] as i8 as i32 as u32 as u64),
                Op::I32Load8U(o) => load!(o, 1, |b| b[0] as u64),
                Op::I32Load16S(o) => {
                    load!(o, 2, |b| i16::from_le_bytes(b) as i32 as u32 as u64)
                }
                Op::I32Load16U(o) => load!(o, 2, |b| u16::from_le_bytes(b) as u64),
                Op::I64Load8S(o) => load!(o, 1, |b| b[0] as i8 as i64 as u64),
                Op::I64Load8U(o) => load!(o, 1, |b| b[0] as u64),
                Op::I64Load16S(o) => load!(o, 2, |b| i16::from_le_bytes(b) as i64 as u64),
                Op::I64Load16U(o) => load!(o, 2, |b| u16::from_le_bytes(b) as u64),
                Op::I64Load32S(o) => load!(o, 4, |b| i32::from_le_bytes(b) as i64 as u64),
                Op::I64Load32U(o) => load!(o, 4, |b| u32::from_le_bytes(b) as u64),
                Op::I32Store(o) | Op::F32Store(o) => {
                    store!(o, 4, |v| (v as u32).to_le_bytes())
                }
                Op::I64Store(o) | Op::F64Store(o) => store!(o, 8, |v| v.to_le_bytes()),
                Op::I32Store8(o) | Op::I64Store8(o) => store!(o, 1, |v| [v as u8]),
                Op::I32Store16(o) | Op::I64Store16(o) => {
                    store!(o, 2, |v| (v as u16).to_le_bytes())
                }
                Op::I64Store32(o) => store!(o, 4, |v| (v as u32).to_le_bytes()),
                Op::MemorySize(m) => {
                    let m = store.instances[inst].memories[m as usize] as usize;
                    s[sp] = store.memories[m].pages();
                    sp += 1;
                }
                Op::MemoryGrow(m) => {
                    let m = store.instances[inst].memories[m as usize] as usize;
                    let delta = s[sp - 1] as u32 as u64;
                    s[sp - 1] = match store.grow_memory(m, delta) {
                        Some(old) => old as u32 as u64,
                        None => u32::MAX as u64,
                    };
                }
                Op::MemoryFill(m) => {
                    let m = store.instances[inst].memories[m as usize] as usize;
                    let n = s[sp - 1] as u32 as usize;
                    let v = s[sp - 2] as u8;
                    let d = s[sp - 3] as u32 as usize;
                    sp -= 3;
                    let mem = &mut store.memories[m].data;
                    match d.checked_add(n).filter(|end| *end <= mem.len()) {
                        Some(end) => mem[d..end].fill(v),
                        None => trap_with_state!(TrapCode::MemoryOutOfBounds),
                    }
                }
                Op::MemoryCopy { dst, src } => {
                    let dm = store.instances[inst].memories[dst as usize] as usize;
                    let sm = store.instances[inst].memories[src as usize] as usize;
                    let n = s[sp - 1] as u32 as usize;
                    let si = s[sp - 2] as u32 as usize;
                    let di = s[sp - 3] as u32 as usize;
                    sp -= 3;
                    tri!(store.copy_memory(dm, di, sm, si, n));
                }
                Op::MemoryInit { mem, data } => {
                    let m = store.instances[inst].memories[mem as usize] as usize;
                    let n = s[sp - 1] as u32 as usize;
                    let si = s[sp - 2] as u32 as usize;
                    let di = s[sp - 3] as u32 as usize;
                    sp -= 3;
                    tri!(store.init_memory(inst, m, data as usize, di, si, n));
                }
                Op::DataDrop(d) => store.instances[inst].datas_dropped[d as usize] = true,

                Op::Const32(v) => {
                    s[sp] = v as u64;
                    sp += 1;
                }
                Op::Const64(v) => {
                    s[sp] = v;
                    sp += 1;
                }

                Op::I32Eqz => un!(|a| of_bool(a as u32 == 0)),
                Op::I32Eq => bin!(|a, b| of_bool(a as u32 == b as u32)),
                Op::I32Ne => bin!(|a, b| of_bool(a as u32 != b as u32)),
                Op::I32LtS => bin!(|a, b| of_bool((a as i32) < b as i32)),
                Op::I32LtU => bin!(|a, b| of_bool((a as u32) < b as u32)),
                Op::I32GtS => bin!(|a, b| of_bool(a as i32 > b as i32)),
                Op::I32GtU => bin!(|a, b| of_bool(a as u32 > b as u32)),
                Op::I32LeS => bin!(|a, b| of_bool(a as i32 <= b as i32)),
                Op::I32LeU => bin!(|a, b| of_bool(a as u32 <= b as u32)),
                Op::I32GeS => bin!(|a, b| of_bool(a as i32 >= b as i32)),
                Op::I32GeU => bin!(|a, b| of_bool(a as u32 >= b as u32)),
                Op::I32Clz => un!(|a| (a as u32).leading_zeros() as u64),
                Op::I32Ctz => un!(|a| (a as u32).trailing_zeros() as u64),
                Op::I32Popcnt => un!(|a| (a as u32).count_ones() as u64),
                Op::I32Add => bin!(|a, b| (a as u32).wrapping_add(b as u32) as u64),
                Op::I32Sub => bin!(|a, b| (a as u32).wrapping_sub(b as u32) as u64),
                Op::I32Mul => bin!(|a, b| (a as u32).wrapping_mul(b as u32) as u64),
                Op::I32DivS => {
                    let (a, b) = (s[sp - 2] as i32, s[sp - 1] as i32);
                    if b == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    if a == i32::MIN && b == -1 {
                        trap_with_state!(TrapCode::IntegerOverflow)
                    }
                    bin!(|_x, _y| (a / b) as u32 as u64)
                }
                Op::I32DivU => {
                    if s[sp - 1] as u32 == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    bin!(|a, b| ((a as u32) / (b as u32)) as u64)
                }
                Op::I32RemS => {
                    if s[sp - 1] as u32 == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    bin!(|a, b| (a as i32).wrapping_rem(b as i32) as u32 as u64)
                }
                Op::I32RemU => {
                    if s[sp - 1] as u32 == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    bin!(|a, b| ((a as u32) % (b as u32)) as u64)
                }
                Op::I32And => bin!(|a, b| (a as u32 & b as u32) as u64),
                Op::I32Or => bin!(|a, b| (a as u32 | b as u32) as u64),
                Op::I32Xor => bin!(|a, b| (a as u32 ^ b as u32) as u64),
                Op::I32Shl => bin!(|a, b| (a as u32).wrapping_shl(b as u32) as u64),
                Op::I32ShrS => bin!(|a, b| (a as i32).wrapping_shr(b as u32) as u32 as u64),
                Op::I32ShrU => bin!(|a, b| (a as u32).wrapping_shr(b as u32) as u64),
                Op::I32Rotl => bin!(|a, b| (a as u32).rotate_left(b as u32 % 32) as u64),
                Op::I32Rotr => bin!(|a, b| (a as u32).rotate_right(b as u32 % 32) as u64),

                Op::I64Eqz => un!(|a| of_bool(a == 0)),
                Op::I64Eq => bin!(|a, b| of_bool(a == b)),
                Op::I64Ne => bin!(|a, b| of_bool(a != b)),
                Op::I64LtS => bin!(|a, b| of_bool((a as i64) < b as i64)),
                Op::I64LtU => bin!(|a, b| of_bool(a < b)),
                Op::I64GtS => bin!(|a, b| of_bool(a as i64 > b as i64)),
                Op::I64GtU => bin!(|a, b| of_bool(a > b)),
                Op::I64LeS => bin!(|a, b| of_bool(a as i64 <= b as i64)),
                Op::I64LeU => bin!(|a, b| of_bool(a <= b)),
                Op::I64GeS => bin!(|a, b| of_bool(a as i64 >= b as i64)),
                Op::I64GeU => bin!(|a, b| of_bool(a >= b)),
                Op::I64Clz => un!(|a| a.leading_zeros() as u64),
                Op::I64Ctz => un!(|a| a.trailing_zeros() as u64),
                Op::I64Popcnt => un!(|a| a.count_ones() as u64),
                Op::I64Add => bin!(|a, b| a.wrapping_add(b)),
                Op::I64Sub => bin!(|a, b| a.wrapping_sub(b)),
                Op::I64Mul => bin!(|a, b| a.wrapping_mul(b)),
                Op::I64DivS => {
                    let (a, b) = (s[sp - 2] as i64, s[sp - 1] as i64);
                    if b == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    if a == i64::MIN && b == -1 {
                        trap_with_state!(TrapCode::IntegerOverflow)
                    }
                    bin!(|_x, _y| (a / b) as u64)
                }
                Op::I64DivU => {
                    if s[sp - 1] == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    bin!(|a, b| a / b)
                }
                Op::I64RemS => {
                    if s[sp - 1] == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    bin!(|a, b| (a as i64).wrapping_rem(b as i64) as u64)
                }
                Op::I64RemU => {
                    if s[sp - 1] == 0 {
                        trap_with_state!(TrapCode::IntegerDivisionByZero)
                    }
                    bin!(|a, b| a % b)
                }
                Op::I64And => bin!(|a, b| a & b),
                Op::I64Or => bin!(|a, b| a | b),
                Op::I64Xor => bin!(|a, b| a ^ b),
                Op::I64Shl => bin!(|a, b| a.wrapping_shl(b as u32)),
                Op::I64ShrS => bin!(|a, b| (a as i64).wrapping_shr(b as u32) as u64),
                Op::I64ShrU => bin!(|a, b| a.wrapping_shr(b as u32)),
                Op::I64Rotl => bin!(|a, b| a.rotate_left((b % 64) as u32)),
                Op::I64Rotr => bin!(|a, b| a.rotate_right((b % 64) as u32)),

                Op::F32Eq => bin!(|a, b| of_bool(f32_of(a) == f32_of(b))),
                Op::F32Ne => bin!(|a, b| of_bool(f32_of(a) != f32_of(b))),
                Op::F32Lt => bin!(|a, b| of_bool(f32_of(a) < f32_of(b))),
                Op::F32Gt => bin!(|a, b| of_bool(f32_of(a) > f32_of(b))),
                Op::F32Le => bin!(|a, b| of_bool(f32_of(a) <= f32_of(b))),
                Op::F32Ge => bin!(|a, b| of_bool(f32_of(a) >= f32_of(b))),
                Op::F32Abs => un!(|a| a & 0x7fff_ffff),
                Op::F32Neg => un!(|a| (a as u32 ^ 0x8000_0000) as u64),
                Op::F32Ceil => un!(|a| quiet32(f32_of(a).ceil())),
                Op::F32Floor => un!(|a| quiet32(f32_of(a).floor())),
                Op::F32Trunc => un!(|a| quiet32(f32_of(a).trunc())),
                Op::F32Nearest => un!(|a| quiet32(f32_of(a).round_ties_even())),
                Op::F32Sqrt => un!(|a| of_f32(f32_of(a).sqrt())),
                Op::F32Add => bin!(|a, b| of_f32(f32_of(a) + f32_of(b))),
                Op::F32Sub => bin!(|a, b| of_f32(f32_of(a) - f32_of(b))),
                Op::F32Mul => bin!(|a, b| of_f32(f32_of(a) * f32_of(b))),
                Op::F32Div => bin!(|a, b| of_f32(f32_of(a) / f32_of(b))),
                Op::F32Min => bin!(|a, b| of_f32(f32_min(f32_of(a), f32_of(b)))),
                Op::F32Max => bin!(|a, b| of_f32(f32_max(f32_of(a), f32_of(b)))),
                Op::F32Copysign => {
                    bin!(|a, b| ((a as u32 & 0x7fff_ffff) | (b as u32 & 0x8000_0000)) as u64)
                }

                Op::F64Eq => bin!(|a, b| of_bool(f64_of(a) == f64_of(b))),
                Op::F64Ne => bin!(|a, b| of_bool(f64_of(a) != f64_of(b))),
                Op::F64Lt => bin!(|a, b| of_bool(f64_of(a) < f64_of(b))),
                Op::F64Gt => bin!(|a, b| of_bool(f64_of(a) > f64_of(b))),
                Op::F64Le => bin!(|a, b| of_bool(f64_of(a) <= f64_of(b))),
                Op::F64Ge => bin!(|a, b| of_bool(f64_of(a) >= f64_of(b))),
                Op::F64Abs => un!(|a| a & 0x7fff_ffff_ffff_ffff),
                Op::F64Neg => un!(|a| a ^ 0x8000_0000_0000_0000),
                Op::F64Ceil => un!(|a| quiet64(f64_of(a).ceil())),
                Op::F64Floor => un!(|a| quiet64(f64_of(a).floor())),
                Op::F64Trunc => un!(|a| quiet64(f64_of(a).trunc())),
                Op::F64Nearest => un!(|a| quiet64(f64_of(a).round_ties_even())),
                Op::F64Sqrt => un!(|a| of_f64(f64_of(a).sqrt())),
                Op::F64Add => bin!(|a, b| of_f64(f64_of(a) + f64_of(b))),
                Op::F64Sub => bin!(|a, b| of_f64(f64_of(a) - f64_of(b))),
                Op::F64Mul => bin!(|a, b| of_f64(f64_of(a) * f64_of(b))),
                Op::F64Div => bin!(|a, b| of_f64(f64_of(a) / f64_of(b))),
                Op::F64Min => bin!(|a, b| of_f64(f64_min(f64_of(a), f64_of(b)))),
                Op::F64Max => bin!(|a, b| of_f64(f64_max(f64_of(a), f64_of(b)))),
                Op::F64Copysign => bin!(|a, b| (a & !(1 << 63)) | (b & (1 << 63))),

                Op::I32WrapI64 => un!(|a| a as u32 as u64),
                Op::I32TruncF32S => s[sp - 1] = tri!(i32_trunc_s(f32_of(s[sp - 1]) as f64)),
                Op::I32TruncF32U => s[sp - 1] = tri!(i32_trunc_u(f32_of(s[sp - 1]) as f64)),
                Op::I32TruncF64S => s[sp - 1] = tri!(i32_trunc_s(f64_of(s[sp - 1]))),
                Op::I32TruncF64U => s[sp - 1] = tri!(i32_trunc_u(f64_of(s[sp - 1]))),
                Op::I64ExtendI32S => un!(|a| a as i32 as i64 as u64),
                Op::I64ExtendI32U => un!(|a| a as u32 as u64),
                Op::I64TruncF32S => s[sp - 1] = tri!(i64_trunc_s(f32_of(s[sp - 1]) as f64)),
                Op::I64TruncF32U => s[sp - 1] = tri!(i64_trunc_u(f32_of(s[sp - 1]) as f64)),
                Op::I64TruncF64S => s[sp - 1] = tri!(i64_trunc_s(f64_of(s[sp - 1]))),
                Op::I64TruncF64U => s[sp - 1] = tri!(i64_trunc_u(f64_of(s[sp - 1]))),
                Op::F32ConvertI32S => un!(|a| of_f32(a as i32 as f32)),
                Op::F32ConvertI32U => un!(|a| of_f32(a as u32 as f32)),
                Op::F32ConvertI64S => un!(|a| of_f32(a as i64 as f32)),
                Op::F32ConvertI64U => un!(|a| of_f32(a as f32)),
                Op::F32DemoteF64 => un!(|a| of_f32(f64_of(a) as f32)),
                Op::F64ConvertI32S => un!(|a| of_f64(a as i32 as f64)),
                Op::F64ConvertI32U => un!(|a| of_f64(a as u32 as f64)),
                Op::F64ConvertI64S => un!(|a| of_f64(a as i64 as f64)),
                Op::F64ConvertI64U => un!(|a| of_f64(a as f64)),
                Op::F64PromoteF32 => un!(|a| of_f64(f32_of(a) as f64)),
                Op::I32Extend8S => un!(|a| a as i8 as i32 as u32 as u64),
                Op::I32Extend16S => un!(|a| a as i16 as i32 as u32 as u64),
                Op::I64Extend8S => un!(|a| a as i8 as i64 as u64),
                Op::I64Extend16S => un!(|a| a as i16 as i64 as u64),
                Op::I64Extend32S => un!(|a| a as i32 as i64 as u64),
                // `as` saturates and maps NaN to 0: exactly the `trunc_sat` semantics.
                Op::I32TruncSatF32S => un!(|a| f32_of(a) as i32 as u32 as u64),
                Op::I32TruncSatF32U => un!(|a| f32_of(a) as u32 as u64),
                Op::I32TruncSatF64S => un!(|a| f64_of(a) as i32 as u32 as u64),
                Op::I32TruncSatF64U => un!(|a| f64_of(a) as u32 as u64),
                Op::I64TruncSatF32S => un!(|a| f32_of(a) as i64 as u64),
                Op::I64TruncSatF32U => un!(|a| f32_of(a) as u64),
                Op::I64TruncSatF64S => un!(|a| f64_of(a) as i64 as u64),
                Op::I64TruncSatF64U => un!(|a| f64_of(a) as u64),
            }
        }
    }
}

/// Starts a call of store function `func` whose arguments are on top of `stack`: pushes a
/// frame for a wasm function; a host function is left for the driver.
pub(crate) fn call(store: &StoreInner, stack: &mut Stack, func: u32) -> Result<(), Error> {
    match &store.funcs[func as usize] {
        FuncEntity::Wasm {
            instance, index, ..
        } => {
            let module = &store.instances[*instance as usize].module;
            let code = module.compiled_func(index - module.num_imported_funcs)?;
            Ok(push_frame(store, stack, code, *instance)?)
        }
        FuncEntity::Host { .. } => Ok(()),
    }
}
