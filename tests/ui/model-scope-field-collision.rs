use scopeflow::prelude::*;

model! {
    pub struct Embedding in "embedding" {
        table: [10, 4],
        table { Momentum: [10, 4] }
        table_scope: [2],
    }
}

fn main() {}
