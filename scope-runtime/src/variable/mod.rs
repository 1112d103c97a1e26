//! The variable layer: variable handles and their storage, initializers, and
//! the options new variables take (partitioners, regularizers, constraints,
//! custom getters).

pub(crate) mod handle;
pub(crate) mod init;
pub(crate) mod options;
pub(crate) mod philox;

pub(crate) use handle::Storage;
pub use handle::Variable;
pub use init::{Distribution, FanMode, Init, fans};
pub use options::{
    Constraint, ConstraintFn, CustomGetter, CustomGetterFn, Getter, PartitionFn, Partitioner, Regularizer,
    VariableRequest,
};
