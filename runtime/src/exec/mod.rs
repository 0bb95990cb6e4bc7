//! The interpreter: frames and the value stack live on the heap (never the Rust stack), so
//! guest recursion is bounded by limits, and a running guest can be suspended at a host call
//! and resumed. [`run`] executes until the outermost frame returns or a host function must be
//! called; the generic driver in `store::func` performs host calls and resumes.

pub(crate) mod gc;
mod numeric;
mod simd;

use crate::error::{Error, TrapCode};
use crate::ir::{BranchTarget, CompiledFunc, MemAccess, MemKind, Op};
use crate::store::{FuncEntity, StoreInner};
use numeric::*;
use std::sync::Arc;

/// A borrowed translated body. Bodies live in their module's `OnceLock`s, which are never
/// cleared, and the module is kept alive by its instance, which lives as long as the store;
/// frames never outlive a call into the store. So the pointer stays valid while a frame
/// exists, without reference counting on every call (measured: fib(30) ~10% faster than
/// an `Arc` per frame).
#[derive(Clone, Copy)]
pub(crate) struct CodeRef(std::ptr::NonNull<CompiledFunc>);

// SAFETY: `CompiledFunc` is immutable once built and `Sync`; the pointer is only a borrow.
unsafe impl Send for CodeRef {}
// SAFETY: as above.
unsafe impl Sync for CodeRef {}

impl CodeRef {
    pub(crate) fn new(code: &CompiledFunc) -> Self {
        CodeRef(std::ptr::NonNull::from(code))
    }
    /// The body.
    pub(crate) fn get<'a>(self) -> &'a CompiledFunc {
        // SAFETY: see the type's documentation: the body outlives every frame.
        unsafe { self.0.as_ref() }
    }
}

/// One activation of a wasm function.
pub(crate) struct Frame {
    pub code: CodeRef,
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
    /// Where the arguments of the call being made start (the callee frame's base, or a host
    /// function's argument and result slots).
    pub sp: usize,
}

/// Why [`run`] stopped.
pub(crate) enum Exit {
    /// The outermost frame returned; its results are at `slots[..n]`.
    Returned,
    /// A host function must be called with the top `params` slots as arguments.
    HostCall { func: u32 },
    /// Exception `exn` (store index) was thrown; the innermost frame's `pc` is just past the
    /// throwing op. The driver looks for its handler with [`catch`].
    Throw(u32),
}

/// Finds the handler of exception `exn` thrown at the innermost frame's `pc - 1`: unwinds
/// frames (down to `entry_depth`) until one has a matching `try_table` clause covering its
/// pc, writes the payload (and the exception reference) to the clause's label slots and
/// sets that frame to resume at the label. False if no frame above `entry_depth` catches it.
/// Kept out of the run loop so no hot op pays for exception handling.
pub(crate) fn catch(store: &StoreInner, stack: &mut Stack, exn: u32, entry_depth: usize) -> bool {
    let e = &store.exns[exn as usize];
    while stack.frames.len() > entry_depth {
        let f = stack
            .frames
            .last_mut()
            .expect("a frame above the entry depth");
        let code = f.code.get();
        // Every frame's pc is just past the op that threw or made the call.
        let pc = f.pc.wrapping_sub(1);
        let tags = &store.instances[f.instance as usize].tags;
        let found = code.handlers.iter().find(|h| {
            h.start <= pc && pc < h.end && h.tag.is_none_or(|t| tags[t as usize] == e.tag)
        });
        if let Some(h) = found {
            let t = code.br_tables[h.target as usize];
            let at = f.base as usize + t.dst as usize;
            let mut n = 0;
            if h.tag.is_some() {
                n = e.payload.len();
                stack.slots[at..at + n].copy_from_slice(&e.payload);
            }
            if h.with_ref {
                stack.slots[at + n] = exn as u64 + 1;
            }
            f.pc = t.pc;
            return true;
        }
        stack.frames.pop();
    }
    false
}

