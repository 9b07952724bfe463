//! Number comparison: the `lt`, `lte`, `gt`, `gte` modifiers and EQL's
//! comparisons, integers exactly and anything involving a float as `f64`.

use crate::ir::{NumOp, Number};

/// Compares two numbers: integers exactly, anything involving a float as `f64`.
///
/// Comparisons with NaN are false, except `Ne` which is true.
///
/// ```
/// use detect_core::ir::{NumOp, Number};
/// use detect_core::matcher::cmp_number;
/// assert!(cmp_number(Number::Int(4688), NumOp::Eq, Number::Int(4688)));
/// assert!(cmp_number(Number::Int(3), NumOp::Lt, Number::Float(3.5)));
/// assert!(cmp_number(Number::Float(f64::NAN), NumOp::Ne, Number::Int(1)));
/// assert!(!cmp_number(Number::Float(f64::NAN), NumOp::Eq, Number::Float(f64::NAN)));
/// ```
#[inline]
pub fn cmp_number(lhs: Number, op: NumOp, rhs: Number) -> bool {
    match (lhs, rhs) {
        (Number::Int(a), Number::Int(b)) => compare(a, op, b),
        _ => compare(as_f64(lhs), op, as_f64(rhs)),
    }
}

/// `a op b` for any partially ordered type (NaN: false but for `Ne`).
#[inline]
fn compare<T: PartialOrd>(a: T, op: NumOp, b: T) -> bool {
    match op {
        NumOp::Eq => a == b,
        NumOp::Ne => a != b,
        NumOp::Lt => a < b,
        NumOp::Le => a <= b,
        NumOp::Gt => a > b,
        NumOp::Ge => a >= b,
    }
}

#[inline]
fn as_f64(n: Number) -> f64 {
    match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- numbers -----------------------------------------------------------

    #[test]
    fn cmp_number_table() {
        use NumOp::*;
        use Number::{Float as F, Int as I};
        let big = i64::MAX;
        let cases = [
            (I(1), Eq, I(1), true),
            (I(1), Ne, I(1), false),
            (I(1), Lt, I(2), true),
            (I(2), Le, I(2), true),
            (I(3), Gt, I(2), true),
            (I(2), Ge, I(3), false),
            (I(big), Eq, I(big - 1), false), // exact, not via f64
            (I(big - 1), Lt, I(big), true),
            (I(-5), Lt, I(0), true),
            (I(2), Eq, F(2.0), true),
            (F(2.5), Gt, I(2), true),
            (F(2.5), Le, F(2.5), true),
            (F(-0.0), Eq, F(0.0), true),
            (F(f64::NAN), Eq, F(f64::NAN), false),
            (F(f64::NAN), Ne, F(f64::NAN), true),
            (F(f64::NAN), Lt, I(1), false),
            (F(f64::NAN), Ge, I(1), false),
            (I(1), Ne, F(f64::NAN), true),
            (F(f64::INFINITY), Gt, I(big), true),
        ];
        for (a, op, b, want) in cases {
            assert_eq!(cmp_number(a, op, b), want, "{a:?} {op:?} {b:?}");
        }
    }
}
