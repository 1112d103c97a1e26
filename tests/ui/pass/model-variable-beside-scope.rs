//! A variable and a scope block of the same name, as TensorFlow's optimizer
//! slots are laid out: variable `table` and slot `table/Momentum`. The block's
//! field gets the suffix `_scope`.
#![deny(warnings)]

use scopeflow::prelude::*;

model! {
    /// An embedding table and its Momentum slot.
    pub struct Embedding in "embedding" {
        table: [10, 4],
        table { Momentum: [10, 4] = zeros (trainable = false) }
        rows { inner: [2] }
    }

    /// Shares both.
    pub struct Restore in "embedding" (reuse = true) {
        table: [10, 4],
        table { Momentum: [10, 4] }
    }
}

fn main() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let e = Embedding::build()?;
    assert_eq!(e.table.name(), "embedding/table");
    let slots: &EmbeddingTable = &e.table_scope;
    assert_eq!(slots.Momentum.name(), "embedding/table/Momentum");
    assert_eq!(slots.Momentum.shape(), e.table.shape());
    assert!(!slots.Momentum.trainable());
    assert_eq!(e.rows.inner.name(), "embedding/rows/inner");
    assert_eq!(Embedding::VARIABLES, ["embedding/table", "embedding/table/Momentum", "embedding/rows/inner"]);
    let r = Restore::build()?;
    assert_eq!((r.table, r.table_scope.Momentum), (e.table, e.table_scope.Momentum));
    Ok(())
}
