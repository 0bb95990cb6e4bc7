//! Numeric semantics the hardware does not give directly: float min/max/nearest with
//! WebAssembly's NaN and signed-zero rules, and checked float-to-int truncation.

use crate::error::TrapCode;

macro_rules! float_minmax {
    ($min:ident, $max:ident, $t:ty) => {
        /// WebAssembly `min`: NaN if either is NaN; -0 is less than +0.
        pub(crate) fn $min(a: $t, b: $t) -> $t {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a == b {
                <$t>::from_bits(a.to_bits() | b.to_bits())
            } else if a < b {
                a
            } else {
                b
            }
        }
        /// WebAssembly `max`: NaN if either is NaN; +0 is greater than -0.
        pub(crate) fn $max(a: $t, b: $t) -> $t {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a == b {
                <$t>::from_bits(a.to_bits() & b.to_bits())
            } else if a > b {
                a
            } else {
                b
            }
        }
    };
}
float_minmax!(f32_min, f32_max, f32);
float_minmax!(f64_min, f64_max, f64);

/// Checked truncation: NaN is a bad conversion, out of range an overflow. `lo` and `hi` are
/// exclusive bounds in f64 (exact for every source type).
#[inline]
fn check_trunc(x: f64, lo: f64, hi: f64) -> Result<f64, TrapCode> {
    if x.is_nan() {
        Err(TrapCode::BadConversionToInteger)
    } else if x > lo && x < hi {
        Ok(x)
    } else {
        Err(TrapCode::IntegerOverflow)
    }
}

pub(crate) fn i32_trunc_s(x: f64) -> Result<u64, TrapCode> {
    check_trunc(x, -2147483649.0, 2147483648.0).map(|x| x as i32 as u32 as u64)
}
pub(crate) fn i32_trunc_u(x: f64) -> Result<u64, TrapCode> {
    check_trunc(x, -1.0, 4294967296.0).map(|x| x as u32 as u64)
}
pub(crate) fn i64_trunc_s(x: f64) -> Result<u64, TrapCode> {
    // -2^63 - 1 is not representable; -2^63 itself is in range.
    if x == -9223372036854775808.0 {
        return Ok(i64::MIN as u64);
    }
    check_trunc(x, -9223372036854775808.0, 9223372036854775808.0).map(|x| x as i64 as u64)
}
pub(crate) fn i64_trunc_u(x: f64) -> Result<u64, TrapCode> {
    check_trunc(x, -1.0, 18446744073709551616.0).map(|x| x as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_signed_zero() {
        assert!(f32_min(0.0, -0.0).is_sign_negative());
        assert!(f32_max(-0.0, 0.0).is_sign_positive());
        assert!(f64_min(f64::NAN, 1.0).is_nan());
    }

    #[test]
    fn trunc_bounds() {
        assert_eq!(i32_trunc_s(-2147483648.9), Ok(i32::MIN as u32 as u64));
        assert_eq!(i32_trunc_s(2147483648.0), Err(TrapCode::IntegerOverflow));
        assert_eq!(i32_trunc_u(-0.9), Ok(0));
        assert_eq!(i64_trunc_s(f64::NAN), Err(TrapCode::BadConversionToInteger));
        assert_eq!(i64_trunc_s(-9223372036854775808.0), Ok(i64::MIN as u64));
    }
}
