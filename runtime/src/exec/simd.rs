//! SIMD semantics (`Op::Simd`): fixed-width SIMD and relaxed SIMD over v128 values held in two
//! consecutive frame slots, low 64 bits first. Kept out of the run loop: its one arm calls
//! [`exec`], which is never inlined, so the scalar ops' code layout does not change.
//!
//! Relaxed SIMD is deterministic here, with the choices of the specification's deterministic
//! profile (each is one of the results the spec allows):
//! - `i8x16.relaxed_swizzle` = `i8x16.swizzle` (an index >= 16 gives 0);
//! - `i32x4.relaxed_trunc_*` = the matching `trunc_sat` (NaN gives 0, out of range saturates);
//! - `f32x4/f64x2.relaxed_madd` = fused multiply-add `fma(a, b, c)`, `relaxed_nmadd` =
//!   `fma(-a, b, c)` (one rounding);
//! - `*.relaxed_laneselect` = `v128.bitselect` (bit by bit);
//! - `relaxed_min/max` = `min/max` (NaN propagates, -0 < +0);
//! - `i16x8.relaxed_q15mulr_s` = `i16x8.q15mulr_sat_s` (saturating);
//! - `i16x8.relaxed_dot_i8x16_i7x16_s`: both operands signed, the pairwise sum wraps in i16;
//!   `i32x4.relaxed_dot_i8x16_i7x16_add_s`: that i16 dot, then pairwise sign-extended sums
//!   plus the accumulator, wrapping in i32.

use super::numeric::{f32_max, f32_min, f64_max, f64_min};
use super::{mem_range, quiet32, quiet64};
use crate::error::TrapCode;
use crate::ir::{CompiledFunc, Op, Reg, SimdOp};
use crate::store::StoreInner;

#[inline(always)]
fn get(fr: &[u64], r: Reg) -> u128 {
    let r = r as usize;
    fr[r] as u128 | (fr[r + 1] as u128) << 64
}

#[inline(always)]
fn set(fr: &mut [u64], r: Reg, v: u128) {
    let r = r as usize;
    fr[r] = v as u64;
    fr[r + 1] = (v >> 64) as u64;
}

macro_rules! lanes {
    ($to:ident, $from:ident, $t:ty, $n:expr) => {
        #[inline(always)]
        fn $to(v: u128) -> [$t; $n] {
            let b = v.to_le_bytes();
            const W: usize = 16 / $n;
            std::array::from_fn(|i| {
                let mut x = [0u8; W];
                x.copy_from_slice(&b[i * W..(i + 1) * W]);
                <$t>::from_le_bytes(x)
            })
        }
        #[inline(always)]
        fn $from(l: [$t; $n]) -> u128 {
            let mut b = [0u8; 16];
            const W: usize = 16 / $n;
            for (i, x) in l.iter().enumerate() {
                b[i * W..(i + 1) * W].copy_from_slice(&x.to_le_bytes());
            }
            u128::from_le_bytes(b)
        }
    };
}
lanes!(i8s, from_i8s, i8, 16);
lanes!(u8s, from_u8s, u8, 16);
lanes!(i16s, from_i16s, i16, 8);
lanes!(u16s, from_u16s, u16, 8);
lanes!(i32s, from_i32s, i32, 4);
lanes!(u32s, from_u32s, u32, 4);
lanes!(i64s, from_i64s, i64, 2);
lanes!(u64s, from_u64s, u64, 2);

#[inline(always)]
fn f32s(v: u128) -> [f32; 4] {
    u32s(v).map(f32::from_bits)
}
#[inline(always)]
fn from_f32s(l: [f32; 4]) -> u128 {
    from_u32s(l.map(f32::to_bits))
}
#[inline(always)]
fn f64s(v: u128) -> [f64; 2] {
    u64s(v).map(f64::from_bits)
}
#[inline(always)]
fn from_f64s(l: [f64; 2]) -> u128 {
    from_u64s(l.map(f64::to_bits))
}

