//! Element types of tensors and variables, named as TensorFlow names them.

use crate::base::lexicon::DTYPES;
use std::fmt;

/// The element type of a tensor or variable.
///
/// Displayed with TensorFlow's names (`float32`, `int64`, …) so messages and
/// manifests read like TensorFlow's.
///
/// # Examples
///
/// ```
/// use scope_runtime::DType;
/// assert_eq!(DType::F32.to_string(), "float32");
/// assert_eq!(DType::from_name("int64"), Some(DType::I64));
/// assert!(DType::F64.is_floating());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// 32-bit float, TensorFlow's default for variables.
    F32,
    /// 64-bit float.
    F64,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
    /// Boolean.
    Bool,
}

impl DType {
    /// Every dtype, in a fixed order.
    pub const ALL: [DType; 5] = [DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool];

    /// TensorFlow's name of the dtype (`float32`, `float64`, `int32`, `int64`, `bool`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(scope_runtime::DType::Bool.name(), "bool");
    /// ```
    pub fn name(self) -> &'static str {
        DTYPES[self as usize].tf
    }

    /// Parses TensorFlow's name of a dtype.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::DType;
    /// assert_eq!(DType::from_name("float64"), Some(DType::F64));
    /// assert_eq!(DType::from_name("half"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<DType> {
        DTYPES.iter().position(|d| d.tf == name).map(|i| DType::ALL[i])
    }

    /// Whether this is a floating-point dtype.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!scope_runtime::DType::I32.is_floating());
    /// ```
    pub fn is_floating(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// Size of one element in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(scope_runtime::DType::F64.size(), 8);
    /// ```
    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::Bool => 1,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lexicon_lists_dtypes_in_variant_order() {
        for (d, spelled) in DType::ALL.into_iter().zip(DTYPES) {
            assert_eq!(format!("{d:?}"), spelled.variant);
            assert_eq!(DType::from_name(spelled.tf), Some(d));
        }
    }
}