/// Pushes a frame for wasm function `func` (store index) whose arguments are on top of the
/// stack. Checks the stack and depth limits.
#[inline(always)]
pub(crate) fn push_frame(
    store: &StoreInner,
    stack: &mut Stack,
    code: &CompiledFunc,
    instance: u32,
) -> Result<(), TrapCode> {
    if stack.frames.len() >= store.max_call_depth {
        return Err(TrapCode::StackOverflow);
    }
    // The arguments are at `stack.sp..`: the callee's frame starts there.
    let base = stack.sp;
    let needed = base + code.max_height as usize;
    if needed > stack.slots.len() {
        if needed > store.max_stack_slots {
            return Err(TrapCode::StackOverflow);
        }
        let new_len = needed
            .max(stack.slots.len() * 2)
            .min(store.max_stack_slots)
            .max(1024);
        stack.slots.resize(new_len, 0);
    }
    let first_local = base + code.num_params as usize;
    for slot in &mut stack.slots[first_local..first_local + code.num_locals as usize] {
        *slot = 0;
    }
    stack.frames.push(Frame {
        code: CodeRef::new(code),
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

/// The start of an access of `n` bytes at `addr + offset` (full 64-bit: an i32 address is
/// stored zero-extended), or a trap. The slow path for other memories and memory64.
fn mem_range(len: usize, addr: u64, offset: u64, n: usize) -> Result<usize, TrapCode> {
    match addr.checked_add(offset) {
        Some(start) if start <= len as u64 && n as u64 <= len as u64 - start => Ok(start as usize),
        _ => Err(TrapCode::MemoryOutOfBounds),
    }
}

/// A load off the fast path (see [`MemAccess`]).
fn load_slow(data: &[u8], x: &MemAccess, addr: u64) -> Result<u64, TrapCode> {
    let n = x.kind.size();
    let at = mem_range(data.len(), addr, x.offset, n)?;
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&data[at..at + n]);
    let v = u64::from_le_bytes(b);
    Ok(match x.kind {
        MemKind::I32Load8S => v as u8 as i8 as i32 as u32 as u64,
        MemKind::I32Load16S => v as u16 as i16 as i32 as u32 as u64,
        MemKind::I64Load8S => v as u8 as i8 as i64 as u64,
        MemKind::I64Load16S => v as u16 as i16 as i64 as u64,
        MemKind::I64Load32S => v as u32 as i32 as i64 as u64,
        _ => v,
    })
}

/// A store off the fast path (see [`MemAccess`]).
fn store_slow(data: &mut [u8], x: &MemAccess, addr: u64, v: u64) -> Result<(), TrapCode> {
    let n = x.kind.size();
    let at = mem_range(data.len(), addr, x.offset, n)?;
    data[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
    Ok(())
}

/// A 64-bit count or address as a host index (saturating: it is bounds-checked next).
#[inline(always)]
fn host_index(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Whether a `call_indirect` callee of type `ty` matches the expected `want` by declared
/// subtyping (GC): the slow path after the id comparison failed.
#[cold]
#[inline(never)]
fn indirect_subtype(store: &StoreInner, ty: u32, want: u32) -> bool {
    store.engine.types().id_sub(ty, want)
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
        let code: &CompiledFunc = frame.code.get();
        let ops: &[Op] = &code.ops;
        // The instruction pointer. SAFETY: it only ever points into `ops`: it starts at a
        // saved index of this body, advances by one per executed op (every body ends in a
        // return or branch), and jumps only to targets the translator resolved inside the
        // body. A pointer instead of an index saves the scaling on every dispatch
        // (measured: ~10% fewer instructions executed on the compute kernels).
        let ops_base = ops.as_ptr();
        let mut ip: *const Op = unsafe { ops_base.add(frame.pc as usize) };
        let base = frame.base as usize;
        let inst = frame.instance as usize;
        let mem0 = store.instances[inst]
            .memories
            .first()
            .map_or(usize::MAX, |m| *m as usize);
        // Memory 0's bytes, cached for loads and stores. Refreshed after `memory.grow`; every
        // other way a memory can be resized or moved (host calls, other instances' code)
        // leaves this loop first.
        let (mut mem_ptr, mut mem_len) = match store.memories.get_mut(mem0) {
            Some(m) => (m.data.as_mut_ptr(), m.data.len()),
            None => (std::ptr::null_mut(), 0),
        };
        // The frame: every register the translator emitted is below `max_height`, and
        // `push_frame` made the slots exist.
        let fr: &mut [u64] = &mut stack.slots[base..base + code.max_height as usize];

        macro_rules! jump {
            ($t:expr) => {
                // SAFETY: branch targets are indices into this body (see `ip`).
                ip = unsafe { ops_base.add($t as usize) }
            };
        }
        macro_rules! pc_of {
            ($ip:expr) => {
                // SAFETY: `ip` and `ops_base` point into the same slice.
                unsafe { $ip.offset_from(ops_base) as u32 }
            };
        }
        // Register access without a bounds check.
        // SAFETY: the translator only emits registers below the function's `max_height`
        // (operand slots are `locals + depth` with `depth <= max_depth`, and
        // `max_height = locals + max_depth + 1`), and `fr` is exactly `max_height` long.
        // The debug assertion checks that invariant in test builds. Measured: fib(30) and a
        // tight loop run ~25% faster than with checked indexing.
        macro_rules! r {
            ($i:expr) => {
                *{
                    let i = $i as usize;
                    debug_assert!(i < fr.len());
                    unsafe { fr.get_unchecked_mut(i) }
                }
            };
        }
        macro_rules! un {
            ($x:expr, |$a:ident| $e:expr) => {{
                let x = $x;
                let $a = r!(x.a);
                r!(x.d) = $e;
            }};
        }
        macro_rules! bin {
            ($x:expr, |$a:ident, $b:ident| $e:expr) => {{
                let x = $x;
                let $a = r!(x.a);
                let $b = r!(x.b);
                r!(x.d) = $e;
            }};
        }
        macro_rules! imm {
            ($x:expr, |$a:ident, $b:ident| $e:expr) => {{
                let x = $x;
                let $a = r!(x.a);
                let $b = x.imm as i64 as u64;
                r!(x.d) = $e;
            }};
        }
        macro_rules! cmp_br {
            ($x:expr, |$a:ident, $b:ident| $e:expr) => {{
                let x = $x;
                let $a = r!(x.a) as u32;
                let $b = r!(x.b) as u32;
                if $e {
                    jump!(x.pc);
                }
            }};
        }
        macro_rules! cmp_br_imm {
            ($x:expr, |$a:ident, $b:ident| $e:expr) => {{
                let x = $x;
                let $a = r!(x.a) as u32;
                let $b = x.imm as u32;
                if $e {
                    jump!(x.pc);
                }
            }};
        }
        macro_rules! trap {
            ($code:expr) => {{
                if let Some(f) = stack.frames.last_mut() {
                    f.pc = pc_of!(ip);
                }
                return Err(Error::from($code));
            }};
        }
        macro_rules! tri {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(code) => trap!(code),
                }
            };
        }
        // SAFETY (loads and stores): `ea` checks `at + n <= mem_len`, and `mem_ptr`/`mem_len`
        // describe memory 0's current allocation (see where they are set). Measured: the
        // load/store loop runs ~20% faster than indexing `store.memories[..].data`.
        macro_rules! load {
            ($x:expr, $n:expr, |$b:ident| $conv:expr) => {{
                let x = $x;
                let at = tri!(ea(mem_len, r!(x.addr), x.offset, $n));
                let $b: [u8; $n] = unsafe { std::ptr::read_unaligned(mem_ptr.add(at).cast()) };
                r!(x.d) = $conv;
            }};
        }
        macro_rules! store {
            ($x:expr, $n:expr, |$v:ident| $bytes:expr) => {{
                let x = $x;
                let $v = r!(x.v);
                let at = tri!(ea(mem_len, r!(x.addr), x.offset, $n));
                let bytes: [u8; $n] = $bytes;
                unsafe { std::ptr::write_unaligned(mem_ptr.add(at).cast(), bytes) };
            }};
        }
        macro_rules! branch {
            ($t:expr) => {{
                let t: BranchTarget = $t;
                let (src, dst, keep) = (t.src as usize, t.dst as usize, t.keep as usize);
                fr.copy_within(src..src + keep, dst);
                jump!(t.pc);
            }};
        }
        macro_rules! call {
            ($func:expr, $callee_base:expr) => {{
                let func = $func;
                let frame = stack.frames.last_mut().expect("current frame");
                frame.pc = pc_of!(ip);
                stack.sp = base + $callee_base as usize;
                match store.funcs[func as usize] {
                    FuncEntity::Host { .. } => return Ok(Exit::HostCall { func }),
                    FuncEntity::Wasm {
                        instance, index, ..
                    } => {
                        enter_wasm(store, stack, instance, index)?;
                        continue 'frames;
                    }
                }
            }};
        }

        // The store function a `call_indirect` entry names, or its trap.
        macro_rules! resolve_indirect {
            ($ci:expr) => {{
                let ci = $ci;
                // An i32 index is stored zero-extended: this also reads a table64 index.
                let i = r!(ci.index);
                let t = store.instances[inst].tables[ci.table as usize] as usize;
                let Some(&rf) = usize::try_from(i)
                    .ok()
                    .and_then(|i| store.tables[t].elems.get(i))
                else {
                    trap!(TrapCode::UndefinedElement)
                };
                if rf == 0 {
                    trap!(TrapCode::UninitializedElement)
                }
                let func = (rf - 1) as u32;
                let ty = store.funcs[func as usize].type_id();
                if ty != ci.type_id && !indirect_subtype(store, ty, ci.type_id) {
                    trap!(TrapCode::BadSignature)
                }
                func
            }};
        }
        // A tail call: a wasm callee's frame replaces this one (its arguments move to the
        // frame's start, which becomes the callee's base); a host callee is called like
        // `call`, and the return op the translator put after the tail call returns its results.
        macro_rules! tail_call {
            ($func:expr, $args:expr, $params:expr) => {{
                let func = $func;
                match store.funcs[func as usize] {
                    FuncEntity::Host { .. } => call!(func, $args),
                    FuncEntity::Wasm {
                        instance, index, ..
                    } => {
                        let (args, n) = ($args as usize, $params as usize);
                        fr.copy_within(args..args + n, 0);
                        stack.frames.pop();
                        stack.sp = base;
                        enter_wasm(store, stack, instance, index)?;
                        continue 'frames;
                    }
                }
            }};
        }

        loop {
            // SAFETY: `ip` points into `ops` (see where it is defined). Matching through the
            // reference loads only the fields an arm uses.
            debug_assert!((pc_of!(ip) as usize) < ops.len());
            let op = unsafe { &*ip };
            ip = unsafe { ip.add(1) };
            match *op {
                Op::Unreachable => trap!(TrapCode::Unreachable),
                Op::Br(t) => jump!(t),
                Op::BrCopy(t) => branch!(code.br_tables[t as usize]),
                Op::BrIfNez { c, pc: t } => {
                    if r!(c) as u32 != 0 {
                        jump!(t);
                    }
                }
                Op::BrIfEqz { c, pc: t } => {
                    if r!(c) as u32 == 0 {
                        jump!(t);
                    }
                }
                Op::BrIfNezCopy { c, t } => {
                    if r!(c) as u32 != 0 {
                        branch!(code.br_tables[t as usize]);
                    }
                }
                Op::BrIfEqzCopy { c, t } => {
                    if r!(c) as u32 == 0 {
                        branch!(code.br_tables[t as usize]);
                    }
                }
                Op::BrTable { index, start, len } => {
                    let i = (r!(index) as u32).min(len - 1);
                    branch!(code.br_tables[(start + i) as usize]);
                }
                Op::BrI32Eq(x) => cmp_br!(x, |a, b| a == b),
                Op::BrI32Ne(x) => cmp_br!(x, |a, b| a != b),
                Op::BrI32LtS(x) => cmp_br!(x, |a, b| (a as i32) < b as i32),
                Op::BrI32LtU(x) => cmp_br!(x, |a, b| a < b),
                Op::BrI32GtS(x) => cmp_br!(x, |a, b| a as i32 > b as i32),
                Op::BrI32GtU(x) => cmp_br!(x, |a, b| a > b),
                Op::BrI32LeS(x) => cmp_br!(x, |a, b| a as i32 <= b as i32),
                Op::BrI32LeU(x) => cmp_br!(x, |a, b| a <= b),
                Op::BrI32GeS(x) => cmp_br!(x, |a, b| a as i32 >= b as i32),
                Op::BrI32GeU(x) => cmp_br!(x, |a, b| a >= b),
                Op::BrI32EqImm(x) => cmp_br_imm!(x, |a, b| a == b),
                Op::BrI32NeImm(x) => cmp_br_imm!(x, |a, b| a != b),
                Op::BrI32LtSImm(x) => cmp_br_imm!(x, |a, b| (a as i32) < b as i32),
                Op::BrI32LtUImm(x) => cmp_br_imm!(x, |a, b| a < b),
                Op::BrI32GtSImm(x) => cmp_br_imm!(x, |a, b| a as i32 > b as i32),
                Op::BrI32GtUImm(x) => cmp_br_imm!(x, |a, b| a > b),
                Op::BrI32LeSImm(x) => cmp_br_imm!(x, |a, b| a as i32 <= b as i32),
                Op::BrI32LeUImm(x) => cmp_br_imm!(x, |a, b| a <= b),
                Op::BrI32GeSImm(x) => cmp_br_imm!(x, |a, b| a as i32 >= b as i32),
                Op::BrI32GeUImm(x) => cmp_br_imm!(x, |a, b| a >= b),
                Op::Return0 => {
                    stack.frames.pop();
                    if stack.frames.len() == entry_depth {
                        stack.sp = base;
                        return Ok(Exit::Returned);
                    }
                    continue 'frames;
                }
                Op::Return1 { src } => {
                    fr[0] = r!(src);
                    stack.frames.pop();
                    if stack.frames.len() == entry_depth {
                        stack.sp = base + 1;
                        return Ok(Exit::Returned);
                    }
                    continue 'frames;
                }
                Op::ReturnN { src, n } => {
                    fr.copy_within(src as usize..(src + n) as usize, 0);
                    stack.frames.pop();
                    if stack.frames.len() == entry_depth {
                        stack.sp = base + n as usize;
                        return Ok(Exit::Returned);
                    }
                    continue 'frames;
                }
                Op::Call { func, base: b } => {
                    call!(store.instances[inst].funcs[func as usize], b)
                }
                Op::CallIndirect(ci) => {
                    let ci = code.call_indirects[ci as usize];
                    let func = resolve_indirect!(ci);
                    call!(func, ci.base)
                }
                Op::ReturnCall {
                    func,
                    base: b,
                    params,
                } => {
                    tail_call!(store.instances[inst].funcs[func as usize], b, params)
                }
                Op::ReturnCallIndirect(ci) => {
                    let ci = code.call_indirects[ci as usize];
                    let func = resolve_indirect!(ci);
                    tail_call!(func, ci.base, ci.params)
                }
                Op::CallRef { f, base: b } => {
                    let rf = r!(f);
                    if rf == 0 {
                        trap!(TrapCode::NullFunctionReference)
                    }
                    call!((rf - 1) as u32, b)
                }
                Op::ReturnCallRef { f, base: b, params } => {
                    let rf = r!(f);
                    if rf == 0 {
                        trap!(TrapCode::NullFunctionReference)
                    }
                    tail_call!((rf - 1) as u32, b, params)
                }
                Op::RefAsNonNull(x) => {
                    let a = r!(x.a);
                    if a == 0 {
                        trap!(TrapCode::NullReference)
                    }
                    r!(x.d) = a;
                }
                Op::LoadMem(i) => {
                    let x = &code.mem_accesses[i as usize];
                    let m = store.instances[inst].memories[x.mem as usize] as usize;
                    r!(x.reg) = tri!(load_slow(&store.memories[m].data, x, r!(x.addr)));
                }
                Op::StoreMem(i) => {
                    let x = &code.mem_accesses[i as usize];
                    let m = store.instances[inst].memories[x.mem as usize] as usize;
                    let (addr, v) = (r!(x.addr), r!(x.reg));
                    tri!(store_slow(&mut store.memories[m].data, x, addr, v));
                }
                Op::Interrupt => {
                    if let Err(code) = store.check_interrupt() {
                        trap!(code)
                    }
                }
                Op::Throw { tag, at } => {
                    let tag = store.instances[inst].tags[tag as usize];
                    let n = payload_slots(store, tag);
                    let payload = fr[at as usize..at as usize + n].into();
                    let exn = store.exns.len() as u32;
                    store.exns.push(crate::store::ExnEntity { tag, payload });
                    stack.frames.last_mut().expect("current frame").pc = pc_of!(ip);
                    return Ok(Exit::Throw(exn));
                }
                Op::ThrowRef { r } => {
                    let e = r!(r);
                    if e == 0 {
                        trap!(TrapCode::NullExnReference)
                    }
                    stack.frames.last_mut().expect("current frame").pc = pc_of!(ip);
                    return Ok(Exit::Throw((e - 1) as u32));
                }
                Op::Gc(i) => {
                    if let Err(c) = gc::exec(store, inst, fr, &code.gc_ops[i as usize]) {
                        trap!(c)
                    }
                }
                Op::Copy { d, s } => r!(d) = r!(s),
                Op::Const32 { d, v } => r!(d) = v as u64,
                Op::Const64 { d, v } => r!(d) = v,
                Op::Select { d } => {
                    if r!(d + 2) as u32 == 0 {
                        r!(d) = r!(d + 1);
                    }
                }
                Op::GlobalGet { d, g } => {
                    let g = store.instances[inst].globals[g as usize] as usize;
                    r!(d) = store.globals[g].value;
                }
                Op::GlobalSet { s, g } => {
                    let g = store.instances[inst].globals[g as usize] as usize;
                    store.globals[g].value = r!(s);
                }
                Op::TableGet { at, t } => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let i = r!(at) as u32 as usize;
                    match store.tables[t].elems.get(i) {
                        Some(v) => r!(at) = *v,
                        None => trap!(TrapCode::TableOutOfBounds),
                    }
                }
                Op::TableSet { at, t } => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let i = r!(at) as u32 as usize;
                    let v = r!(at + 1);
                    match store.tables[t].elems.get_mut(i) {
                        Some(slot) => *slot = v,
                        None => trap!(TrapCode::TableOutOfBounds),
                    }
                }
                Op::TableSize { d, t } => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    r!(d) = store.tables[t].elems.len() as u64;
                }
                Op::TableGrow { at, t } => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let init = r!(at);
                    let delta = r!(at + 1) as u32;
                    r!(at) = match store.grow_table(t, delta as u64, init) {
                        Some(old) => old as u32 as u64,
                        None => u32::MAX as u64,
                    };
                }
                Op::TableFill { at, t } => {
                    let t = store.instances[inst].tables[t as usize] as usize;
                    let i = r!(at) as u32 as usize;
                    let v = r!(at + 1);
                    let n = r!(at + 2) as u32 as usize;
                    let elems = &mut store.tables[t].elems;
                    match i.checked_add(n).filter(|end| *end <= elems.len()) {
                        Some(end) => elems[i..end].fill(v),
                        None => trap!(TrapCode::TableOutOfBounds),
                    }
                }
                Op::TableCopy { at, dst, src } => {
                    let d = store.instances[inst].tables[dst as usize] as usize;
                    let s = store.instances[inst].tables[src as usize] as usize;
                    let di = r!(at) as u32 as usize;
                    let si = r!(at + 1) as u32 as usize;
                    let n = r!(at + 2) as u32 as usize;
                    tri!(store.copy_table(d, di, s, si, n));
                }
                Op::TableInit { at, table, elem } => {
                    let t = store.instances[inst].tables[table as usize] as usize;
                    let di = r!(at) as u32 as usize;
                    let si = r!(at + 1) as u32 as usize;
                    let n = r!(at + 2) as u32 as usize;
                    tri!(store.init_table(inst, t, elem as usize, di, si, n));
                }
                Op::ElemDrop(e) => {
                    store.instances[inst].elems[e as usize] = Arc::from([]);
                }
                Op::RefIsNull(x) => un!(x, |a| of_bool(a == 0)),
                Op::RefFunc { d, f } => {
                    r!(d) = store.instances[inst].funcs[f as usize] as u64 + 1;
                }
                Op::MemorySize { d, m } => {
                    let m = store.instances[inst].memories[m as usize] as usize;
                    r!(d) = store.memories[m].pages();
                }
                Op::MemoryGrow { at, m } => {
                    let m = store.instances[inst].memories[m as usize] as usize;
                    // An i32 delta is stored zero-extended: one read serves both index types.
                    let delta = r!(at);
                    r!(at) = match store.grow_memory(m, delta) {
                        Some(old) => old,
                        None if store.memories[m].ty.memory64 => u64::MAX,
                        None => u32::MAX as u64,
                    };
                    if let Some(m) = store.memories.get_mut(mem0) {
                        (mem_ptr, mem_len) = (m.data.as_mut_ptr(), m.data.len());
                    }
                }
                Op::MemoryFill { at, m } => {
                    let m = store.instances[inst].memories[m as usize] as usize;
                    let d = host_index(r!(at));
                    let v = r!(at + 1) as u8;
                    let n = host_index(r!(at + 2));
                    let mem = &mut store.memories[m].data;
                    match d.checked_add(n).filter(|end| *end <= mem.len()) {
                        Some(end) => mem[d..end].fill(v),
                        None => trap!(TrapCode::MemoryOutOfBounds),
                    }
                }
                Op::MemoryCopy { at, dst, src } => {
                    let dm = store.instances[inst].memories[dst as usize] as usize;
                    let sm = store.instances[inst].memories[src as usize] as usize;
                    let di = host_index(r!(at));
                    let si = host_index(r!(at + 1));
                    let n = host_index(r!(at + 2));
                    tri!(store.copy_memory(dm, di, sm, si, n));
                }
                Op::MemoryInit { at, mem, data } => {
                    let m = store.instances[inst].memories[mem as usize] as usize;
                    let di = host_index(r!(at));
                    let si = host_index(r!(at + 1));
                    let n = host_index(r!(at + 2));
                    tri!(store.init_memory(inst, m, data as usize, di, si, n));
                }
                Op::DataDrop(d) => store.instances[inst].datas_dropped[d as usize] = true,

                Op::I32Load(x) => load!(x, 4, |b| u32::from_le_bytes(b) as u64),
                Op::I64Load(x) => load!(x, 8, |b| u64::from_le_bytes(b)),
                Op::I32Load8S(x) => load!(x, 1, |b| b[0] as i8 as i32 as u32 as u64),
                Op::I32Load8U(x) => load!(x, 1, |b| b[0] as u64),
                Op::I32Load16S(x) => load!(x, 2, |b| i16::from_le_bytes(b) as i32 as u32 as u64),
                Op::I32Load16U(x) => load!(x, 2, |b| u16::from_le_bytes(b) as u64),
                Op::I64Load8S(x) => load!(x, 1, |b| b[0] as i8 as i64 as u64),
                Op::I64Load8U(x) => load!(x, 1, |b| b[0] as u64),
                Op::I64Load16S(x) => load!(x, 2, |b| i16::from_le_bytes(b) as i64 as u64),
                Op::I64Load16U(x) => load!(x, 2, |b| u16::from_le_bytes(b) as u64),
                Op::I64Load32S(x) => load!(x, 4, |b| i32::from_le_bytes(b) as i64 as u64),
                Op::I64Load32U(x) => load!(x, 4, |b| u32::from_le_bytes(b) as u64),
                Op::I32Store(x) => store!(x, 4, |v| (v as u32).to_le_bytes()),
                Op::I64Store(x) => store!(x, 8, |v| v.to_le_bytes()),
                Op::I32Store8(x) => store!(x, 1, |v| [v as u8]),
                Op::I32Store16(x) => store!(x, 2, |v| (v as u16).to_le_bytes()),
                Op::I64Store32(x) => store!(x, 4, |v| (v as u32).to_le_bytes()),

                Op::I32Eqz(x) => un!(x, |a| of_bool(a as u32 == 0)),
                Op::I32Eq(x) => bin!(x, |a, b| of_bool(a as u32 == b as u32)),
                Op::I32Ne(x) => bin!(x, |a, b| of_bool(a as u32 != b as u32)),
                Op::I32LtS(x) => bin!(x, |a, b| of_bool((a as i32) < b as i32)),
                Op::I32LtU(x) => bin!(x, |a, b| of_bool((a as u32) < b as u32)),
                Op::I32GtS(x) => bin!(x, |a, b| of_bool(a as i32 > b as i32)),
                Op::I32GtU(x) => bin!(x, |a, b| of_bool(a as u32 > b as u32)),
                Op::I32LeS(x) => bin!(x, |a, b| of_bool(a as i32 <= b as i32)),
                Op::I32LeU(x) => bin!(x, |a, b| of_bool(a as u32 <= b as u32)),
                Op::I32GeS(x) => bin!(x, |a, b| of_bool(a as i32 >= b as i32)),
                Op::I32GeU(x) => bin!(x, |a, b| of_bool(a as u32 >= b as u32)),
                Op::I32EqImm(x) => imm!(x, |a, b| of_bool(a as u32 == b as u32)),
                Op::I32NeImm(x) => imm!(x, |a, b| of_bool(a as u32 != b as u32)),
                Op::I32LtSImm(x) => imm!(x, |a, b| of_bool((a as i32) < b as i32)),
                Op::I32LtUImm(x) => imm!(x, |a, b| of_bool((a as u32) < b as u32)),
                Op::I32GtSImm(x) => imm!(x, |a, b| of_bool(a as i32 > b as i32)),
                Op::I32GtUImm(x) => imm!(x, |a, b| of_bool(a as u32 > b as u32)),
                Op::I32LeSImm(x) => imm!(x, |a, b| of_bool(a as i32 <= b as i32)),
                Op::I32LeUImm(x) => imm!(x, |a, b| of_bool(a as u32 <= b as u32)),
                Op::I32GeSImm(x) => imm!(x, |a, b| of_bool(a as i32 >= b as i32)),
                Op::I32GeUImm(x) => imm!(x, |a, b| of_bool(a as u32 >= b as u32)),
                Op::I32Clz(x) => un!(x, |a| (a as u32).leading_zeros() as u64),
                Op::I32Ctz(x) => un!(x, |a| (a as u32).trailing_zeros() as u64),
                Op::I32Popcnt(x) => un!(x, |a| (a as u32).count_ones() as u64),
                Op::I32Add(x) => bin!(x, |a, b| (a as u32).wrapping_add(b as u32) as u64),
                Op::I32AddImm(x) => imm!(x, |a, b| (a as u32).wrapping_add(b as u32) as u64),
                Op::I32Sub(x) => bin!(x, |a, b| (a as u32).wrapping_sub(b as u32) as u64),
                Op::I32Mul(x) => bin!(x, |a, b| (a as u32).wrapping_mul(b as u32) as u64),
                Op::I32MulImm(x) => imm!(x, |a, b| (a as u32).wrapping_mul(b as u32) as u64),
                Op::I32DivS(x) => {
                    let (a, b) = (r!(x.a) as i32, r!(x.b) as i32);
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    if a == i32::MIN && b == -1 {
                        trap!(TrapCode::IntegerOverflow)
                    }
                    r!(x.d) = (a / b) as u32 as u64;
                }
                Op::I32DivU(x) => {
                    let (a, b) = (r!(x.a) as u32, r!(x.b) as u32);
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    r!(x.d) = (a / b) as u64;
                }
                Op::I32RemS(x) => {
                    let (a, b) = (r!(x.a) as i32, r!(x.b) as i32);
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    r!(x.d) = a.wrapping_rem(b) as u32 as u64;
                }
                Op::I32RemU(x) => {
                    let (a, b) = (r!(x.a) as u32, r!(x.b) as u32);
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    r!(x.d) = (a % b) as u64;
                }
                Op::I32And(x) => bin!(x, |a, b| (a as u32 & b as u32) as u64),
                Op::I32AndImm(x) => imm!(x, |a, b| (a as u32 & b as u32) as u64),
                Op::I32Or(x) => bin!(x, |a, b| (a as u32 | b as u32) as u64),
                Op::I32OrImm(x) => imm!(x, |a, b| (a as u32 | b as u32) as u64),
                Op::I32Xor(x) => bin!(x, |a, b| (a as u32 ^ b as u32) as u64),
                Op::I32XorImm(x) => imm!(x, |a, b| (a as u32 ^ b as u32) as u64),
                Op::I32Shl(x) => bin!(x, |a, b| (a as u32).wrapping_shl(b as u32) as u64),
                Op::I32ShlImm(x) => imm!(x, |a, b| (a as u32).wrapping_shl(b as u32) as u64),
                Op::I32ShrS(x) => bin!(x, |a, b| (a as i32).wrapping_shr(b as u32) as u32 as u64),
                Op::I32ShrSImm(x) => {
                    imm!(x, |a, b| (a as i32).wrapping_shr(b as u32) as u32 as u64)
                }
                Op::I32ShrU(x) => bin!(x, |a, b| (a as u32).wrapping_shr(b as u32) as u64),
                Op::I32ShrUImm(x) => imm!(x, |a, b| (a as u32).wrapping_shr(b as u32) as u64),
                Op::I32Rotl(x) => bin!(x, |a, b| (a as u32).rotate_left(b as u32 % 32) as u64),
                Op::I32RotlImm(x) => imm!(x, |a, b| (a as u32).rotate_left(b as u32 % 32) as u64),
                Op::I32Rotr(x) => bin!(x, |a, b| (a as u32).rotate_right(b as u32 % 32) as u64),
                Op::I32RotrImm(x) => {
                    imm!(x, |a, b| (a as u32).rotate_right(b as u32 % 32) as u64)
                }

                Op::I64Eqz(x) => un!(x, |a| of_bool(a == 0)),
                Op::I64Eq(x) => bin!(x, |a, b| of_bool(a == b)),
                Op::I64Ne(x) => bin!(x, |a, b| of_bool(a != b)),
                Op::I64LtS(x) => bin!(x, |a, b| of_bool((a as i64) < b as i64)),
                Op::I64LtU(x) => bin!(x, |a, b| of_bool(a < b)),
                Op::I64GtS(x) => bin!(x, |a, b| of_bool(a as i64 > b as i64)),
                Op::I64GtU(x) => bin!(x, |a, b| of_bool(a > b)),
                Op::I64LeS(x) => bin!(x, |a, b| of_bool(a as i64 <= b as i64)),
                Op::I64LeU(x) => bin!(x, |a, b| of_bool(a <= b)),
                Op::I64GeS(x) => bin!(x, |a, b| of_bool(a as i64 >= b as i64)),
                Op::I64GeU(x) => bin!(x, |a, b| of_bool(a >= b)),
                Op::I64EqImm(x) => imm!(x, |a, b| of_bool(a == b)),
                Op::I64NeImm(x) => imm!(x, |a, b| of_bool(a != b)),
                Op::I64LtSImm(x) => imm!(x, |a, b| of_bool((a as i64) < b as i64)),
                Op::I64LtUImm(x) => imm!(x, |a, b| of_bool(a < b)),
                Op::I64GtSImm(x) => imm!(x, |a, b| of_bool(a as i64 > b as i64)),
                Op::I64GtUImm(x) => imm!(x, |a, b| of_bool(a > b)),
                Op::I64LeSImm(x) => imm!(x, |a, b| of_bool(a as i64 <= b as i64)),
                Op::I64LeUImm(x) => imm!(x, |a, b| of_bool(a <= b)),
                Op::I64GeSImm(x) => imm!(x, |a, b| of_bool(a as i64 >= b as i64)),
                Op::I64GeUImm(x) => imm!(x, |a, b| of_bool(a >= b)),
                Op::I64Clz(x) => un!(x, |a| a.leading_zeros() as u64),
                Op::I64Ctz(x) => un!(x, |a| a.trailing_zeros() as u64),
                Op::I64Popcnt(x) => un!(x, |a| a.count_ones() as u64),
                Op::I64Add(x) => bin!(x, |a, b| a.wrapping_add(b)),
                Op::I64AddImm(x) => imm!(x, |a, b| a.wrapping_add(b)),
                Op::I64Sub(x) => bin!(x, |a, b| a.wrapping_sub(b)),
                Op::I64Mul(x) => bin!(x, |a, b| a.wrapping_mul(b)),
                Op::I64MulImm(x) => imm!(x, |a, b| a.wrapping_mul(b)),
                Op::I64DivS(x) => {
                    let (a, b) = (r!(x.a) as i64, r!(x.b) as i64);
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    if a == i64::MIN && b == -1 {
                        trap!(TrapCode::IntegerOverflow)
                    }
                    r!(x.d) = (a / b) as u64;
                }
                Op::I64DivU(x) => {
                    let (a, b) = (r!(x.a), r!(x.b));
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    r!(x.d) = a / b;
                }
                Op::I64RemS(x) => {
                    let (a, b) = (r!(x.a) as i64, r!(x.b) as i64);
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    r!(x.d) = a.wrapping_rem(b) as u64;
                }
                Op::I64RemU(x) => {
                    let (a, b) = (r!(x.a), r!(x.b));
                    if b == 0 {
                        trap!(TrapCode::IntegerDivisionByZero)
                    }
                    r!(x.d) = a % b;
                }
                Op::I64And(x) => bin!(x, |a, b| a & b),
                Op::I64AndImm(x) => imm!(x, |a, b| a & b),
                Op::I64Or(x) => bin!(x, |a, b| a | b),
                Op::I64OrImm(x) => imm!(x, |a, b| a | b),
                Op::I64Xor(x) => bin!(x, |a, b| a ^ b),
                Op::I64XorImm(x) => imm!(x, |a, b| a ^ b),
                Op::I64Shl(x) => bin!(x, |a, b| a.wrapping_shl(b as u32)),
                Op::I64ShlImm(x) => imm!(x, |a, b| a.wrapping_shl(b as u32)),
                Op::I64ShrS(x) => bin!(x, |a, b| (a as i64).wrapping_shr(b as u32) as u64),
                Op::I64ShrSImm(x) => imm!(x, |a, b| (a as i64).wrapping_shr(b as u32) as u64),
                Op::I64ShrU(x) => bin!(x, |a, b| a.wrapping_shr(b as u32)),
                Op::I64ShrUImm(x) => imm!(x, |a, b| a.wrapping_shr(b as u32)),
                Op::I64Rotl(x) => bin!(x, |a, b| a.rotate_left((b % 64) as u32)),
                Op::I64RotlImm(x) => imm!(x, |a, b| a.rotate_left((b % 64) as u32)),
                Op::I64Rotr(x) => bin!(x, |a, b| a.rotate_right((b % 64) as u32)),
                Op::I64RotrImm(x) => imm!(x, |a, b| a.rotate_right((b % 64) as u32)),

                Op::F32Eq(x) => bin!(x, |a, b| of_bool(f32_of(a) == f32_of(b))),
                Op::F32Ne(x) => bin!(x, |a, b| of_bool(f32_of(a) != f32_of(b))),
                Op::F32Lt(x) => bin!(x, |a, b| of_bool(f32_of(a) < f32_of(b))),
                Op::F32Gt(x) => bin!(x, |a, b| of_bool(f32_of(a) > f32_of(b))),
                Op::F32Le(x) => bin!(x, |a, b| of_bool(f32_of(a) <= f32_of(b))),
                Op::F32Ge(x) => bin!(x, |a, b| of_bool(f32_of(a) >= f32_of(b))),
                Op::F32Abs(x) => un!(x, |a| a & 0x7fff_ffff),
                Op::F32Neg(x) => un!(x, |a| (a as u32 ^ 0x8000_0000) as u64),
                Op::F32Ceil(x) => un!(x, |a| quiet32(f32_of(a).ceil())),
                Op::F32Floor(x) => un!(x, |a| quiet32(f32_of(a).floor())),
                Op::F32Trunc(x) => un!(x, |a| quiet32(f32_of(a).trunc())),
                Op::F32Nearest(x) => un!(x, |a| quiet32(f32_of(a).round_ties_even())),
                Op::F32Sqrt(x) => un!(x, |a| of_f32(f32_of(a).sqrt())),
                Op::F32Add(x) => bin!(x, |a, b| of_f32(f32_of(a) + f32_of(b))),
                Op::F32Sub(x) => bin!(x, |a, b| of_f32(f32_of(a) - f32_of(b))),
                Op::F32Mul(x) => bin!(x, |a, b| of_f32(f32_of(a) * f32_of(b))),
                Op::F32Div(x) => bin!(x, |a, b| of_f32(f32_of(a) / f32_of(b))),
                Op::F32Min(x) => bin!(x, |a, b| of_f32(f32_min(f32_of(a), f32_of(b)))),
                Op::F32Max(x) => bin!(x, |a, b| of_f32(f32_max(f32_of(a), f32_of(b)))),
                Op::F32Copysign(x) => {
                    bin!(
                        x,
                        |a, b| ((a as u32 & 0x7fff_ffff) | (b as u32 & 0x8000_0000)) as u64
                    )
                }

                Op::F64Eq(x) => bin!(x, |a, b| of_bool(f64_of(a) == f64_of(b))),
                Op::F64Ne(x) => bin!(x, |a, b| of_bool(f64_of(a) != f64_of(b))),
                Op::F64Lt(x) => bin!(x, |a, b| of_bool(f64_of(a) < f64_of(b))),
                Op::F64Gt(x) => bin!(x, |a, b| of_bool(f64_of(a) > f64_of(b))),
                Op::F64Le(x) => bin!(x, |a, b| of_bool(f64_of(a) <= f64_of(b))),
                Op::F64Ge(x) => bin!(x, |a, b| of_bool(f64_of(a) >= f64_of(b))),
                Op::F64Abs(x) => un!(x, |a| a & 0x7fff_ffff_ffff_ffff),
                Op::F64Neg(x) => un!(x, |a| a ^ 0x8000_0000_0000_0000),
                Op::F64Ceil(x) => un!(x, |a| quiet64(f64_of(a).ceil())),
                Op::F64Floor(x) => un!(x, |a| quiet64(f64_of(a).floor())),
                Op::F64Trunc(x) => un!(x, |a| quiet64(f64_of(a).trunc())),
                Op::F64Nearest(x) => un!(x, |a| quiet64(f64_of(a).round_ties_even())),
                Op::F64Sqrt(x) => un!(x, |a| of_f64(f64_of(a).sqrt())),
                Op::F64Add(x) => bin!(x, |a, b| of_f64(f64_of(a) + f64_of(b))),
                Op::F64Sub(x) => bin!(x, |a, b| of_f64(f64_of(a) - f64_of(b))),
                Op::F64Mul(x) => bin!(x, |a, b| of_f64(f64_of(a) * f64_of(b))),
                Op::F64Div(x) => bin!(x, |a, b| of_f64(f64_of(a) / f64_of(b))),
                Op::F64Min(x) => bin!(x, |a, b| of_f64(f64_min(f64_of(a), f64_of(b)))),
                Op::F64Max(x) => bin!(x, |a, b| of_f64(f64_max(f64_of(a), f64_of(b)))),
                Op::F64Copysign(x) => bin!(x, |a, b| (a & !(1 << 63)) | (b & (1 << 63))),

                Op::I32WrapI64(x) => un!(x, |a| a as u32 as u64),
                Op::I32TruncF32S(x) => r!(x.d) = tri!(i32_trunc_s(f32_of(r!(x.a)) as f64)),
                Op::I32TruncF32U(x) => r!(x.d) = tri!(i32_trunc_u(f32_of(r!(x.a)) as f64)),
                Op::I32TruncF64S(x) => r!(x.d) = tri!(i32_trunc_s(f64_of(r!(x.a)))),
                Op::I32TruncF64U(x) => r!(x.d) = tri!(i32_trunc_u(f64_of(r!(x.a)))),
                Op::I64ExtendI32S(x) => un!(x, |a| a as i32 as i64 as u64),
                Op::I64TruncF32S(x) => r!(x.d) = tri!(i64_trunc_s(f32_of(r!(x.a)) as f64)),
                Op::I64TruncF32U(x) => r!(x.d) = tri!(i64_trunc_u(f32_of(r!(x.a)) as f64)),
                Op::I64TruncF64S(x) => r!(x.d) = tri!(i64_trunc_s(f64_of(r!(x.a)))),
                Op::I64TruncF64U(x) => r!(x.d) = tri!(i64_trunc_u(f64_of(r!(x.a)))),
                Op::F32ConvertI32S(x) => un!(x, |a| of_f32(a as i32 as f32)),
                Op::F32ConvertI32U(x) => un!(x, |a| of_f32(a as u32 as f32)),
                Op::F32ConvertI64S(x) => un!(x, |a| of_f32(a as i64 as f32)),
                Op::F32ConvertI64U(x) => un!(x, |a| of_f32(a as f32)),
                Op::F32DemoteF64(x) => un!(x, |a| of_f32(f64_of(a) as f32)),
                Op::F64ConvertI32S(x) => un!(x, |a| of_f64(a as i32 as f64)),
                Op::F64ConvertI32U(x) => un!(x, |a| of_f64(a as u32 as f64)),
                Op::F64ConvertI64S(x) => un!(x, |a| of_f64(a as i64 as f64)),
                Op::F64ConvertI64U(x) => un!(x, |a| of_f64(a as f64)),
                Op::F64PromoteF32(x) => un!(x, |a| of_f64(f32_of(a) as f64)),
                Op::I32Extend8S(x) => un!(x, |a| a as i8 as i32 as u32 as u64),
                Op::I32Extend16S(x) => un!(x, |a| a as i16 as i32 as u32 as u64),
                Op::I64Extend8S(x) => un!(x, |a| a as i8 as i64 as u64),
                Op::I64Extend16S(x) => un!(x, |a| a as i16 as i64 as u64),
                Op::I64Extend32S(x) => un!(x, |a| a as i32 as i64 as u64),
                // `as` saturates and maps NaN to 0: exactly the `trunc_sat` semantics.
                Op::I32TruncSatF32S(x) => un!(x, |a| f32_of(a) as i32 as u32 as u64),
                Op::I32TruncSatF32U(x) => un!(x, |a| f32_of(a) as u32 as u64),
                Op::I32TruncSatF64S(x) => un!(x, |a| f64_of(a) as i32 as u32 as u64),
                Op::I32TruncSatF64U(x) => un!(x, |a| f64_of(a) as u32 as u64),
                Op::I64TruncSatF32S(x) => un!(x, |a| f32_of(a) as i64 as u64),
                Op::I64TruncSatF32U(x) => un!(x, |a| f32_of(a) as u64),
                Op::I64TruncSatF64S(x) => un!(x, |a| f64_of(a) as i64 as u64),
                Op::I64TruncSatF64U(x) => un!(x, |a| f64_of(a) as u64),
                // Last and out of line: SIMD must not change the scalar arms' code.
                Op::Simd { .. } => tri!(simd::exec(store, inst, code, fr, op)),
            }
        }
    }
}

/// Slots of the payload of store tag `tag` (a `v128` takes two). Out of line: only `throw`
/// needs it.
#[inline(never)]
fn payload_slots(store: &StoreInner, tag: u32) -> usize {
    crate::types::slot_count(store.tags[tag as usize].params())
}

/// Starts a call of store function `func` whose arguments are on top of `stack`: pushes a
/// frame for a wasm function; a host function is left for the driver.
pub(crate) fn call(store: &StoreInner, stack: &mut Stack, func: u32) -> Result<(), Error> {
    match &store.funcs[func as usize] {
        FuncEntity::Wasm {
            instance, index, ..
        } => enter_wasm(store, stack, *instance, *index),
        FuncEntity::Host { .. } => Ok(()),
    }
}

/// Pushes the frame of function `index` of `instance`, translating its body on first use.
#[inline(always)]
fn enter_wasm(
    store: &StoreInner,
    stack: &mut Stack,
    instance: u32,
    index: u32,
) -> Result<(), Error> {
    let module = &store.instances[instance as usize].module;
    let code = module.compiled_func(index - module.num_imported_funcs)?;
    Ok(push_frame(store, stack, code, instance)?)
}
