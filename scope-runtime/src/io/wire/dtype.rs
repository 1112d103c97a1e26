//! TensorFlow's `DataType` enum numbers for the dtypes scopeflow holds.

use crate::base::DType;

/// The `DataType` number of a dtype.
pub(crate) fn to_enum(d: DType) -> u64 {
    match d {
        DType::F32 => 1,
        DType::F64 => 2,
        DType::I32 => 3,
        DType::I64 => 9,
        DType::Bool => 10,
    }
}

/// The dtype of a `DataType` number, if scopeflow holds it.
pub(crate) fn from_enum(e: u64) -> Option<DType> {
    Some(match e {
        1 => DType::F32,
        2 => DType::F64,
        3 => DType::I32,
        9 => DType::I64,
        10 => DType::Bool,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for d in [DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool] {
            assert_eq!(from_enum(to_enum(d)), Some(d));
        }
    }
}
