//! The base layer: errors, dtypes, shapes, names, the reuse mode, values,
//! tensor handles, the lexicon shared with the macros, and the builders'
//! setter macro. It imports nothing from the layers above it.

pub(crate) mod dtype;
pub(crate) mod error;
// The macros compile this file too and use all of it; the runtime uses its
// name rules, dtype spellings and edit distance, and tests the initializer table.
#[allow(dead_code)]
pub(crate) mod lexicon;
pub(crate) mod names;
pub(crate) mod reuse;
pub(crate) mod shape;
pub(crate) mod tensor;
pub(crate) mod value;

pub use dtype::DType;
pub(crate) use error::{CallSite, Error, NameKind, Result};
pub use reuse::Reuse;
pub use shape::{Dim, Shape};
pub use tensor::{Operation, Tensor};
pub use value::{Element, Value};

/// Builder setters, one line each: `/// doc` then `field: Type;` stores the
/// argument in the field of that name, `field: Type => Some;` wraps it first,
/// and `field in part: Type;` stores it in the builder's `part.field`.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident $(in $part:ident)?: $ty:ty $(=> $wrap:ident)?;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $name: $ty) -> Self {
            self$(.$part)?.$name = $($wrap)?($name);
            self
        }
    )*};
}
pub(crate) use setters;
