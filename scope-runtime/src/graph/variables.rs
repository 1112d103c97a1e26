//! The variables a graph stores by name, for `get_variable` to find.

use crate::variable::Variable;
use rustc_hash::FxHashMap;

/// Variables by the name `get_variable` stores them under.
#[derive(Default, Clone)]
pub(crate) struct VariableTable {
    /// Unpartitioned variables and the shards of partitioned ones (`v/part_0`).
    pub(crate) single: FxHashMap<Box<str>, Variable>,
    /// Partitioned variables by their base name.
    pub(crate) partitioned: FxHashMap<Box<str>, Variable>,
}

impl VariableTable {
    /// The variable stored under `name`: partitioned, else single.
    pub(crate) fn lookup(&self, name: &str) -> Option<&Variable> {
        self.partitioned.get(name).or_else(|| self.single.get(name))
    }
}