/// Lane-wise `f(x)` over lanes read with `$to` and written with `$from`.
macro_rules! map1 {
    ($v:expr, $to:ident, $from:ident, |$x:ident| $e:expr) => {
        $from($to($v).map(|$x| $e))
    };
}
/// Lane-wise `f(x, y)`.
macro_rules! map2 {
    ($a:expr, $b:expr, $to:ident, $from:ident, |$x:ident, $y:ident| $e:expr) => {{
        let (xa, ya) = ($to($a), $to($b));
        $from(std::array::from_fn(|i| {
            let ($x, $y) = (xa[i], ya[i]);
            $e
        }))
    }};
}
/// Lane-wise compare: all ones where `f(x, y)` holds, else zero (integer lanes of the same
/// width, written with `$from`; float compares read float lanes).
macro_rules! cmp {
    ($a:expr, $b:expr, $to:ident, $from:ident, |$x:ident, $y:ident| $e:expr) => {{
        let (xa, ya) = ($to($a), $to($b));
        $from(std::array::from_fn(|i| {
            let ($x, $y) = (xa[i], ya[i]);
            if $e {
                !0
            } else {
                0
            }
        }))
    }};
}
/// Widens the low (`$off` = 0) or high half of `$v` lane-wise.
macro_rules! widen {
    ($v:expr, $to:ident, $from:ident, $wide:ty, $off:expr) => {{
        let x = $to($v);
        $from(std::array::from_fn(|i| x[i + $off] as $wide))
    }};
}
/// Extended multiply of the low or high halves.
macro_rules! extmul {
    ($a:expr, $b:expr, $to:ident, $from:ident, $wide:ty, $off:expr) => {{
        let (x, y) = ($to($a), $to($b));
        $from(std::array::from_fn(|i| {
            (x[i + $off] as $wide).wrapping_mul(y[i + $off] as $wide)
        }))
    }};
}
/// Pairwise widening add.
macro_rules! extadd {
    ($v:expr, $to:ident, $from:ident, $wide:ty) => {{
        let x = $to($v);
        $from(std::array::from_fn(|i| {
            (x[2 * i] as $wide).wrapping_add(x[2 * i + 1] as $wide)
        }))
    }};
}
/// Sign bits of each lane.
macro_rules! bitmask {
    ($v:expr, $to:ident) => {{
        $to($v)
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, x)| m | ((*x < 0) as u64) << i)
    }};
}

