use scopeflow::prelude::*;

model! {
    pub struct Embedding in "embedding" {
        table { Momentum: [10, 4] }
        table: [10, 4],
    }
}

fn main() {}