#[inline(always)]
fn q15mulr(x: i16, y: i16) -> i16 {
    ((x as i32 * y as i32 + 0x4000) >> 15).clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// The relaxed i16 dot product (both operands signed, wrapping pairwise sum).
fn relaxed_dot_i16(a: u128, b: u128) -> [i16; 8] {
    let (x, y) = (i8s(a), i8s(b));
    std::array::from_fn(|i| {
        let p0 = x[2 * i] as i16 * y[2 * i] as i16;
        let p1 = x[2 * i + 1] as i16 * y[2 * i + 1] as i16;
        p0.wrapping_add(p1)
    })
}

/// A v128 of the plain (non-memory, non-global) ops of `op`. `a`, `b`, `c` are v128 operands
/// or scalars (in the low bits) as the op's shape says; `lane` is its lane immediate.
fn compute(op: SimdOp, a: u128, b: u128, c: u128, lane: usize) -> u128 {
    use SimdOp::*;
    let s = a as u64; // `a` as a scalar (splat)
    let sb = b as u64; // `b` as a scalar (shift count, replaced lane)
    match op {
        V128Not => !a,
        V128And => a & b,
        V128AndNot => a & !b,
        V128Or => a | b,
        V128Xor => a ^ b,
        V128Bitselect
        | I8x16RelaxedLaneselect
        | I16x8RelaxedLaneselect
        | I32x4RelaxedLaneselect
        | I64x2RelaxedLaneselect => (a & c) | (b & !c),

        I8x16Splat => from_u8s([s as u8; 16]),
        I16x8Splat => from_u16s([s as u16; 8]),
        I32x4Splat | F32x4Splat => from_u32s([s as u32; 4]),
        I64x2Splat | F64x2Splat => from_u64s([s; 2]),

        I8x16ReplaceLane => {
            let mut l = u8s(a);
            l[lane] = sb as u8;
            from_u8s(l)
        }
        I16x8ReplaceLane => {
            let mut l = u16s(a);
            l[lane] = sb as u16;
            from_u16s(l)
        }
        I32x4ReplaceLane | F32x4ReplaceLane => {
            let mut l = u32s(a);
            l[lane] = sb as u32;
            from_u32s(l)
        }
        I64x2ReplaceLane | F64x2ReplaceLane => {
            let mut l = u64s(a);
            l[lane] = sb;
            from_u64s(l)
        }

        I8x16Swizzle | I8x16RelaxedSwizzle => {
            let (x, i) = (u8s(a), u8s(b));
            from_u8s(i.map(|i| if i < 16 { x[i as usize] } else { 0 }))
        }

        I8x16Eq => cmp!(a, b, u8s, from_u8s, |x, y| x == y),
        I8x16Ne => cmp!(a, b, u8s, from_u8s, |x, y| x != y),
        I8x16LtS => cmp!(a, b, i8s, from_i8s, |x, y| x < y),
        I8x16LtU => cmp!(a, b, u8s, from_u8s, |x, y| x < y),
        I8x16GtS => cmp!(a, b, i8s, from_i8s, |x, y| x > y),
        I8x16GtU => cmp!(a, b, u8s, from_u8s, |x, y| x > y),
        I8x16LeS => cmp!(a, b, i8s, from_i8s, |x, y| x <= y),
        I8x16LeU => cmp!(a, b, u8s, from_u8s, |x, y| x <= y),
        I8x16GeS => cmp!(a, b, i8s, from_i8s, |x, y| x >= y),
        I8x16GeU => cmp!(a, b, u8s, from_u8s, |x, y| x >= y),
        I16x8Eq => cmp!(a, b, u16s, from_u16s, |x, y| x == y),
        I16x8Ne => cmp!(a, b, u16s, from_u16s, |x, y| x != y),
        I16x8LtS => cmp!(a, b, i16s, from_i16s, |x, y| x < y),
        I16x8LtU => cmp!(a, b, u16s, from_u16s, |x, y| x < y),
        I16x8GtS => cmp!(a, b, i16s, from_i16s, |x, y| x > y),
        I16x8GtU => cmp!(a, b, u16s, from_u16s, |x, y| x > y),
        I16x8LeS => cmp!(a, b, i16s, from_i16s, |x, y| x <= y),
        I16x8LeU => cmp!(a, b, u16s, from_u16s, |x, y| x <= y),
        I16x8GeS => cmp!(a, b, i16s, from_i16s, |x, y| x >= y),
        I16x8GeU => cmp!(a, b, u16s, from_u16s, |x, y| x >= y),
        I32x4Eq => cmp!(a, b, u32s, from_u32s, |x, y| x == y),
        I32x4Ne => cmp!(a, b, u32s, from_u32s, |x, y| x != y),
        I32x4LtS => cmp!(a, b, i32s, from_i32s, |x, y| x < y),
        I32x4LtU => cmp!(a, b, u32s, from_u32s, |x, y| x < y),
        I32x4GtS => cmp!(a, b, i32s, from_i32s, |x, y| x > y),
        I32x4GtU => cmp!(a, b, u32s, from_u32s, |x, y| x > y),
        I32x4LeS => cmp!(a, b, i32s, from_i32s, |x, y| x <= y),
        I32x4LeU => cmp!(a, b, u32s, from_u32s, |x, y| x <= y),
        I32x4GeS => cmp!(a, b, i32s, from_i32s, |x, y| x >= y),
        I32x4GeU => cmp!(a, b, u32s, from_u32s, |x, y| x >= y),
        I64x2Eq => cmp!(a, b, u64s, from_u64s, |x, y| x == y),
        I64x2Ne => cmp!(a, b, u64s, from_u64s, |x, y| x != y),
        I64x2LtS => cmp!(a, b, i64s, from_i64s, |x, y| x < y),
        I64x2GtS => cmp!(a, b, i64s, from_i64s, |x, y| x > y),
        I64x2LeS => cmp!(a, b, i64s, from_i64s, |x, y| x <= y),
        I64x2GeS => cmp!(a, b, i64s, from_i64s, |x, y| x >= y),
        F32x4Eq => cmp!(a, b, f32s, from_u32s, |x, y| x == y),
        F32x4Ne => cmp!(a, b, f32s, from_u32s, |x, y| x != y),
        F32x4Lt => cmp!(a, b, f32s, from_u32s, |x, y| x < y),
        F32x4Gt => cmp!(a, b, f32s, from_u32s, |x, y| x > y),
        F32x4Le => cmp!(a, b, f32s, from_u32s, |x, y| x <= y),
        F32x4Ge => cmp!(a, b, f32s, from_u32s, |x, y| x >= y),
        F64x2Eq => cmp!(a, b, f64s, from_u64s, |x, y| x == y),
        F64x2Ne => cmp!(a, b, f64s, from_u64s, |x, y| x != y),
        F64x2Lt => cmp!(a, b, f64s, from_u64s, |x, y| x < y),
        F64x2Gt => cmp!(a, b, f64s, from_u64s, |x, y| x > y),
        F64x2Le => cmp!(a, b, f64s, from_u64s, |x, y| x <= y),
        F64x2Ge => cmp!(a, b, f64s, from_u64s, |x, y| x >= y),

        I8x16Abs => map1!(a, i8s, from_i8s, |x| x.wrapping_abs()),
        I8x16Neg => map1!(a, i8s, from_i8s, |x| x.wrapping_neg()),
        I8x16Popcnt => map1!(a, u8s, from_u8s, |x| x.count_ones() as u8),
        I16x8Abs => map1!(a, i16s, from_i16s, |x| x.wrapping_abs()),
        I16x8Neg => map1!(a, i16s, from_i16s, |x| x.wrapping_neg()),
        I32x4Abs => map1!(a, i32s, from_i32s, |x| x.wrapping_abs()),
        I32x4Neg => map1!(a, i32s, from_i32s, |x| x.wrapping_neg()),
        I64x2Abs => map1!(a, i64s, from_i64s, |x| x.wrapping_abs()),
        I64x2Neg => map1!(a, i64s, from_i64s, |x| x.wrapping_neg()),

        I8x16NarrowI16x8S => {
            let (x, y) = (i16s(a), i16s(b));
            from_i8s(std::array::from_fn(|i| {
                let v = if i < 8 { x[i] } else { y[i - 8] };
                v.clamp(i8::MIN as i16, i8::MAX as i16) as i8
            }))
        }
        I8x16NarrowI16x8U => {
            let (x, y) = (i16s(a), i16s(b));
            from_u8s(std::array::from_fn(|i| {
                let v = if i < 8 { x[i] } else { y[i - 8] };
                v.clamp(0, u8::MAX as i16) as u8
            }))
        }
        I16x8NarrowI32x4S => {
            let (x, y) = (i32s(a), i32s(b));
            from_i16s(std::array::from_fn(|i| {
                let v = if i < 4 { x[i] } else { y[i - 4] };
                v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
            }))
        }
        I16x8NarrowI32x4U => {
            let (x, y) = (i32s(a), i32s(b));
            from_u16s(std::array::from_fn(|i| {
                let v = if i < 4 { x[i] } else { y[i - 4] };
                v.clamp(0, u16::MAX as i32) as u16
            }))
        }

        I8x16Shl => map1!(a, u8s, from_u8s, |x| x.wrapping_shl(sb as u32 % 8)),
        I8x16ShrS => map1!(a, i8s, from_i8s, |x| x.wrapping_shr(sb as u32 % 8)),
        I8x16ShrU => map1!(a, u8s, from_u8s, |x| x.wrapping_shr(sb as u32 % 8)),
        I16x8Shl => map1!(a, u16s, from_u16s, |x| x.wrapping_shl(sb as u32 % 16)),
        I16x8ShrS => map1!(a, i16s, from_i16s, |x| x.wrapping_shr(sb as u32 % 16)),
        I16x8ShrU => map1!(a, u16s, from_u16s, |x| x.wrapping_shr(sb as u32 % 16)),
        I32x4Shl => map1!(a, u32s, from_u32s, |x| x.wrapping_shl(sb as u32 % 32)),
        I32x4ShrS => map1!(a, i32s, from_i32s, |x| x.wrapping_shr(sb as u32 % 32)),
        I32x4ShrU => map1!(a, u32s, from_u32s, |x| x.wrapping_shr(sb as u32 % 32)),
        I64x2Shl => map1!(a, u64s, from_u64s, |x| x.wrapping_shl(sb as u32 % 64)),
        I64x2ShrS => map1!(a, i64s, from_i64s, |x| x.wrapping_shr(sb as u32 % 64)),
        I64x2ShrU => map1!(a, u64s, from_u64s, |x| x.wrapping_shr(sb as u32 % 64)),

        I8x16Add => map2!(a, b, u8s, from_u8s, |x, y| x.wrapping_add(y)),
        I8x16AddSatS => map2!(a, b, i8s, from_i8s, |x, y| x.saturating_add(y)),
        I8x16AddSatU => map2!(a, b, u8s, from_u8s, |x, y| x.saturating_add(y)),
        I8x16Sub => map2!(a, b, u8s, from_u8s, |x, y| x.wrapping_sub(y)),
        I8x16SubSatS => map2!(a, b, i8s, from_i8s, |x, y| x.saturating_sub(y)),
        I8x16SubSatU => map2!(a, b, u8s, from_u8s, |x, y| x.saturating_sub(y)),
        I8x16MinS => map2!(a, b, i8s, from_i8s, |x, y| x.min(y)),
        I8x16MinU => map2!(a, b, u8s, from_u8s, |x, y| x.min(y)),
        I8x16MaxS => map2!(a, b, i8s, from_i8s, |x, y| x.max(y)),
        I8x16MaxU => map2!(a, b, u8s, from_u8s, |x, y| x.max(y)),
        I8x16AvgrU => map2!(a, b, u8s, from_u8s, |x, y| ((x as u16 + y as u16 + 1) >> 1)
            as u8),
        I16x8Add => map2!(a, b, u16s, from_u16s, |x, y| x.wrapping_add(y)),
        I16x8AddSatS => map2!(a, b, i16s, from_i16s, |x, y| x.saturating_add(y)),
        I16x8AddSatU => map2!(a, b, u16s, from_u16s, |x, y| x.saturating_add(y)),
        I16x8Sub => map2!(a, b, u16s, from_u16s, |x, y| x.wrapping_sub(y)),
        I16x8SubSatS => map2!(a, b, i16s, from_i16s, |x, y| x.saturating_sub(y)),
        I16x8SubSatU => map2!(a, b, u16s, from_u16s, |x, y| x.saturating_sub(y)),
        I16x8Mul => map2!(a, b, u16s, from_u16s, |x, y| x.wrapping_mul(y)),
        I16x8MinS => map2!(a, b, i16s, from_i16s, |x, y| x.min(y)),
        I16x8MinU => map2!(a, b, u16s, from_u16s, |x, y| x.min(y)),
        I16x8MaxS => map2!(a, b, i16s, from_i16s, |x, y| x.max(y)),
        I16x8MaxU => map2!(a, b, u16s, from_u16s, |x, y| x.max(y)),
        I16x8AvgrU => map2!(
            a,
            b,
            u16s,
            from_u16s,
            |x, y| ((x as u32 + y as u32 + 1) >> 1) as u16
        ),
        I16x8Q15MulrSatS | I16x8RelaxedQ15mulrS => {
            map2!(a, b, i16s, from_i16s, |x, y| q15mulr(x, y))
        }
        I32x4Add => map2!(a, b, u32s, from_u32s, |x, y| x.wrapping_add(y)),
        I32x4Sub => map2!(a, b, u32s, from_u32s, |x, y| x.wrapping_sub(y)),
        I32x4Mul => map2!(a, b, u32s, from_u32s, |x, y| x.wrapping_mul(y)),
        I32x4MinS => map2!(a, b, i32s, from_i32s, |x, y| x.min(y)),
        I32x4MinU => map2!(a, b, u32s, from_u32s, |x, y| x.min(y)),
        I32x4MaxS => map2!(a, b, i32s, from_i32s, |x, y| x.max(y)),
        I32x4MaxU => map2!(a, b, u32s, from_u32s, |x, y| x.max(y)),
        I32x4DotI16x8S => {
            let (x, y) = (i16s(a), i16s(b));
            from_i32s(std::array::from_fn(|i| {
                let p0 = x[2 * i] as i32 * y[2 * i] as i32;
                let p1 = x[2 * i + 1] as i32 * y[2 * i + 1] as i32;
                p0.wrapping_add(p1)
            }))
        }
        I64x2Add => map2!(a, b, u64s, from_u64s, |x, y| x.wrapping_add(y)),
        I64x2Sub => map2!(a, b, u64s, from_u64s, |x, y| x.wrapping_sub(y)),
        I64x2Mul => map2!(a, b, u64s, from_u64s, |x, y| x.wrapping_mul(y)),

        I16x8ExtAddPairwiseI8x16S => extadd!(a, i8s, from_i16s, i16),
        I16x8ExtAddPairwiseI8x16U => extadd!(a, u8s, from_u16s, u16),
        I32x4ExtAddPairwiseI16x8S => extadd!(a, i16s, from_i32s, i32),
        I32x4ExtAddPairwiseI16x8U => extadd!(a, u16s, from_u32s, u32),
        I16x8ExtendLowI8x16S => widen!(a, i8s, from_i16s, i16, 0),
        I16x8ExtendHighI8x16S => widen!(a, i8s, from_i16s, i16, 8),
        I16x8ExtendLowI8x16U => widen!(a, u8s, from_u16s, u16, 0),
        I16x8ExtendHighI8x16U => widen!(a, u8s, from_u16s, u16, 8),
        I32x4ExtendLowI16x8S => widen!(a, i16s, from_i32s, i32, 0),
        I32x4ExtendHighI16x8S => widen!(a, i16s, from_i32s, i32, 4),
        I32x4ExtendLowI16x8U => widen!(a, u16s, from_u32s, u32, 0),
        I32x4ExtendHighI16x8U => widen!(a, u16s, from_u32s, u32, 4),
        I64x2ExtendLowI32x4S => widen!(a, i32s, from_i64s, i64, 0),
        I64x2ExtendHighI32x4S => widen!(a, i32s, from_i64s, i64, 2),
        I64x2ExtendLowI32x4U => widen!(a, u32s, from_u64s, u64, 0),
        I64x2ExtendHighI32x4U => widen!(a, u32s, from_u64s, u64, 2),
        I16x8ExtMulLowI8x16S => extmul!(a, b, i8s, from_i16s, i16, 0),
        I16x8ExtMulHighI8x16S => extmul!(a, b, i8s, from_i16s, i16, 8),
        I16x8ExtMulLowI8x16U => extmul!(a, b, u8s, from_u16s, u16, 0),
        I16x8ExtMulHighI8x16U => extmul!(a, b, u8s, from_u16s, u16, 8),
        I32x4ExtMulLowI16x8S => extmul!(a, b, i16s, from_i32s, i32, 0),
        I32x4ExtMulHighI16x8S => extmul!(a, b, i16s, from_i32s, i32, 4),
        I32x4ExtMulLowI16x8U => extmul!(a, b, u16s, from_u32s, u32, 0),
        I32x4ExtMulHighI16x8U => extmul!(a, b, u16s, from_u32s, u32, 4),
        I64x2ExtMulLowI32x4S => extmul!(a, b, i32s, from_i64s, i64, 0),
        I64x2ExtMulHighI32x4S => extmul!(a, b, i32s, from_i64s, i64, 2),
        I64x2ExtMulLowI32x4U => extmul!(a, b, u32s, from_u64s, u64, 0),
        I64x2ExtMulHighI32x4U => extmul!(a, b, u32s, from_u64s, u64, 2),

        // Sign operations are bit operations (NaN payloads are kept).
        F32x4Abs => map1!(a, u32s, from_u32s, |x| x & 0x7fff_ffff),
        F32x4Neg => map1!(a, u32s, from_u32s, |x| x ^ 0x8000_0000),
        F64x2Abs => map1!(a, u64s, from_u64s, |x| x & 0x7fff_ffff_ffff_ffff),
        F64x2Neg => map1!(a, u64s, from_u64s, |x| x ^ 0x8000_0000_0000_0000),
        F32x4Ceil => map1!(a, f32s, from_u32s, |x| quiet32(x.ceil()) as u32),
        F32x4Floor => map1!(a, f32s, from_u32s, |x| quiet32(x.floor()) as u32),
        F32x4Trunc => map1!(a, f32s, from_u32s, |x| quiet32(x.trunc()) as u32),
        F32x4Nearest => map1!(a, f32s, from_u32s, |x| quiet32(x.round_ties_even()) as u32),
        F32x4Sqrt => map1!(a, f32s, from_u32s, |x| quiet32(x.sqrt()) as u32),
        F64x2Ceil => map1!(a, f64s, from_u64s, |x| quiet64(x.ceil())),
        F64x2Floor => map1!(a, f64s, from_u64s, |x| quiet64(x.floor())),
        F64x2Trunc => map1!(a, f64s, from_u64s, |x| quiet64(x.trunc())),
        F64x2Nearest => map1!(a, f64s, from_u64s, |x| quiet64(x.round_ties_even())),
        F64x2Sqrt => map1!(a, f64s, from_u64s, |x| quiet64(x.sqrt())),
        F32x4Add => map2!(a, b, f32s, from_f32s, |x, y| x + y),
        F32x4Sub => map2!(a, b, f32s, from_f32s, |x, y| x - y),
        F32x4Mul => map2!(a, b, f32s, from_f32s, |x, y| x * y),
        F32x4Div => map2!(a, b, f32s, from_f32s, |x, y| x / y),
        F32x4Min | F32x4RelaxedMin => map2!(a, b, f32s, from_f32s, |x, y| f32_min(x, y)),
        F32x4Max | F32x4RelaxedMax => map2!(a, b, f32s, from_f32s, |x, y| f32_max(x, y)),
        // pmin/pmax pick one operand unchanged (bits included).
        F32x4PMin => {
            let (x, y) = (u32s(a), u32s(b));
            from_u32s(std::array::from_fn(|i| {
                if f32::from_bits(y[i]) < f32::from_bits(x[i]) {
                    y[i]
                } else {
                    x[i]
                }
            }))
        }
        F32x4PMax => {
            let (x, y) = (u32s(a), u32s(b));
            from_u32s(std::array::from_fn(|i| {
                if f32::from_bits(x[i]) < f32::from_bits(y[i]) {
                    y[i]
                } else {
                    x[i]
                }
            }))
        }
        F64x2Add => map2!(a, b, f64s, from_f64s, |x, y| x + y),
        F64x2Sub => map2!(a, b, f64s, from_f64s, |x, y| x - y),
        F64x2Mul => map2!(a, b, f64s, from_f64s, |x, y| x * y),
        F64x2Div => map2!(a, b, f64s, from_f64s, |x, y| x / y),
        F64x2Min | F64x2RelaxedMin => map2!(a, b, f64s, from_f64s, |x, y| f64_min(x, y)),
        F64x2Max | F64x2RelaxedMax => map2!(a, b, f64s, from_f64s, |x, y| f64_max(x, y)),
        F64x2PMin => {
            let (x, y) = (u64s(a), u64s(b));
            from_u64s(std::array::from_fn(|i| {
                if f64::from_bits(y[i]) < f64::from_bits(x[i]) {
                    y[i]
                } else {
                    x[i]
                }
            }))
        }
        F64x2PMax => {
            let (x, y) = (u64s(a), u64s(b));
            from_u64s(std::array::from_fn(|i| {
                if f64::from_bits(x[i]) < f64::from_bits(y[i]) {
                    y[i]
                } else {
                    x[i]
                }
            }))
        }
        F32x4RelaxedMadd => {
            let (x, y, z) = (f32s(a), f32s(b), f32s(c));
            from_f32s(std::array::from_fn(|i| x[i].mul_add(y[i], z[i])))
        }
        F32x4RelaxedNmadd => {
            let (x, y, z) = (f32s(a), f32s(b), f32s(c));
            from_f32s(std::array::from_fn(|i| (-x[i]).mul_add(y[i], z[i])))
        }
        F64x2RelaxedMadd => {
            let (x, y, z) = (f64s(a), f64s(b), f64s(c));
            from_f64s(std::array::from_fn(|i| x[i].mul_add(y[i], z[i])))
        }
        F64x2RelaxedNmadd => {
            let (x, y, z) = (f64s(a), f64s(b), f64s(c));
            from_f64s(std::array::from_fn(|i| (-x[i]).mul_add(y[i], z[i])))
        }

        // `as` saturates and maps NaN to 0: the `trunc_sat` semantics.
        I32x4TruncSatF32x4S | I32x4RelaxedTruncF32x4S => {
            map1!(a, f32s, from_i32s, |x| x as i32)
        }
        I32x4TruncSatF32x4U | I32x4RelaxedTruncF32x4U => {
            map1!(a, f32s, from_u32s, |x| x as u32)
        }
        F32x4ConvertI32x4S => map1!(a, i32s, from_f32s, |x| x as f32),
        F32x4ConvertI32x4U => map1!(a, u32s, from_f32s, |x| x as f32),
        I32x4TruncSatF64x2SZero | I32x4RelaxedTruncF64x2SZero => {
            let x = f64s(a);
            from_i32s([x[0] as i32, x[1] as i32, 0, 0])
        }
        I32x4TruncSatF64x2UZero | I32x4RelaxedTruncF64x2UZero => {
            let x = f64s(a);
            from_u32s([x[0] as u32, x[1] as u32, 0, 0])
        }
        F64x2ConvertLowI32x4S => {
            let x = i32s(a);
            from_f64s([x[0] as f64, x[1] as f64])
        }
        F64x2ConvertLowI32x4U => {
            let x = u32s(a);
            from_f64s([x[0] as f64, x[1] as f64])
        }
        F32x4DemoteF64x2Zero => {
            let x = f64s(a);
            from_u32s([
                quiet32(x[0] as f32) as u32,
                quiet32(x[1] as f32) as u32,
                0,
                0,
            ])
        }
        F64x2PromoteLowF32x4 => {
            let x = f32s(a);
            from_u64s([quiet64(x[0] as f64), quiet64(x[1] as f64)])
        }

        I16x8RelaxedDotI8x16I7x16S => from_i16s(relaxed_dot_i16(a, b)),
        I32x4RelaxedDotI8x16I7x16AddS => {
            let d = relaxed_dot_i16(a, b);
            let acc = i32s(c);
            from_i32s(std::array::from_fn(|i| {
                (d[2 * i] as i32)
                    .wrapping_add(d[2 * i + 1] as i32)
                    .wrapping_add(acc[i])
            }))
        }
        _ => unreachable!("not a plain SIMD op: {op:?}"),
    }
}

/// A scalar result (`any_true`, `all_true`, `bitmask`, `extract_lane`), as a raw slot.
fn scalar(op: SimdOp, a: u128, lane: usize) -> u64 {
    use SimdOp::*;
    match op {
        V128AnyTrue => (a != 0) as u64,
        I8x16AllTrue => u8s(a).iter().all(|x| *x != 0) as u64,
        I16x8AllTrue => u16s(a).iter().all(|x| *x != 0) as u64,
        I32x4AllTrue => u32s(a).iter().all(|x| *x != 0) as u64,
        I64x2AllTrue => u64s(a).iter().all(|x| *x != 0) as u64,
        I8x16Bitmask => bitmask!(a, i8s),
        I16x8Bitmask => bitmask!(a, i16s),
        I32x4Bitmask => bitmask!(a, i32s),
        I64x2Bitmask => bitmask!(a, i64s),
        I8x16ExtractLaneS => i8s(a)[lane] as i32 as u32 as u64,
        I8x16ExtractLaneU => u8s(a)[lane] as u64,
        I16x8ExtractLaneS => i16s(a)[lane] as i32 as u32 as u64,
        I16x8ExtractLaneU => u16s(a)[lane] as u64,
        I32x4ExtractLane | F32x4ExtractLane => u32s(a)[lane] as u64,
        I64x2ExtractLane | F64x2ExtractLane => u64s(a)[lane],
        _ => unreachable!("not a scalar SIMD op: {op:?}"),
    }
}

/// Executes one `Op::Simd` (see [`SimdOp`] and `ir::SimdShape` for the operands).
#[inline(never)]
#[cold]
pub(crate) fn exec(
    store: &mut StoreInner,
    inst: usize,
    code: &CompiledFunc,
    fr: &mut [u64],
    op: &Op,
) -> Result<(), TrapCode> {
    use SimdOp::*;
    let Op::Simd { op, lane, d, a, b } = *op else {
        unreachable!("exec::simd::exec runs Op::Simd only")
    };
    let lane = lane as usize;
    match op {
        V128ConstOp => set(fr, d, code.v128_consts[a as usize]),
        V128Shuffle => {
            let (x, y) = (u8s(get(fr, a)), u8s(get(fr, a + 2)));
            let idx = u8s(code.v128_consts[b as usize]);
            let v = idx.map(|i| {
                let i = i as usize;
                if i < 16 {
                    x[i]
                } else {
                    y[i - 16]
                }
            });
            set(fr, d, from_u8s(v));
        }
        V128Select => {
            let v = if fr[a as usize + 4] as u32 != 0 {
                get(fr, a)
            } else {
                get(fr, a + 2)
            };
            set(fr, d, v);
        }
        V128GlobalGet => {
            let g = &store.globals[store.instances[inst].globals[a as usize] as usize];
            set(fr, d, g.value as u128 | (g.hi as u128) << 64);
        }
        V128GlobalSet => {
            let v = get(fr, a);
            let g = store.instances[inst].globals[b as usize] as usize;
            let g = &mut store.globals[g];
            g.value = v as u64;
            g.hi = (v >> 64) as u64;
        }
        V128Load | V128Load8x8S | V128Load8x8U | V128Load16x4S | V128Load16x4U | V128Load32x2S
        | V128Load32x2U | V128Load8Splat | V128Load16Splat | V128Load32Splat | V128Load64Splat
        | V128Load32Zero | V128Load64Zero => {
            let x = code.simd_mems[b as usize];
            let data = memory(store, inst, x.mem);
            let v = load(op, data, fr[a as usize], x.offset)?;
            set(fr, d, v);
        }
        V128Load8Lane | V128Load16Lane | V128Load32Lane | V128Load64Lane => {
            let x = code.simd_mems[b as usize];
            let data = memory(store, inst, x.mem);
            let n = lane_bytes(op);
            let at = mem_range(data.len(), fr[a as usize], x.offset, n)?;
            let mut bytes = get(fr, a + 1).to_le_bytes();
            bytes[lane * n..(lane + 1) * n].copy_from_slice(&data[at..at + n]);
            set(fr, d, u128::from_le_bytes(bytes));
        }
        V128Store | V128Store8Lane | V128Store16Lane | V128Store32Lane | V128Store64Lane => {
            let x = code.simd_mems[d as usize];
            let (addr, v) = (fr[a as usize], get(fr, b));
            let m = store.instances[inst].memories[x.mem as usize] as usize;
            let data = &mut store.memories[m].data;
            let bytes = v.to_le_bytes();
            let (n, from) = match op {
                V128Store => (16, 0),
                _ => (lane_bytes(op), lane * lane_bytes(op)),
            };
            let at = mem_range(data.len(), addr, x.offset, n)?;
            data[at..at + n].copy_from_slice(&bytes[from..from + n]);
        }
        V128AnyTrue | I8x16AllTrue | I16x8AllTrue | I32x4AllTrue | I64x2AllTrue | I8x16Bitmask
        | I16x8Bitmask | I32x4Bitmask | I64x2Bitmask | I8x16ExtractLaneS | I8x16ExtractLaneU
        | I16x8ExtractLaneS | I16x8ExtractLaneU | I32x4ExtractLane | F32x4ExtractLane
        | I64x2ExtractLane | F64x2ExtractLane => {
            fr[d as usize] = scalar(op, get(fr, a), lane);
        }
        I8x16Splat | I16x8Splat | I32x4Splat | I64x2Splat | F32x4Splat | F64x2Splat => {
            let v = compute(op, fr[a as usize] as u128, 0, 0, 0);
            set(fr, d, v);
        }
        I8x16Shl | I8x16ShrS | I8x16ShrU | I16x8Shl | I16x8ShrS | I16x8ShrU | I32x4Shl
        | I32x4ShrS | I32x4ShrU | I64x2Shl | I64x2ShrS | I64x2ShrU | I8x16ReplaceLane
        | I16x8ReplaceLane | I32x4ReplaceLane | I64x2ReplaceLane | F32x4ReplaceLane
        | F64x2ReplaceLane => {
            let v = compute(op, get(fr, a), fr[b as usize] as u128, 0, lane);
            set(fr, d, v);
        }
        V128Bitselect
        | F32x4RelaxedMadd
        | F32x4RelaxedNmadd
        | F64x2RelaxedMadd
        | F64x2RelaxedNmadd
        | I8x16RelaxedLaneselect
        | I16x8RelaxedLaneselect
        | I32x4RelaxedLaneselect
        | I64x2RelaxedLaneselect
        | I32x4RelaxedDotI8x16I7x16AddS => {
            let v = compute(op, get(fr, a), get(fr, a + 2), get(fr, a + 4), 0);
            set(fr, d, v);
        }
        _ => {
            // Unary and binary v128 ops (a unary op ignores `b`, which the translator sets
            // to `a`).
            let v = compute(op, get(fr, a), get(fr, b), 0, 0);
            set(fr, d, v);
        }
    }
    Ok(())
}

/// Bytes of one lane of a lane load or store.
fn lane_bytes(op: SimdOp) -> usize {
    use SimdOp::*;
    match op {
        V128Load8Lane | V128Store8Lane => 1,
        V128Load16Lane | V128Store16Lane => 2,
        V128Load32Lane | V128Store32Lane => 4,
        _ => 8,
    }
}

/// The bytes of memory `mem` of instance `inst`.
fn memory(store: &StoreInner, inst: usize, mem: u32) -> &[u8] {
    let m = store.instances[inst].memories[mem as usize] as usize;
    &store.memories[m].data
}

/// A v128 load (plain, extending, splatting or zero-filling).
fn load(op: SimdOp, data: &[u8], addr: u64, offset: u64) -> Result<u128, TrapCode> {
    use SimdOp::*;
    let n = match op {
        V128Load => 16,
        V128Load8Splat => 1,
        V128Load16Splat => 2,
        V128Load32Splat | V128Load32Zero => 4,
        _ => 8,
    };
    let at = mem_range(data.len(), addr, offset, n)?;
    let mut b = [0u8; 16];
    b[..n].copy_from_slice(&data[at..at + n]);
    let v = u128::from_le_bytes(b);
    let lo = v as u64;
    Ok(match op {
        V128Load | V128Load32Zero | V128Load64Zero => v,
        V128Load8Splat => from_u8s([lo as u8; 16]),
        V128Load16Splat => from_u16s([lo as u16; 8]),
        V128Load32Splat => from_u32s([lo as u32; 4]),
        V128Load64Splat => from_u64s([lo; 2]),
        V128Load8x8S => widen!(v, i8s, from_i16s, i16, 0),
        V128Load8x8U => widen!(v, u8s, from_u16s, u16, 0),
        V128Load16x4S => widen!(v, i16s, from_i32s, i32, 0),
        V128Load16x4U => widen!(v, u16s, from_u32s, u32, 0),
        V128Load32x2S => widen!(v, i32s, from_i64s, i64, 0),
        _ => widen!(v, u32s, from_u64s, u64, 0),
    })
}
